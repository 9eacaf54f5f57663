using System.Text.RegularExpressions;
using IkeActors.Testing;
using Xunit.Abstractions;
using static IkeActors.Interop.Tests.ClusterReadings;

namespace IkeActors.Interop.Tests;

/// <summary>
/// One concentrator across two nodes (docs/cluster.md), with a real strongSwan peer pinging a host behind it at
/// 10/s: the node that carries the peer is killed with SIGKILL, the other takes the peer over from the cluster's
/// record (same IKE SA, same SPIs: strongSwan's own list says so) and the pings go on after a gap of at most 2 s;
/// the killed node's return under traffic costs the peer nothing, and neither does the death of the node that does not
/// carry it. (A Phase 2 rekey after the failover went through the survivor in 7 of 8 trials and not within 90 s in one:
/// not part of this test until that is understood: docs/cluster.md.)
/// The lab: tests/lab/cluster-lab.sh (upstream and inside routers, BIRD, BGP + BFD), Redis on the inside router.
/// </summary>
[Collection(ClusterLabCollection.Name)]
public sealed class ClusterFailoverTests(ITestOutputHelper output)
{
    /// <summary>The hub both two-node tests run (this one and <see cref="ClusterRekeyTests"/>): a dynamic map, DefaultL2LGroup's key.</summary>
    internal const string Hub = ClusterLab.HubInterfaces + """
        crypto ipsec ikev1 transform-set T esp-aes esp-sha-hmac
        crypto dynamic-map DYN 10 set ikev1 transform-set T
        crypto dynamic-map DYN 10 set reverse-route
        crypto map MAP 65535 ipsec-isakmp dynamic DYN
        crypto map MAP interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption 3des
         hash sha
         group 2
         lifetime 86400
        tunnel-group DefaultL2LGroup ipsec-attributes
         ikev1 pre-shared-key cisco
        """;

    [Fact]
    public async Task The_carrier_of_a_peer_killed_under_traffic_its_tunnel_goes_on_through_the_other_node_without_renegotiation()
    {
        using var lab = new ClusterLab(nodes: 2, insideAddress: "172.31.0.1");
        await using var redis = await RedisServer.Start($"{lab.Prefix}-in", bind: "0.0.0.0");
        var gateways = lab.StartHubNodes(Hub, redis);

        var peer = lab.Peer("pa", 1, "192.168.11.1/24");
        lab.StrongSwan("start", peer, "--local", "198.51.100.2", "--remote", ClusterLab.Vip, "--local-ts", "192.168.11.0/24",
            "--remote-ts", "192.168.100.0/24", "--role", "initiator");
        lab.StrongSwan("wait-established", peer, "30");
        var before = lab.StrongSwan("list-sas", peer);
        // The first packets find the pair wherever its grain installed it, or claim it for the node they reach.
        InteropLab.Eventually(() => InteropLab.Exec(peer, "ping", "-n", "-c", "1", "-W", "1", "-I", "192.168.11.1", "192.168.100.1").Code == 0,
            TimeSpan.FromSeconds(20), () => "no ping through the tunnel\n" + redis.Dump() + "\n" + gateways[1].Output + "\n" + gateways[2].Output);

        var record = redis.Cli("HGET", "ikeactors:carrier:198.51.100.2", "record");
        var carrier = int.Parse(Regex.Match(record, @"""node"":""10\.92\.(\d)\.2:").Groups[1].Value);
        output.WriteLine($"node {carrier} carries the peer");

        var ping = Task.Run(() => InteropLab.Exec(peer, "ping", "-n", "-D", "-O", "-c", "150", "-i", "0.1", "-W", "1", "-I", "192.168.11.1", "192.168.100.1"));
        await Task.Delay(3000);
        gateways[carrier].Terminate(9);
        var (_, pings) = await ping;

        var lost = Regex.Matches(pings, @"no answer yet for icmp_seq=(\d+)").Select(m => int.Parse(m.Groups[1].Value)).Distinct().Order().ToList();
        var longest = LongestRun(lost);
        output.WriteLine($"lost {lost.Count} of 150 pings, longest gap {longest * 0.1:0.0} s");
        var received = int.Parse(Regex.Match(pings, @"(\d+) received").Groups[1].Value);
        Assert.True(longest <= 20, $"a gap of {longest} pings (0.1 s each)\n{pings[^Math.Min(3000, pings.Length)..]}\n{gateways[3 - carrier].Output}");
        Assert.True(received >= 150 - 20, pings);

        // No renegotiation: strongSwan lists the same IKE SA and the same CHILD_SA SPIs as before.
        var after = lab.StrongSwan("list-sas", peer);
        Assert.Equal(Spis(before), Spis(after));
        Assert.Equal(IkeSpis(before), IkeSpis(after));
        Assert.Contains($"10.92.{3 - carrier}.2", redis.Cli("HGET", "ikeactors:carrier:198.51.100.2", "record"));

        // The killed node returns under traffic: its path comes back (the upstream router may send the peer to it
        // again: it claims the peer from the live survivor, exact numbers), and the peer notices nothing.
        var ikeBefore = IkeSpis(lab.StrongSwan("list-sas", peer));
        var again = Task.Run(() => InteropLab.Exec(peer, "ping", "-n", "-D", "-O", "-c", "150", "-i", "0.1", "-W", "1", "-I", "192.168.11.1", "192.168.100.1"));
        await Task.Delay(2000);
        gateways[carrier] = lab.StartGateway(carrier, Hub, "--cluster", $"redis://10.92.{carrier}.1:{redis.Port}", "--advertise", $"10.92.{carrier}.2");
        InteropLab.Eventually(() => lab.VipNextHops().Count == 2, TimeSpan.FromSeconds(30), () => "VIP after the return: " + string.Join(", ", lab.VipNextHops()));
        var (_, returned) = await again;
        var lostOnReturn = Regex.Matches(returned, @"no answer yet for icmp_seq=(\d+)").Select(m => int.Parse(m.Groups[1].Value)).Distinct().Order().ToList();
        var carrierNow = Regex.Match(redis.Cli("HGET", "ikeactors:carrier:198.51.100.2", "record"), @"""node"":""10\.92\.(\d)\.2:").Groups[1].Value;
        output.WriteLine($"node {carrier} back: {lostOnReturn.Count} of 150 pings late or lost, longest gap {LongestRun(lostOnReturn) * 0.1:0.0} s; node {carrierNow} carries the peer");
        Assert.True(LongestRun(lostOnReturn) <= 20, returned[^Math.Min(3000, returned.Length)..]);
        Assert.Equal(ikeBefore, IkeSpis(lab.StrongSwan("list-sas", peer)));

        // Then the other node is killed: when it does not carry the peer, the peer loses nothing at all.
        var other = carrierNow == "1" ? 2 : 1;
        var third = Task.Run(() => InteropLab.Exec(peer, "ping", "-n", "-D", "-O", "-c", "60", "-i", "0.1", "-W", "1", "-I", "192.168.11.1", "192.168.100.1"));
        await Task.Delay(2000);
        gateways[other].Terminate(9);
        var (_, untouched) = await third;
        var lostUntouched = Regex.Matches(untouched, @"no answer yet for icmp_seq=(\d+)").Count;
        output.WriteLine($"node {other} (not the carrier) killed: {lostUntouched} of 60 pings late or lost");
        Assert.True(lostUntouched == 0 && untouched.Contains(" 60 received", StringComparison.Ordinal), untouched[^Math.Min(2000, untouched.Length)..]);
        Assert.Equal(ikeBefore, IkeSpis(lab.StrongSwan("list-sas", peer)));
    }
}
