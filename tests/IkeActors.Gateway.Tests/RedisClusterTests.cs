using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// Two `ikeactors run` nodes joined through a real Redis (Debian's redis-server, started here on a
/// loopback port) form one concentrator: a peer negotiates with node A, and node B's operator
/// view shows the same IKE SA.
/// </summary>
public class RedisClusterTests
{
    [Fact]
    public async Task Two_nodes_joined_through_Redis_serve_one_tunnel()
    {
        var redisPort = FreeTcpPort();
        using var redis = Process.Start(new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", redisPort.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" },
            RedirectStandardOutput = true, RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("redis-server did not start (apt-get install redis-server)");
        var nodes = new List<Running>();
        try
        {
            await WaitForTcp(redisPort, TimeSpan.FromSeconds(10));
            var dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");
            var (portA, portB, portLeft) = (FreeUdpPort(), FreeUdpPort(), FreeUdpPort());
            var cluster = $"redis://127.0.0.1:{redisPort}";
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
        }
        finally
        {
            foreach (var n in nodes) n.Stop();
            if (!redis.HasExited) redis.Kill();
            redis.WaitForExit(5000);
        }
    }

    private static async Task WaitForTcp(int port, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) { await Task.Delay(100); }
        }
        Assert.Fail($"redis-server did not listen on {port}");
    }

    private static int FreeTcpPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static int FreeUdpPort()
    {
        using var s = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.Client.LocalEndPoint!).Port;
    }
}
