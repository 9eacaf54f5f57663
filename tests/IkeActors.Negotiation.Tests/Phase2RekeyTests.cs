using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// Phase 2 rekey (RFC 2409 §5.5 new Quick Mode on the same IKE SA), make-before-break: the new pair is
/// installed before the old one is deleted; lifetimes in seconds (timers) and kilobytes (data-plane reports).
/// </summary>
public class Phase2RekeyTests
{
    private const string ReverseRoute = "crypto map MAP 10 set reverse-route";

    public static string InitiatorWith(string setting) => Configs.Initiator.Edit(ReverseRoute, $"{ReverseRoute}\ncrypto map MAP 10 set security-association {setting}");

    public static string ResponderWith(string setting) =>
        Configs.Responder.Edit("crypto map MAP 10 set security-association lifetime seconds 3600", $"crypto map MAP 10 set security-association {setting}");

    private static Lab ShortLifetimes()
    {
        var lab = new Lab(InitiatorWith("lifetime seconds 120"), ResponderWith("lifetime seconds 120"));
        lab.AcquireAndRun();
        return lab;
    }

    private static int IndexOf<T>(NegotiationOutput output, Func<T, bool> match) where T : NegotiationAction
    {
        for (var i = 0; i < output.Actions.Count; i++)
            if (output.Actions[i] is T t && match(t)) return i;
        return -1;
    }

