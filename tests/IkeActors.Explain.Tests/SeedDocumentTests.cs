using System.Text.RegularExpressions;
using IkeActors.Explain.Tests.Support;

namespace IkeActors.Explain.Tests;

/// <summary>
/// The device output of the Cisco document the product comes from, as the document has it
/// (lines run together, cut, wrapped and garbled; tests/data/seed keeps the document's line
/// numbers), explained line by line. The expected message of every IKE line is
/// Data/seed-assignments.txt, written from the document's own description columns.
/// </summary>
public class SeedDocumentTests
{
    private static readonly Lazy<ExplainReport> Report = new(() =>
        Explainer.ExplainFiles([Repo.SeedDocument], [Repo.SampleConfig("asa1-initiator.cfg"), Repo.SampleConfig("asa2-responder.cfg")]));

    private sealed record Expected(int First, int Last, int? FromOrdinal, int? ToOrdinal, Side Side, string Message, string Why);

    private static List<Expected> ReadExpected()
    {
        var list = new List<Expected>();
        foreach (var raw in File.ReadAllLines(Repo.Data("seed-assignments.txt")))
        {
            if (raw.Trim().Length == 0 || raw.StartsWith('#')) continue;
            var m = Regex.Match(raw, @"^(\d+)(?:-(\d+))?(?::(\d+)-(\d+))?\s+([IR])\s+(\S+)\s+(.*)$");
            Assert.True(m.Success, "bad line in seed-assignments.txt: " + raw);
            var first = int.Parse(m.Groups[1].Value);
            list.Add(new Expected(first, m.Groups[2].Success ? int.Parse(m.Groups[2].Value) : first,
                m.Groups[3].Success ? int.Parse(m.Groups[3].Value) : null, m.Groups[4].Success ? int.Parse(m.Groups[4].Value) : null,
                m.Groups[5].Value == "I" ? Side.Initiator : Side.Responder, m.Groups[6].Value, m.Groups[7].Value));
        }
        return list;
    }

    /// <summary>(physical line, ordinal) of every IKE line of the document, found with a plain regex (not the reader).</summary>
    private static List<(int Line, int Ordinal)> IkeLinesOfTheDocument()
    {
        var result = new List<(int, int)>();
        var lines = File.ReadAllLines(Repo.SeedDocument);
        for (var i = 0; i < lines.Length; i++)
        {
            var n = Regex.Matches(lines[i], @"\[IKEv1( DEBUG| DECODE)?\]:").Count;
            for (var k = 1; k <= n; k++) result.Add((i + 1, k));
        }
        return result;
    }

