using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// Traffic that arrives while a Quick Mode for it is under way (the peer's, waiting for its QM3; or our own, waiting for
/// QM2) makes no second Quick Mode: one pair per proxy pair, not two. Found with strongSwan initiating: a ping sent the
/// moment its CHILD_SA was up reached us before its QM3, our data plane asked for a key, and a second pair was made.
/// </summary>
public class AcquireDuringQuickModeTests
{
    private static readonly string LeftConfig = Lab.SampleConfig("asa1-initiator.cfg");
    private static readonly string RightConfig = Lab.SampleConfig("asa2-responder.cfg");
    private const byte QuickModeExchange = 32; // RFC 2408 §3.1, header octet 18

    private static readonly Packet LeftPing = new(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1);
    private static readonly Packet RightPing = new(IPAddress.Parse("192.168.2.10"), IPAddress.Parse("192.168.1.10"), 1);
    /// <summary>The ACL's tcp line: other proxy IDs, so a Quick Mode of its own.</summary>
    private static readonly Packet LeftWeb = new(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 6, 40000, 80);

    private static int QuickModesSent(NegotiationOutput output, int from) =>
        output.Actions.Skip(from).OfType<SendDatagram>().Count(d => d.Datagram.Length > 18 && d.Datagram[18] == QuickModeExchange);

    [Fact]
    public void The_responder_waiting_for_qm3_starts_no_second_quick_mode_for_the_same_traffic()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        var leftQuickModes = 0;
        lab.Tamper = (fromLeft, _, bytes) => fromLeft && bytes[18] == QuickModeExchange && ++leftQuickModes == 2 ? null : bytes; // QM3 held back
        lab.AcquireAndRun();
        var waiting = Assert.Single(Assert.Single(lab.Right.Sas).QuickModes);
        Assert.Equal(QuickModeState.QM_WAIT_MSG3, waiting.State);

        var before = lab.RightOutput.Actions.Count;
        Assert.True(lab.Right.Acquire(RightPing, lab.RightOutput));
        Assert.Equal(0, QuickModesSent(lab.RightOutput, before));
        Assert.Single(Assert.Single(lab.Right.Sas).QuickModes);

        // The responder resends QM2, the initiator answers with its QM3 again: one pair each side, as if the packet had never asked.
        lab.Tamper = null;
        lab.FireTimers(left: false, TimerKind.Retransmit);
        lab.Run();
        Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>());
        Assert.Single(lab.RightOutput.OfType<InstallIpsecSa>());
    }

    [Fact]
    public void An_acquire_raised_while_the_pair_was_on_its_way_to_the_data_plane_starts_nothing()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        lab.AcquireAndRun();
        Assert.Single(lab.RightOutput.OfType<InstallIpsecSa>());
        var before = lab.RightOutput.Actions.Count;
        Assert.True(lab.Right.Acquire(RightPing, lab.RightOutput));
        Assert.Equal(0, QuickModesSent(lab.RightOutput, before));
        // Traffic the installed pair does not cover (the ACL's tcp line) still gets its Quick Mode.
        Assert.True(lab.Left.Acquire(LeftWeb, lab.LeftOutput));
        lab.Run();
        Assert.Equal(2, lab.RightOutput.OfType<InstallIpsecSa>().Count());
    }

    [Fact]
    public void Our_own_quick_mode_waiting_for_qm2_is_not_started_twice_but_other_traffic_gets_its_own()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        lab.Tamper = (fromLeft, _, bytes) => fromLeft && bytes[18] == QuickModeExchange ? null : bytes; // every QM1 lost
        lab.AcquireAndRun();
        var sa = Assert.Single(lab.Left.Sas);
        Assert.Equal(MainModeState.MM_ACTIVE, sa.State);
        Assert.Equal(QuickModeState.QM_WAIT_MSG2, Assert.Single(sa.QuickModes).State);

        var before = lab.LeftOutput.Actions.Count;
        Assert.True(lab.Left.Acquire(LeftPing, lab.LeftOutput));
        Assert.Equal(0, QuickModesSent(lab.LeftOutput, before));

        Assert.True(lab.Left.Acquire(LeftWeb, lab.LeftOutput));
        Assert.Equal(1, QuickModesSent(lab.LeftOutput, before));
        Assert.Equal(2, Assert.Single(lab.Left.Sas).QuickModes.Count);
    }
}
