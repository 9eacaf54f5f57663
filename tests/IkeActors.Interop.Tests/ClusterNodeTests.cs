using IkeActors.Testing;

namespace IkeActors.Interop.Tests;

/// <summary>
/// A node of a cluster with a data plane (`--cluster` and `--tun`) against strongSwan: its pairs go through the
/// carrier service (docs/cluster.md §3) and still carry the traffic: the peer's carrier record is in Redis with this
/// node as carrier (epoch 1, one pair, its first reservation), `show vpn-sessiondb detail l2l` names it, the pings
/// pass, and when the SAs go the record goes.
/// Redis runs inside the gateway's namespace, started and stopped by the test.
/// </summary>
public sealed class ClusterNodeTests
{
    [Fact]
    public async Task A_cluster_node_carries_its_peers_traffic_through_the_carrier_record()
    {
        using var lab = new InteropLab();
        await using var redis = await RedisServer.Start(lab.Left);
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d", "--cluster", $"redis://127.0.0.1:{redis.Port}");
        lab.StartStrongSwan("--role", "initiator", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        lab.StrongSwan("wait-established", "30");
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));

        var pings = Tunnel.Ping(lab.Left, 20);
        Assert.True(pings.Received == 20, $"20 pings, {pings.Received} answered:\n{pings.Output}\n{gateway.Output}");
        const string key = "ikeactors:carrier:10.0.0.2";
        Assert.Equal("1", redis.Cli("HGET", key, "epoch").Trim());
        var record = redis.Cli("HGET", key, "record");
        Assert.Contains("\"node\":\"127.0.0.1:11111\"", record);
        Assert.Contains($"\"outboundReserved\":{IkeActors.Esp.EspSa.OutboundReservation}", record);
        // The session's detail names the node that carries it (its advertised address and silo port).
        Assert.Contains(" Carrier      : 127.0.0.1:11111\n", InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "detail", "l2l"));
        var show = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
        var (encaps, decaps) = Tunnel.Counters(show);
        Assert.True(encaps == 20 && decaps == 20, show);

        InteropLab.Operator(lab.Left, "clear", "crypto", "isakmp", "sa", "10.0.0.2");
        InteropLab.Eventually(() => redis.Cli("EXISTS", key).Trim() == "0", TimeSpan.FromSeconds(10), () => "record still there:\n" + redis.Dump());
    }
}
