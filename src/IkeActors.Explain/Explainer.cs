using System.Text.RegularExpressions;
using IkeActors.Protocol;

namespace IkeActors.Explain;

/// <summary>What to explain and with which configuration.</summary>
public sealed class ExplainOptions
{
    /// <summary>ASA configurations (show running-config text) with the file names to cite.</summary>
    public List<(string File, string Text)> Configs { get; } = new();
    /// <summary>Only lines about this peer (and lines without a peer).</summary>
    public string? Peer { get; set; }
    /// <summary>Replaces the embedded schemas/diagnoses.ikediag (tests, user catalogues).</summary>
    public DiagnosisCatalog? Diagnoses { get; set; }
}

/// <summary>
/// `ikeactors explain`: turns `debug crypto ikev1` output into the negotiation story.
/// Reads one or more logs, matches every line against the debug catalog, assigns it to its
/// exchange, message, side and state, links it to the configuration and diagnoses failures.
/// Never throws on the content of a log: unknown lines are kept and marked.
/// </summary>
public static partial class Explainer
{
    public static ExplainReport Explain(IReadOnlyList<(string File, string Text)> logs, ExplainOptions? options = null)
    {
        options ??= new ExplainOptions();
        var problems = new List<string>();
        var lines = new List<ExplainedLine>();
        foreach (var (file, text) in logs)
        {
            if (string.IsNullOrWhiteSpace(text)) { problems.Add($"{file}: the log is empty"); continue; }
            var pieces = LogReader.Read(text, file, problems);
            lines.AddRange(Recognise(pieces));
        }

        var configs = options.Configs.Select(c => ConfigIndex.Load(c.File, c.Text, problems)).ToList();
        if (options.Peer is { } only)
            lines = lines.Where(l => l.Peer is null || l.Peer == only).ToList();

        var streams = BuildStreams(lines, configs);
        var linker = new ConfigLinker(configs);
        foreach (var s in streams) linker.Link(s, lines.Where(l => l.Stream == s.Id).ToList());

        var catalog = options.Diagnoses ?? DiagnosisCatalog.Embedded;
        var diagnoses = new Diagnoser(catalog).Diagnose(lines, streams, linker);

        var recognised = lines.Count(l => l.Recognised);
        if (lines.Count > 0 && recognised == 0)
            problems.Add("no line of the input is an ASA `debug crypto ikev1` line (expected \"[IKEv1]: …\", \"[IKEv1 DEBUG]: …\" or \"%ASA-7-71xxxx: …\")");
        string? initiator = streams.FirstOrDefault(s => !s.BothEnds && s.Role == Side.Responder)?.Peer;
        string? responder = streams.FirstOrDefault(s => s.Peer is not null && (s.BothEnds || s.Role == Side.Initiator))?.Peer;
        if (initiator is null && streams.FirstOrDefault(s => s.BothEnds) is { } both
            && linker.ConfigFor(both, Side.Initiator) is { } ic && ic.Config.CryptoMaps.FirstOrDefault() is { } map)
            initiator = ic.Config.LocalAddressOf(map)?.ToString();
        var report = new ExplainReport
        {
            InitiatorAddress = initiator,
            ResponderAddress = responder,
            Files = logs.Select(l => l.File).ToList(),
            Lines = lines,
            Streams = streams,
            Diagnoses = diagnoses,
            ConfigFiles = configs.Select(c => c.File).ToList(),
        };
        report.Problems.AddRange(problems);
        return report;
    }

    public static ExplainReport ExplainFiles(IReadOnlyList<string> logFiles, IReadOnlyList<string> configFiles, string? peer = null)
    {
        var options = new ExplainOptions { Peer = peer };
        foreach (var c in configFiles) options.Configs.Add((c, File.ReadAllText(c)));
        var logs = logFiles.Select(f => (f, LogReader.Decode(File.ReadAllBytes(f)))).ToList();
        return Explain(logs, options);
    }

    [GeneratedRegex(@"^[A-Za-z][A-Za-z #/_]{0,24}:( |$)")]
    private static partial Regex DetailRegex();