    [Fact]
    public void The_rekey_timer_makes_the_initiator_install_a_new_pair_before_deleting_the_old()
    {
        using var lab = ShortLifetimes();
        var (oldLeft, oldRight) = LabAssert.TunnelUp(lab);
        Assert.Equal(120, oldLeft.LifetimeSeconds);
        // 85 % of 120 s; the hard lifetime is armed too.
        LabAssert.Line(lab.LeftLines, "[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, Starting P2 rekey timer: 102 seconds.");
        Assert.Contains(lab.LeftOutput.OfType<ArmTimer>(), a => a.Key == new TimerKey(TimerKind.Phase2Expire, oldLeft.MessageId) && a.Due == TimeSpan.FromSeconds(120));
        Assert.Contains(lab.RightOutput.OfType<ArmTimer>(), a => a.Key == new TimerKey(TimerKind.Phase2Expire, oldRight.MessageId) && a.Due == TimeSpan.FromSeconds(120));
        var (leftBefore, rightBefore) = (lab.LeftLines.Count, lab.RightLines.Count);
        var oldKeys = new[] { oldLeft.Inbound.EncryptionKey, oldLeft.Inbound.IntegrityKey, oldLeft.Outbound.EncryptionKey, oldLeft.Outbound.IntegrityKey }
            .Select(k => k.ToArray()).ToList();

        lab.FireTimers(left: true, TimerKind.Phase2Rekey);
        lab.Run();

        var left = lab.LeftLines.Skip(leftBefore).ToList();
        Assert.Equal("[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, IKE Initiator: Rekeying Phase 2, Intf inside, IKE Peer 10.0.0.2 local Proxy Address 192.168.1.0, remote Proxy Address 192.168.2.0, Crypto map (MAP)", left[0]);
        Assert.DoesNotContain(left, l => l.Contains("Sending initial contact"));
        var installs = lab.LeftOutput.OfType<InstallIpsecSa>().Select(i => i.Pair).ToList();
        var rightInstalls = lab.RightOutput.OfType<InstallIpsecSa>().Select(i => i.Pair).ToList();
        Assert.Equal(2, installs.Count);
        Assert.Equal(2, rightInstalls.Count);
        var (newLeft, newRight) = (installs[1], rightInstalls[1]);
        LabAssert.KeysMirror(newLeft, newRight);
        Assert.NotEqual(oldLeft.MessageId, newLeft.MessageId);
        Assert.NotEqual(oldLeft.Inbound.Spi, newLeft.Inbound.Spi);
        Assert.NotEqual(oldLeft.Outbound.Spi, newLeft.Outbound.Spi);
        var newKeys = new[] { newLeft.Inbound.EncryptionKey, newLeft.Inbound.IntegrityKey, newLeft.Outbound.EncryptionKey, newLeft.Outbound.IntegrityKey };
        for (var i = 0; i < 4; i++) Assert.NotEqual(oldKeys[i], newKeys[i]);
        Assert.Equal(("MAP", 10), (newLeft.CryptoMap, newLeft.Sequence));
        Assert.Equal((oldLeft.Local, oldLeft.Remote), (newLeft.Local, newLeft.Remote));

        // Make-before-break: the old pair is deleted after the new one is installed, on both sides.
        var installedAt = IndexOf<InstallIpsecSa>(lab.LeftOutput, i => i.Pair.MessageId == newLeft.MessageId);
        var deletedAt = IndexOf<IpsecSaDeleted>(lab.LeftOutput, d => d.InboundSpi == oldLeft.Inbound.Spi);
        Assert.True(installedAt >= 0 && deletedAt > installedAt, $"install at {installedAt}, delete at {deletedAt}");
        Assert.Equal("rekeyed", lab.LeftOutput.OfType<IpsecSaDeleted>().Single().Reason);
        var rightInstalledAt = IndexOf<InstallIpsecSa>(lab.RightOutput, i => i.Pair.MessageId == newRight.MessageId);
        var rightDeletedAt = IndexOf<IpsecSaDeleted>(lab.RightOutput, d => d.InboundSpi == oldRight.Inbound.Spi);
        Assert.True(rightInstalledAt >= 0 && rightDeletedAt > rightInstalledAt, $"install at {rightInstalledAt}, delete at {rightDeletedAt}");
        // Old keys zeroed, new keys different from the old (fresh nonces and SPIs, RFC 2409 §5.5 KEYMAT).
        Assert.All(oldLeft.Inbound.EncryptionKey, b => Assert.Equal(0, b));
        Assert.Contains(newLeft.Inbound.EncryptionKey, b => b != 0);

        // The responder recognised the delete as the end of a rekey, not a termination.
        var right = lab.RightLines.Skip(rightBefore).ToList();
        Assert.DoesNotContain(right, l => l.Contains("QM IsRekeyed old sa not found"));
        Assert.Contains(right, l => l.StartsWith("[IKEv1]: Group = 10.0.0.1, IP = 10.0.0.1, IKE Received delete for rekeyed centry IKE peer: 10.0.0.1, centry address: 0x") && l.EndsWith($"msgid: 0x{oldRight.MessageId:x}"));
        Assert.DoesNotContain(right, l => l.Contains("Connection terminated"));

        // One pair per side now, the new one, and both IKE SAs stay.
        var leftSa = Assert.Single(lab.Left.Sas);
        var rightSa = Assert.Single(lab.Right.Sas);
        Assert.Equal(newLeft.MessageId, Assert.Single(leftSa.IpsecSas).MessageId);
        Assert.Equal(newRight.MessageId, Assert.Single(rightSa.IpsecSas).MessageId);
        Assert.Empty(lab.LeftOutput.OfType<NegotiationFailed>());
        Assert.Empty(lab.RightOutput.OfType<NegotiationFailed>());
        Assert.Empty(lab.LeftOutput.OfType<IkeSaDeleted>());

        // And again: the new pair's timer rekeys it in turn.
        lab.FireTimers(left: true, TimerKind.Phase2Rekey);
        lab.Run();
        Assert.Equal(3, lab.LeftOutput.OfType<InstallIpsecSa>().Count());
        Assert.Equal(3, lab.RightOutput.OfType<InstallIpsecSa>().Count());
        Assert.Single(lab.Left.Sas.Single().IpsecSas);
        Assert.Single(lab.Right.Sas.Single().IpsecSas);
    }

