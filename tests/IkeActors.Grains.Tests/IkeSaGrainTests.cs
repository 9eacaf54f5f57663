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

    [Fact]
    public async Task Clear_tells_the_peer_ESP_then_ISAKMP_with_its_debug_lines_printed_once()
    {
        using var left = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), PeerPump.Left));
        var lo = new NegotiationOutput();
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);
        var pumped = await PeerPump.RunAsync(fixture.Cluster.Client, left, lo, 0, debugLevel: 127);
        var installed = Assert.Single(lo.OfType<InstallIpsecSa>()).Pair;
        var before = fixture.Transmitter.Sent.Count;

        Assert.True(await fixture.Cluster.Client.GetGrain<IIkeSaAdmin>(pumped.Grain.GetPrimaryKeyString()).Clear());

        // What a stopping node sends (RFC 2408 §3.15): two Informationals, the ESP DELETE first, then the ISAKMP one.
        var sent = fixture.Transmitter.Sent.Skip(before).Where(s => s.Datagram.Address == PeerPump.Left.Address.ToString()).ToList();
        Assert.Equal(2, sent.Count(s => s.Datagram.Bytes.Length > 0));
        var lines = sent.SelectMany(s => s.Lines).ToList();
        Assert.Single(lines, l => l.EndsWith("constructing IPSec delete payload", StringComparison.Ordinal));
        Assert.Single(lines, l => l.EndsWith("constructing IKE delete payload", StringComparison.Ordinal));
        var seen = lo.Actions.Count;
        foreach (var s in sent.Where(s => s.Datagram.Bytes.Length > 0)) left.Receive(s.Datagram.Bytes, PeerPump.Right, lo);
        var deleted = lo.Actions.Skip(seen).ToList();
        // The peer removes the very pair it installed (the DELETE names the grain's inbound SPI, the peer's outbound).
        var esp = deleted.FindIndex(a => a is IpsecSaDeleted d && d.InboundSpi == installed.Inbound.Spi && d.OutboundSpi == installed.Outbound.Spi);
        var ike = deleted.FindIndex(a => a is IkeSaDeleted);
        Assert.True(esp >= 0 && ike > esp, string.Join('\n', deleted));
        Assert.Equal("MM_NO_STATE", await pumped.Grain.GetState());
    }
}
