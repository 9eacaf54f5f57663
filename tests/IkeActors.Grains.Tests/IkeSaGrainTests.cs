using System.Buffers.Binary;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;

namespace IkeActors.Grains.Tests;

/// <summary>The responder side of the seed's tunnel served by an IKE SA grain in a two-silo cluster.</summary>
[Collection(nameof(ClusterCollection))]
public class IkeSaGrainTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_peer_brings_the_tunnel_up_with_an_IKE_SA_grain()
    {
        using var left = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), PeerPump.Left));
        var lo = new NegotiationOutput();
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);

        var pumped = await PeerPump.RunAsync(fixture.Cluster.Client, left, lo, 0, debugLevel: 127);
        var grain = pumped.Grain;
        var responderLines = pumped.ResponderLines;

        Assert.NotNull(grain);
        Assert.Equal("MM_ACTIVE", await grain!.GetState());
        Assert.Single(lo.OfType<InstallIpsecSa>());
        Assert.Contains(responderLines, l => l.EndsWith("PHASE 1 COMPLETED", StringComparison.Ordinal));
        Assert.Contains(responderLines, l => l.Contains("PHASE 2 COMPLETED", StringComparison.Ordinal));
        // The responder's crypto map lifetime (3600 s) wins, as in the seed.
        Assert.Equal(3600, Assert.Single(lo.OfType<InstallIpsecSa>()).Pair.LifetimeSeconds);
    }
}
