using System.Buffers.Binary;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// Dead Peer Detection (RFC 3706) with the ASA's `isakmp keepalive threshold N retry M`: R-U-THERE after
/// N idle seconds, answered with R-U-THERE-ACK carrying the same sequence number; three unanswered
/// retransmissions every M seconds and the peer is dead.
/// </summary>
public class DpdTests
{
    private const string LeftPsk = "tunnel-group 10.0.0.2 ipsec-attributes\n pre-shared-key cisco";
    private const string RightPsk = "tunnel-group 10.0.0.1 ipsec-attributes\n pre-shared-key cisco";

    public static string LeftWith(string keepalive) => Configs.Initiator.Edit(LeftPsk, $"{LeftPsk}\n isakmp keepalive {keepalive}");
    public static string RightWith(string keepalive) => Configs.Responder.Edit(RightPsk, $"{RightPsk}\n isakmp keepalive {keepalive}");

    private static Lab Up(string? left = null, string? right = null)
    {
        var lab = new Lab(left ?? Configs.Initiator, right ?? Configs.Responder);
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        return lab;
    }

    private static ArmTimer LastDpdArm(NegotiationOutput output) => output.OfType<ArmTimer>().Last(a => a.Key.Kind == TimerKind.Dpd);

    private static List<uint> Sequences(IEnumerable<string> lines, string kind) =>
        lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, $@"{kind} \(seq number 0x([0-9a-f]+)\)$"))
            .Where(m => m.Success).Select(m => Convert.ToUInt32(m.Groups[1].Value, 16)).ToList();

    [Fact]
    public void An_idle_peer_gets_an_R_U_THERE_and_answers_with_the_same_sequence_number()
    {
        using var lab = Up(LeftWith("threshold 15 retry 3"));
        // Negotiated on both sides (both sent the DPD vendor ID); the idle threshold is the tunnel group's.
        LabAssert.Line(lab.LeftLines, "[IKEv1]: IP = 10.0.0.2, Keep-alive type for this connection: DPD");
        LabAssert.Line(lab.RightLines, "[IKEv1]: IP = 10.0.0.1, Keep-alive type for this connection: DPD");
        Assert.Equal(TimeSpan.FromSeconds(15), LastDpdArm(lab.LeftOutput).Due);
        Assert.Equal(TimeSpan.FromSeconds(10), LastDpdArm(lab.RightOutput).Due); // the default threshold 10
        var (leftBefore, rightBefore) = (lab.LeftLines.Count, lab.RightLines.Count);
        var sent = lab.LeftOutput.OfType<SendDatagram>().Count();

        lab.FireTimers(left: true, TimerKind.Dpd);
        // RFC 3706 §5: an encrypted Informational, HASH + NOTIFY(R-U-THERE, protocol ISAKMP, SPI = the cookies, 4-byte sequence).
        var ruThere = lab.LeftOutput.OfType<SendDatagram>().Skip(sent).Single().Datagram;
        Assert.Equal(5, ruThere[18]);
        Assert.Equal(1, ruThere[19] & 1);
        Assert.Equal(TimeSpan.FromSeconds(3), LastDpdArm(lab.LeftOutput).Due); // waits the retry interval for the ACK
        lab.Run();

        var left = lab.LeftLines.Skip(leftBefore).ToList();
        var right = lab.RightLines.Skip(rightBefore).ToList();
        var seq = Assert.Single(Sequences(left, "Sending keep-alive of type DPD R-U-THERE"));
        Assert.Equal($"[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, Sending keep-alive of type DPD R-U-THERE (seq number 0x{seq:x})", left[0]);
        Assert.Matches(@"^\[IKEv1\]: IP = 10\.0\.0\.2, IKE_DECODE SENDING Message \(msgid=[0-9a-f]+\) with payloads : HDR \+ HASH \(8\) \+ NOTIFY \(11\) \+ NONE \(0\) total length : \d+$",
            left.First(l => l.Contains("IKE_DECODE SENDING")));
        LabAssert.Line(right, $"[IKEv1 DEBUG]: Group = 10.0.0.1, IP = 10.0.0.1, Received keep-alive of type DPD R-U-THERE (seq number 0x{seq:x})");
        LabAssert.Line(right, $"[IKEv1 DEBUG]: Group = 10.0.0.1, IP = 10.0.0.1, Sending keep-alive of type DPD R-U-THERE-ACK (seq number 0x{seq:x})");
        LabAssert.Line(left, $"[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, Received keep-alive of type DPD R-U-THERE-ACK (seq number 0x{seq:x})");
        Assert.DoesNotContain(left.Concat(right), l => l.Contains("Information Exchange processing failed") || l.Contains("non-routine"));
        // Answered: back to the idle threshold, nothing unanswered; the answer also proved the right's peer alive.
        Assert.Equal(TimeSpan.FromSeconds(15), LastDpdArm(lab.LeftOutput).Due);
        Assert.Equal(0, lab.Left.Sas.Single().DpdUnanswered);

        // The next R-U-THERE carries the next sequence number (RFC 3706 §7).
        lab.FireTimers(left: true, TimerKind.Dpd);
        lab.Run();
        Assert.Equal([seq, seq + 1], Sequences(lab.LeftLines, "Sending keep-alive of type DPD R-U-THERE"));
        Assert.Equal([seq, seq + 1], Sequences(lab.LeftLines, "Received keep-alive of type DPD R-U-THERE-ACK"));
        Assert.Single(lab.Left.Sas);
        Assert.Single(lab.Right.Sas);
    }

    [Fact]
    public void Both_sides_ask_and_answer()
    {
        using var lab = Up();
        lab.FireTimers(left: false, TimerKind.Dpd);
        lab.Run();
        var seq = Assert.Single(Sequences(lab.RightLines, "Sending keep-alive of type DPD R-U-THERE"));
        LabAssert.Line(lab.LeftLines, $"[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, Received keep-alive of type DPD R-U-THERE (seq number 0x{seq:x})");
        LabAssert.Line(lab.LeftLines, $"[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, Sending keep-alive of type DPD R-U-THERE-ACK (seq number 0x{seq:x})");
        LabAssert.Line(lab.RightLines, $"[IKEv1 DEBUG]: Group = 10.0.0.1, IP = 10.0.0.1, Received keep-alive of type DPD R-U-THERE-ACK (seq number 0x{seq:x})");
    }

    [Fact]
    public void A_silent_peer_is_declared_dead_after_three_retransmissions_and_its_SAs_are_deleted()
    {
        using var lab = Up();
        var (leftPair, _) = (lab.LeftOutput.OfType<InstallIpsecSa>().Single().Pair, 0);
        var sa = lab.Left.Sas.Single();
        lab.Tamper = (fromLeft, _, bytes) => fromLeft ? bytes : null; // the right's answers are lost
        var sentBefore = lab.LeftOutput.OfType<SendDatagram>().Count();

        for (var round = 1; round <= 4; round++)
        {
            lab.FireTimers(left: true, TimerKind.Dpd);
            lab.Run(1000);
            Assert.Equal(MainModeState.MM_ACTIVE, sa.State);
            Assert.Equal(round, sa.DpdUnanswered);
            Assert.Equal(TimeSpan.FromSeconds(2), LastDpdArm(lab.LeftOutput).Due); // retry 2 (default)
        }
        var seqs = Sequences(lab.LeftLines, "Sending keep-alive of type DPD R-U-THERE");
        Assert.Equal(4, seqs.Count);
        Assert.Equal(Enumerable.Range(0, 4).Select(i => seqs[0] + (uint)i), seqs);
        Assert.Equal(4, Sequences(lab.RightLines, "Sending keep-alive of type DPD R-U-THERE-ACK").Count); // it answered; nothing arrived
        Assert.DoesNotContain(lab.LeftLines, l => l.Contains("R-U-THERE-ACK"));

        var linesBefore = lab.LeftLines.Count;
        lab.FireTimers(left: true, TimerKind.Dpd);
        var after = lab.LeftLines.Skip(linesBefore).ToList();
        Assert.Equal("[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, IKE lost contact with remote peer, deleting connection (keepalive type: DPD)", after[0]);
        Assert.Equal(MainModeState.MM_DELETED, sa.State);
        Assert.Empty(lab.Left.Sas);
        var gone = Assert.Single(lab.LeftOutput.OfType<IpsecSaDeleted>());
        Assert.Equal((leftPair.Inbound.Spi, "peer dead (DPD)"), (gone.InboundSpi, gone.Reason));
        Assert.Contains(lab.LeftOutput.OfType<IkeSaDeleted>(), d => d.Reason == "peer dead (DPD)");
        Assert.Contains(lab.LeftOutput.OfType<PeerDead>(), d => d.Peer.Equals(Lab.RightAddress));
        // No DELETE: only the four R-U-THEREs went out.
        Assert.Equal(4, lab.LeftOutput.OfType<SendDatagram>().Count() - sentBefore);
        Assert.All(leftPair.Inbound.EncryptionKey, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Traffic_from_the_peer_restarts_the_idle_threshold_and_ends_a_round()
    {
        using var lab = Up();
        var sa = lab.Left.Sas.Single();
        lab.Tamper = (fromLeft, _, bytes) => fromLeft ? bytes : null;
        lab.FireTimers(left: true, TimerKind.Dpd);
        lab.FireTimers(left: true, TimerKind.Dpd);
        Assert.Equal(2, sa.DpdUnanswered);
        // ESP from the peer (reported by the data plane) proves it alive.
        lab.Left.TrafficReceived(Lab.RightAddress.Address, lab.LeftOutput);
        Assert.Equal(0, sa.DpdUnanswered);
        Assert.Equal(TimeSpan.FromSeconds(10), LastDpdArm(lab.LeftOutput).Due);
        for (var i = 0; i < 4; i++) lab.FireTimers(left: true, TimerKind.Dpd);
        Assert.Equal(MainModeState.MM_ACTIVE, sa.State); // a new round: four more R-U-THEREs before it would be dead
        lab.FireTimers(left: true, TimerKind.Dpd);
        Assert.Equal(MainModeState.MM_DELETED, sa.State);
    }

    [Fact]
    public void A_replayed_ACK_of_an_earlier_round_is_not_proof_of_liveness()
    {
        using var lab = Up();
        var sa = lab.Left.Sas.Single();
        byte[]? heldAck = null;
        lab.Tamper = (fromLeft, _, bytes) =>
        {
            if (fromLeft) return bytes;
            heldAck ??= bytes; // the right's ACK of the first R-U-THERE is captured, nothing of the right arrives
            return null;
        };
        lab.FireTimers(left: true, TimerKind.Dpd);
        lab.Run(1000);
        Assert.NotNull(heldAck);
        var first = Sequences(lab.LeftLines, "Sending keep-alive of type DPD R-U-THERE").Single();
        // ESP from the peer ends that round; the next idle threshold starts a new one with the next number.
        lab.Left.TrafficReceived(Lab.RightAddress.Address, lab.LeftOutput);
        lab.FireTimers(left: true, TimerKind.Dpd);
        lab.Run(1000);
        Assert.Equal(1, sa.DpdUnanswered);

        // RFC 3706 §7: the old ACK (authentic, but for seq `first`) is rejected.
        lab.Left.Receive(heldAck!, Lab.RightAddress, lab.LeftOutput);
        Assert.DoesNotContain(lab.LeftLines, l => l.Contains($"R-U-THERE-ACK (seq number 0x{first:x})"));
        Assert.Contains(lab.LeftOutput.OfType<MessageDropped>(), t => t.Reason == DropReason.UnmatchedDpdAck && t.Detail == $"R-U-THERE-ACK 0x{first:x} matches no outstanding R-U-THERE");
        Assert.Equal(1, sa.DpdUnanswered);
        for (var i = 0; i < 3; i++) lab.FireTimers(left: true, TimerKind.Dpd);
        Assert.Equal(MainModeState.MM_ACTIVE, sa.State);
        lab.FireTimers(left: true, TimerKind.Dpd);
        Assert.Equal(MainModeState.MM_DELETED, sa.State);
    }

    [Fact]
    public void A_DPD_vendor_id_in_the_peers_MM1_negotiates_DPD_as_strongSwan_sends_it()
    {
        // strongSwan sends its vendor IDs, DPD's among them, in MM1/MM2, not in MM5/MM6 as an ASA does (RFC 3706 §5.1:
        // any Phase 1 message). The left sends none of its own (keepalive disabled) except the one added to its MM1.
        using var lab = new Lab(LeftWith("disable"), Configs.Responder);
        lab.Tamper = (fromLeft, index, bytes) => fromLeft && index == 0 ? WithVendorId(bytes, IkeActors.Protocol.VendorIds.Dpd) : bytes;
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        LabAssert.Line(lab.RightLines, "[IKEv1 DEBUG]: IP = 10.0.0.1, Received DPD VID");
        LabAssert.Line(lab.RightLines, "[IKEv1]: IP = 10.0.0.1, Keep-alive type for this connection: DPD");
        Assert.Contains(lab.RightOutput.OfType<ArmTimer>(), a => a.Key.Kind == TimerKind.Dpd);
    }

    /// <summary>An unencrypted ISAKMP message with one more vendor ID payload at its end (RFC 2408 §3.1, §3.16).</summary>
    private static byte[] WithVendorId(byte[] message, ReadOnlySpan<byte> vid)
    {
        var copy = new List<byte>(message);
        var nextAt = 16; // the header's Next Payload
        var at = 28;
        while (copy[nextAt] != 0)
        {
            nextAt = at;
            at += BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(at + 2));
        }
        copy[nextAt] = 13; // Vendor ID
        copy.AddRange([0, 0, (byte)((4 + vid.Length) >> 8), (byte)(4 + vid.Length)]);
        copy.AddRange(vid.ToArray());
        var result = copy.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(24), (uint)result.Length);
        return result;
    }

    [Fact]
    public void With_keepalive_disabled_nothing_is_negotiated_or_sent()
    {
        using var lab = Up(LeftWith("disable"));
        Assert.DoesNotContain(lab.LeftLines, l => l.Contains("constructing dpd vid payload"));
        LabAssert.Line(lab.LeftLines, "[IKEv1]: IP = 10.0.0.2, Keep-alive type for this connection: None");
        // The right wants DPD, but the left did not offer it.
        LabAssert.Line(lab.RightLines, "[IKEv1]: Group = 10.0.0.1, IP = 10.0.0.1, Keep-alives configured on but peer does not support keep-alives (type = DPD)");
        LabAssert.Line(lab.RightLines, "[IKEv1]: IP = 10.0.0.1, Keep-alive type for this connection: None");
        Assert.DoesNotContain(lab.LeftOutput.OfType<ArmTimer>(), a => a.Key.Kind == TimerKind.Dpd);
        Assert.DoesNotContain(lab.RightOutput.OfType<ArmTimer>(), a => a.Key.Kind == TimerKind.Dpd);
        var (l, r) = (lab.LeftOutput.OfType<SendDatagram>().Count(), lab.RightOutput.OfType<SendDatagram>().Count());
        // Even a timer fired by mistake sends nothing.
        lab.Left.TimerFired(lab.Left.Sas.Single().InitiatorCookie, new TimerKey(TimerKind.Dpd, 0), lab.LeftOutput);
        lab.Right.TimerFired(lab.Right.Sas.Single().InitiatorCookie, new TimerKey(TimerKind.Dpd, 0), lab.RightOutput);
        Assert.Equal((l, r), (lab.LeftOutput.OfType<SendDatagram>().Count(), lab.RightOutput.OfType<SendDatagram>().Count()));
        Assert.DoesNotContain(lab.LeftLines.Concat(lab.RightLines), x => x.Contains("R-U-THERE"));
    }

    [Fact]
    public void With_threshold_infinite_the_ASA_answers_but_never_asks()
    {
        using var lab = Up(LeftWith("threshold infinite"));
        LabAssert.Line(lab.LeftLines, "[IKEv1]: IP = 10.0.0.2, Keep-alive type for this connection: DPD");
        Assert.DoesNotContain(lab.LeftOutput.OfType<ArmTimer>(), a => a.Key.Kind == TimerKind.Dpd);
        lab.FireTimers(left: false, TimerKind.Dpd);
        lab.Run();
        var seq = Assert.Single(Sequences(lab.RightLines, "Sending keep-alive of type DPD R-U-THERE"));
        LabAssert.Line(lab.LeftLines, $"[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, Sending keep-alive of type DPD R-U-THERE-ACK (seq number 0x{seq:x})");
        LabAssert.Line(lab.RightLines, $"[IKEv1 DEBUG]: Group = 10.0.0.1, IP = 10.0.0.1, Received keep-alive of type DPD R-U-THERE-ACK (seq number 0x{seq:x})");
    }

    [Fact]
    public void DPD_state_survives_a_snapshot_and_restore()
    {
        using var lab = Up();
        lab.Tamper = (fromLeft, _, bytes) => fromLeft ? bytes : null;
        lab.FireTimers(left: true, TimerKind.Dpd);
        lab.FireTimers(left: true, TimerKind.Dpd);
        lab.Run(1000);
        var sa = lab.Left.Sas.Single();
        var snapshot = sa.Snapshot();
        Assert.True(snapshot.PeerSupportsDpd);
        Assert.Equal(2, snapshot.DpdUnanswered);
        var seqs = Sequences(lab.LeftLines, "Sending keep-alive of type DPD R-U-THERE");

        var engine = new NegotiationEngine(lab.Left.Context);
        var output = new NegotiationOutput();
        var json = System.Text.Json.JsonSerializer.Serialize(snapshot);
        var restored = engine.Restore(System.Text.Json.JsonSerializer.Deserialize<IkeSaSnapshot>(json)!, output);
        Assert.Equal(TimeSpan.FromSeconds(2), output.OfType<ArmTimer>().Single(a => a.Key.Kind == TimerKind.Dpd).Due);
        engine.TimerFired(restored.InitiatorCookie, new TimerKey(TimerKind.Dpd, 0), output);
        // The sequence continues where the old process left off.
        Assert.Equal([seqs[^1] + 1], Sequences(output.DebugLines, "Sending keep-alive of type DPD R-U-THERE"));
        Assert.Equal(3, restored.DpdUnanswered);
        engine.TimerFired(restored.InitiatorCookie, new TimerKey(TimerKind.Dpd, 0), output);
        engine.TimerFired(restored.InitiatorCookie, new TimerKey(TimerKind.Dpd, 0), output);
        LabAssert.Line(output.DebugLines.ToList(), "[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, IKE lost contact with remote peer, deleting connection (keepalive type: DPD)");
        engine.Dispose();
    }
}
