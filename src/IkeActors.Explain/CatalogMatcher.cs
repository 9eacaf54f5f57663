using System.Text;
using System.Text.RegularExpressions;
using IkeActors.Protocol;

namespace IkeActors.Explain;

/// <summary>The result of matching one record against the debug catalog.</summary>
public sealed record CatalogMatch(
    DebugMessageInfo Message, MatchQuality Quality, string? Peer, string? Group, IReadOnlyDictionary<string, string> Values);

/// <summary>
/// Reads a debug line back into its catalog message (schemas/debug-ikev1.isakmp through
/// <see cref="AsaDebugCatalog"/>): exact, cut short (the text stops inside the template, as the
/// Cisco document's IKE_DECODE lines do) or garbled (a few characters differ). Whitespace runs
/// count as one space, as in the document, which is an HTML page.
/// </summary>
public sealed partial class CatalogMatcher
{
    private sealed record Token(string? Literal, string? HoleName, string? HoleType);

    private sealed record Entry(DebugMessageInfo Message, Token[] Tokens, int LiteralLength, string Skeleton);

    private readonly List<Entry> _entries = new();
    private readonly Dictionary<string, List<Entry>> _byTag = new(StringComparer.Ordinal);
    private readonly Dictionary<int, List<Entry>> _bySyslogId = new();

    public static CatalogMatcher Default { get; } = new(AsaDebugCatalog.All);

    public CatalogMatcher(IEnumerable<DebugMessageInfo> catalog)
    {
        foreach (var m in catalog)
        {
            var tokens = Tokenize(m.Template);
            var entry = new Entry(m, tokens, tokens.Sum(t => t.Literal?.Length ?? 0),
                string.Concat(tokens.Select(t => t.Literal ?? "")));
            _entries.Add(entry);
            Add(_byTag, m.Tag.Trim(), entry);
            Add(_bySyslogId, m.SyslogId, entry);
        }
    }

    public IReadOnlyList<DebugMessageInfo> Catalog => _entries.Select(e => e.Message).ToList();

    private static void Add<TK>(Dictionary<TK, List<Entry>> d, TK key, Entry e) where TK : notnull
    {
        if (!d.TryGetValue(key, out var list)) d[key] = list = new();
        list.Add(e);
    }

    [GeneratedRegex(@"\{(\w+):(\w+)\}")]
    private static partial Regex HoleRegex();

    [GeneratedRegex(@"^(?:Group = (?<g>[^,]{1,128}), )?(?:Username = (?<u>[^,]{1,128}), )?IP = (?<ip>[0-9A-Fa-f.:]{2,45}),\s?")]
    private static partial Regex ContextRegex();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    internal static string Normalize(string s) => Spaces().Replace(s, " ").Trim();

    private static Token[] Tokenize(string template)
    {
        var t = template.Replace("{{", "\u0001").Replace("}}", "\u0002");
        var tokens = new List<Token>();
        var pos = 0;
        foreach (Match h in HoleRegex().Matches(t))
        {
            if (h.Index > pos) tokens.Add(new Token(Lit(t[pos..h.Index]), null, null));
            tokens.Add(new Token(null, h.Groups[1].Value, h.Groups[2].Value));
            pos = h.Index + h.Length;
        }
        if (pos < t.Length) tokens.Add(new Token(Lit(t[pos..]), null, null));
        return tokens.ToArray();

        static string Lit(string s) => Spaces().Replace(s.Replace('\u0001', '{').Replace('\u0002', '}'), " ");
    }

    /// <summary>Hex dump line of a DECODE header: "0000: DDE50931 80010001 …".</summary>
    [GeneratedRegex(@"^[0-9A-Fa-f]{4}: ([0-9A-Fa-f]{2,8} ?){1,4}")]
    private static partial Regex HexDumpRegex();

    public static bool IsHexDump(string body) => HexDumpRegex().IsMatch(body);

    /// <summary>
    /// Matches the text after the tag. <paramref name="tag"/> is the console tag ("[IKEv1 DEBUG]:")
    /// or null for the syslog form, where <paramref name="syslogId"/> narrows the candidates.
    /// </summary>
    public CatalogMatch? Match(string? tag, int? syslogId, string body, bool allowFuzzy = true)
    {
        body = Normalize(body);
        if (body.Length == 0) return null;
        IEnumerable<Entry> candidates;
        if (tag is not null && _byTag.TryGetValue(tag.Trim(), out var byTag)) candidates = byTag;
        else if (syslogId is { } id && _bySyslogId.TryGetValue(id, out var byId)) candidates = byId.Concat(_entries.Except(byId));
        else if (tag is null || syslogId is not null) candidates = _entries;
        else return null;

        string? peer = null, group = null;
        var rest = body;
        var ctx = ContextRegex().Match(body);
        if (ctx.Success)
        {
            peer = ctx.Groups["ip"].Value;
            group = ctx.Groups["g"].Success ? ctx.Groups["g"].Value : null;
            rest = body[ctx.Length..].TrimStart();
        }
        else if (body.StartsWith("IP = ", StringComparison.Ordinal) || body.StartsWith("Group = ", StringComparison.Ordinal) || body.StartsWith("Username = ", StringComparison.Ordinal))
        {
            return null; // cut inside the context: nothing of the message is left
        }
        if (rest.Length == 0) return null;

        CatalogMatch? best = null;
        var bestScore = -1;
        var bestIsExact = false;
        foreach (var e in candidates)
        {
            // A context line never matches a context=none template and vice versa.
            if (e.Message.HasPeerContext != ctx.Success) continue;
            if (!QuickCheck(e, rest)) continue;
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            var r = MatchTokens(e.Tokens, 0, rest, 0, 0, values, out var literal);
            if (r == Result.Fail) continue;
            var exact = r == Result.Exact;
            // A cut line must keep a useful part of the template's own words (not just a hole).
            if (!exact && literal < 6) continue;
            // Exact beats cut; among equals the most literal text wins (the most specific template).
            var score = exact ? e.LiteralLength : literal;
            if ((exact && !bestIsExact) || (exact == bestIsExact && score > bestScore))
            {
                best = new CatalogMatch(e.Message, exact ? MatchQuality.Exact : MatchQuality.Cut, peer, group, values);
                bestScore = score; bestIsExact = exact;
            }
        }
        if (best is not null) return best;
        if (!allowFuzzy || rest.Length > 300) return null;
        return Fuzzy(candidates, rest, peer, group, ctx.Success);
    }

