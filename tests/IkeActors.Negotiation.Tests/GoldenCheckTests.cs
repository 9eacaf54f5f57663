using IkeActors.Testing;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// The golden-transcript checker of tests/Shared (GoldenTranscript.cs) on hand-made logs: the
/// rules come from the golden files' own header (placeholders, lines in order, other lines
/// allowed in between), not from the engine's output.
/// </summary>
public class GoldenCheckTests
{
    private const string Peer = "10.0.0.2";
    private static readonly string GoldenPath = Path.Combine(RepoPaths.Seed, "golden-initiator.txt");

    /// <summary>The golden file's expected lines as an ASA would print them (placeholders filled in as the header describes).</summary>
    private static List<string> PrintedLines() =>
        File.ReadAllLines(GoldenPath).Where(l => l.Trim().Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Trim()
                .Replace("{peer}", Peer, StringComparison.Ordinal)
                .Replace("{group}", Peer, StringComparison.Ordinal)
                .Replace("{hex}", "7b80c2b0", StringComparison.Ordinal)
                .Replace("{n}", "172", StringComparison.Ordinal)
                .Replace("{payloads}", "HDR + KE (4) + NONCE (10) + VENDOR (13) + NAT-D (20) + NAT-D (20) + NONE (0)", StringComparison.Ordinal))
            .ToList();

    private static GoldenResult Check(IEnumerable<string> log, string peer = Peer) =>
        GoldenCheck.Check(GoldenTranscript.Load(GoldenPath, peer), log);

    [Fact]
    public void Every_golden_line_in_order_with_other_lines_and_syslog_times_between_passes()
    {
        var printed = PrintedLines();
        Assert.Equal(81, printed.Count); // 104 lines in the file, 23 of them comments or blank
        var log = new List<string> { "IPSEC: New embryonic SA created @ 0x53FC3C00," };
        for (var i = 0; i < printed.Count; i++)
        {
            log.Add(i % 3 == 0 ? "Nov 30 10:38:29 " + printed[i] : i % 3 == 1 ? "  " + printed[i] + " \t" : printed[i]);
            log.Add("[IKEv1 DEBUG]: IP = 10.0.0.2, processing VID payload");
        }

        var result = Check(log);

        Assert.True(result.Passed, result.Report());
        Assert.Equal(81, result.Found);
        Assert.Null(result.FirstMissing);
        Assert.EndsWith("golden: 81/81 lines in order", result.Report());
    }

    [Fact]
    public void A_log_missing_a_line_fails_and_the_report_names_it()
    {
        var log = PrintedLines();
        Assert.True(log.Remove("[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, PHASE 1 COMPLETED"));

        var result = Check(log);

        Assert.False(result.Passed);
        Assert.Equal(80, result.Found);
        Assert.Equal("[IKEv1]: Group = {group}, IP = {peer}, PHASE 1 COMPLETED", result.FirstMissing!.Text);
        Assert.Equal(70, result.FirstMissing.FileLine);
        Assert.StartsWith("first missing line (golden-initiator.txt line 70): [IKEv1]: Group = {group}, IP = {peer}, PHASE 1 COMPLETED\n", result.Report());
        Assert.EndsWith("golden: 80/81 lines in order", result.Report());
    }

