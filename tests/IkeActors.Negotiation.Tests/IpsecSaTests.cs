using System.Text.Json;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// The installed pair apart from its Quick Mode: the exchange is gone once the pair is up, the pair
/// travels as plain data, and a Phase 1 rekey hands it from one IKE SA to another
/// (<see cref="IkeSa.ReleaseIpsecSas(ulong, Func{uint, bool}, NegotiationOutput)"/>, <see cref="IkeSa.AdoptIpsecSas"/>).
/// </summary>
public class IpsecSaTests
{
    private static readonly string LeftConfig = Lab.SampleConfig("asa1-initiator.cfg");
    private static readonly string RightConfig = Lab.SampleConfig("asa2-responder.cfg");

    [Fact]
    public void Once_the_pair_is_installed_the_exchange_is_gone_and_the_pair_round_trips_through_its_snapshot()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        lab.AcquireAndRun();
        var (leftPair, _) = LabAssert.TunnelUp(lab);
        var sa = Assert.Single(lab.Left.Sas);
        Assert.Empty(sa.QuickModes);
        var ipsecSa = Assert.Single(sa.IpsecSas);
        Assert.Same(leftPair, ipsecSa.Pair);
        Assert.Equal((IpsecSaState.Installed, IkeRole.Initiator, 0UL), (ipsecSa.State, ipsecSa.Role, ipsecSa.OutboundSequenceHighWater));

        ipsecSa.OutboundSequenceHighWater = 123_456;
        var json = JsonSerializer.Serialize(ipsecSa.ToSnapshot());
        Assert.DoesNotContain(Convert.ToBase64String(leftPair.Inbound.EncryptionKey), ipsecSa.ToString());
        using var copy = IpsecSa.FromSnapshot(sa, JsonSerializer.Deserialize<QuickModeSnapshot>(json)!);
        Assert.Equal((ipsecSa.MessageId, ipsecSa.InboundSpi, ipsecSa.OutboundSpi, 123_456UL),
            (copy.MessageId, copy.InboundSpi, copy.OutboundSpi, copy.OutboundSequenceHighWater));
        Assert.Equal(leftPair.Inbound.EncryptionKey, copy.Pair.Inbound.EncryptionKey);
        Assert.Equal(leftPair.Outbound.IntegrityKey, copy.Pair.Outbound.IntegrityKey);
        Assert.Equal((leftPair.Transform, leftPair.Local, leftPair.Remote), (copy.Transform, copy.Local, copy.Remote));
    }

    [Fact]
    public void A_pair_released_by_one_IKE_SA_is_adopted_by_another_across_processes_and_rekeyed_there()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        lab.AcquireAndRun();
        var (leftPair, _) = LabAssert.TunnelUp(lab);
        var old = Assert.Single(lab.Left.Sas);
        var snapshot = old.Snapshot();
        snapshot.QuickModes.Clear();

        var output = new NegotiationOutput();
        var released = old.ReleaseIpsecSas(0x1122334455667788, _ => false, output);
        Assert.Equal(leftPair.MessageId, Assert.Single(released).MessageId);
        Assert.Empty(old.IpsecSas);
        Assert.Equal(new IpsecSasMoved(old.InitiatorCookie, 0x1122334455667788, 1), Assert.Single(output.Actions.OfType<IpsecSasMoved>()));
        Assert.Equal([leftPair.MessageId], Assert.Single(output.Actions.OfType<Phase1Rekeyed>()).MovedQuickModes);
        var carried = JsonSerializer.Serialize(released[0].ToSnapshot());

        // Another process: an IKE SA restored without pairs adopts the one carried as plain data.
        using var engine = new NegotiationEngine(new GatewayContext(Lab.Load(LeftConfig), Lab.LeftAddress, new SeededEnvironment(77)));
        var successor = engine.Restore(snapshot, new NegotiationOutput());
        Assert.Empty(successor.IpsecSas);
        var adoptOutput = new NegotiationOutput();
        successor.AdoptIpsecSas([IpsecSa.FromSnapshot(successor, JsonSerializer.Deserialize<QuickModeSnapshot>(carried)!)], adoptOutput);
        Assert.Empty(adoptOutput.Actions);
        var adopted = Assert.Single(successor.IpsecSas);
        Assert.Equal((leftPair.Inbound.Spi, leftPair.Outbound.Spi), (adopted.InboundSpi, adopted.OutboundSpi));
        Assert.Equal(leftPair.Inbound.EncryptionKey, adopted.Pair.Inbound.EncryptionKey);

        // It is the new IKE SA's now: its Phase 2 rekey starts a Quick Mode there.
        var rekey = new NegotiationOutput();
        successor.TimerFired(new TimerKey(TimerKind.Phase2Rekey, adopted.MessageId), rekey);
        var started = Assert.Single(rekey.Actions.OfType<Phase2RekeyStarted>());
        Assert.Equal(adopted.MessageId, started.Replaces);
        Assert.Equal(started.MessageId, adopted.RekeyedBy);
        Assert.Equal(QuickModeState.QM_WAIT_MSG2, Assert.Single(successor.QuickModes).State);
    }
}
