using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// Two `ikeactors run` nodes joined through a real Redis (Debian's redis-server, started here on a
/// loopback port) form one concentrator: a peer negotiates with node A, and node B's operator
/// view shows the same IKE SA. A node's `--advertise` address is the one the membership publishes.
/// </summary>
public class RedisClusterTests
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");

    [Fact]
    public async Task Two_nodes_joined_through_Redis_serve_one_tunnel()
    {
        await using var redis = await RedisServer.Start();
        var nodes = new List<Running>();
        try
        {
            var dll = Dll;
            var (portA, portB, portLeft) = (FreePorts.Udp(), FreePorts.Udp(), FreePorts.Udp());
            var cluster = redis.Url;
            foreach (var (port, silo, gateway) in new[] { (portA, 11161, 30061), (portB, 11162, 30062) })
            {
                var node = Running.Start(dll, "run", "--config", RepoPaths.SiteToSite("asa2-responder.cfg"), "--bind", $"127.0.0.1:{port}",
                    "--peer-map", $"10.0.0.1=127.0.0.1:{portLeft}", "--cluster", cluster, "--silo-port", silo.ToString(), "--gateway-port", gateway.ToString(),
                    "--debug", "127", "--exit-after", "60");
                nodes.Add(node);
                await node.WaitForLine("ISAKMP on udp", TimeSpan.FromSeconds(60));
            }
            var left = Running.Start(dll, "run", "--config", RepoPaths.SiteToSite("asa1-initiator.cfg"), "--bind", $"127.0.0.1:{portLeft}",
                "--peer-map", $"10.0.0.2=127.0.0.1:{portA}", "--silo-port", "11163", "--gateway-port", "30063", "--debug", "127",
                "--acquire", "192.168.1.10,192.168.2.10,1", "--exit-after", "40");
            nodes.Add(left);
            await left.WaitForLine("PHASE 2 COMPLETED", TimeSpan.FromSeconds(40));

            // Node B never saw a datagram of this tunnel; the cluster still knows the SA.
            var (code, stdout, stderr) = ProcessRunner.Run("dotnet", [dll, "show", "crypto", "isakmp", "sa", "--node", "127.0.0.1:30062"]);
            Assert.True(code == 0, stdout + stderr);
            Assert.Contains("IKE Peer: 10.0.0.1", stdout);
            Assert.Contains("State   : MM_ACTIVE", stdout);

            // The concentrator's counters are every node's: MM1s from addresses without a key sent to node B only,
            // the tunnel's datagrams to node A only, one `show crypto isakmp stats` on node A sees both.
            using (var flood = new Flood.Mm1Flood(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, portB), Mm1FloodTests.SeedMm1(),
                       Flood.Mm1Flood.Addresses(5, a: 3)))
                flood.Send(50, perSecond: 0, malformedEvery: 0, TimeSpan.FromSeconds(10));
            var until = Environment.TickCount64 + 20_000;
            string stats;
            do
            {
                var show = ProcessRunner.Run("dotnet", [dll, "show", "crypto", "isakmp", "stats", "--node", "127.0.0.1:30061"]);
                Assert.True(show.Code == 0, show.Stdout + show.Stderr);
                stats = show.Stdout;
            }
            // QM3 may still be on its way to A when the initiator prints PHASE 2 COMPLETED (it does on sending it).
            while ((Mm1FloodTests.Counter(stats, "No Pre-shared Key:") < 50 || Mm1FloodTests.Counter(stats, "In Packets:") < 55)
                   && Environment.TickCount64 < until);
            Assert.Contains("Half-open MM1 refusals (2 nodes)", stats);
            Assert.Equal(50, Mm1FloodTests.Counter(stats, "No Pre-shared Key:"));
            Assert.Equal(1, Mm1FloodTests.Counter(stats, "Active Tunnels:"));
            Assert.True(Mm1FloodTests.Counter(stats, "In Packets:") >= 55, stats); // MM1, MM3, MM5, QM1 and QM3 at A, the 50 at B
            Assert.Equal(0, Mm1FloodTests.Counter(stats, "In-Negotiation SAs:"));
        }
        finally
        {
            foreach (var n in nodes) n.Stop();
        }
    }

    [Fact]
    public async Task A_node_run_with_advertise_publishes_that_address_in_the_Redis_membership_and_serves_operators_there()
    {
        await using var redis = await RedisServer.Start();
        // 127.0.0.2 is loopback too (127.0.0.0/8) but not the default 127.0.0.1.
        var node = Running.Start(Dll, "run", "--config", RepoPaths.SiteToSite("asa2-responder.cfg"), "--bind", $"127.0.0.1:{FreePorts.Udp()}",
            "--cluster", redis.Url, "--advertise", "127.0.0.2", "--silo-port", "11164", "--gateway-port", "30064", "--exit-after", "60");
        try
        {
            await node.WaitForLine("ISAKMP on udp", TimeSpan.FromSeconds(60));
            var membership = redis.Dump();
            Assert.Contains("127.0.0.2:11164", membership);
            Assert.DoesNotContain("127.0.0.1:11164", membership);
            // An operator reaches the node's gateway at the advertised address.
            var (code, stdout, stderr) = ProcessRunner.Run("dotnet", [Dll, "show", "crypto", "isakmp", "sa", "--node", "127.0.0.2:30064"]);
            Assert.True(code == 0, stdout + stderr);
        }
        finally
        {
            node.Stop();
        }
    }

}
