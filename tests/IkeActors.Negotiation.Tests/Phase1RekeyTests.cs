using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// Phase 1 rekey: a new Main Mode with the same peer at the Phase1Rekey point; the old IKE SA is deleted
/// (DELETE) only once the new one is MM_ACTIVE, and the IPsec SAs survive, now under the new IKE SA.
/// </summary>
public class Phase1RekeyTests
{
    [Theory]
    [InlineData(false)] // the responder's 75 % comes first: it rekeys, as initiator of the new SA
    [InlineData(true)]
    public void The_SA_whose_timer_fires_rekeys_and_the_IPsec_SAs_survive(bool leftRekeys)
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.AcquireAndRun();
        var (leftPair, rightPair) = LabAssert.TunnelUp(lab);
        var (oldLeft, oldRight) = (lab.Left.Sas.Single(), lab.Right.Sas.Single());
        var (leftBefore, rightBefore) = (lab.LeftLines.Count, lab.RightLines.Count);

        lab.FireTimers(left: leftRekeys, TimerKind.Phase1Rekey);
        var rekeyer = leftRekeys ? lab.LeftOutput : lab.RightOutput;
        var due = Assert.Single(rekeyer.OfType<Phase1RekeyDue>());
        Assert.Equal(("MAP", 10), (due.CryptoMap, due.Sequence));
        lab.Run();

        var (rekeyLines, otherLines) = leftRekeys
            ? (lab.LeftLines.Skip(leftBefore).ToList(), lab.RightLines.Skip(rightBefore).ToList())
            : (lab.RightLines.Skip(rightBefore).ToList(), lab.LeftLines.Skip(leftBefore).ToList());
        var expected = leftRekeys
            ? "[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, IKE Initiator: Rekeying Phase 1, Intf inside, IKE Peer 10.0.0.2 local Proxy Address 192.168.1.0, remote Proxy Address 192.168.2.0, Crypto map (MAP)"
            : "[IKEv1]: Group = 10.0.0.1, IP = 10.0.0.1, IKE Initiator: Rekeying Phase 1, Intf inside, IKE Peer 10.0.0.1 local Proxy Address 192.168.2.0, remote Proxy Address 192.168.1.0, Crypto map (MAP)";
        Assert.Equal(expected, rekeyLines[0]);
        Assert.DoesNotContain(rekeyLines, l => l.Contains("New Phase 1") || l.Contains("key acquire"));
        // Both sides: a second PHASE 1 COMPLETED, no new Quick Mode, no INITIAL-CONTACT (the peer keeps its SAs).
        Assert.Contains(rekeyLines, l => l.Contains("PHASE 1 COMPLETED"));
        Assert.Contains(otherLines, l => l.Contains("PHASE 1 COMPLETED"));
        Assert.DoesNotContain(rekeyLines.Concat(otherLines), l => l.Contains("Sending initial contact") || l.Contains("Oakley begin quick mode"));
        Assert.Contains(otherLines, l => l.Contains("IKE Received delete for rekeyed SA IKE peer: ") && l.EndsWith("tunnelCnt: 1"));

        // One IKE SA each side, new cookies, the old ones deleted; both sides agree on the new SA.
        var (newLeft, newRight) = (Assert.Single(lab.Left.Sas), Assert.Single(lab.Right.Sas));
        Assert.NotEqual(oldLeft.InitiatorCookie, newLeft.InitiatorCookie);
        Assert.Equal((newLeft.InitiatorCookie, newLeft.ResponderCookie), (newRight.InitiatorCookie, newRight.ResponderCookie));
        Assert.Equal(MainModeState.MM_ACTIVE, newLeft.State);
        Assert.Equal(leftRekeys ? IkeRole.Initiator : IkeRole.Responder, newLeft.Role);
        Assert.Equal(MainModeState.MM_DELETED, oldLeft.State);
        Assert.Equal(MainModeState.MM_DELETED, oldRight.State);
        Assert.Contains(lab.LeftOutput.OfType<IkeSaDeleted>(), d => d.InitiatorCookie == oldLeft.InitiatorCookie);
        Assert.Contains(lab.RightOutput.OfType<IkeSaDeleted>(), d => d.InitiatorCookie == oldRight.InitiatorCookie);
        // The DELETE went after the new SA was up (make-before-break): MM_ACTIVE of the new SA precedes the old SA's deletion.
        var established = rekeyer.Actions.ToList().FindIndex(a => a is Phase1Established p && p.Sa.InitiatorCookie == newLeft.InitiatorCookie);
        var deleted = rekeyer.Actions.ToList().FindIndex(a => a is IkeSaDeleted d && d.InitiatorCookie == oldLeft.InitiatorCookie);
        Assert.True(established >= 0 && deleted > established, $"established at {established}, deleted at {deleted}");

