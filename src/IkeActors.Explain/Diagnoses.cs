using System.Reflection;
using System.Text.RegularExpressions;
using IkeActors.Protocol;

namespace IkeActors.Explain;

/// <summary>A `when` / `and` / `unless` condition: catalog message names, optional text regex and exchange.</summary>
public sealed record DiagnosisCondition(IReadOnlyList<string> Messages, Regex? Text, string? Exchange, IReadOnlyList<string>? After = null)
{
    /// <summary>Whether line <paramref name="index"/> of <paramref name="all"/> satisfies the condition.</summary>
    public bool Matches(IReadOnlyList<ExplainedLine> all, int index)
    {
        var l = all[index];
        if (!Matches(l)) return false;
        if (After is null) return true;
        // `after NAME`: an earlier line of the same stream is one of these messages.
        for (var k = index - 1; k >= 0; k--)
            if (all[k].Stream == l.Stream && all[k].Message is { } m && After.Contains(m.Name)) return true;
        return false;
    }

    private bool Matches(ExplainedLine l)
    {
        if (l.Message is null || !Messages.Contains(l.Message.Name)) return false;
        if (Text is not null && !Text.IsMatch(l.Record.Body)) return false;
        return Exchange switch
        {
            null => true,
            // An Informational message (a notify, a delete) belongs to the phase its side is in.
            "main-mode" => l.Phase == 1,
            "quick-mode" => l.Phase == 2,
            "informational" => l.ExchangeMessage == IkeActors.Explain.Messages.Informational,
            var message => l.ExchangeMessage == message, // in MM1 … QM3

        };
    }
}

/// <summary>One failure signature of schemas/diagnoses.ikediag.</summary>
public sealed class DiagnosisRule
{
    public required string Id { get; init; }
    public required int Line { get; init; }
    public string Title { get; set; } = "";
    public string Cause { get; set; } = "";
    public List<DiagnosisCondition> When { get; } = new();
    public List<DiagnosisCondition> And { get; } = new();
    public List<DiagnosisCondition> Unless { get; } = new();
    public List<string> Checks { get; } = new();
    public List<string> ConfigTopics { get; } = new();
}

/// <summary>An error in a diagnoses file, with file, line and column.</summary>
public sealed class DiagnosisCatalogException(string file, int line, int column, string message)
    : Exception($"{file}:{line}:{column}: error: {message}")
{
    public string File { get; } = file;
    public int LineNumber { get; } = line;
    public int Column { get; } = column;
}

/// <summary>
/// The failure-signature catalogue (schemas/diagnoses.ikediag, embedded in this assembly).
/// Parsed at run time so a user can add a signature; mistakes are reported with file:line:column.
/// </summary>
public sealed class DiagnosisCatalog
{
    public const string ResourceName = "IkeActors.Explain.diagnoses.ikediag";

    public static readonly IReadOnlySet<string> Topics = new HashSet<string>(StringComparer.Ordinal)
    {
        "isakmp-policy", "tunnel-group", "crypto-map", "acl", "transform-set", "p1-lifetime", "p2-lifetime", "nat-t", "dpd",
        "am-disable", "username", "ip-local-pool", "group-policy",
    };

    private static readonly Lazy<DiagnosisCatalog> EmbeddedLazy = new(() =>
    {
        using var stream = typeof(DiagnosisCatalog).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"resource {ResourceName} missing from {typeof(DiagnosisCatalog).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), "schemas/diagnoses.ikediag");
    });

    public static DiagnosisCatalog Embedded => EmbeddedLazy.Value;

    public required IReadOnlyList<DiagnosisRule> Rules { get; init; }

