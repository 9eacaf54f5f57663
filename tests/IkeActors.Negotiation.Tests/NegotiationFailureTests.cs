using System.Text.RegularExpressions;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// Misconfigurations between the seed's two ASAs: each fails where and as the ASA does, with the
/// ASA's failure lines on the side that detects it, and leaves no IPsec SA behind.
/// </summary>
public class NegotiationFailureTests
{
    private const string Peer1 = "10.0.0.1", Peer2 = "10.0.0.2";

    /// <summary>Fires the initiator's (or responder's) retransmission timer until nothing is armed.</summary>
    private static void Exhaust(Lab lab, bool left, int rounds = 6)
    {
        for (var i = 0; i < rounds; i++)
        {
            lab.FireTimers(left, TimerKind.Retransmit);
            lab.Run();
        }
    }

    [Fact]
    public void Wrong_pre_shared_key_fails_on_MM5_at_the_responder_and_the_initiator_times_out_in_MM_WAIT_MSG6()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder.Edit(" pre-shared-key cisco", " pre-shared-key cisc0"));
        lab.AcquireAndRun();

        // RFC 2409 §5: SKEYID = prf(pre-shared-key, Ni_b | Nr_b), so SKEYID_e differs and MM5 decrypts to garbage.
        var right = lab.RightLines;
        LabAssert.Line(right, $"[IKEv1]: IP = {Peer1}, Received encrypted Oakley Main Mode packet with invalid payloads, MessID = 0");
        LabAssert.Line(right, $"[IKEv1]: IP = {Peer1}, ERROR, had problems decrypting packet, probably due to mismatched pre-shared key. Aborting");
        Assert.DoesNotContain(right, l => l.Contains("PHASE 1 COMPLETED"));
        var failed = Assert.Single(lab.RightOutput.OfType<NegotiationFailed>());
        Assert.Equal(FailureReason.AuthenticationFailed, failed.Reason);
        Assert.Single(lab.RightOutput.OfType<IkeSaDeleted>());
        Assert.Empty(lab.Right.Sas);
        Assert.Equal(["MM2", "MM4"], LabAssert.Sent(lab, left: false));

        // The initiator hears nothing more: it resends MM5 and gives up (the ASA's classic MM_WAIT_MSG6).
        Assert.Equal(MainModeState.MM_WAIT_MSG6, Assert.Single(lab.Left.Sas).State);
        Exhaust(lab, left: true);
        var left = lab.LeftLines;
        Assert.Equal(4, LabAssert.Count(left, $"[IKEv1 DEBUG]: IP = {Peer2}, P1 Retransmit msg dispatched to MM FSM"));
        LabAssert.Line(left, $"[IKEv1]: IP = {Peer2}, IKE session establishment timed out [MM_WAIT_MSG6], aborting!");
        Assert.DoesNotContain(left, l => l.Contains("PHASE 1 COMPLETED"));
        Assert.Equal(FailureReason.RetransmissionsExhausted, Assert.Single(lab.LeftOutput.OfType<NegotiationFailed>()).Reason);
        Assert.Empty(lab.Left.Sas);
        Assert.Equal(["MM1", "MM3", "MM5", "MM5", "MM5", "MM5", "MM5"], LabAssert.Sent(lab, left: true));
        Assert.Equal(4, lab.LeftOutput.OfType<SendDatagram>().Count(s => s.IsRetransmission));
        LabAssert.NoInstall(lab);
    }

    [Fact]
    public void No_common_isakmp_policy_the_responder_sends_NO_PROPOSAL_CHOSEN_and_both_sides_give_up()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder.Edit(" encryption 3des", " encryption aes-256"));
        lab.AcquireAndRun();

        var right = lab.RightLines;
        LabAssert.Line(right, $"[IKEv1 DEBUG]: IP = {Peer1}, All SA proposals found unacceptable");
        LabAssert.Line(right, $"[IKEv1]: IP = {Peer1}, Error processing payload: Payload ID: 1");
        Assert.DoesNotContain(right, l => l.Contains("acceptable Matches global IKE entry"));
        LabAssert.Line(right, $"[IKEv1]: IP = {Peer1}, IKE_DECODE SENDING Message (msgid=0) with payloads : HDR + NOTIFY (11) + NONE (0) total length : 56");
        Assert.Equal(FailureReason.NoProposalChosen, Assert.Single(lab.RightOutput.OfType<NegotiationFailed>()).Reason);
        Assert.Empty(lab.Right.Sas);
        Assert.Equal(["INFO"], LabAssert.Sent(lab, left: false));

        // RFC 2408 §3.14.1 NO-PROPOSAL-CHOSEN (14), unprotected: no keys exist yet (RFC 2408 §5).
        // 56 = header 28 + notify 12 (RFC 2408 §3.14) + the two cookies as its SPI 16.
        var left = lab.LeftLines;
        LabAssert.Line(left, $"[IKEv1]: IP = {Peer2}, IKE_DECODE RECEIVED Message (msgid=0) with payloads : HDR + NOTIFY (11) + NONE (0) total length : 56");
        LabAssert.Line(left, $"[IKEv1]: IP = {Peer2}, Received non-routine Notify message: No proposal chosen (14)");
        Assert.Equal(FailureReason.NoProposalChosen, Assert.Single(lab.LeftOutput.OfType<NegotiationFailed>()).Reason);
        Assert.Empty(lab.Left.Sas);
        Assert.Equal(["MM1"], LabAssert.Sent(lab, left: true));
        LabAssert.NoInstall(lab);
    }

    [Fact]
    public void No_matching_transform_set_phase_1_completes_and_quick_mode_ends_with_NO_PROPOSAL_CHOSEN()
    {
        using var lab = new Lab(Configs.Initiator,
            Configs.Responder.Edit("transform-set TRANSFORM esp-aes esp-sha-hmac", "transform-set TRANSFORM esp-3des esp-sha-hmac"));
        lab.AcquireAndRun();

        var right = lab.RightLines;
        Assert.Contains(right, l => l.EndsWith("PHASE 1 COMPLETED"));
        LabAssert.Line(right, $"[IKEv1]: Group = {Peer1}, IP = {Peer1}, All IPSec SA proposals found unacceptable!");
        Assert.Contains(right, l => Regex.IsMatch(l, $@"^\[IKEv1\]: Group = {Peer1}, IP = {Peer1}, QM FSM error \(P2 struct &0x[0-9a-f]+, mess id 0x[0-9a-f]+\)!$"));
        Assert.DoesNotContain(right, l => l.Contains("IPSec SA Proposal #"));
        Assert.Equal(FailureReason.TransformSetMismatch, Assert.Single(lab.RightOutput.OfType<NegotiationFailed>()).Reason);
        Assert.Equal(["MM2", "MM4", "MM6", "INFO"], LabAssert.Sent(lab, left: false));

        var left = lab.LeftLines;
        LabAssert.Line(left, $"[IKEv1]: Group = {Peer2}, IP = {Peer2}, Received non-routine Notify message: No proposal chosen (14)");
        Assert.Contains(left, l => l.StartsWith($"[IKEv1]: IP = {Peer2}, IKE_DECODE RECEIVED Message (msgid=") && l.Contains("with payloads : HDR + HASH (8) + NOTIFY (11) + NONE (0)"));
        var failed = Assert.Single(lab.LeftOutput.OfType<NegotiationFailed>());
        Assert.Equal((IkeExchange.QuickMode, FailureReason.NoProposalChosen), (failed.Exchange, failed.Reason));
        Assert.Equal(["MM1", "MM3", "MM5", "QM1"], LabAssert.Sent(lab, left: true));

        // Phase 1 stays up on both sides; no Quick Mode is left waiting.
        Assert.Equal(MainModeState.MM_ACTIVE, Assert.Single(lab.Left.Sas).State);
        Assert.Equal(MainModeState.MM_ACTIVE, Assert.Single(lab.Right.Sas).State);
        Assert.Empty(lab.Left.Sas.Single().QuickModes);
        Assert.Empty(lab.Right.Sas.Single().QuickModes);
        Assert.Empty(lab.Left.Sas.Single().IpsecSas);
        Assert.Empty(lab.Right.Sas.Single().IpsecSas);
        LabAssert.NoInstall(lab);
    }

    [Fact]
    public void Proxy_id_mismatch_the_responder_rejects_the_tunnel_with_INVALID_ID_INFORMATION()
    {
        var responder = Configs.Responder
            .Edit("permit tcp 192.168.2.0 255.255.255.0 192.168.1.0", "permit tcp 192.168.20.0 255.255.255.0 192.168.1.0")
            .Edit("permit icmp 192.168.2.0 255.255.255.0 192.168.1.0", "permit icmp 192.168.20.0 255.255.255.0 192.168.1.0");
        using var lab = new Lab(Configs.Initiator, responder);
        lab.AcquireAndRun();

        var right = lab.RightLines;
        Assert.Contains(right, l => l.EndsWith("PHASE 1 COMPLETED"));
        LabAssert.Line(right, $"[IKEv1]: Group = {Peer1}, IP = {Peer1}, Rejecting IPSec tunnel: no matching crypto map entry for remote proxy 192.168.1.0/255.255.255.0/1/0 local proxy 192.168.2.0/255.255.255.0/1/0 on interface outside");
        Assert.DoesNotContain(right, l => l.Contains("Static Crypto Map check, map MAP seq = 10 is a successful match"));
        Assert.Equal(FailureReason.ProxyIdMismatch, Assert.Single(lab.RightOutput.OfType<NegotiationFailed>()).Reason);
        Assert.Equal(["MM2", "MM4", "MM6", "INFO"], LabAssert.Sent(lab, left: false));

        // RFC 2408 §3.14.1 INVALID-ID-INFORMATION (18), protected by HASH(1) (RFC 2409 §5.7).
        var left = lab.LeftLines;
        LabAssert.Line(left, $"[IKEv1]: Group = {Peer2}, IP = {Peer2}, Received non-routine Notify message: Invalid ID info (18)");
        var failed = Assert.Single(lab.LeftOutput.OfType<NegotiationFailed>());
        Assert.Equal((IkeExchange.QuickMode, FailureReason.ProxyIdMismatch), (failed.Exchange, failed.Reason));
        Assert.Equal(MainModeState.MM_ACTIVE, Assert.Single(lab.Left.Sas).State);
        Assert.Equal(MainModeState.MM_ACTIVE, Assert.Single(lab.Right.Sas).State);
        LabAssert.NoInstall(lab);
    }

    [Fact]
    public void Retransmissions_exhausted_when_the_responder_is_never_heard()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder) { Tamper = (fromLeft, _, d) => fromLeft ? d : null };
        lab.AcquireAndRun();
        Exhaust(lab, left: true);

        var left = lab.LeftLines;
        Assert.Equal(4, LabAssert.Count(left, $"[IKEv1 DEBUG]: IP = {Peer2}, P1 Retransmit msg dispatched to MM FSM"));
        Assert.Equal(4, left.Count(l => l.StartsWith($"[IKEv1]: IP = {Peer2}, IKE_DECODE RESENDING Message (msgid=0) with payloads : HDR + SA (1) + VENDOR (13) + VENDOR (13) + VENDOR (13) + VENDOR (13) + NONE (0)")));
        Assert.Equal($"[IKEv1]: IP = {Peer2}, IKE session establishment timed out [MM_WAIT_MSG2], aborting!", left[^1]);
        var failed = Assert.Single(lab.LeftOutput.OfType<NegotiationFailed>());
        Assert.Equal((IkeExchange.MainMode, FailureReason.RetransmissionsExhausted), (failed.Exchange, failed.Reason));
        Assert.Single(lab.LeftOutput.OfType<IkeSaDeleted>());
        Assert.Empty(lab.Left.Sas);
        Assert.Equal(Enumerable.Repeat("MM1", 5), LabAssert.Sent(lab, left: true));
        // Back-off (RFC 2408 §5.1 leaves the timers to the implementation): 2, 4, 8, 16, 32 s.
        Assert.Equal(new[] { 2, 4, 8, 16, 32 }.Select(s => TimeSpan.FromSeconds(s)),
            lab.LeftOutput.OfType<ArmTimer>().Where(a => a.Key.Kind == TimerKind.Retransmit).Select(a => a.Due));

        // The responder answered every copy with its last response, never a new SA, then gave up too.
        var right = lab.RightLines;
        Assert.Equal(4, LabAssert.Count(right, $"[IKEv1]: IP = {Peer1}, Duplicate Phase 1 packet detected. Retransmitting last packet."));
        Assert.Single(right, l => l.Contains("IKE SA Proposal # 1, Transform # 1 acceptable"));
        Assert.Equal(MainModeState.MM_WAIT_MSG3, Assert.Single(lab.Right.Sas).State);
        Exhaust(lab, left: false);
        Assert.Contains($"[IKEv1]: IP = {Peer1}, IKE session establishment timed out [MM_WAIT_MSG3], aborting!", lab.RightLines);
        Assert.Equal(FailureReason.RetransmissionsExhausted, Assert.Single(lab.RightOutput.OfType<NegotiationFailed>()).Reason);
        Assert.Empty(lab.Right.Sas);
        LabAssert.NoInstall(lab);
    }

    private const string TripleDesPolicy = "crypto isakmp policy 10\n authentication pre-share\n encryption 3des\n";

    /// <summary>A DES policy first and a 3DES one second, on both sides.</summary>
    private static string WithDesFirst(string config) => config.Edit(TripleDesPolicy,
        "crypto isakmp policy 10\n authentication pre-share\n encryption des\n hash sha\n group 2\n lifetime 86400\n" +
        "crypto isakmp policy 20\n authentication pre-share\n encryption 3des\n");

    [Fact]
    public void DES_policies_are_neither_offered_nor_accepted()
    {
        // IkeActors.Crypto decrypts DES-CBC (diagnostics) but does not encrypt with it: a DES IKE SA could not send MM5.
        using var lab = new Lab(WithDesFirst(Configs.Initiator), WithDesFirst(Configs.Responder));
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        // The initiator's only transform is the 3DES policy; the responder matches it to its policy 20.
        LabAssert.Line(lab.RightLines, $"[IKEv1 DEBUG]: IP = {Peer1}, IKE SA Proposal # 1, Transform # 1 acceptable Matches global IKE entry # 20");
        Assert.Equal(5, (int)lab.Left.Sas.Single().Transform!.Encryption); // RFC 2409 Appendix A: 3DES-CBC

        // A peer that offers DES only is refused by the responder as having no acceptable proposal.
        var mm1 = lab.LeftOutput.OfType<SendDatagram>().First().Datagram.ToArray();
        byte[] tripleDes = [0x80, 0x01, 0x00, 0x05], des = [0x80, 0x01, 0x00, 0x01]; // Encryption Algorithm, TV format
        var at = mm1.AsSpan().IndexOf(tripleDes);
        Assert.True(at > 0);
        des.CopyTo(mm1, at);
        mm1[7] ^= 0xff; // another initiator cookie: a new negotiation
        var output = new NegotiationOutput();
        lab.Right.Receive(mm1, Lab.LeftAddress, output);
        LabAssert.Line(output.DebugLines.ToList(), $"[IKEv1 DEBUG]: IP = {Peer1}, All SA proposals found unacceptable");
        Assert.Equal(FailureReason.NoProposalChosen, Assert.Single(output.OfType<NegotiationFailed>()).Reason);
        Assert.Single(lab.Right.Sas);
    }

    [Fact]
    public void An_initiator_with_only_DES_policies_does_not_start_Main_Mode()
    {
        using var lab = new Lab(Configs.Initiator.Edit(" encryption 3des", " encryption des"), Configs.Responder);
        lab.AcquireAndRun();
        var failed = Assert.Single(lab.LeftOutput.OfType<NegotiationFailed>());
        Assert.Equal((IkeExchange.MainMode, FailureReason.NoProposalChosen), (failed.Exchange, failed.Reason));
        Assert.Empty(lab.LeftOutput.OfType<SendDatagram>());
        Assert.Empty(lab.Left.Sas);
        Assert.Empty(lab.RightLines);
    }
}
