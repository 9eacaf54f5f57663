using IkeActors.Explain.Tests.Support;

namespace IkeActors.Explain.Tests;

/// <summary>The same negotiation as the ASA prints it, as syslog has it, with timestamps, wrapped and cut: the same story.</summary>
public class InputFormTests
{
    private static readonly Lazy<(string Left, string Right)> Logs = new(() =>
    {
        using var lab = new EngineLab(EngineLab.Initiator, EngineLab.Responder).Run();
        return (lab.LeftLog, lab.RightLog);
    });

    private static List<(string? Message, Side Side, string Name)> Story(ExplainReport r) =>
        r.Lines.Where(l => l.Message is not null).Select(l => (l.ExchangeMessage, l.Side, l.Message!.Name)).ToList();

    [Fact]
    public void Syslog_form_with_timestamps_and_host_tells_the_same_story()
    {
        var console = Explainer.Explain([("left.log", Logs.Value.Left)]);
        var syslog = string.Join("\n", console.Lines.Select(l => l.Message is null ? l.Record.Text
            : "Nov 27 2026 08:00:01 asa1 : " + CatalogLines.Syslog(l.Message, l.Record.Text)));
        Assert.Contains("%ASA-7-713236: IP = 10.0.0.2, IKE_DECODE SENDING Message", syslog);
        var r = Explainer.Explain([("syslog.log", syslog)]);
        Assert.Equal(Story(console), Story(r));
        Assert.All(r.Lines.Where(l => l.Message is not null), l => Assert.Equal(MatchQuality.Exact, l.Quality));
    }

    [Fact]
    public void Timestamps_of_several_forms_are_ignored()
    {
        var lines = Logs.Value.Right.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var stamps = new[] { "Nov 30 10:38:29 ", "Nov 30 10:38:29.123 ", "2026-11-30T10:38:29Z ", "10:38:29 ", "Nov 30 2026 10:38:29 " };
        var stamped = lines.Select((l, i) => stamps[i % stamps.Length] + l);
        Assert.Equal(Story(Explainer.Explain([("a", Logs.Value.Right)])), Story(Explainer.Explain([("b", string.Join("\n", stamped))])));
    }

    [Fact]
    public void Lines_wrapped_at_80_columns_and_IKE_DECODE_lines_cut_are_still_assigned()
    {
        var console = Explainer.Explain([("left.log", Logs.Value.Left)]);
        var pasted = new List<string>();
        foreach (var line in Logs.Value.Left.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // As the Cisco document prints them: "IKE_DECODE SENDING Message (" and nothing more.
            var l = line.Contains("IKE_DECODE", StringComparison.Ordinal) ? line[..(line.IndexOf("Message (", StringComparison.Ordinal) + 9)] : line;
            for (var i = 0; i < l.Length; i += 80) pasted.Add(l.Substring(i, Math.Min(80, l.Length - i)));
        }
        var r = Explainer.Explain([("pasted.log", string.Join("\n", pasted))]);
        var want = Story(console).Select(s => (s.Message, s.Side)).ToList();
        var got = Story(r).Select(s => (s.Message, s.Side)).ToList();
        Assert.Equal(want, got);
        Assert.Contains(r.Lines, l => l.Quality == MatchQuality.Cut);
        Assert.Contains(r.Lines, l => l.Record.JoinedLines > 0);
    }
}