    public static DiagnosisCatalog Parse(string text, string file, IEnumerable<DebugMessageInfo>? catalog = null)
    {
        var names = (catalog ?? AsaDebugCatalog.All).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var rules = new List<DiagnosisRule>();
        DiagnosisRule? current = null;
        var lines = text.Replace("\r", "", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var raw = lines[i];
            var n = i + 1;
            // Whole-line comments only: a `matching` regex or a `check` text may contain '#'.
            if (raw.TrimStart().StartsWith('#')) continue;
            var content = raw.TrimEnd();
            if (content.Trim().Length == 0) continue;
            var indented = char.IsWhiteSpace(content[0]);
            var col = content.Length - content.TrimStart().Length + 1;
            var trimmed = content.Trim();
            var space = trimmed.IndexOf(' ');
            var keyword = space < 0 ? trimmed : trimmed[..space];
            var rest = space < 0 ? "" : trimmed[(space + 1)..].Trim();
            if (!indented)
            {
                if (keyword != "diagnosis") throw new DiagnosisCatalogException(file, n, col, $"expected `diagnosis ID` at the start of a line, found `{keyword}`");
                if (!Regex.IsMatch(rest, "^[a-z0-9][a-z0-9-]*$")) throw new DiagnosisCatalogException(file, n, col + 10, $"diagnosis id `{rest}` must be lower-case letters, digits and '-'");
                if (rules.Any(r => r.Id == rest)) throw new DiagnosisCatalogException(file, n, col + 10, $"diagnosis `{rest}` is defined twice");
                Finish(current, file);
                current = new DiagnosisRule { Id = rest, Line = n };
                rules.Add(current);
                continue;
            }
            if (current is null) throw new DiagnosisCatalogException(file, n, col, "an indented member line before any `diagnosis` line");
            var valueCol = col + keyword.Length + 1;
            switch (keyword)
            {
                case "title": Require(rest, file, n, valueCol, keyword); current.Title = rest; break;
                case "cause": Require(rest, file, n, valueCol, keyword); current.Cause = rest; break;
                case "check": Require(rest, file, n, valueCol, keyword); current.Checks.Add(rest); break;
                case "when": current.When.Add(Condition(rest, file, n, valueCol, names)); break;
                case "and": current.And.Add(Condition(rest, file, n, valueCol, names)); break;
                case "unless": current.Unless.Add(Condition(rest, file, n, valueCol, names)); break;
                case "config":
                    foreach (var t in rest.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (!Topics.Contains(t)) throw new DiagnosisCatalogException(file, n, valueCol, $"unknown config topic `{t}` (known: {string.Join(", ", Topics.Order())})");
                        current.ConfigTopics.Add(t);
                    }
                    break;
                default:
                    throw new DiagnosisCatalogException(file, n, col, $"unknown member `{keyword}` (expected title, when, and, unless, cause, check, config)");
            }
        }
        Finish(current, file);
        return new DiagnosisCatalog { Rules = rules };
    }

    private static void Require(string value, string file, int line, int col, string keyword)
    {
        if (value.Length == 0) throw new DiagnosisCatalogException(file, line, col, $"`{keyword}` needs a text");
    }

    private static void Finish(DiagnosisRule? r, string file)
    {
        if (r is null) return;
        if (r.When.Count == 0) throw new DiagnosisCatalogException(file, r.Line, 1, $"diagnosis `{r.Id}` has no `when` line");
        if (r.Cause.Length == 0) throw new DiagnosisCatalogException(file, r.Line, 1, $"diagnosis `{r.Id}` has no `cause` line");
        if (r.Title.Length == 0) throw new DiagnosisCatalogException(file, r.Line, 1, $"diagnosis `{r.Id}` has no `title` line");
    }

    /// <summary>"Name[,Name…] [matching REGEX] [in main-mode|quick-mode|informational|MM1…QM3] [after Name[,Name…]]".</summary>
    private static DiagnosisCondition Condition(string rest, string file, int line, int col, HashSet<string> names)
    {
        if (rest.Length == 0) throw new DiagnosisCatalogException(file, line, col, "expected a message name of schemas/debug-ikev1.isakmp");
        List<string>? after = null;
        var afterMatch = Regex.Match(rest, @"\s+after\s+([A-Za-z0-9_,\s]+?)\s*$");
        if (afterMatch.Success)
        {
            after = afterMatch.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
            foreach (var a in after)
                if (!names.Contains(a))
                    throw new DiagnosisCatalogException(file, line, col + afterMatch.Index, $"`{a}` is not a message of schemas/debug-ikev1.isakmp");
            rest = rest[..afterMatch.Index];
        }
        string? exchange = null;
        var inMatch = Regex.Match(rest, @"\s+in\s+(main-mode|quick-mode|informational|MM[1-6]|QM[1-3])\s*$");
        if (inMatch.Success) { exchange = inMatch.Groups[1].Value; rest = rest[..inMatch.Index]; }
        Regex? regex = null;
        var m = rest.IndexOf(" matching ", StringComparison.Ordinal);
        var list = m < 0 ? rest : rest[..m];
        if (m >= 0)
        {
            var pattern = rest[(m + 10)..].Trim();
            try { regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
            catch (ArgumentException e) { throw new DiagnosisCatalogException(file, line, col + m + 10, $"bad regular expression `{pattern}`: {e.Message}"); }
        }
        var messages = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var offset = 0;
        foreach (var name in messages)
        {
            if (!names.Contains(name))
            {
                var near = names.OrderBy(x => CatalogMatcher.Levenshtein(x, name)).First();
                throw new DiagnosisCatalogException(file, line, col + list.IndexOf(name, offset, StringComparison.Ordinal),
                    $"`{name}` is not a message of schemas/debug-ikev1.isakmp (did you mean `{near}`?)");
            }
            offset = list.IndexOf(name, offset, StringComparison.Ordinal) + name.Length;
        }
        return new DiagnosisCondition(messages, regex, exchange, after);
    }
}

/// <summary>Runs the failure signatures over explained lines.</summary>
public sealed class Diagnoser(DiagnosisCatalog catalog)
{
    public List<Diagnosis> Diagnose(IReadOnlyList<ExplainedLine> lines, IReadOnlyList<ExplainedStream> streams, ConfigLinker linker)
    {
        var result = new List<Diagnosis>();
        foreach (var rule in catalog.Rules)
        {
            // The first `when` line of the rule is its primary signature: its lines lead, then the others, each in log order.
            var triggers = lines.Select((l, i) => (l, i, w: rule.When.FindIndex(c => c.Matches(lines, i))))
                .Where(x => x.w >= 0).OrderBy(x => x.w).ThenBy(x => x.i).Select(x => x.l).ToList();
            if (triggers.Count == 0) continue;
            if (rule.Unless.Any(c => Enumerable.Range(0, lines.Count).Any(i => c.Matches(lines, i)))) continue;
            var evidence = new List<ExplainedLine>(triggers.Take(5));
            var ok = true;
            foreach (var group in rule.And)
            {
                var hit = Enumerable.Range(0, lines.Count).Where(i => group.Matches(lines, i)).Select(i => lines[i]).Take(3).ToList();
                if (hit.Count == 0) { ok = false; break; }
                evidence.AddRange(hit);
            }
            if (!ok) continue;
            var d = new Diagnosis { Rule = rule, Evidence = evidence.Distinct().ToList() };
            var at = triggers[0];
            var stream = streams.FirstOrDefault(s => s.Id == at.Stream);
            if (stream is not null) d.Config.AddRange(ConfigFor(rule, at, stream, linker));
            result.Add(d);
        }
        return result;
    }

