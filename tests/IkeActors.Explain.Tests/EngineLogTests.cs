using IkeActors.Explain.Tests.Support;

namespace IkeActors.Explain.Tests;

/// <summary>
/// Logs written by our own engine (the seed's two ASAs in memory, and the SiteToSite sample's
/// configuration), explained: a good negotiation is followed message by message on each end,
/// each misconfiguration is diagnosed with the right cause.
/// </summary>
public class EngineLogTests
{
    private static ExplainReport Explain(EngineLab lab, bool withConfigs = true)
    {
        var options = new ExplainOptions();
        if (withConfigs)
        {
            options.Configs.Add(("asa1-initiator.cfg", lab.Left.Context.Config is not null ? ConfigText(lab, left: true) : ""));
            options.Configs.Add(("asa2-responder.cfg", ConfigText(lab, left: false)));
        }
        return Explainer.Explain([("left.log", lab.LeftLog), ("right.log", lab.RightLog)], options);
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<EngineLab, string[]> Texts = new();

    private static string ConfigText(EngineLab lab, bool left) => Texts.TryGetValue(lab, out var t) ? t[left ? 0 : 1] : "";

    private static EngineLab Lab(string left, string right, Func<bool, byte[], byte[]?>? tamper = null)
    {
        var lab = new EngineLab(left, right) { Tamper = tamper };
        Texts.Add(lab, [left, right]);
        return lab;
    }

    private static string Sequence(ExplainReport r, string file) => string.Join(" ",
        r.Lines.Where(l => l.Record.File == file && l.Message?.Name is "IkeDecodeSending" or "IkeDecodeReceived")
            .Select(l => (l.Message!.Name == "IkeDecodeSending" ? ">" : "<") + l.ExchangeMessage));

    [Fact]
    public void A_good_negotiation_is_followed_on_each_end()
    {
        using var lab = Lab(EngineLab.Initiator, EngineLab.Responder).Run();
        var r = Explain(lab);
        Assert.Equal(">MM1 <MM2 >MM3 <MM4 >MM5 <MM6 >QM1 <QM2 >QM3", Sequence(r, "left.log"));
        Assert.Equal("<MM1 >MM2 <MM3 >MM4 <MM5 >MM6 <QM1 >QM2 <QM3", Sequence(r, "right.log"));
        var left = Assert.Single(r.Streams, s => s.File == "left.log");
        var right = Assert.Single(r.Streams, s => s.File == "right.log");
        Assert.Equal((Side.Initiator, Side.Responder), (left.Role, right.Role));
        Assert.Equal(("MM_ACTIVE", "QM_ACTIVE"), left.States[Side.Initiator]);
        Assert.Equal(("MM_ACTIVE", "QM_ACTIVE"), right.States[Side.Responder]);
        Assert.Empty(r.Diagnoses);
        Assert.Equal(0, r.Lines.Count(l => l.Record.IsIke && !l.Recognised));
        // Every IKE line of our engine is an exact catalog line and sits in a message.
        Assert.All(r.Lines.Where(l => l.Record.IsIke), l =>
        {
            Assert.Equal(MatchQuality.Exact, l.Quality);
            Assert.NotNull(l.ExchangeMessage);
        });
        // The responder's lifetime of 3600 s is what the 3060 s timer comes from.
        var timer = r.Lines.First(l => l.Record.File == "left.log" && l.Message?.Name == "StartingP2RekeyTimer");
        Assert.Contains(timer.Config, c => c.Text.Contains("lifetime seconds 3600", StringComparison.Ordinal) && c.Why.Contains("85 %", StringComparison.Ordinal));
    }

    [Fact]
    public void Both_ends_in_one_file_are_told_apart_by_the_peer_address()
    {
        using var lab = Lab(EngineLab.Initiator, EngineLab.Responder).Run();
        // Interleave as a syslog server would (both gateways logging to one file), in the syslog form.
        var left = lab.LeftLog.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var right = lab.RightLog.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var merged = new List<string>();
        for (var i = 0; i < Math.Max(left.Length, right.Length); i++)
        {
            if (i < left.Length) merged.Add("Nov 30 10:38:29 asa1 : " + left[i]);
            if (i < right.Length) merged.Add("Nov 30 10:38:29 asa2 : " + right[i]);
        }
        var r = Explainer.Explain([("both.log", string.Join("\n", merged))]);
        var byPeer = r.Streams.Where(s => s.Peer is not null).ToDictionary(s => s.Peer!);
        Assert.Equal(Side.Initiator, byPeer["10.0.0.2"].Role);
        Assert.Equal(Side.Responder, byPeer["10.0.0.1"].Role);
        Assert.Equal(("MM_ACTIVE", "QM_ACTIVE"), byPeer["10.0.0.2"].States[Side.Initiator]);
        Assert.Equal(("MM_ACTIVE", "QM_ACTIVE"), byPeer["10.0.0.1"].States[Side.Responder]);
    }

    [Fact]
    public void Wrong_pre_shared_key_is_diagnosed_on_both_ends()
    {
        using var lab = Lab(EngineLab.Initiator, EngineLab.Edit(EngineLab.Responder, " pre-shared-key cisco", " pre-shared-key cisc0")).Run().Exhaust(left: true);
        var r = Explain(lab);
        var d = Assert.Single(r.Diagnoses, d => d.Id == "psk-mismatch");
        Assert.Contains(d.Evidence, e => e.Record.File == "right.log" && e.Message!.Name == "ReceivedEncryptedMainModeInvalidPayloads" && e.ExchangeMessage == "MM5");
        Assert.Contains(d.Evidence, e => e.Record.File == "left.log" && e.Record.Text.Contains("MM_WAIT_MSG6", StringComparison.Ordinal));
        Assert.Contains(d.Config, c => c.Text.Trim() == "pre-shared-key *****");
        var text = TextReport.Render(r);
        Assert.DoesNotContain("cisc0", text);
        Assert.DoesNotContain("pre-shared-key cisco", text);
        Assert.DoesNotContain(r.Diagnoses, x => x.Id == "retransmission-exhausted");
        // Either end's log alone says the same.
        Assert.Equal("psk-mismatch", Assert.Single(Explainer.Explain([("left.log", lab.LeftLog)]).Diagnoses).Id);
        Assert.Equal("psk-mismatch", Assert.Single(Explainer.Explain([("right.log", lab.RightLog)]).Diagnoses).Id);
    }

    [Fact]
    public void No_common_isakmp_policy_is_diagnosed_at_MM1()
    {
        using var lab = Lab(EngineLab.Initiator, EngineLab.Edit(EngineLab.Responder, " encryption 3des", " encryption aes-256")).Run();
        var r = Explain(lab);
        var d = Assert.Single(r.Diagnoses, d => d.Id == "no-isakmp-policy");
        var at = d.Evidence[0];
        Assert.Equal(("right.log", "MM1", Side.Responder), (at.Record.File, at.ExchangeMessage, at.Side));
        Assert.Contains(d.Config, c => c.File == "asa2-responder.cfg" && c.Text.Trim() == "encryption aes-256");
        Assert.Contains(d.Evidence, e => e.Record.File == "left.log" && e.Message!.Name == "ReceivedNonRoutineNotify" && e.Phase == 1);
        // The initiator's log alone is enough.
        var left = Explainer.Explain([("left.log", lab.LeftLog)]);
        Assert.Equal("no-isakmp-policy", Assert.Single(left.Diagnoses).Id);
        Assert.DoesNotContain(r.Diagnoses, x => x.Id == "transform-set-mismatch");
    }

    [Fact]
    public void Proxy_id_mismatch_is_diagnosed_at_QM1_with_the_acls_of_both_ends()
    {
        var responder = EngineLab.Edit(EngineLab.Edit(EngineLab.Responder,
            "permit tcp 192.168.2.0 255.255.255.0 192.168.1.0", "permit tcp 192.168.20.0 255.255.255.0 192.168.1.0"),
            "permit icmp 192.168.2.0 255.255.255.0 192.168.1.0", "permit icmp 192.168.20.0 255.255.255.0 192.168.1.0");
        using var lab = Lab(EngineLab.Initiator, responder).Run();
        var r = Explain(lab);
        var d = Assert.Single(r.Diagnoses, d => d.Id == "proxy-id-mismatch");
        Assert.Equal(("QM1", Side.Responder), (d.Evidence[0].ExchangeMessage, d.Evidence[0].Side));
        Assert.Contains(d.Config, c => c.File == "asa2-responder.cfg" && c.Text.Contains("192.168.20.0", StringComparison.Ordinal));
        Assert.Contains(d.Config, c => c.File == "asa1-initiator.cfg" && c.Text.StartsWith("access-list VPN", StringComparison.Ordinal));
    }

    [Fact]
    public void Transform_set_mismatch_is_diagnosed_in_quick_mode_not_as_a_policy_problem()
    {
        using var lab = Lab(EngineLab.Initiator,
            EngineLab.Edit(EngineLab.Responder, "transform-set TRANSFORM esp-aes esp-sha-hmac", "transform-set TRANSFORM esp-3des esp-sha-hmac")).Run();
        var r = Explain(lab);
        var d = Assert.Single(r.Diagnoses, d => d.Id == "transform-set-mismatch");
        Assert.Equal("QM1", d.Evidence[0].ExchangeMessage);
        // The initiator's side of it: NO-PROPOSAL-CHOSEN in an Informational exchange after phase 1.
        Assert.Contains(d.Evidence, e => e.Record.File == "left.log" && e.Message!.Name == "ReceivedNonRoutineNotify" && e.Phase == 2);
        Assert.Contains(d.Config, c => c.File == "asa2-responder.cfg" && c.Text == "crypto ipsec transform-set TRANSFORM esp-3des esp-sha-hmac");
        Assert.DoesNotContain(r.Diagnoses, x => x.Id == "no-isakmp-policy");
    }

    [Fact]
    public void Retransmission_exhaustion_is_diagnosed_when_the_peer_is_never_heard()
    {
        using var lab = Lab(EngineLab.Initiator, EngineLab.Responder, tamper: (fromLeft, d) => fromLeft ? d : null).Run().Exhaust(left: true);
        var r = Explainer.Explain([("left.log", lab.LeftLog)]);
        var d = Assert.Single(r.Diagnoses);
        Assert.Equal("retransmission-exhausted", d.Id);
        Assert.Contains("MM_WAIT_MSG2", d.Evidence[0].Record.Text);
        // The resent copies are MM1 again.
        Assert.All(r.Lines.Where(l => l.Message?.Name == "IkeDecodeResending"), l => Assert.Equal("MM1", l.ExchangeMessage));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(255)]
    public void Any_debug_level_places_the_lines_it_has(int level)
    {
        using var lab = new EngineLab(EngineLab.Initiator, EngineLab.Responder, level).Run();
        var r = Explainer.Explain([("left.log", lab.LeftLog), ("right.log", lab.RightLog)]);
        Assert.NotEmpty(r.Lines);
        Assert.Empty(r.Diagnoses);
        // The lines every level prints are placed where the protocol puts them.
        foreach (var l in r.Lines.Where(l => l.Message?.Name == "SecurityNegotiationCompleteL2LInitiator")) Assert.Equal(("QM2", Side.Initiator), (l.ExchangeMessage, l.Side));
        foreach (var l in r.Lines.Where(l => l.Message?.Name == "SecurityNegotiationCompleteL2LResponder")) Assert.Equal(("QM3", Side.Responder), (l.ExchangeMessage, l.Side));
        foreach (var l in r.Lines.Where(l => l.Message?.Name == "InitiatorNewPhase1")) Assert.Equal(("MM1", Side.Initiator), (l.ExchangeMessage, l.Side));
        var left = Assert.Single(r.Streams, s => s.File == "left.log" && s.Peer is not null);
        Assert.Equal(Side.Initiator, left.Role);
        var p1 = r.Lines.Where(l => l.Message?.Name == "Phase1Completed").Select(l => (l.Record.File, l.ExchangeMessage, l.Side)).ToList();
        Assert.Contains(("left.log", "MM6", Side.Initiator), p1);
        Assert.Contains(("right.log", "MM6", Side.Responder), p1);
        var p2 = r.Lines.Where(l => l.Message?.Name == "Phase2Completed").Select(l => (l.Record.File, l.ExchangeMessage, l.Side)).ToList();
        Assert.Contains(("left.log", "QM3", Side.Initiator), p2);
        Assert.Contains(("right.log", "QM3", Side.Responder), p2);
    }

    [Fact]
    public void A_rebooted_peer_starting_over_with_INITIAL_CONTACT_is_diagnosed_on_the_responder()
    {
        using var lab = Lab(EngineLab.Initiator, EngineLab.Responder).Run();
        Assert.Empty(Explain(lab).Diagnoses);
        lab.RebootLeft().Run();
        var r = Explainer.Explain([("right.log", lab.RightLog)]);
        var d = Assert.Single(r.Diagnoses);
        Assert.Equal("initial-contact-teardown", d.Id);
        Assert.Equal(("QM1", Side.Responder), (d.Evidence[0].ExchangeMessage, d.Evidence[0].Side));
        // The second Main Mode is read as a new one.
        Assert.Equal("<MM1 >MM2 <MM3 >MM4 <MM5 >MM6 <QM1 >QM2 <QM3 <MM1 >MM2 <MM3 >MM4 <MM5 >MM6 <QM1 >QM2 <QM3", Sequence(r, "right.log"));
    }
}
