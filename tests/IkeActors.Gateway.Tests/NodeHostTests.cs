using System.Net;
using IkeActors.Gateway.Hosting;
using IkeActors.Gateway.Tests.Flood;
using IkeActors.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// A gateway node in a host of the test's own (<see cref="IkeActorsNodeExtensions.AddIkeActorsNode"/>, what `ikeactors run`
/// uses): the seed's responder answers the seed's initiator, its debug lines go to the writer it was given, and a stop
/// deletes the tunnel at the peer.
/// </summary>
public class NodeHostTests
{
    [Fact]
    public async Task A_node_added_to_any_host_negotiates_prints_to_its_console_and_deletes_its_SAs_when_stopped()
    {
        var peerPort = FreePorts.Udp();
        var (options, errors) = new RunArguments(RepoPaths.SiteToSite("asa2-responder.cfg"))
        {
            Bind = "127.0.0.1:0", PeerMap = [$"10.0.0.1=127.0.0.1:{peerPort}"], Debug = 127,
            SiloPort = FreePorts.Tcp(), GatewayPort = FreePorts.Tcp(),
        }.Validate();
        Assert.True(options is not null, string.Join("\n", errors));
        var console = new StringWriter { NewLine = "\n" };
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.AddIkeActorsNode(options, console);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var node = host.Services.GetRequiredService<IsakmpSockets>().LocalEndPoint;
            using var peer = new LoopbackPeer(File.ReadAllText(RepoPaths.SiteToSite("asa1-initiator.cfg")), new IPEndPoint(IPAddress.Loopback, peerPort),
                node, IPAddress.Parse("10.0.0.2"));
            peer.Start();
            var up = await Task.WhenAny(peer.Phase2, Task.Delay(TimeSpan.FromSeconds(30))) == peer.Phase2;
            Assert.True(up, "no phase 2 at the peer:\n" + string.Join("\n", peer.Lines.TakeLast(15)));
            Assert.Single(host.Services.GetRequiredService<SaRouter>().IkeSas);
            // The peer is up once it sent QM3; the node completes Phase 2 when QM3 arrives, which the stop must not outrun.
            for (var i = 0; i < 100 && !console.ToString().Contains("PHASE 2 COMPLETED", StringComparison.Ordinal); i++) await Task.Delay(100);
            await host.StopAsync();
            var lines = console.ToString();
            Assert.Contains("PHASE 2 COMPLETED", lines);
            var ipsecDelete = lines.IndexOf("constructing IPSec delete payload", StringComparison.Ordinal);
            Assert.True(ipsecDelete >= 0 && lines.IndexOf("constructing IKE delete payload", StringComparison.Ordinal) > ipsecDelete, lines);
        }
        finally { await host.StopAsync(); }
    }
}
