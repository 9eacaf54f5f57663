using System.Text.RegularExpressions;

namespace IkeActors.Interop.Tests;

/// <summary>
/// Reverse route injection (`crypto map MAP 10 set reverse-route`, in the seed's initiator configuration): while the
/// tunnel is up the gateway routes the remote proxy network (192.168.2.0/24) into its TUN device in the kernel with
/// protocol 197 and metric 100, what a routing daemon learns and announces (docs/cluster.md); the route goes with the
/// SAs (`clear crypto isakmp sa`), and without `set reverse-route` there is none. Read with `ip route`, not from us.
/// </summary>
public sealed class ReverseRouteTests
{
    [Fact]
    public void The_remote_network_is_routed_while_the_tunnel_is_up_and_goes_with_it()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        Assert.Equal("", Injected(lab.Left)); // before any SA: the start-up routes only (the kernel's protocol)
        lab.StartStrongSwan("--role", "initiator", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        lab.StrongSwan("wait-established", "30");
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));

        var routes = "";
        InteropLab.Eventually(() => (routes = Injected(lab.Left)) != "", TimeSpan.FromSeconds(5), () => "no route of protocol 197");
        Assert.Matches(@"^192\.168\.2\.0/24 dev ike\d+ scope link metric 100 ?$", routes.Trim());
        var pings = Tunnel.Ping(lab.Left, 5);
        Assert.True(pings.Received == 5, pings.Output);

        InteropLab.Operator(lab.Left, "clear", "crypto", "isakmp", "sa", "10.0.0.2");
        InteropLab.Eventually(() => (routes = Injected(lab.Left)) == "", TimeSpan.FromSeconds(10), () => "still routed after the SAs went:\n" + routes);
    }

    [Fact]
    public void Without_set_reverse_route_nothing_is_injected()
    {
        using var lab = new InteropLab();
        var config = InteropLab.LeftConfig(c => InteropLab.Replace(c, "crypto map MAP 10 set reverse-route\n", ""));
        var gateway = lab.StartGateway(lab.Left, config, "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        lab.StrongSwan("wait-established", "30");
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        var pings = Tunnel.Ping(lab.Left, 3);
        Assert.True(pings.Received == 3, pings.Output); // the start-up route carries the traffic
        Assert.Equal("", Injected(lab.Left));
    }

    /// <summary>`ip route show proto 197` in the namespace.</summary>
    private static string Injected(string ns)
    {
        var (code, output) = InteropLab.Exec(ns, "ip", "-4", "route", "show", "proto", "197");
        Assert.True(code == 0, output);
        return Regex.Replace(output, @"\s+$", "");
    }
}
