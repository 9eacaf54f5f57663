using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// One datagram lost, or delivered twice, at each step of Main Mode and Quick Mode. Loss is
/// recovered by retransmission; a duplicate request is answered with the last response, not a
/// new computation (RFC 2408 §5 / RFC 2409 §5: the exchanges are request-response pairs).
/// </summary>
public class LossAndDuplicationTests
{
    public static TheoryData<string> Steps => new() { "MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3" };

    [Theory]
    [MemberData(nameof(Steps))]
    public void A_lost_message_is_recovered_by_retransmission(string step)
    {
        var classifier = new StepClassifier();
        var dropped = 0;
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.Tamper = (fromLeft, _, d) =>
        {
            if (classifier.Classify(fromLeft, d) != step || dropped++ > 0) return d;
            return null;
        };
        lab.AcquireAndRun();
        Assert.Equal(1, dropped);
        Assert.Empty(lab.RightOutput.OfType<InstallIpsecSa>());

        // Every exchange is driven by its initiator's timer, except the last message of Quick Mode:
        // QM3 answers nothing, so the responder resends QM2 and the initiator repeats QM3.
        var byInitiator = step != "QM3";
        lab.FireTimers(left: byInitiator, TimerKind.Retransmit);
        lab.Run();

        var (left, right) = LabAssert.TunnelUp(lab);
        Assert.Equal(3600, left.LifetimeSeconds);
        var retransmitter = byInitiator ? lab.LeftOutput : lab.RightOutput;
        Assert.Single(retransmitter.OfType<SendDatagram>(), s => s.IsRetransmission);

        // A lost answer: the request comes again and the answerer repeats itself (RFC 2408 §5).
        if (step is "MM2" or "MM4" or "MM6")
            Assert.Equal(1, LabAssert.Count(lab.RightLines, "[IKEv1]: IP = 10.0.0.1, Duplicate Phase 1 packet detected. Retransmitting last packet."));
        else
            Assert.DoesNotContain(lab.RightLines, l => l.Contains("Duplicate Phase 1 packet"));
        if (step.StartsWith("MM"))
            Assert.Equal(1, LabAssert.Count(lab.LeftLines, "[IKEv1 DEBUG]: IP = 10.0.0.2, P1 Retransmit msg dispatched to MM FSM"));

        // Each side did its work once: one phase 1, one Quick Mode, one SPI.
        foreach (var lines in new[] { lab.LeftLines, lab.RightLines })
        {
            Assert.Single(lines, l => l.EndsWith("PHASE 1 COMPLETED"));
            Assert.Single(lines, l => l.Contains("IKE got SPI from key engine"));
            Assert.Single(lines, l => l.Contains("PHASE 2 COMPLETED"));
        }
        Assert.Single(lab.RightLines, l => l.Contains("IKE SA Proposal # 1, Transform # 1 acceptable"));
    }

    [Theory]
    [MemberData(nameof(Steps))]
    public void A_duplicated_message_is_answered_with_the_last_response_and_the_tunnel_comes_up_once(string step)
    {
        var classifier = new StepClassifier();
        var duplicated = 0;
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.Duplicate = (fromLeft, d) => classifier.Classify(fromLeft, d) == step && duplicated++ == 0;
        lab.AcquireAndRun();
        Assert.Equal(1, duplicated);

        var (left, right) = LabAssert.TunnelUp(lab);
        Assert.Equal(IpsecSaState.Installed, Assert.Single(lab.Left.Sas.Single().IpsecSas).State);
        Assert.Single(lab.Right.Sas.Single().IpsecSas);
        Assert.Empty(lab.Left.Sas.Single().QuickModes);
        Assert.Empty(lab.Right.Sas.Single().QuickModes);

        // The receiver of a duplicate request sends its previous answer again, byte for byte.
        var receiverOutput = StepClassifier.SentByInitiator(step) ? lab.RightOutput : lab.LeftOutput;
        var receiverSends = receiverOutput.OfType<SendDatagram>().ToList();
        var repeats = receiverSends.Where(s => s.IsRetransmission).ToList();
        switch (step)
        {
            case "MM1" or "MM3" or "MM5":
                Assert.Equal(1, LabAssert.Count(lab.RightLines, "[IKEv1]: IP = 10.0.0.1, Duplicate Phase 1 packet detected. Retransmitting last packet."));
                var repeat = Assert.Single(repeats);
                Assert.Contains(receiverSends, s => !s.IsRetransmission && s.Datagram.AsSpan().SequenceEqual(repeat.Datagram));
                break;
            case "QM1" or "QM2":
                // QM1 again: QM2 again. QM2 again: QM3 again (the responder's QM2 was resent because our QM3 was lost).
                Assert.Contains(receiverSends, s => !s.IsRetransmission && s.Datagram.AsSpan().SequenceEqual(Assert.Single(repeats).Datagram));
                break;
            default:
                // A duplicate answer (MM2, MM4, MM6) or the final QM3 asks for nothing.
                Assert.Empty(repeats);
                break;
        }
        Assert.DoesNotContain(lab.LeftLines, l => l.Contains("Duplicate Phase 1 packet"));

        foreach (var lines in new[] { lab.LeftLines, lab.RightLines })
        {
            Assert.Single(lines, l => l.EndsWith("PHASE 1 COMPLETED"));
            Assert.Single(lines, l => l.Contains("IKE got SPI from key engine"));
            Assert.Single(lines, l => l.Contains("PHASE 2 COMPLETED"));
            Assert.Single(lines, l => l.Contains("constructing ke payload"));
        }
    }
}