    [Fact]
    public void The_search_goes_on_after_a_missing_line_and_reports_every_one()
    {
        var log = PrintedLines();
        log.RemoveAt(1);  // golden line 20: IKE Initiator: New Phase 1
        log.RemoveAt(78); // golden line 103 (the last but one; index 79 before the first removal)

        var result = Check(log);

        Assert.Equal(79, result.Found);
        Assert.Equal([20, 103], result.Missing.Select(m => m.Line.FileLine));
        Assert.Contains("IKE Initiator: New Phase 1", result.FirstMissing!.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Lines_out_of_order_fail_on_the_line_that_comes_too_late()
    {
        var log = PrintedLines();
        var begin = log.IndexOf("[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, Oakley begin quick mode");
        Assert.StartsWith("[IKEv1 DECODE]: Group = 10.0.0.2, IP = 10.0.0.2, IKE Initiator starting QM", log[begin + 1], StringComparison.Ordinal);
        (log[begin], log[begin + 1]) = (log[begin + 1], log[begin]);

        var result = Check(log);

        Assert.False(result.Passed);
        // "Oakley begin quick mode" is found after "starting QM", so "starting QM" is then missing.
        Assert.Equal(69, result.FirstMissing!.FileLine);
        Assert.Equal("[IKEv1 DECODE]: Group = {group}, IP = {peer}, IKE Initiator starting QM: msg id = {hex}", result.FirstMissing.Text);
    }

    [Fact]
    public void A_log_about_another_peer_fails_on_the_first_line_that_names_the_peer()
    {
        var result = Check(PrintedLines(), peer: "10.0.0.3");

        Assert.False(result.Passed);
        Assert.Equal(20, result.FirstMissing!.FileLine); // line 19 (Pitcher: key acquire) names no peer
        Assert.Equal(2, result.Found); // the two lines without {peer}: the key acquire and "IPSEC: New embryonic SA"
        Assert.StartsWith("first missing line (golden-initiator.txt line 20): [IKEv1]: IP = {peer}, IKE Initiator: New Phase 1", result.Report());
    }

    [Theory]
    [InlineData("[IKEv1 DEBUG]: IP = 10.0.0.2, processing SA payload", true)]
    [InlineData("Nov 30 10:38:29 [IKEv1 DEBUG]: IP = 10.0.0.2, processing SA payload", true)]
    [InlineData("Dec  2 09:05:01.123 [IKEv1 DEBUG]: IP = 10.0.0.2, processing SA payload", true)]
    [InlineData(" \t[IKEv1 DEBUG]: IP = 10.0.0.2, processing SA payload  ", true)]
    [InlineData("[IKEv1 DEBUG]:  IP = 10.0.0.2, processing SA payload", false)]      // spaces inside are literal
    [InlineData("[IKEv1 DEBUG]: IP = 10.0.0.2, processing SA payload now", false)]   // the whole line
    [InlineData("asa1 [IKEv1 DEBUG]: IP = 10.0.0.2, processing SA payload", false)]
    [InlineData("2026-11-30 10:38:29 [IKEv1 DEBUG]: IP = 10.0.0.2, processing SA payload", false)] // only the syslog time is dropped
    [InlineData("[ikev1 debug]: IP = 10.0.0.2, processing SA payload", false)]
    [InlineData("[IKEv1 DEBUG]: IP = 10.0.0.20, processing SA payload", false)]
    [InlineData("[IKEv1 DEBUG]: IP = 10a0b0c2, processing SA payload", false)]      // the peer's dots are dots
    public void Whitespace_time_and_peer_rules(string logLine, bool matches)
    {
        var golden = GoldenTranscript.Parse("t", ["[IKEv1 DEBUG]: IP = {peer}, processing SA payload"], Peer);
        Assert.Equal(matches, GoldenCheck.Check(golden, [logLine]).Passed);
    }

    [Theory]
    [InlineData("total length : {n}", "total length : 172", true)]
    [InlineData("total length : {n}", "total length : 17a", false)]
    [InlineData("total length : {n}", "total length : ", false)]
    [InlineData("msg id = {hex}", "msg id = 7B80c2b0", true)]
    [InlineData("msg id = {hex}", "msg id = 7g", false)]
    [InlineData("payloads : {payloads} total", "payloads : HDR + SA (1) + VENDOR (13) + NONE (0) total", true)]
    [InlineData("payloads : {payloads} total", "payloads : HDR + HASH (8) + NOTIFY (11) + NONE (0) total", true)]
    [InlineData("payloads : {payloads} total", "payloads : HDR + SA (1) total", false)]
    [InlineData("payloads : {payloads} total", "payloads : SA (1) + NONE (0) total", false)]
    [InlineData("Group = {group},", "Group = 10.0.0.2,", true)]
    [InlineData("Group = {group},", "Group = two words,", false)]
    [InlineData("IP = {peer}", "IP = 2001:db8::2", true)]  // unpinned: any address
    [InlineData("{other} stays literal", "{other} stays literal", true)]
    [InlineData("{other} stays literal", "x stays literal", false)]
    public void Placeholders_match_what_the_golden_header_says(string goldenLine, string logLine, bool matches)
    {
        var golden = GoldenTranscript.Parse("t", [goldenLine]);
        Assert.Equal(matches, GoldenCheck.Check(golden, [logLine]).Passed);
    }

    [Fact]
    public void A_pinned_group_must_be_that_group()
    {
        var golden = GoldenTranscript.Parse("t", ["Group = {group}, IP = {peer}"], Peer, group: "10.0.0.2");
        Assert.True(GoldenCheck.Check(golden, ["Group = 10.0.0.2, IP = 10.0.0.2"]).Passed);
        Assert.False(GoldenCheck.Check(golden, ["Group = DefaultL2LGroup, IP = 10.0.0.2"]).Passed);
    }

    [Fact]
    public void Comments_headings_and_blank_lines_are_not_expected_lines()
    {
        var golden = GoldenTranscript.Parse("t", ["# about", "## MM1", "", "   ", "  [IKEv1]: IP = {peer}, x  "]);
        var line = Assert.Single(golden.Lines);
        Assert.Equal("[IKEv1]: IP = {peer}, x", line.Text);
        Assert.Equal(5, line.FileLine);
        Assert.True(GoldenCheck.Check(golden, []).Passed is false);
    }
}
