using IkeActors.Explain.Tests.Support;
using static IkeActors.Explain.Tests.Support.CatalogLines;

namespace IkeActors.Explain.Tests;

/// <summary>
/// Failures our engine does not produce yet (DPD, NAT-T, rekey collisions, INITIAL-CONTACT),
/// written by hand from the catalog's exact templates, diagnosed with the right cause.
/// </summary>
public class HandWrittenFailureTests
{
    private const string P = "10.0.0.2", G = "10.0.0.2";

    private static ExplainReport Explain(params string[] lines) => Explainer.Explain([("hand.log", string.Join("\n", lines) + "\n")]);

    private static string[] Phase1Initiator() =>
    [
        L("PitcherKeyAcquire", null, null, ("spi", "0")),
        L("InitiatorNewPhase1", P, null, ("interfaceName", "inside"), ("remotePeer", P), ("localProxy", "192.168.1.0"), ("remoteProxy", "192.168.2.0"), ("cryptoMap", "MAP")),
        L("ConstructingIsakmpSaPayload", P),
        L("IkeDecodeSending", P, null, ("msgid", "0"), ("payloads", "HDR + SA (1) + VENDOR (13) + NONE (0)"), ("length", 168)),
        L("IkeDecodeReceived", P, null, ("msgid", "0"), ("payloads", "HDR + SA (1) + VENDOR (13) + NONE (0)"), ("length", 128)),
        L("ProcessingSaPayload", P),
        L("ConstructingKePayload", P),
        L("IkeDecodeSending", P, null, ("msgid", "0"), ("payloads", "HDR + KE (4) + NONCE (10) + NAT-D (20) + NAT-D (20) + NONE (0)"), ("length", 311)),
        L("IkeDecodeReceived", P, null, ("msgid", "0"), ("payloads", "HDR + KE (4) + NONCE (10) + NAT-D (20) + NAT-D (20) + NONE (0)"), ("length", 311)),
        L("ProcessingKePayload", P),
        L("ConnectionLandedOnTunnelGroup", P, null, ("tunnelGroup", G)),
        L("GeneratingKeysForInitiator", P, G),
        L("ConstructingIdPayload", P, G),
        L("IkeDecodeSending", P, null, ("msgid", "0"), ("payloads", "HDR + ID (5) + HASH (8) + NONE (0)"), ("length", 100)),
    ];

    [Fact]
    public void DPD_timeout()
    {
        var r = Explain([.. Phase1Initiator(),
            L("NatDetectionNoNat", P, G),
            L("IkeDecodeReceived", P, null, ("msgid", "0"), ("payloads", "HDR + ID (5) + HASH (8) + NONE (0)"), ("length", 100)),
            L("Phase1Completed", P, G),
            L("SendingDpdRuThere", P, G, ("sequence", "1a2b")),
            L("SendingDpdRuThere", P, G, ("sequence", "1a2c")),
            L("SendingDpdRuThere", P, G, ("sequence", "1a2d")),
            L("LostContactWithPeer", P, G),
            L("ConnectionTerminated", P, G, ("peerAddress", P), ("reason", "Peer Terminate"), ("remoteProxy", "192.168.2.0"), ("localProxy", "192.168.1.0"))]);
        var d = Assert.Single(r.Diagnoses);
        Assert.Equal("dpd-timeout", d.Id);
        Assert.Equal(Messages.Informational, d.Evidence[0].ExchangeMessage);
        Assert.Equal(("MM5", "MM6"), (r.Lines[13].ExchangeMessage, r.Lines[15].ExchangeMessage));
    }

