using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace IkeActors.Testing;

/// <summary>
/// A golden transcript (tests/data/seed/golden-*.txt): the debug lines one ASA must print, in
/// order. The file's own header states the format: blank lines and lines starting with '#' are
/// not expected lines; the others are compared whole, after trimming, with placeholders
/// {peer} (the peer's address), {group} (the tunnel-group), {hex}, {n} (a decimal number) and
/// {payloads} (an IKE_DECODE payload list "HDR + … + NONE (0)"). Everything else is literal,
/// spaces included.
/// </summary>
internal sealed class GoldenTranscript
{
    public string Name { get; }
    public IReadOnlyList<GoldenLine> Lines { get; }

    private GoldenTranscript(string name, List<GoldenLine> lines) => (Name, Lines) = (name, lines);

    /// <summary>Reads a golden file; <paramref name="peer"/> and <paramref name="group"/> pin those placeholders (null: any).</summary>
    public static GoldenTranscript Load(string path, string? peer = null, string? group = null) =>
        Parse(Path.GetFileName(path), File.ReadAllLines(path), peer, group);

    public static GoldenTranscript Parse(string name, IEnumerable<string> fileLines, string? peer = null, string? group = null)
    {
        var lines = new List<GoldenLine>();
        var number = 0;
        foreach (var raw in fileLines)
        {
            number++;
            if (raw.Trim().Length == 0 || raw.StartsWith('#')) continue;
            lines.Add(new GoldenLine(number, raw.Trim(), peer, group));
        }
        return new GoldenTranscript(name, lines);
    }
}

/// <summary>One expected debug line of a golden transcript, with the line number it has in its file.</summary>
internal sealed partial class GoldenLine
{
    public int FileLine { get; }
    public string Text { get; }
    private readonly Regex _pattern;

    public GoldenLine(int fileLine, string text, string? peer, string? group)
    {
        FileLine = fileLine;
        Text = text;
        _pattern = new Regex(ToPattern(text, peer, group), RegexOptions.CultureInvariant);
    }

    /// <summary>True when the whole (normalised) log line is this golden line.</summary>
    public bool Matches(string normalisedLogLine) => _pattern.IsMatch(normalisedLogLine);

    [GeneratedRegex(@"\{(peer|group|hex|n|payloads)\}")]
    private static partial Regex Placeholder();

    private static string ToPattern(string text, string? peer, string? group)
    {
        var sb = new StringBuilder("^");
        var at = 0;
        foreach (Match m in Placeholder().Matches(text))
        {
            sb.Append(Regex.Escape(text[at..m.Index]));
            sb.Append(m.Groups[1].Value switch
            {
                "peer" => peer is null ? "[0-9A-Fa-f.:]+" : Regex.Escape(peer), // IPv4 or IPv6
                "group" => group is null ? @"\S+" : Regex.Escape(group),
                "hex" => "[0-9A-Fa-f]+",
                "n" => "[0-9]+",
                // "HDR + SA (1) + VENDOR (13) + NONE (0)": HDR, any payloads, NONE (0) last.
                _ => @"HDR(?: \+ [A-Za-z0-9 _/()-]+?)* \+ NONE \(0\)",
            });
            at = m.Index + m.Length;
        }
        sb.Append(Regex.Escape(text[at..])).Append('$');
        return sb.ToString();
    }
}

/// <summary>What a log held of a golden transcript: the lines found in order and the ones missing.</summary>
internal sealed class GoldenResult
{
    public required GoldenTranscript Golden { get; init; }
    public required int Found { get; init; }
    /// <summary>Golden lines not found in order, each with the number of log lines read before the search for it started.</summary>
    public required IReadOnlyList<(GoldenLine Line, int AfterLogLine)> Missing { get; init; }

    public bool Passed => Missing.Count == 0;
    public GoldenLine? FirstMissing => Missing.Count == 0 ? null : Missing[0].Line;

    /// <summary>The first missing line first, then every missing line, then "golden: M/N lines in order".</summary>
    public string Report()
    {
        var sb = new StringBuilder();
        if (FirstMissing is { } first)
            sb.Append(CultureInfo.InvariantCulture, $"first missing line ({Golden.Name} line {first.FileLine}): {first.Text}\n");
        foreach (var (line, after) in Missing)
            sb.Append(CultureInfo.InvariantCulture, $"missing after log line {after} ({Golden.Name} line {line.FileLine}): {line.Text}\n");
        sb.Append(CultureInfo.InvariantCulture, $"golden: {Found}/{Golden.Lines.Count} lines in order");
        return sb.ToString();
    }
}

/// <summary>
/// Checks a debug log against a golden transcript: every golden line must be found in the log,
/// in the golden order; the log may hold other lines in between. A log line is compared after
/// dropping a leading syslog time ("Nov 30 10:38:29 ", optional fraction of a second) and
/// trimming. A golden line that is not found is reported and the search for the next one goes
/// on from the same place.
/// </summary>
internal static partial class GoldenCheck
{
    [GeneratedRegex(@"^[A-Z][a-z]{2} +[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)? ")]
    private static partial Regex SyslogTime();

    public static string Normalise(string logLine) => SyslogTime().Replace(logLine, "", 1).Trim();

    public static GoldenResult Check(GoldenTranscript golden, IEnumerable<string> logLines)
    {
        var log = logLines.Select(Normalise).ToList();
        var next = 0; // the first log line not yet consumed
        var found = 0;
        var missing = new List<(GoldenLine, int)>();
        foreach (var line in golden.Lines)
        {
            var hit = -1;
            for (var i = next; i < log.Count && hit < 0; i++)
                if (line.Matches(log[i])) hit = i;
            if (hit < 0) { missing.Add((line, next)); continue; }
            found++;
            next = hit + 1;
        }
        return new GoldenResult { Golden = golden, Found = found, Missing = missing };
    }

    /// <summary>A golden file of tests/data/seed (or a path) against a log, {peer} pinned; the report names the first missing line.</summary>
    public static (bool Passed, string Report) Run(string goldenFile, IEnumerable<string> logLines, string peer)
    {
        var path = Path.IsPathRooted(goldenFile) ? goldenFile : Path.Combine(RepoPaths.Seed, goldenFile);
        var result = Check(GoldenTranscript.Load(path, peer), logLines);
        return (result.Passed, result.Report());
    }
}