        // The IPsec SAs survive, now under the new IKE SA.
        Assert.Empty(lab.LeftOutput.OfType<IpsecSaDeleted>());
        Assert.Empty(lab.RightOutput.OfType<IpsecSaDeleted>());
        Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>());
        Assert.Equal(leftPair.Inbound.Spi, Assert.Single(newLeft.IpsecSas).InboundSpi);
        Assert.Equal(rightPair.Inbound.Spi, Assert.Single(newRight.IpsecSas).InboundSpi);
        Assert.Contains(leftPair.Inbound.EncryptionKey, b => b != 0); // not zeroed
        var moved = Assert.Single(lab.LeftOutput.OfType<Phase1Rekeyed>());
        Assert.Equal([leftPair.MessageId], moved.MovedQuickModes);
        Assert.Empty(lab.LeftOutput.OfType<NegotiationFailed>());
        Assert.Empty(lab.RightOutput.OfType<NegotiationFailed>());

        // The moved pair is rekeyed by its timer (armed under the old cookie) on the new IKE SA.
        lab.FireTimers(left: true, TimerKind.Phase2Rekey);
        lab.Run();
        var newPair = lab.LeftOutput.OfType<InstallIpsecSa>().Last().Pair;
        Assert.NotEqual(leftPair.Inbound.Spi, newPair.Inbound.Spi);
        LabAssert.KeysMirror(newPair, lab.RightOutput.OfType<InstallIpsecSa>().Last().Pair);
        Assert.Equal(newPair.Inbound.Spi, Assert.Single(newLeft.IpsecSas).InboundSpi);
        Assert.Single(newRight.IpsecSas);

        // And DPD runs on the new SA.
        lab.FireTimers(left: true, TimerKind.Dpd);
        lab.Run();
        Assert.Contains(lab.LeftLines, l => l.Contains("Received keep-alive of type DPD R-U-THERE-ACK"));
    }

    [Fact]
    public void A_phase_2_rekey_cut_short_by_the_phase_1_rekey_starts_again_on_the_new_IKE_SA()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.AcquireAndRun();
        var (oldPair, _) = LabAssert.TunnelUp(lab);
        lab.Tamper = (fromLeft, _, bytes) => fromLeft && bytes[18] == 32 ? null : bytes; // the left's QM1 is lost
        lab.FireTimers(left: true, TimerKind.Phase2Rekey);
        lab.Run();
        Assert.Contains(lab.Left.Sas.Single().QuickModes, q => q.State == QuickModeState.QM_WAIT_MSG2);
        lab.Tamper = null;

        lab.FireTimers(left: false, TimerKind.Phase1Rekey);
        lab.Run();

        var sa = Assert.Single(lab.Left.Sas);
        Assert.Empty(sa.QuickModes);
        Assert.NotEqual(oldPair.MessageId, sa.IpsecSas.Single().MessageId);
        Assert.Equal(2, LabAssert.Count(lab.LeftLines.Select(l => l.Contains("IKE Initiator: Rekeying Phase 2") ? "rekey" : ""), "rekey"));
        var newLeft = lab.LeftOutput.OfType<InstallIpsecSa>().Last().Pair;
        var newRight = lab.RightOutput.OfType<InstallIpsecSa>().Last().Pair;
        Assert.NotEqual(oldPair.Inbound.Spi, newLeft.Inbound.Spi);
        LabAssert.KeysMirror(newLeft, newRight);
        Assert.Equal(newLeft.Inbound.Spi, Assert.Single(sa.IpsecSas).InboundSpi);
        Assert.Equal(newRight.Inbound.Spi, Assert.Single(lab.Right.Sas.Single().IpsecSas).InboundSpi);
        Assert.Equal(oldPair.Inbound.Spi, Assert.Single(lab.LeftOutput.OfType<IpsecSaDeleted>()).InboundSpi);
    }

    [Fact]
    public void When_the_peer_is_already_rekeying_the_other_side_does_not_start_a_second_rekey()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        lab.FireTimers(left: false, TimerKind.Phase1Rekey);
        // The right's MM1 reaches the left before the left's own (later) rekey point.
        lab.Run(maxDatagrams: 10);
        var mm = lab.LeftOutput.OfType<SendDatagram>().Count();
        lab.FireTimers(left: true, TimerKind.Phase1Rekey);
        Assert.DoesNotContain(lab.LeftLines, l => l.Contains("Rekeying Phase 1"));
        lab.Run();
        Assert.Single(lab.Left.Sas);
        Assert.Single(lab.Right.Sas);
        Assert.DoesNotContain(lab.LeftLines.Concat(lab.RightLines), l => l.Contains("collision"));
        Assert.True(lab.LeftOutput.OfType<SendDatagram>().Count() >= mm);
    }

    [Fact]
    public void An_SA_without_IPsec_SAs_is_not_rekeyed()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        lab.Left.Sas.Single().Delete(lab.LeftOutput); // drop everything...
        lab.Run();
        var output = new NegotiationOutput();
        // ...a fresh tunnel whose pair is then deleted by the peer at its hard lifetime.
        lab.AcquireAndRun();
        lab.FireTimers(left: false, TimerKind.Phase2Expire);
        lab.Run();
        Assert.Empty(lab.Right.Sas.Single().IpsecSas);
        lab.FireTimers(left: false, TimerKind.Phase1Rekey);
        Assert.Empty(lab.RightOutput.OfType<Phase1RekeyDue>());
        Assert.Single(lab.Right.Sas);
        Assert.Empty(output.Actions);
    }

    [Fact]
    public void When_both_ends_rekey_at_once_the_rekey_of_the_end_that_initiated_the_old_SA_wins()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        var (oldLeft, oldRight) = (lab.Left.Sas.Single(), lab.Right.Sas.Single());
        Assert.Equal(IkeRole.Initiator, oldLeft.Role);

        // Both rekey timers fire before either MM1 is delivered: the two MM1s cross on the wire.
        lab.FireTimers(left: true, TimerKind.Phase1Rekey);
        lab.FireTimers(left: false, TimerKind.Phase1Rekey);
        lab.Run();

        // The left initiated the old SA: its rekey wins on both ends; the right dropped its own without a DELETE.
        var (newLeft, newRight) = (Assert.Single(lab.Left.Sas), Assert.Single(lab.Right.Sas));
        Assert.Equal(MainModeState.MM_ACTIVE, newLeft.State);
        Assert.Equal(IkeRole.Initiator, newLeft.Role);
        Assert.Equal((newLeft.InitiatorCookie, newLeft.ResponderCookie), (newRight.InitiatorCookie, newRight.ResponderCookie));
        Assert.Equal(MainModeState.MM_DELETED, oldLeft.State);
        Assert.Equal(MainModeState.MM_DELETED, oldRight.State);
        Assert.Contains(lab.LeftOutput.OfType<MessageDropped>(), t => t.Reason == DropReason.RekeyCollision && t.Detail.Contains("rekey collision"));
        Assert.Contains(lab.LeftOutput.OfType<RekeyCollisionSettled>(), t => t.OursWins);
        Assert.Contains(lab.RightOutput.OfType<RekeyCollisionSettled>(), t => !t.OursWins);

        // The IPsec SAs survive, under the new IKE SA on both ends, and still work: a new Quick Mode on it completes.
        Assert.Empty(lab.LeftOutput.OfType<IpsecSaDeleted>());
        Assert.Empty(lab.RightOutput.OfType<IpsecSaDeleted>());
        Assert.Single(newLeft.IpsecSas);
        Assert.Single(newRight.IpsecSas);
        Assert.Empty(lab.LeftOutput.OfType<NegotiationFailed>());
        Assert.Empty(lab.RightOutput.OfType<NegotiationFailed>());
    }
}