    [Fact]
    public void A_rekey_with_PFS_derives_fresh_keys_from_a_new_exchange()
    {
        static string Pfs(string c) => c.Edit("crypto map MAP interface outside", "crypto map MAP 10 set pfs group14\ncrypto map MAP interface outside");
        using var lab = new Lab(Pfs(InitiatorWith("lifetime seconds 120")), Pfs(ResponderWith("lifetime seconds 120")));
        lab.AcquireAndRun();
        var (oldLeft, _) = LabAssert.TunnelUp(lab);
        var oldKey = oldLeft.Outbound.EncryptionKey.ToArray();
        lab.FireTimers(left: true, TimerKind.Phase2Rekey);
        lab.Run();
        var newLeft = lab.LeftOutput.OfType<InstallIpsecSa>().Last().Pair;
        LabAssert.KeysMirror(newLeft, lab.RightOutput.OfType<InstallIpsecSa>().Last().Pair);
        Assert.NotEqual(oldKey, newLeft.Outbound.EncryptionKey);
        Assert.Equal(2, lab.LeftLines.Count(l => l.Contains("constructing pfs ke payload")));
        Assert.Equal(oldLeft.Inbound.Spi, Assert.Single(lab.LeftOutput.OfType<IpsecSaDeleted>()).InboundSpi);
    }

    [Fact]
    public void The_responder_leaves_the_rekey_to_the_initiator()
    {
        using var lab = ShortLifetimes();
        LabAssert.TunnelUp(lab);
        var sent = lab.RightOutput.OfType<SendDatagram>().Count();
        lab.FireTimers(left: false, TimerKind.Phase2Rekey);
        lab.Run();
        Assert.Equal(sent, lab.RightOutput.OfType<SendDatagram>().Count());
        Assert.Single(lab.RightOutput.OfType<InstallIpsecSa>());
        Assert.DoesNotContain(lab.RightLines, l => l.Contains("Rekeying Phase 2"));
    }

    [Fact]
    public void At_the_hard_lifetime_the_pair_is_deleted_on_both_sides()
    {
        using var lab = ShortLifetimes();
        var (leftPair, rightPair) = LabAssert.TunnelUp(lab);
        // The initiator never rekeyed (say its Quick Mode failed): the responder's pair expires.
        lab.FireTimers(left: false, TimerKind.Phase2Expire);
        lab.Run();
        LabAssert.Line(lab.RightLines, $"[IKEv1 DEBUG]: Group = 10.0.0.1, IP = 10.0.0.1, Pitcher: received key delete msg, spi 0x{rightPair.Inbound.Spi:x}");
        var gone = Assert.Single(lab.RightOutput.OfType<IpsecSaDeleted>());
        Assert.Equal((rightPair.Inbound.Spi, "lifetime expired"), (gone.InboundSpi, gone.Reason));
        var leftGone = Assert.Single(lab.LeftOutput.OfType<IpsecSaDeleted>());
        Assert.Equal(leftPair.Inbound.Spi, leftGone.InboundSpi);
        LabAssert.Line(lab.LeftLines, "[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, Connection terminated for peer 10.0.0.2. Reason: Peer Terminate Remote Proxy 192.168.2.0, Local Proxy 192.168.1.0");
        // The IKE SAs stay up; the pair's timers are cancelled.
        Assert.Single(lab.Left.Sas);
        Assert.Single(lab.Right.Sas);
        Assert.Contains(lab.RightOutput.OfType<CancelTimer>(), c => c.Key == new TimerKey(TimerKind.Phase2Rekey, rightPair.MessageId));
    }

    [Fact]
    public void A_kilobyte_lifetime_triggers_the_rekey_at_85_percent_and_expiry_at_100()
    {
        using var lab = new Lab(InitiatorWith("lifetime kilobytes 10000"), ResponderWith("lifetime kilobytes 10000"));
        lab.AcquireAndRun();
        var (oldLeft, oldRight) = LabAssert.TunnelUp(lab);
        Assert.Equal(10000, oldLeft.LifetimeKilobytes);
        var leftSa = lab.Left.Sas.Single();
        var rightSa = lab.Right.Sas.Single();

        // Below the soft limit nothing happens.
        leftSa.TrafficAccounted(oldLeft.Inbound.Spi, 8499, lab.LeftOutput);
        lab.Run();
        Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>());
        Assert.DoesNotContain(lab.LeftLines, l => l.Contains("KEY_REKEY_IB"));

