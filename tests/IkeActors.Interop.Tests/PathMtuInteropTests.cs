using System.Text.RegularExpressions;
using IkeActors.Testing;

namespace IkeActors.Interop.Tests;

/// <summary>
/// Inside packets too big for the tunnel, with a real inside host and a real peer: a host namespace behind our gateway
/// (its TUN at the inside interface's 1500 bytes) pings strongSwan's inside address through the tunnel. With DF (ping
/// -M do) a 1500-byte packet is answered by our ICMP "fragmentation needed", and Linux's ping prints the tunnel's MTU
/// from it (RFC 1191); a packet of that size passes. Without DF (ping -M dont, 3,000 bytes) our fragments, each its own
/// ESP packet, are put back together by strongSwan's side and answered. `show crypto ipsec sa` counts both.
/// </summary>
public sealed class PathMtuInteropTests
{
    [Fact]
    public void A_host_behind_us_learns_the_tunnels_mtu_and_big_packets_without_df_pass_in_fragments()
    {
        using var lab = new InteropLab();
        var host = lab.Left + "h";
        try
        {
            InsideHost(lab.Left, host);
            var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
            lab.StartStrongSwan("--role", "initiator", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
            lab.StrongSwan("wait-established", "30");
            var (code, first) = InteropLab.Exec(host, "ping", "-n", "-c", "3", "-i", "0.3", "-W", "3", "192.168.2.1");
            Assert.True(code == 0, first + gateway.Output);

            // AES-128-CBC / HMAC-SHA1-96 (RFC 4303 padding to 16): 1438 bytes in 1500 with raw ESP, 1422 with NAT-T's UDP header.
            var show = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
            var natT = show.Contains("remote crypto endpt.: 10.0.0.2/4500", StringComparison.Ordinal);
            var mtu = natT ? 1422 : 1438;

            // Without DF first (the host has not learnt the tunnel's MTU yet, so it sends 1500-byte fragments of its own).
            var (big, fragmented) = InteropLab.Exec(host, "ping", "-n", "-c", "3", "-i", "0.3", "-W", "3", "-M", "dont", "-s", "3000", "192.168.2.1");
            Assert.True(big == 0 && fragmented.Contains("3008 bytes from 192.168.2.1", StringComparison.Ordinal), fragmented + gateway.Output);
            var (_, refused) = InteropLab.Exec(host, "ping", "-n", "-c", "2", "-i", "0.3", "-W", "2", "-M", "do", "-s", "1472", "192.168.2.1");
            Assert.True(Regex.IsMatch(refused, $@"From 192\.168\.1\.1 icmp_seq=\d+ Frag needed and DF set \(mtu = {mtu}\)"),
                refused + InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa"));
            var (fits, fitting) = InteropLab.Exec(host, "ping", "-n", "-c", "3", "-i", "0.3", "-W", "3", "-M", "do", "-s", (mtu - 28).ToString(), "192.168.2.1");
            Assert.True(fits == 0, fitting);

            show = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
            var pmtus = long.Parse(Regex.Match(show, @"#PMTUs sent: (\d+)").Groups[1].Value);
            var preFrag = Regex.Match(show, @"#pre-frag successes: (\d+), #pre-frag failures: (\d+), #fragments created: (\d+)");
            Assert.True(pmtus >= 1, show);
            // The host sends each 3,008-byte echo as 1500 + 1500 + 48 bytes (its own MTU): the two full ones are too big for the tunnel.
            Assert.True(preFrag.Success && long.Parse(preFrag.Groups[1].Value) == 6 && preFrag.Groups[2].Value == "0"
                && long.Parse(preFrag.Groups[3].Value) == 12, show);
            Assert.Contains("path mtu 1500, ", show);
            Assert.Contains("DF policy: copy-df", show);
        }
        finally
        {
            InteropLab.Exec(lab.Left, "ip", "link", "del", "pm0");
            ProcessRunner.Run("ip", ["netns", "del", host]);
        }
    }

    /// <summary>
    /// A namespace with 192.168.1.10 behind the gateway's namespace (a veth pair; the gateway's side unnumbered, a /32 route
    /// to the host), routing through 192.168.1.1; the gateway's namespace forwards.
    /// </summary>
    private static void InsideHost(string gateway, string host)
    {
        Run("ip", "netns", "add", host);
        Run("ip", "-n", gateway, "link", "add", "pm0", "type", "veth", "peer", "name", "pm1", "netns", host);
        Run("ip", "-n", gateway, "link", "set", "pm0", "up");
        Run("ip", "-n", gateway, "route", "add", "192.168.1.10/32", "dev", "pm0");
        Run("ip", "netns", "exec", gateway, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        Run("ip", "-n", host, "link", "set", "lo", "up");
        Run("ip", "-n", host, "addr", "add", "192.168.1.10/32", "dev", "pm1");
        Run("ip", "-n", host, "link", "set", "pm1", "up");
        Run("ip", "-n", host, "route", "add", "192.168.1.1/32", "dev", "pm1");
        Run("ip", "-n", host, "route", "add", "default", "via", "192.168.1.1", "dev", "pm1");
    }

    private static void Run(params string[] command)
    {
        var (code, stdout, stderr) = ProcessRunner.Run(command[0], command[1..]);
        Assert.True(code == 0, $"{string.Join(' ', command)}: {stdout}{stderr}");
    }
}