    [Fact]
    public void Every_IKE_line_of_the_document_is_assigned_to_the_message_the_document_assigns_it_to()
    {
        var expected = ReadExpected();
        var documentLines = IkeLinesOfTheDocument();
        Assert.Equal(198, documentLines.Count); // the document as it is

        // Each IKE line of the document has exactly one expectation.
        var want = new Dictionary<(int, int), Expected>();
        foreach (var (line, ordinal) in documentLines)
        {
            var hits = expected.Where(e => line >= e.First && line <= e.Last && (e.FromOrdinal is null || (ordinal >= e.FromOrdinal && ordinal <= e.ToOrdinal))).ToList();
            Assert.True(hits.Count == 1, $"seed line {line} #{ordinal}: {hits.Count} expectations");
            want[(line, ordinal)] = hits[0];
        }

        var got = Report.Value.Lines.Where(l => l.Record.IsIke).ToList();
        var ordinals = new Dictionary<int, int>();
        var problems = new List<string>();
        var correct = 0;
        foreach (var l in got)
        {
            var ordinal = ordinals[l.Record.Line] = ordinals.GetValueOrDefault(l.Record.Line) + 1;
            if (!want.TryGetValue((l.Record.Line, ordinal), out var e)) { problems.Add($"line {l.Record.Line} #{ordinal} is not an IKE line of the document: {l.Record.Text}"); continue; }
            if (!l.Recognised) { problems.Add($"line {l.Record.Line} #{ordinal} not recognised: {l.Record.Text}"); continue; }
            if (l.Side == e.Side && l.ExchangeMessage == e.Message) correct++;
            else problems.Add($"line {l.Record.Line} #{ordinal}: {l.Side} {l.ExchangeMessage}, the document says {e.Side} {e.Message} ({e.Why}): {l.Record.Text}");
        }
        Assert.True(got.Count == documentLines.Count, $"the explainer read {got.Count} IKE lines, the document has {documentLines.Count}\n" + string.Join("\n", problems));
        Assert.True(problems.Count == 0, $"{correct} of {documentLines.Count} IKE lines assigned as the document does:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Both_ends_are_recognised_in_one_stream_and_both_complete()
    {
        var r = Report.Value;
        var s = Assert.Single(r.Streams, s => s.Peer == "10.0.0.2");
        Assert.True(s.BothEnds);
        Assert.Equal(("MM_ACTIVE", "QM_ACTIVE"), s.States[Side.Initiator]);
        Assert.Equal(("MM_ACTIVE", "QM_ACTIVE"), s.States[Side.Responder]);
        Assert.Empty(r.Diagnoses);
    }

    private static ExplainedLine Line(int seedLine, string contains) =>
        Assert.Single(Report.Value.Lines, l => l.Record.Line == seedLine && l.Record.Text.Contains(contains, StringComparison.Ordinal));

    private static void HasConfig(ExplainedLine l, string file, string text, string? why = null)
    {
        var hit = l.Config.Where(c => c.File.EndsWith(file, StringComparison.Ordinal) && c.Text.Trim() == text).ToList();
        Assert.True(hit.Count > 0, $"{l.Record.Text}\n  expected {file}: {text}\n  got:\n    " + string.Join("\n    ", l.Config));
        if (why is not null) Assert.Contains(hit, c => c.Why.Contains(why, StringComparison.Ordinal));
    }

    // ---- The document's "Related configuration" cells, found in the seed's configurations ----

    [Fact]
    public void IKE_entry_2_is_the_isakmp_policy_10_of_the_responder()
    {
        // "Related configuration crypto isakmp 10 authentication pre-share encryption 3des hash sha group 2 lifetime 86400"
        var l = Line(131, "Matches global IKE entry # 2");
        HasConfig(l, "asa2-responder.cfg", "crypto isakmp policy 10");
        foreach (var sub in new[] { "authentication pre-share", "encryption 3des", "hash sha", "group 2", "lifetime 86400" })
            HasConfig(l, "asa2-responder.cfg", sub);
    }

    [Fact]
    public void Connection_landed_on_tunnel_group_is_the_l2l_tunnel_group_with_the_key_masked()
    {
        // "Related configuration tunnel group 10.0.0.2 type ipsec-l2l / tunnel group 10.0.0.2 ipsec[-attributes] pre-shared-key cisco"
        var l = Line(217, "Connection landed on tunnel_group 10.0.0.2");
        HasConfig(l, "asa1-initiator.cfg", "tunnel-group 10.0.0.2 type ipsec-l2l");
        HasConfig(l, "asa1-initiator.cfg", "tunnel-group 10.0.0.2 ipsec-attributes");
        HasConfig(l, "asa1-initiator.cfg", "pre-shared-key *****");
        var responder = Line(246, "Connection landed on tunnel_group");
        HasConfig(responder, "asa2-responder.cfg", "tunnel-group 10.0.0.1 type ipsec-l2l");
    }

    [Fact]
    public void MM5_identity_is_the_default_isakmp_identity_auto()
    {
        // "Construct MM5. Related configuration: crypto isakmp identity auto"
        var l = Line(222, "constructing ID payload");
        Assert.Contains(l.Config, c => c.Text.StartsWith("crypto isakmp identity auto", StringComparison.Ordinal) && c.Line == 0);
    }

    [Fact]
    public void P1_rekey_timers_are_95_and_75_percent_of_the_policy_lifetime()
    {
        HasConfig(Line(303, "Starting P1 rekey timer: 82080"), "asa1-initiator.cfg", "lifetime 86400", "95 %");
        HasConfig(Line(268, "Starting P1 rekey timer: 64800"), "asa2-responder.cfg", "lifetime 86400", "75 %");
    }

    [Fact]
    public void QM1_proxy_ids_and_transform_set_come_from_the_crypto_map_entry()
    {
        // "Construct QM1 ... Related configuration: crypto ipsec transform-set TRANSFORM esp-aes esp-sha-hmac
        //  access-list VPN extended permit icmp 192.168.1.0 255.255.255.0 192.168.2.0 255.255.255.0"
        var proxy = Line(346, "Transmitting Proxy Id:");
        HasConfig(proxy, "asa1-initiator.cfg", "access-list VPN extended permit icmp 192.168.1.0 255.255.255.0 192.168.2.0 255.255.255.0");
        Assert.DoesNotContain(proxy.Config, c => c.Text.Contains("permit tcp", StringComparison.Ordinal)); // the ICMP proxy (Protocol 1)
        HasConfig(Line(343, "constructing IPsec SA payload"), "asa1-initiator.cfg", "crypto ipsec transform-set TRANSFORM esp-aes esp-sha-hmac");
    }

    [Fact]
    public void QM1_crypto_map_match_on_the_responder_is_map_MAP_10_and_its_acl()
    {
        // "Process QM1 ... Related configuration ... crypto map MAP 10 match address VPN" / "A matching static crypto entry is looked for and found."
        var l = Line(383, "is a successful match");
        HasConfig(l, "asa2-responder.cfg", "crypto map MAP 10 match address VPN");
        HasConfig(l, "asa2-responder.cfg", "access-list VPN extended permit icmp 192.168.2.0 255.255.255.0 192.168.1.0 255.255.255.0");
        var ts = Line(387, "Matches global IPSec SA entry # 10");
        HasConfig(ts, "asa2-responder.cfg", "crypto map MAP 10 set transform-set TRANSFORM");
        HasConfig(ts, "asa2-responder.cfg", "crypto ipsec transform-set TRANSFORM esp-aes esp-sha-hmac");
    }

    [Fact]
    public void Responder_lifetime_change_and_the_85_percent_rule()
    {
        // "Responder forcing change of IPSec rekeying duration from 28800 to 3600 seconds": the initiator's default against the responder's entry
        var change = Line(466, "Responder forcing change");
        Assert.Contains(change.Config, c => c.File.EndsWith("asa1-initiator.cfg", StringComparison.Ordinal) && c.Line == 0 && c.Text.Contains("lifetime seconds 28800", StringComparison.Ordinal));
        HasConfig(change, "asa2-responder.cfg", "crypto map MAP 10 set security-association lifetime seconds 3600");
        // "Starting P2 rekey timer: 3060 seconds" = 85 % of 3600 on both ends
        HasConfig(Line(665, "Starting P2 rekey"), "asa2-responder.cfg", "crypto map MAP 10 set security-association lifetime seconds 3600", "85 %");
        HasConfig(Line(846, "Starting P2 rekey timer: 3060"), "asa2-responder.cfg", "crypto map MAP 10 set security-association lifetime seconds 3600", "85 %");
    }

    [Fact]
    public void NP_encrypt_rule_lookup_is_the_crypto_map_entry_and_acl()
    {
        // "Found matching crypto map "MAP" and entry 10 and matched it against access-list "VPN.""
        var l = Line(481, "NP encrypt rule look up");
        HasConfig(l, "asa1-initiator.cfg", "crypto map MAP 10 match address VPN");
        HasConfig(l, "asa1-initiator.cfg", "access-list VPN extended permit icmp 192.168.1.0 255.255.255.0 192.168.2.0 255.255.255.0");
    }

    [Fact]
    public void The_report_never_prints_the_pre_shared_key()
    {
        var text = TextReport.Render(Report.Value);
        Assert.DoesNotContain("pre-shared-key cisco", text);
        Assert.Contains("pre-shared-key *****", text);
    }
}