    private static IEnumerable<ConfigReference> ConfigFor(DiagnosisRule rule, ExplainedLine at, ExplainedStream stream, ConfigLinker linker)
    {
        var mine = linker.ConfigFor(stream, at.Side);
        var configs = new[] { mine, linker.OtherEnd(mine) }.OfType<ConfigIndex>().ToList();
        var peer = at.Peer ?? stream.Peer;
        var refs = new List<ConfigReference>();
        foreach (var c in configs)
        {
            foreach (var topic in rule.ConfigTopics)
            {
                switch (topic)
                {
                    case "isakmp-policy":
                    case "p1-lifetime":
                        refs.AddRange(linker.Policies(c, "ISAKMP policy (phase 1 proposal and lifetime)"));
                        break;
                    case "tunnel-group":
                        foreach (var g in c.Config.TunnelGroups)
                            refs.AddRange(linker.TunnelGroup(c, g.Name, "tunnel-group and its pre-shared key (masked)"));
                        break;
                    case "crypto-map":
                    case "acl":
                    case "transform-set":
                    case "p2-lifetime":
                        foreach (var map in c.Config.CryptoMaps)
                            foreach (var e in map.Entries)
                            {
                                if (topic == "crypto-map") refs.AddRange(linker.MapEntry(c, map.Name, e.Sequence, @"(match address|set peer)", "crypto map entry"));
                                if (topic == "acl" && e.MatchAddress is { } acl) refs.AddRange(linker.Acl(c, acl, "crypto ACL (must mirror the peer's)"));
                                if (topic == "transform-set") refs.AddRange(linker.TransformSetsOf(c, map, e, "transform set of the crypto map entry"));
                                if (topic == "p2-lifetime") refs.Add(linker.P2Lifetime(c, map, e, "phase 2 lifetime (rekey at 85 %)").Line);
                            }
                        break;
                    case "nat-t":
                    {
                        var natt = c.Lines(@"^\s*(no )?crypto (isakmp|ikev1) nat-traversal", "NAT-Traversal setting").ToList();
                        refs.AddRange(natt.Count > 0 ? natt : [c.Default("crypto isakmp nat-traversal 20", "NAT-Traversal is on by default")]);
                        break;
                    }
                    case "dpd":
                    {
                        var ka = c.Lines(@"^\s*isakmp keepalive", "DPD settings").ToList();
                        refs.AddRange(ka.Count > 0 ? ka : [c.Default("isakmp keepalive threshold 10 retry 2", "DPD of the tunnel-group")]);
                        break;
                    }
                    case "am-disable":
                        refs.AddRange(c.Lines(@"^\s*crypto (isakmp|ikev1) am-disable", "Aggressive Mode refused"));
                        break;
                    case "username":
                        // The line names the user; the password it holds is masked as every secret is.
                        refs.AddRange(c.Lines(@"^\s*username \S+ (password|nopassword|attributes)", "local user database (XAUTH)"));
                        break;
                    case "ip-local-pool":
                        refs.AddRange(c.Lines(@"^\s*(ip local pool |address-pool |vpn-framed-ip-address |vpn-simultaneous-logins )", "addresses given by Mode Config"));
                        break;
                    case "group-policy":
                        refs.AddRange(c.Lines(@"^\s*(group-policy |default-group-policy )", "group policy (Mode Config attributes)"));
                        break;
                }
            }
        }
        _ = peer;
        return refs.DistinctBy(r => (r.File, r.Line, r.Text));
    }
}
