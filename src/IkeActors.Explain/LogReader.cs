using System.Text;
using System.Text.RegularExpressions;

namespace IkeActors.Explain;

/// <summary>
/// Splits a pasted or captured log into pieces: tagged debug text ("[IKEv1 DEBUG]: …",
/// "IPSEC: …", "%ASA-7-715046: …"), other text, and arrow markers ("=====MM1=====>").
/// Tolerates timestamps and syslog headers before the tag, several tagged lines run
/// together on one physical line, HTML &lt;pre&gt; remnants and tab-separated table
/// columns (the Cisco document), control characters and binary (shown as '?'), and
/// huge lines (cut at <see cref="MaxLineLength"/>). Never throws on content.
/// </summary>
public static partial class LogReader
{
    public const int MaxLineLength = 4096;
    public const int MaxLines = 1_000_000;

    /// <summary>One piece of a physical line.</summary>
    public sealed record Piece(string File, int Line, bool StartsLine, bool EndsLine, string? Tag, int? SyslogId, string Text, string? Timestamp, string? Marker)
    {
        /// <summary>The host of a syslog header ("Nov 30 10:38:29 asa1 : …"): which gateway printed the line.</summary>
        public string? Host { get; init; }
    }

    [GeneratedRegex(@"\[IKEv1(?: DEBUG| DECODE)?\]:|(?<![A-Za-z])IPSEC(?: DEBUG)?:|IPSEC\(|%(?:ASA|PIX|FWSM|FTD)-(?<sev>[0-7])-(?<id>\d{6}):")]
    private static partial Regex TagRegex();

    [GeneratedRegex(@"<?=+(?<m>MM[1-6]|QM[1-3])=+>?")]
    private static partial Regex MarkerRegex();

    [GeneratedRegex(@"^\s*(?:\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)?|(?:[A-Z][a-z]{2} +\d{1,2}(?: \d{4})? )?\d\d:\d\d:\d\d(?:\.\d+)?(?: [A-Z]{2,4})?)")]
    private static partial Regex TimestampRegex();

    [GeneratedRegex(@"\s(?:[A-Z][a-z]{2} +\d{1,2}(?: \d{4})? )?\d\d:\d\d:\d\d(?:\.\d+)?\s*$")]
    private static partial Regex TrailingTimestampRegex();

    [GeneratedRegex(@"</?pre>", RegexOptions.IgnoreCase)]
    private static partial Regex PreRegex();

    /// <summary>Reads a file's bytes as text: UTF-8, with anything undecodable replaced.</summary>
    public static string Decode(byte[] bytes) => new UTF8Encoding(false, false).GetString(bytes);

    public static List<Piece> Read(string text, string file, List<string>? problems = null)
    {
        var pieces = new List<Piece>();
        var lineNo = 0;
        using var reader = new StringReader(text);
        string? raw;
        while ((raw = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (lineNo > MaxLines)
            {
                problems?.Add($"{file}: more than {MaxLines} lines; the rest is not read");
                break;
            }
            if (raw.Length > MaxLineLength)
            {
                problems?.Add($"{file}:{lineNo}: line of {raw.Length} characters cut at {MaxLineLength}");
                raw = raw[..MaxLineLength];
            }
            var line = Clean(raw);
            line = PreRegex().Replace(line, "\t");
            SplitLine(line, file, lineNo, pieces);
        }
        return pieces;
    }

    /// <summary>Control characters become '?' (a hostile log cannot drive the terminal); tabs stay.</summary>
    internal static string Clean(string s)
    {
        var chars = s.ToCharArray();
        var changed = false;
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            if ((c < ' ' && c != '\t') || c == '\u007F' || c == '\uFFFD' || (c >= '\u0080' && c < '\u00A0') || char.IsSurrogate(c))
            {
                chars[i] = '?'; changed = true;
            }
        }
        return changed ? new string(chars) : s;
    }

