using static IkeActors.Grains.Tests.PeerPump;
using System.Buffers.Binary;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;

namespace IkeActors.Grains.Tests;

/// <summary>Quick Mode results reach the data plane through IPsec SA grains, and leave it on DELETE.</summary>
[Collection(nameof(ClusterCollection))]
public class IpsecSaGrainTests(ClusterFixture fixture)
{

    [Fact]
    public async Task Installed_pairs_are_pushed_to_the_data_plane_and_withdrawn_on_delete()
    {
        using var left = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), Left));
        var lo = new NegotiationOutput();
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);
        var seen = (await PeerPump.RunAsync(fixture.Cluster.Client, left, lo, 0)).Seen;
        var pair = Assert.Single(lo.OfType<InstallIpsecSa>()).Pair;

        // The responder's inbound SA is the initiator's outbound: same SPI, same keys (RFC 2409 §5.5).
        Assert.True(fixture.DataPlane.TryGet(pair.Outbound.Spi, out var sa));
        Assert.Equal(pair.Outbound.Spi, sa!.InboundSpi);
        Assert.Equal(pair.Inbound.Spi, sa.OutboundSpi);
        Assert.Equal(pair.Outbound.EncryptionKey, sa.InboundEncryptionKey);
        Assert.Equal(pair.Inbound.IntegrityKey, sa.OutboundIntegrityKey);
        Assert.DoesNotContain("keys", sa.ToString().Replace("keys not shown", "", StringComparison.Ordinal));
        var described = await fixture.Cluster.Client.GetGrain<IIpsecSaGrain>(IIpsecSaGrain.KeyFor("10.0.0.1", pair.Outbound.Spi)).Describe();
        Assert.NotNull(described);
        Assert.Empty(described!.InboundEncryptionKey);
        Assert.Equal("esp-aes esp-sha-hmac", described.Transform);

        // The initiator deletes everything (RFC 2408 §3.15): the responder withdraws the pair.
        left.DeleteAll(lo);
        await PeerPump.RunAsync(fixture.Cluster.Client, left, lo, seen);
        Assert.False(fixture.DataPlane.TryGet(pair.Outbound.Spi, out _));
        Assert.False(fixture.DataPlane.TryGet(pair.Inbound.Spi, out _));
    }
}
