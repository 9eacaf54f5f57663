using System.Buffers.Binary;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;

namespace IkeActors.Grains.Tests;

/// <summary>Quick Mode results reach the data plane through IPsec SA grains, and leave it on DELETE.</summary>
[Collection(nameof(ClusterCollection))]
public class IpsecSaGrainTests(ClusterFixture fixture)
{
    private static readonly IPEndPoint Left = new(IPAddress.Parse("10.0.0.1"), 500);
    private static readonly IPEndPoint Right = new(IPAddress.Parse("10.0.0.2"), 500);

    [Fact]
    public async Task Installed_pairs_are_pushed_to_the_data_plane_and_withdrawn_on_delete()
    {
        using var left = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), Left));
        var lo = new NegotiationOutput();
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);
        var seen = await Pump(left, lo, 0);
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
        await Pump(left, lo, seen);
        Assert.False(fixture.DataPlane.TryGet(pair.Outbound.Spi, out _));
        Assert.False(fixture.DataPlane.TryGet(pair.Inbound.Spi, out _));
    }

    private async Task<int> Pump(NegotiationEngine left, NegotiationOutput lo, int seen)
    {
        for (var round = 0; round < 20 && seen < lo.Actions.Count; round++)
        {
            var batch = lo.Actions.Skip(seen).OfType<SendDatagram>().ToList();
            seen = lo.Actions.Count;
            foreach (var send in batch)
            {
                var cookie = BinaryPrimitives.ReadUInt64BigEndian(send.Datagram);
                var grain = fixture.Cluster.Client.GetGrain<IIkeSaGrain>(IIkeSaGrain.KeyFor(Left.Address.ToString(), cookie));
                var result = await grain.Receive(new Datagram(send.Datagram, Left.Address.ToString(), 500), 0);
                foreach (var reply in result.Send) left.Receive(reply.Bytes, Right, lo);
            }
        }
        return seen;
    }
}