    /// <summary>Pieces to explained lines: catalog matches, continuation lines joined, details attached.</summary>
    internal static List<ExplainedLine> Recognise(List<LogReader.Piece> pieces)
    {
        var matcher = CatalogMatcher.Default;
        var result = new List<ExplainedLine>();
        ExplainedLine? lastTagged = null;
        var lastWasTaggedOrDetail = false;
        for (var i = 0; i < pieces.Count; i++)
        {
            var p = pieces[i];
            if (p.Marker is not null)
            {
                result.Add(new ExplainedLine { Record = new LogRecord { File = p.File, Line = p.Line, Text = p.Marker, Marker = p.Marker } });
                lastWasTaggedOrDetail = false;
                continue;
            }
            if (p.Tag is null && p.SyslogId is null)
            {
                if (p.Text.Length == 0) { lastWasTaggedOrDetail = false; continue; }
                if (lastTagged is not null && lastWasTaggedOrDetail && p.StartsLine && DetailRegex().IsMatch(p.Text))
                {
                    lastTagged.Record.Details.Add(p.Text);
                    continue;
                }
                // Text that is not a debug line is echoed, with any key in it masked.
                result.Add(new ExplainedLine { Record = new LogRecord { File = p.File, Line = p.Line, Text = ConfigIndex.Mask(p.Text) } });
                lastWasTaggedOrDetail = false;
                continue;
            }

            var tag = p.Tag?.Trim();
            var body = p.Text;
            var match = tag is "IPSEC(" or "IPSEC DEBUG:" ? null : Match(matcher, tag, p.SyslogId, body);
            // Wrapped lines: join the next physical lines while that improves the match.
            var joined = 0;
            if (p.EndsLine && (match is null || match.Quality != MatchQuality.Exact) && !(tag is "IPSEC(" or "IPSEC DEBUG:"))
            {
                var k = i + 1;
                var candidate = body;
                while (k < pieces.Count && k - i <= 4)
                {
                    var c = pieces[k];
                    if (c.Tag is not null || c.SyslogId is not null || c.Marker is not null || !c.StartsLine || c.Text.Length == 0) break;
                    var glue = candidate.EndsWith('-') ? "" : " ";
                    var next = candidate + glue + c.Text;
                    var m2 = Match(matcher, tag, p.SyslogId, next);
                    if (!Better(m2, match, next.Length, candidate.Length)) break;
                    match = m2; candidate = next; joined = k - i;
                    if (match!.Quality == MatchQuality.Exact || !c.EndsLine) break;
                    k++;
                }
                body = candidate;
            }
            var record = new LogRecord
            {
                File = p.File, Line = p.Line, Tag = p.Tag, SyslogId = p.SyslogId, Timestamp = p.Timestamp, Host = p.Host,
                Text = (p.Tag is null ? $"%ASA-?-{p.SyslogId}: " : p.Tag + (p.Tag == "IPSEC(" ? "" : " ")) + body,
                Body = body, JoinedLines = joined,
            };
            var line = new ExplainedLine { Record = record };
            if (match is not null)
            {
                line.Message = match.Message; line.Quality = match.Quality;
                line.Peer = match.Peer; line.Group = match.Group;
                foreach (var (k, v) in match.Values) line.Values[k] = v;
                line.Description = Knowledge.Describe(match.Message);
                if (match.Quality == MatchQuality.Cut) line.Notes.Add("line cut short");
                if (match.Quality == MatchQuality.Garbled) line.Notes.Add("line garbled; closest catalog message");
            }
            else if (tag == "[IKEv1 DECODE]:" && CatalogMatcher.IsHexDump(body))
            {
                line.Quality = MatchQuality.HexDump;
                line.Description = "Hex dump of the payload decoded above (SPI and attributes).";
            }
            result.Add(line);
            i += joined;
            lastTagged = line;
            lastWasTaggedOrDetail = true;
        }
        return result;
    }

    private static CatalogMatch? Match(CatalogMatcher matcher, string? tag, int? syslogId, string body) =>
        matcher.Match(tag is null ? null : tag + " ", syslogId, body);

    private static int Rank(CatalogMatch? m) => m?.Quality switch
    {
        MatchQuality.Exact => 3,
        MatchQuality.Cut => 2,
        MatchQuality.Garbled => 1,
        _ => 0,
    };

    private static bool Better(CatalogMatch? now, CatalogMatch? before, int nowLength, int beforeLength)
    {
        var a = Rank(now); var b = Rank(before);
        if (a != b) return a > b;
        return a == 2 && nowLength > beforeLength && now!.Message.Name == before!.Message.Name;
    }

    /// <summary>
    /// Streams: lines of one file about one peer. Lines without a peer (key engine, IPSEC:) go
    /// with the stream around them; those before any peer line go with the first one.
    /// </summary>
    private static List<ExplainedStream> BuildStreams(List<ExplainedLine> lines, List<ConfigIndex> configs)
    {
        var streams = new List<ExplainedStream>();
        var byKey = new Dictionary<(string, string?, string), ExplainedStream>();
        var pending = new List<ExplainedLine>();
        // The current stream of each (file, host): lines without a peer go with it.
        var current = new Dictionary<(string, string?), ExplainedStream>();
        foreach (var l in lines)
        {
            var origin = (l.Record.File, l.Record.Host);
            if (l.Peer is not null)
            {
                var key = (l.Record.File, l.Record.Host, l.Peer);
                if (!byKey.TryGetValue(key, out var s))
                {
                    s = new ExplainedStream { Id = streams.Count, File = l.Record.File, Host = l.Record.Host, Peer = l.Peer };
                    streams.Add(s); byKey[key] = s;
                }
                current[origin] = s;
                foreach (var p in pending.Where(p => (p.Record.File, p.Record.Host) == origin)) p.Stream = s.Id;
                pending.RemoveAll(p => (p.Record.File, p.Record.Host) == origin);
                l.Stream = s.Id;
            }
            else if (current.TryGetValue(origin, out var cur)) l.Stream = cur.Id;
            else pending.Add(l);
        }
        foreach (var group in pending.GroupBy(p => (p.Record.File, p.Record.Host)))
        {
            var s = new ExplainedStream { Id = streams.Count, File = group.Key.File, Host = group.Key.Host, Peer = null };
            streams.Add(s);
            foreach (var p in group) p.Stream = s.Id;
        }
        var lifetimes = configs.SelectMany(c => c.Config.IsakmpPolicies.Select(p => p.LifetimeSeconds)).Append(IkeActors.Config.Model.AsaDefaults.IsakmpPolicyLifetimeSeconds).Distinct().ToList();
        foreach (var s in streams)
        {
            var tracker = new Tracker(lines.Where(l => l.Stream == s.Id).ToList(), lifetimes);
            tracker.Run();
            s.BothEnds = tracker.BothEnds;
            s.Role = tracker.FixedRole;
            foreach (var side in new[] { Side.Initiator, Side.Responder, Side.Unknown })
            {
                var own = lines.Where(l => l.Stream == s.Id && l.State is not null && l.Side == side).ToList();
                if (own.Count == 0) continue;
                s.States[side] = (own.LastOrDefault(l => l.State!.StartsWith("MM", StringComparison.Ordinal) || l.State.StartsWith("AM", StringComparison.Ordinal))?.State,
                    own.LastOrDefault(l => l.State!.StartsWith("QM", StringComparison.Ordinal))?.State);
            }
        }
        return streams;
    }
}
