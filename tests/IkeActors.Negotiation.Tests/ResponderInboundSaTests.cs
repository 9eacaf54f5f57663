using System.Buffers.Binary;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// The Quick Mode responder's inbound SA goes into the data plane when QM2 goes out, the pair (its outbound SA) only when
/// an authentic QM3 arrives. RFC 2409 §5.5: the initiator has every key once it has QM2, and strongSwan installs both
/// its SAs there and sends on the new outbound one as soon as its QM3 is out (src/libcharon/sa/ikev1/tasks/quick_mode.c:
/// install() from process_i); the responder must not send on the new SA before QM3 says the initiator has the keys.
/// Libreswan does the same as this responder (install_inbound_ipsec_sa at QM2, install_ipsec_sa at QM3). An inbound SA
/// whose Quick Mode ends without QM3 is removed again: no SPI is left behind.
/// </summary>
public class ResponderInboundSaTests
{
    private const byte QuickModeExchange = 32; // RFC 2408 §3.1 exchange type, header octet 18

    /// <summary>Holds back every QM3 (and its repeats) the left sends: the left sends QM3 only once it holds its pair.</summary>
    private static Func<bool, int, byte[], byte[]?> DropQm3(Lab lab) => (fromLeft, _, bytes) =>
        fromLeft && bytes[18] == QuickModeExchange && lab.LeftOutput.OfType<InstallIpsecSa>().Any() ? null : bytes;

    private static int IndexOf(NegotiationOutput output, Func<NegotiationAction, bool> match)
    {
        for (var i = 0; i < output.Actions.Count; i++)
            if (match(output.Actions[i])) return i;
        return -1;
    }

    /// <summary>The datagram that is QM2: the send just before the engine says QM2 went out.</summary>
    private static int Qm2SentAt(NegotiationOutput output)
    {
        var sent = IndexOf(output, a => a is MessageSent { Message: { Exchange: IkeExchange.QuickMode, Number: 2 } });
        Assert.True(sent > 0, "the responder sent no QM2");
        for (var i = sent - 1; i >= 0; i--)
            if (output.Actions[i] is SendDatagram { IsRetransmission: false }) return i;
        throw new InvalidOperationException("no datagram before MessageSent(QM2)");
    }

    [Fact]
    public void The_responder_installs_its_inbound_SA_before_QM2_goes_out_and_the_pair_only_when_QM3_arrives()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.Tamper = DropQm3(lab);
        lab.AcquireAndRun();