        // 85 % of 10000 kB: the key engine's soft limit, then the rekey.
        leftSa.TrafficAccounted(oldLeft.Inbound.Spi, 8500, lab.LeftOutput);
        lab.Run();
        LabAssert.Line(lab.LeftLines, $"[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, Pitcher: received KEY_REKEY_IB, spi 0x{oldLeft.Inbound.Spi:x}");
        Assert.Contains(lab.LeftLines, l => l.Contains("IKE Initiator: Rekeying Phase 2"));
        var newLeft = lab.LeftOutput.OfType<InstallIpsecSa>().Last().Pair;
        var newRight = lab.RightOutput.OfType<InstallIpsecSa>().Last().Pair;
        Assert.NotEqual(oldLeft.Inbound.Spi, newLeft.Inbound.Spi);
        LabAssert.KeysMirror(newLeft, newRight);
        Assert.Equal(oldLeft.Inbound.Spi, Assert.Single(lab.LeftOutput.OfType<IpsecSaDeleted>()).InboundSpi);
        Assert.Equal(oldRight.Inbound.Spi, Assert.Single(lab.RightOutput.OfType<IpsecSaDeleted>()).InboundSpi);

        // A repeated report does not rekey twice; the new pair counts from zero.
        leftSa.TrafficAccounted(oldLeft.Inbound.Spi, 9000, lab.LeftOutput);
        leftSa.TrafficAccounted(newLeft.Inbound.Spi, 100, lab.LeftOutput);
        lab.Run();
        Assert.Equal(2, lab.LeftOutput.OfType<InstallIpsecSa>().Count());

        // The responder's new pair reaches 100 % (the initiator did not rekey it in time): it is deleted.
        rightSa.TrafficAccounted(newRight.Inbound.Spi, 10000, lab.RightOutput);
        lab.Run();
        Assert.Contains(lab.RightOutput.OfType<IpsecSaDeleted>(), d => d.InboundSpi == newRight.Inbound.Spi && d.Reason == "lifetime expired");
        Assert.Contains(lab.LeftOutput.OfType<IpsecSaDeleted>(), d => d.InboundSpi == newLeft.Inbound.Spi);
        Assert.Empty(leftSa.IpsecSas);
    }

    [Fact]
    public void With_a_grace_the_replaced_pair_stays_until_its_timer_and_then_goes_as_rekeyed()
    {
        var settings = new NegotiationSettings { RekeyedPairGrace = TimeSpan.FromSeconds(2) };
        using var lab = new Lab(Configs.Initiator, Configs.Responder, settings: settings);
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        Assert.Empty(Assert.Single(lab.Left.Sas).QuickModes);
        var old = Assert.Single(lab.Left.Sas).IpsecSas.Single();

        lab.FireTimers(left: true, TimerKind.Phase2Rekey);
        lab.Run();
        // Both pairs are installed on both ends; no DELETE yet, and the old pair's expiry is re-armed to the grace.
        Assert.Equal(2, lab.Left.Sas.Single().IpsecSas.Count);
        Assert.Equal(2, lab.Right.Sas.Single().IpsecSas.Count);
        Assert.Empty(lab.LeftOutput.OfType<IpsecSaDeleted>());
        Assert.Contains(lab.LeftOutput.OfType<ArmTimer>(), t => t.Key == new TimerKey(TimerKind.Phase2Expire, old.MessageId) && t.Due == TimeSpan.FromSeconds(2));

        // The grace is over: the old pair is deleted on both ends as a rekeyed one (no "key delete" of an expiry).
        var before = lab.LeftLines.Count;
        lab.Left.TimerFired(lab.Left.Sas.Single().InitiatorCookie, new TimerKey(TimerKind.Phase2Expire, old.MessageId), lab.LeftOutput);
        lab.Run();
        Assert.Single(lab.LeftOutput.OfType<IpsecSaDeleted>(), d => d.Reason == "rekeyed");
        Assert.Single(lab.RightOutput.OfType<IpsecSaDeleted>());
        Assert.Single(lab.Left.Sas.Single().IpsecSas);
        Assert.Single(lab.Right.Sas.Single().IpsecSas);
        Assert.DoesNotContain(lab.LeftLines.Skip(before), l => l.Contains("KEY_DELETE", StringComparison.Ordinal) || l.Contains("key delete", StringComparison.OrdinalIgnoreCase));
    }
}
