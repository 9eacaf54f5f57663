using System.Buffers.Binary;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;

namespace IkeActors.Grains.Tests;

/// <summary>
/// An SA a node's front-end negotiated goes to its grain (IIkeSaGrain.TakeOver): live when the grain is on the same
/// node, as its snapshot when it is not. Either way the grain carries on with the very keys the peer has.
/// </summary>
[Collection(nameof(ClusterCollection))]
public class TakeOverTests(ClusterFixture fixture)
{
    /// <summary>The seed's tunnel negotiated between two plain engines, the right one standing for a node's lane.</summary>
    private static (NegotiationEngine Left, NegotiationOutput Lo, IkeSa Right, string Key) Negotiate()
    {
        var left = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), PeerPump.Left));
        var right = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa2-responder.cfg"), PeerPump.Right));
        var lo = new NegotiationOutput();
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);
        var seen = 0;
        ulong cookie = 0;
        for (var round = 0; round < 20 && seen < lo.Actions.Count; round++)
        {
            var batch = lo.Actions.Skip(seen).OfType<SendDatagram>().ToList();
            seen = lo.Actions.Count;
            foreach (var send in batch)
            {
                cookie = BinaryPrimitives.ReadUInt64BigEndian(send.Datagram);
                var ro = new NegotiationOutput();
                right.Receive(send.Datagram, PeerPump.Left, ro);
                foreach (var reply in ro.OfType<SendDatagram>()) left.Receive(reply.Datagram, PeerPump.Right, lo);
            }
        }
        // The right engine is left undisposed: the SA is the grain's now.
        var sa = Assert.Single(right.Sas);
        Assert.Equal(MainModeState.MM_ACTIVE, sa.State);
        Assert.Single(sa.IpsecSas);
        return (left, lo, sa, IIkeSaGrain.KeyFor(PeerPump.Left.Address.ToString(), cookie));
    }

    private static FrontEndHandOver HandOver() => new() { DebugLevel = 127, Phase1At = DateTime.UtcNow, LastInstall = DateTime.UtcNow };

    [Fact]
    public async Task On_the_same_node_the_grain_takes_the_live_SA_and_installs_its_pair()
    {
        var (left, lo, sa, key) = Negotiate();
        using var peer = left;
        fixture.Transmitter.Parked[key] = sa;

        var result = await fixture.Cluster.Client.GetGrain<IIkeSaGrain>(key).TakeOver(new FrontEndHandOver { Parked = true, DebugLevel = 127, Phase1At = DateTime.UtcNow });

        Assert.Equal(nameof(MainModeState.MM_ACTIVE), result.State);
        Assert.False(fixture.Transmitter.Parked.ContainsKey(key));
        var pair = Assert.Single(sa.IpsecSas).Pair;
        Assert.True(fixture.DataPlane.TryGet(pair.Inbound.Spi, out _));
        await AssertThePeerReadsTheGrainsDeletes(left, lo, key, pair.Inbound.Spi);
    }

    [Fact]
    public async Task On_another_node_the_grain_asks_for_the_snapshot_and_carries_on_from_it()
    {
        var (left, lo, sa, key) = Negotiate();
        using var peer = left;
        var grain = fixture.Cluster.Client.GetGrain<IIkeSaGrain>(key);
        var inbound = Assert.Single(sa.IpsecSas).Pair.Inbound.Spi;

        // Parked on "another node": nothing here to take.
        var first = await grain.TakeOver(new FrontEndHandOver { Parked = true, DebugLevel = 127, Phase1At = DateTime.UtcNow });
        Assert.Equal(FrontEndHandOver.SnapshotNeeded, first.State);
        Assert.False(fixture.DataPlane.TryGet(inbound, out _));

        var handOver = HandOver();
        handOver.Snapshot = IkeSaSnapshotJson.Serialize(sa);
        sa.Dispose();
        var result = await grain.TakeOver(handOver);

        Assert.Equal(nameof(MainModeState.MM_ACTIVE), result.State);
        Assert.True(fixture.DataPlane.TryGet(inbound, out _));
        await AssertThePeerReadsTheGrainsDeletes(left, lo, key, inbound);
    }

    [Fact]
    public async Task A_hand_over_that_is_no_snapshot_leaves_no_SA()
    {
        var key = IIkeSaGrain.KeyFor(PeerPump.Left.Address.ToString(), 0x0102030405060708);
        var handOver = HandOver();
        handOver.Snapshot = "{\"State\":"u8.ToArray(); // cut short

        var result = await fixture.Cluster.Client.GetGrain<IIkeSaGrain>(key).TakeOver(handOver);

        Assert.Equal(nameof(MainModeState.MM_NO_STATE), result.State);
        Assert.Equal(nameof(MainModeState.MM_NO_STATE), await fixture.Cluster.Client.GetGrain<IIkeSaGrain>(key).GetState());
    }

    /// <summary>
    /// The grain's keys, IV and message IDs are the peer's: a clear's two DELETEs (RFC 2408 §3.15), encrypted by the
    /// grain, are read by the peer and remove the very pair.
    /// </summary>
    private async Task AssertThePeerReadsTheGrainsDeletes(NegotiationEngine left, NegotiationOutput lo, string key, uint inbound)
    {
        var before = fixture.Transmitter.Sent.Count;
        Assert.True(await fixture.Cluster.Client.GetGrain<IIkeSaAdmin>(key).Clear());
        var seen = lo.Actions.Count;
        foreach (var s in fixture.Transmitter.Sent.Skip(before).Where(s => s.Datagram.Bytes.Length > 0 && s.Datagram.Address == PeerPump.Left.Address.ToString()))
            left.Receive(s.Datagram.Bytes, PeerPump.Right, lo);
        var deleted = lo.Actions.Skip(seen).ToList();
        Assert.Contains(deleted, a => a is IpsecSaDeleted d && d.OutboundSpi == inbound);
        Assert.Contains(deleted, a => a is IkeSaDeleted);
    }
}