        // The initiator has its pair (both directions) from QM2 on, as strongSwan does; it installs nothing alone.
        var initiator = Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>()).Pair;
        Assert.Empty(lab.LeftOutput.OfType<InstallInboundSa>());

        // The responder, QM3 not yet here: its inbound SA is in, before the QM2 datagram; no pair yet.
        var early = Assert.Single(lab.RightOutput.OfType<InstallInboundSa>()).Pair;
        Assert.True(IndexOf(lab.RightOutput, a => a is InstallInboundSa) < Qm2SentAt(lab.RightOutput), "the inbound SA must be in before QM2 leaves");
        Assert.Empty(lab.RightOutput.OfType<InstallIpsecSa>());
        var right = Assert.Single(lab.Right.Sas);
        Assert.Empty(right.IpsecSas); // not an installed pair: not in show, the directory or a snapshot's pairs
        Assert.Equal(QuickModeState.QM_WAIT_MSG3, Assert.Single(right.QuickModes).State);

        // It decrypts what the initiator sends on its new outbound SA: the initiator's outbound SPI and keys (RFC 2409 §5.5 KEYMAT).
        Assert.Equal(initiator.Outbound.Spi, early.Inbound.Spi);
        Assert.Equal(initiator.Outbound.EncryptionKey, early.Inbound.EncryptionKey);
        Assert.Equal(initiator.Outbound.IntegrityKey, early.Inbound.IntegrityKey);
        // The outbound direction is named (the initiator's inbound SPI) but holds no key: nothing can be sent on it yet.
        Assert.Equal(initiator.Inbound.Spi, early.Outbound.Spi);
        Assert.Empty(early.Outbound.EncryptionKey);
        Assert.Empty(early.Outbound.IntegrityKey);
        Assert.Equal((initiator.Remote, initiator.Local), (early.Local, early.Remote));

        // QM3 arrives (the responder resends QM2, the initiator repeats QM3): now the pair, with the same inbound SPI.
        lab.Tamper = null;
        lab.FireTimers(left: false, TimerKind.Retransmit);
        lab.Run();
        var (left, pair) = LabAssert.TunnelUp(lab);
        Assert.Equal(early.Inbound.Spi, pair.Inbound.Spi);
        Assert.Equal(initiator.Inbound.EncryptionKey, pair.Outbound.EncryptionKey);
        Assert.Equal(initiator.Inbound.IntegrityKey, pair.Outbound.IntegrityKey);
        Assert.Single(lab.RightOutput.OfType<InstallInboundSa>()); // not announced again by the repeated exchange
        Assert.Empty(lab.RightOutput.OfType<InboundSaDeleted>());
        Assert.Equal(pair.MessageId, Assert.Single(right.IpsecSas).MessageId);
        Assert.Equal(left.MessageId, pair.MessageId);
    }

    [Fact]
    public void With_PFS_the_early_inbound_SA_has_the_keys_of_the_new_exchange()
    {
        static string Pfs(string c) => c.Edit("crypto map MAP interface outside", "crypto map MAP 10 set pfs group14\ncrypto map MAP interface outside");
        using var lab = new Lab(Pfs(Configs.Initiator), Pfs(Configs.Responder));
        lab.Tamper = DropQm3(lab);
        lab.AcquireAndRun();
        var initiator = Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>()).Pair;
        Assert.NotNull(initiator.Transform.PfsGroup);
        var early = Assert.Single(lab.RightOutput.OfType<InstallInboundSa>()).Pair;
        // KEYMAT with g(qm)^xy (RFC 2409 §5.5): computed by the responder before QM2, as the initiator computes it from QM2.
        Assert.Equal(initiator.Outbound.EncryptionKey, early.Inbound.EncryptionKey);
        Assert.Equal(initiator.Outbound.IntegrityKey, early.Inbound.IntegrityKey);
        lab.Tamper = null;
        lab.FireTimers(left: false, TimerKind.Retransmit);
        lab.Run();
        LabAssert.TunnelUp(lab);
    }

    [Fact]
    public void Without_QM3_the_responder_removes_its_inbound_SA_when_its_retransmissions_run_out()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.Tamper = DropQm3(lab);
        lab.AcquireAndRun();
        var early = Assert.Single(lab.RightOutput.OfType<InstallInboundSa>()).Pair;

        for (var i = 0; i < 8 && !lab.RightOutput.OfType<NegotiationFailed>().Any(); i++)
        {
            lab.FireTimers(left: false, TimerKind.Retransmit);
            lab.Run();
        }

        var failed = Assert.Single(lab.RightOutput.OfType<NegotiationFailed>());
        Assert.Equal((IkeExchange.QuickMode, FailureReason.RetransmissionsExhausted), (failed.Exchange, failed.Reason));
        var removed = Assert.Single(lab.RightOutput.OfType<InboundSaDeleted>());
        Assert.Equal((early.Inbound.Spi, early.Outbound.Spi, Lab.LeftAddress.Address), (removed.InboundSpi, removed.OutboundSpi, removed.Peer.Address));
        Assert.Empty(lab.RightOutput.OfType<InstallIpsecSa>());
        Assert.Empty(lab.RightOutput.OfType<IpsecSaDeleted>()); // it never was an installed pair
        var right = Assert.Single(lab.Right.Sas);
        Assert.Empty(right.IpsecSas);
        Assert.Empty(right.QuickModes);
    }

    /// <summary>QM3 with its HASH(3) changed, encrypted as the real one is (same IV, RFC 2409 Appendix B): it decrypts, and only the hash is wrong.</summary>
    private static byte[] WithWrongHash3(IkeSa responder, byte[] qm3)
    {
        var messageId = BinaryPrimitives.ReadUInt32BigEndian(qm3.AsSpan(20));
        var cipher = responder.Cipher!;
        Assert.True(IsakmpMessages.TryDecrypt(qm3, cipher, messageId, out var plain));
        Assert.Equal(8, plain[16]); // the first payload is HASH (RFC 2408 §3.11)
        plain[IsakmpMessages.HeaderSize + 4] ^= 0x01; // the first octet of HASH(3)
        var ivs = cipher.ExportIvs();
        var forged = IsakmpMessages.Encrypt(plain, cipher, messageId);
        Assert.True(cipher.TryImportIvs(ivs)); // encrypting moved the responder's IV: as it was
        return forged;
    }

    [Fact]
    public void A_forged_QM3_whose_HASH_does_not_verify_installs_no_outbound_SA_and_the_genuine_one_still_does()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        byte[]? genuine = null;
        lab.Tamper = (fromLeft, _, bytes) =>
        {
            if (!fromLeft || bytes[18] != QuickModeExchange || !lab.LeftOutput.OfType<InstallIpsecSa>().Any() || genuine is not null) return bytes;
            genuine = bytes;
            return WithWrongHash3(Assert.Single(lab.Right.Sas), bytes);
        };
        lab.AcquireAndRun();

        Assert.NotNull(genuine);
        var dropped = Assert.Single(lab.RightOutput.OfType<MessageDropped>(), d => d.Exchange == IkeExchange.QuickMode);
        Assert.Equal(DropReason.HashMismatch, dropped.Reason);
        // No outbound SA, no pair; the inbound SA stays for the QM3 that verifies (RFC 2408 §5.11: the notify is a MAY).
        Assert.Empty(lab.RightOutput.OfType<InstallIpsecSa>());
        Assert.Empty(lab.RightOutput.OfType<InboundSaDeleted>());
        Assert.Empty(lab.RightOutput.OfType<NegotiationFailed>());
        Assert.Single(lab.RightOutput.OfType<InstallInboundSa>());
        Assert.Empty(Assert.Single(lab.Right.Sas).IpsecSas);
        Assert.Equal(QuickModeState.QM_WAIT_MSG3, Assert.Single(lab.Right.Sas.Single().QuickModes).State);

        // The genuine QM3 completes the exchange: the IV was left as it was by the forged one.
        lab.Tamper = null;
        lab.Right.Receive(genuine!, Lab.LeftAddress, lab.RightOutput);
        var (_, pair) = LabAssert.TunnelUp(lab);
        Assert.Equal(Assert.Single(lab.RightOutput.OfType<InstallInboundSa>()).Pair.Inbound.Spi, pair.Inbound.Spi);
    }

    [Fact]
    public void The_inbound_SA_goes_with_an_IKE_SA_deleted_while_its_Quick_Mode_waits_for_QM3()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.Tamper = DropQm3(lab);
        lab.AcquireAndRun();
        var early = Assert.Single(lab.RightOutput.OfType<InstallInboundSa>()).Pair;

        lab.Right.DeleteAll(lab.RightOutput);

        var removed = Assert.Single(lab.RightOutput.OfType<InboundSaDeleted>());
        Assert.Equal(early.Inbound.Spi, removed.InboundSpi);
        Assert.Empty(lab.RightOutput.OfType<IpsecSaDeleted>());
    }

    [Fact]
    public void The_peer_s_DELETE_of_the_new_SPI_removes_the_inbound_SA_of_the_waiting_Quick_Mode()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.Tamper = DropQm3(lab);
        lab.AcquireAndRun();
        var early = Assert.Single(lab.RightOutput.OfType<InstallInboundSa>()).Pair;

        // The initiator deletes the pair it holds (RFC 2408 §3.15: its inbound SPI, our outbound one); QM3 never came.
        var leftSa = Assert.Single(lab.Left.Sas);
        leftSa.Table.Delete(Assert.Single(leftSa.IpsecSas), notifyPeer: true, "cleared by the test", lab.LeftOutput);
        lab.Tamper = null;
        lab.Run();

        var removed = Assert.Single(lab.RightOutput.OfType<InboundSaDeleted>());
        Assert.Equal(early.Inbound.Spi, removed.InboundSpi);
        Assert.Empty(Assert.Single(lab.Right.Sas).QuickModes);
        Assert.Empty(lab.RightOutput.OfType<InstallIpsecSa>());
    }

    [Fact]
    public void A_responder_restored_while_it_waits_for_QM3_installs_its_inbound_SA_again_and_completes_the_same_pair()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.Tamper = DropQm3(lab);
        lab.AcquireAndRun();
        var early = Assert.Single(lab.RightOutput.OfType<InstallInboundSa>()).Pair;
        var earlyKeys = (early.Inbound.EncryptionKey.ToArray(), early.Inbound.IntegrityKey.ToArray());
        var snapshot = IkeSaSnapshotJson.Deserialize(IkeSaSnapshotJson.Serialize(Assert.Single(lab.Right.Sas).Snapshot()))!;
        var waiting = Assert.Single(snapshot.QuickModes);
        Assert.Equal(QuickModeState.QM_WAIT_MSG3, waiting.State);
        Assert.Null(waiting.Inbound); // a waiting exchange's snapshot holds no IPsec keys

        // Another process takes the SA over (fresh randomness): its host may not have the inbound SA, so it is announced again.
        var old = lab.Right;
        lab.Right = new NegotiationEngine(new GatewayContext(Lab.Load(Configs.Responder), Lab.RightAddress, new SeededEnvironment(77)));
        old.Dispose();
        var start = lab.RightOutput.Actions.Count;
        lab.Right.Restore(snapshot, lab.RightOutput);
        var again = Assert.Single(lab.RightOutput.Actions.Skip(start).OfType<InstallInboundSa>()).Pair;
        Assert.Equal(early.Inbound.Spi, again.Inbound.Spi);
        Assert.Equal(earlyKeys.Item1, again.Inbound.EncryptionKey);
        Assert.Equal(earlyKeys.Item2, again.Inbound.IntegrityKey);
        Assert.Empty(again.Outbound.EncryptionKey);

        lab.Tamper = null;
        lab.FireTimers(left: false, TimerKind.Retransmit);
        lab.Run();
        var pair = Assert.Single(lab.RightOutput.Actions.Skip(start).OfType<InstallIpsecSa>()).Pair;
        LabAssert.KeysMirror(Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>()).Pair, pair);
        Assert.Equal(early.Inbound.Spi, pair.Inbound.Spi);
    }

    [Fact]
    public void The_responder_of_a_phase_2_rekey_installs_its_inbound_SA_at_QM2_too()
    {
        using var lab = new Lab(Phase2RekeyTests.InitiatorWith("lifetime seconds 120"), Phase2RekeyTests.ResponderWith("lifetime seconds 120"));
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        var leftStart = lab.LeftOutput.Actions.Count;
        lab.FireTimers(left: true, TimerKind.Phase2Rekey); // the left initiated the first pair: it rekeys it
        lab.Run();
        var rekey = lab.RightOutput.OfType<InstallInboundSa>().Last().Pair;
        Assert.Equal(2, lab.RightOutput.OfType<InstallInboundSa>().Count());
        Assert.Empty(lab.LeftOutput.Actions.Skip(leftStart).OfType<InstallInboundSa>());
        Assert.Equal(rekey.Inbound.Spi, lab.RightOutput.OfType<InstallIpsecSa>().Last().Pair.Inbound.Spi);
        Assert.True(IndexOf(lab.RightOutput, a => a is InstallInboundSa i && i.Pair.MessageId == rekey.MessageId)
            < IndexOf(lab.RightOutput, a => a is InstallIpsecSa i && i.Pair.MessageId == rekey.MessageId));
    }
}