    private static bool QuickCheck(Entry e, string rest)
    {
        if (e.Tokens.Length == 0 || e.Tokens[0].Literal is not { } first) return true;
        var n = Math.Min(first.Length, rest.Length);
        return string.CompareOrdinal(first, 0, rest, 0, n) == 0;
    }

    private enum Result { Fail, Prefix, Exact }

    private static Result MatchTokens(Token[] tokens, int ti, string text, int pos, int depth, Dictionary<string, string> values, out int literal)
    {
        literal = 0;
        if (depth > 64) return Result.Fail;
        if (ti == tokens.Length) return pos >= text.Length ? Result.Exact : Result.Fail;
        if (pos >= text.Length) return Result.Prefix;
        var t = tokens[ti];
        if (t.Literal is { } lit)
        {
            var i = 0;
            while (i < lit.Length && pos + i < text.Length)
            {
                if (lit[i] != text[pos + i]) return Result.Fail;
                i++;
            }
            if (i < lit.Length) { literal = i; return Result.Prefix; } // the text ends inside this literal
            var r = MatchTokens(tokens, ti + 1, text, pos + lit.Length, depth + 1, values, out var sub);
            literal = lit.Length + sub;
            return r;
        }
        // A hole: try lengths, longest first for classed holes, shortest first for text.
        var max = 0;
        while (pos + max < text.Length && Fits(t.HoleType!, text[pos + max])) max++;
        if (max == 0) return Result.Fail;
        var lazy = t.HoleType is "text" or "payloads";
        var bestPrefix = -1;
        for (var k = 0; k <= max - 1; k++)
        {
            var len = lazy ? k + 1 : max - k;
            var r = MatchTokens(tokens, ti + 1, text, pos + len, depth + 1, values, out var sub);
            if (r == Result.Exact)
            {
                values[t.HoleName!] = text.Substring(pos, len);
                literal = sub;
                return r;
            }
            if (r == Result.Prefix && sub > bestPrefix) bestPrefix = sub;
        }
        if (bestPrefix >= 0 || pos + max >= text.Length)
        {
            values[t.HoleName!] = text[pos..Math.Min(text.Length, pos + max)];
            literal = Math.Max(0, bestPrefix);
            return Result.Prefix;
        }
        return Result.Fail;
    }

    private static bool Fits(string type, char c) => type switch
    {
        "ip" => char.IsAsciiHexDigit(c) || c is '.' or ':',
        "int" => char.IsAsciiDigit(c) || c == '-',
        "hex" => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f',
        "HEX" => char.IsAsciiDigit(c) || c is >= 'A' and <= 'F',
        _ => true,
    };

    /// <summary>Edit distance on the text against each template's literal skeleton; the closest within 15 % wins.</summary>
    private static CatalogMatch? Fuzzy(IEnumerable<Entry> candidates, string rest, string? peer, string? group, bool hasContext)
    {
        Entry? best = null;
        var bestDistance = int.MaxValue;
        // Values (numbers, addresses, hex) are removed from the text; the skeleton has no holes.
        var stripped = StripValues(rest);
        foreach (var e in candidates)
        {
            if (e.Message.HasPeerContext != hasContext) continue;
            var skeleton = e.Skeleton;
            if (skeleton.Length < 10) continue;
            if (Math.Abs(skeleton.Length - stripped.Length) > skeleton.Length / 4 + 2) continue;
            var d = Levenshtein(stripped, StripValues(skeleton), bestDistance);
            if (d < bestDistance) { bestDistance = d; best = e; }
        }
        if (best is null) return null;
        var limit = Math.Max(2, best.Skeleton.Length * 15 / 100);
        return bestDistance <= limit
            ? new CatalogMatch(best.Message, MatchQuality.Garbled, peer, group, new Dictionary<string, string>())
            : null;
    }

    [GeneratedRegex(@"\b(0x)?[0-9A-Fa-f]*[0-9][0-9A-Fa-f.:]*\b")]
    private static partial Regex ValueRegex();

    private static string StripValues(string s) => ValueRegex().Replace(s, "");

    internal static int Levenshtein(string a, string b, int cap = int.MaxValue)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            var rowMin = cur[0];
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
                if (cur[j] < rowMin) rowMin = cur[j];
            }
            if (rowMin > cap) return rowMin;
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