    private static void SplitLine(string line, string file, int lineNo, List<Piece> pieces)
    {
        var tags = TagRegex().Matches(line);
        var first = true;
        if (tags.Count == 0)
        {
            AddText(line, file, lineNo, startsLine: true, endsLine: true, pieces);
            return;
        }
        // Before the first tag: a timestamp / syslog header, or prose (a table column).
        var head = line[..tags[0].Index];
        string? timestamp = null;
        var ts = TimestampRegex().Match(head);
        if (ts.Success && ts.Length > 0)
        {
            timestamp = ts.Value.Trim();
            head = head[ts.Length..];
        }
        string? host = null;
        if (IsSyslogHeader(head))
        {
            var h = head.Trim().TrimEnd(':').Trim();
            if (h.Length > 0 && !h.StartsWith('<')) host = h;
            head = "";
        }
        if (head.Trim().Length > 0)
        {
            AddText(head, file, lineNo, startsLine: true, endsLine: false, pieces);
            first = false;
        }
        for (var i = 0; i < tags.Count; i++)
        {
            var t = tags[i];
            var end = i + 1 < tags.Count ? tags[i + 1].Index : line.Length;
            var body = line[(t.Index + t.Length)..end];
            // A timestamp just before the next tag belongs to the next line ("… VID Nov 30 10:38:29 [IKEv1 DEBUG]: …").
            string? nextTimestamp = null;
            if (i + 1 < tags.Count)
            {
                var trailing = TrailingTimestampRegex().Match(body);
                if (trailing.Success) { nextTimestamp = trailing.Value.Trim(); body = body[..trailing.Index]; }
            }
            // A tab ends the debug text: what follows is another table column.
            var tab = body.IndexOf('\t');
            string? after = null;
            if (tab >= 0) { after = body[(tab + 1)..]; body = body[..tab]; }
            string? marker = null;
            var mm = MarkerRegex().Match(body);
            if (mm.Success) { marker = mm.Groups["m"].Value; body = body.Remove(mm.Index, mm.Length); }
            var isLast = i + 1 == tags.Count && after is null;
            var tag = t.Value;
            int? id = t.Groups["id"].Success ? int.Parse(t.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
            if (id is not null) tag = null; // syslog form: no console tag
            if (tag == "IPSEC(") body = "(" + body;
            pieces.Add(new Piece(file, lineNo, first, isLast, tag, id, body.Trim(), timestamp, null) { Host = host });
            timestamp = nextTimestamp;
            if (marker is not null) pieces.Add(new Piece(file, lineNo, false, isLast, null, null, "", null, marker));
            if (after is not null) AddText(after, file, lineNo, startsLine: false, endsLine: i + 1 == tags.Count, pieces);
            first = false;
        }
    }

    /// <summary>"asa1 : ", "Nov 30 2026 10:38:29 asa1 : " leftovers, "&lt;166&gt;" priorities.</summary>
    private static bool IsSyslogHeader(string head)
    {
        var h = head.Trim();
        if (h.Length == 0) return true;
        if (h.EndsWith(':') && h.Length < 64 && !h.Contains(' ', StringComparison.Ordinal)) return true;
        if (h.EndsWith(" :", StringComparison.Ordinal) && h.Length < 64) return true;
        return h.StartsWith('<') && h.EndsWith('>') && h.Length < 8;
    }

    private static void AddText(string text, string file, int lineNo, bool startsLine, bool endsLine, List<Piece> pieces)
    {
        // Table columns are tab-separated; each column is its own piece.
        var columns = text.Split('\t');
        for (var c = 0; c < columns.Length; c++)
        {
            var col = columns[c];
            var mm = MarkerRegex().Match(col);
            if (mm.Success)
            {
                var before = col[..mm.Index];
                if (before.Trim().Length > 0) pieces.Add(new Piece(file, lineNo, startsLine && c == 0, false, null, null, before.Trim(), null, null));
                pieces.Add(new Piece(file, lineNo, false, false, null, null, "", null, mm.Groups["m"].Value));
                col = col[(mm.Index + mm.Length)..];
            }
            if (col.Trim().Length == 0 && columns.Length > 1) continue;
            pieces.Add(new Piece(file, lineNo, startsLine && c == 0, endsLine && c == columns.Length - 1 && columns.Length == 1, null, null, col.Trim(), null, null));
        }
    }
}
