using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;

namespace IkeActors.Grains.Tests;

/// <summary>
/// The cluster as Quick Mode responder (the peer initiates): its new inbound SA reaches the data plane before QM2 reaches
/// the peer, because the peer may send on the new SA as soon as it has QM2 (RFC 2409 §5.5; strongSwan does); the pair,
/// with its outbound SA, only when QM3 arrives; and the inbound SA is withdrawn when QM3 never does.
/// </summary>
public class ResponderInboundSaTests
{
    private const byte QuickModeExchange = 32; // RFC 2408 §3.1 exchange type, header octet 18

    /// <summary>Short retransmissions: QM2 twice more, 100 ms then 200 ms apart, then the exchange gives up.</summary>
    private static readonly NegotiationSettings Fast = new() { RetransmitInterval = TimeSpan.FromMilliseconds(100), RetransmitLimit = 2 };

    /// <summary>QM2 again after 500 ms, and up to four times: time enough to look before QM3 is let through.</summary>
    private static readonly NegotiationSettings Patient = new() { RetransmitInterval = TimeSpan.FromMilliseconds(500), RetransmitLimit = 4 };

    private static Task<RekeyLab> Start(NegotiationSettings settings) =>
        RekeyLab.Start(RekeyLab.ConfigText("asa2-responder.cfg"), RekeyLab.ConfigText("asa1-initiator.cfg"), settings);

    private static IpsecSaPair? PeerPair(RekeyLab lab)
    {
        lock (lab.Lock) return lab.PeerOutput.OfType<InstallIpsecSa>().Select(i => i.Pair).FirstOrDefault();
    }

    /// <summary>The peer starts the tunnel; the inbound-only SAs the data plane held when the first Quick Mode datagram (QM2) reached the peer.</summary>
    private static async Task<int?> PeerStarts(RekeyLab lab)
    {
        int? atQm2 = null;
        lab.ToPeerObserver = d =>
        {
            if (d.Length > 18 && d[18] == QuickModeExchange && atQm2 is null) atQm2 = lab.DataPlane.Inner.InboundOnly.Count;
        };
        await lab.OnPeer((e, o) => e.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), o));
        return atQm2;
    }

    private static IIkeSaGrain Grain(RekeyLab lab)
    {
        lock (lab.Lock) return lab.GrainFor(lab.Peer.Sas.Single().InitiatorCookie);
    }

    [Fact]
    public async Task The_inbound_SA_is_in_the_data_plane_before_QM2_reaches_the_peer_and_the_pair_follows_at_QM3()
    {
        await using var lab = await Start(Patient);
        var qm3Held = true;
        lab.DropToGrains = d => qm3Held && d[18] == QuickModeExchange && PeerPair(lab) is not null;
        var atQm2 = await PeerStarts(lab);

        Assert.Equal(1, atQm2);
        var peer = PeerPair(lab)!;
        // The cluster receives on the peer's new outbound SA (same SPI and keys, RFC 2409 §5.5 KEYMAT) and sends on nothing new.
        var alone = Assert.Single(lab.DataPlane.Inner.InboundOnly);
        Assert.Equal((peer.Outbound.Spi, peer.Inbound.Spi), (alone.InboundSpi, alone.OutboundSpi));
        Assert.Equal(peer.Outbound.EncryptionKey, alone.InboundEncryptionKey);
        Assert.Equal(peer.Outbound.IntegrityKey, alone.InboundIntegrityKey);
        Assert.Empty(alone.OutboundEncryptionKey);
        Assert.Empty(lab.DataPlane.Inner.Sas);
        // Not an installed pair: `show crypto ipsec sa` lists none, the IPsec SA grain describes none.
        Assert.Equal("", await Grain(lab).ShowIpsecSa());
        Assert.Null(await lab.Cluster.Client.GetGrain<IIpsecSaGrain>(IIpsecSaGrain.KeyFor("10.0.0.1", alone.InboundSpi)).Describe());

        // QM3 gets through (the cluster resends QM2, the peer repeats QM3): the pair completes the inbound SA.
        qm3Held = false;
        await RekeyTests.WaitFor(() => lab.DataPlane.Inner.Sas.Count == 1, TimeSpan.FromSeconds(10), "the pair at QM3");
        var pair = Assert.Single(lab.DataPlane.Inner.Sas);
        Assert.Equal(alone.InboundSpi, pair.InboundSpi);
        Assert.Equal(peer.Inbound.EncryptionKey, pair.OutboundEncryptionKey);
        Assert.Empty(lab.DataPlane.Inner.InboundOnly);
        var events = lab.DataPlane.Events.Where(e => e.InboundSpi == alone.InboundSpi).Select(e => e.Op).ToList();
        Assert.Equal(["add-inbound", "add"], events);
        Assert.Contains($"current outbound spi: {peer.Inbound.Spi:X8}", await Grain(lab).ShowIpsecSa());
        Assert.Empty(lab.Errors);
    }

    [Fact]
    public async Task When_QM3_never_comes_the_inbound_SA_is_withdrawn_once_the_retransmissions_run_out()
    {
        await using var lab = await Start(Fast);
        lab.DropToGrains = d => d[18] == QuickModeExchange && PeerPair(lab) is not null; // every QM3 lost
        Assert.Equal(1, await PeerStarts(lab));
        var spi = Assert.Single(lab.DataPlane.Inner.InboundOnly).InboundSpi;

        await RekeyTests.WaitFor(() => lab.DataPlane.Events.Any(e => e.Op == "remove" && e.InboundSpi == spi), TimeSpan.FromSeconds(10),
            "the inbound SA withdrawn");
        Assert.Empty(lab.DataPlane.Inner.InboundOnly);
        Assert.Empty(lab.DataPlane.Inner.Sas);
        Assert.False(lab.DataPlane.Inner.Receives(spi));
        Assert.DoesNotContain(lab.DataPlane.Events, e => e.Op == "add");
        Assert.Equal("", await Grain(lab).ShowIpsecSa());
        Assert.Equal(nameof(MainModeState.MM_ACTIVE), await Grain(lab).GetState()); // only the Quick Mode failed
        Assert.Empty(lab.Errors);
    }
}