    [Fact]
    public void NAT_T_problem_when_quick_mode_behind_NAT_is_never_answered()
    {
        var r = Explain([.. Phase1Initiator(),
            L("NatDetectionRemoteBehindNat", P, G),
            L("IkeDecodeReceived", P, null, ("msgid", "0"), ("payloads", "HDR + ID (5) + HASH (8) + NONE (0)"), ("length", 100)),
            L("Phase1Completed", P, G),
            L("IkeGotSpiFromKeyEngine", P, G, ("spi", "fd2d851f")),
            L("IkeDecodeSending", P, null, ("msgid", "7b80c2b0"), ("payloads", "HDR + HASH (8) + SA (1) + NONCE (10) + ID (5) + ID (5) + NONE (0)"), ("length", 200)),
            L("IkeDecodeResending", P, null, ("msgid", "7b80c2b0"), ("payloads", "HDR + HASH (8) + SA (1) + NONCE (10) + ID (5) + ID (5) + NONE (0)"), ("length", 200)),
            L("IkeDecodeResending", P, null, ("msgid", "7b80c2b0"), ("payloads", "HDR + HASH (8) + SA (1) + NONCE (10) + ID (5) + ID (5) + NONE (0)"), ("length", 200)),
            L("QmFsmError", P, G, ("address", "53fc3c00"), ("msgid", "7b80c2b0"))]);
        var d = Assert.Single(r.Diagnoses);
        Assert.Equal("nat-t-problem", d.Id);
        Assert.All(r.Lines.Where(l => l.Message?.Name == "IkeDecodeResending"), l => Assert.Equal("QM1", l.ExchangeMessage));
    }

    [Fact]
    public void NAT_D_payloads_missing()
    {
        var r = Explain(L("NatDiscoveryPayloadsMissing", P));
        Assert.Equal("nat-t-discovery-missing", Assert.Single(r.Diagnoses).Id);
    }

    [Fact]
    public void Rekey_collision()
    {
        var r = Explain(L("InitiatorRekeyingPhase1", P, G, ("interfaceName", "outside"), ("remotePeer", P), ("localProxy", "192.168.1.0"), ("remoteProxy", "192.168.2.0"), ("cryptoMap", "MAP")),
            L("Phase1RekeyCollision", P, G));
        Assert.Equal("rekey-collision", Assert.Single(r.Diagnoses).Id);
    }

    [Fact]
    public void INITIAL_CONTACT_tears_down_the_old_SAs()
    {
        // The responder still has a tunnel with 10.0.0.1 when the peer (rebooted) starts over with INITIAL-CONTACT.
        const string peer = "10.0.0.1";
        var r = Explain(
            L("IkeDecodeReceived", peer, null, ("msgid", "0"), ("payloads", "HDR + SA (1) + VENDOR (13) + NONE (0)"), ("length", 168)),
            L("ProcessingSaPayload", peer),
            L("IkeSaProposalAcceptable", peer, null, ("proposal", 1), ("transform", 1), ("policy", 10)),
            L("IkeDecodeSending", peer, null, ("msgid", "0"), ("payloads", "HDR + SA (1) + VENDOR (13) + NONE (0)"), ("length", 128)),
            L("IkeDecodeReceived", peer, null, ("msgid", "5c1d2e3f"), ("payloads", "HDR + HASH (8) + SA (1) + NONCE (10) + ID (5) + ID (5) + NOTIFY (11) + NONE (0)"), ("length", 210)),
            L("ProcessingHashPayload", peer, peer),
            L("ProcessingNotifyPayload", peer, peer),
            L("IkeDeletingSa", peer, peer, ("remoteProxy", "192.168.1.0"), ("localProxy", "192.168.2.0")),
            L("ConnectionTerminated", peer, peer, ("peerAddress", peer), ("reason", "Peer Terminate"), ("remoteProxy", "192.168.1.0"), ("localProxy", "192.168.2.0")));
        var d = Assert.Single(r.Diagnoses);
        Assert.Equal("initial-contact-teardown", d.Id);
        Assert.Equal(Side.Responder, Assert.Single(r.Streams).Role);
    }

    [Fact]
    public void A_completed_negotiation_has_no_diagnosis_even_with_retransmissions()
    {
        using var lab = new EngineLab(EngineLab.Initiator, EngineLab.Responder).Run();
        var log = lab.LeftLog.Replace("IKE_DECODE SENDING Message (msgid=0) with payloads : HDR + SA (1)", "IKE_DECODE RESENDING Message (msgid=0) with payloads : HDR + SA (1)", StringComparison.Ordinal);
        var r = Explainer.Explain([("left.log", lab.LeftLog + log)]);
        Assert.Empty(r.Diagnoses);
    }
}
