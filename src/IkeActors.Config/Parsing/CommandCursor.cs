using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

internal readonly record struct Token(string Text, int Start)
{
    /// <summary>1-based column.</summary>
    public int Column => Start + 1;
}

/// <summary>Raised inside the parser for one bad command; caught per line, never escapes the loader.</summary>
internal sealed class CommandError(DiagnosticKind kind, int column, string message, IReadOnlyList<string> expected) : Exception(message)
{
    public DiagnosticKind Kind { get; } = kind;
    public int Column { get; } = column;
    public IReadOnlyList<string> Expected { get; } = expected;
}

/// <summary>Reads the words of one command line, left to right, with ASA-style errors.</summary>
internal sealed class CommandCursor
{
    private readonly Token[] _tokens;
    private int _index;

    public string Line { get; }
    public int LineNumber { get; }

    public CommandCursor(string line, int lineNumber)
    {
        Line = line;
        LineNumber = lineNumber;
        _tokens = Tokenize(line);
    }

    public static Token[] Tokenize(string line)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && char.IsWhiteSpace(line[i])) i++;
            if (i >= line.Length) break;
            var start = i;
            while (i < line.Length && !char.IsWhiteSpace(line[i])) i++;
            tokens.Add(new Token(line[start..i], start));
        }
        return tokens.ToArray();
    }

    public bool AtEnd => _index >= _tokens.Length;
    public int Position => _index;
    public Token? Peek => AtEnd ? null : _tokens[_index];
    public Token? PeekAt(int ahead) => _index + ahead < _tokens.Length ? _tokens[_index + ahead] : null;

    /// <summary>The column just after the last word (where a missing word would go).</summary>
    public int EndColumn => _tokens.Length == 0 ? 1 : _tokens[^1].Start + _tokens[^1].Text.Length + 2;

    /// <summary>The column of the word at the cursor, or the end of the line.</summary>
    public int Column => AtEnd ? EndColumn : _tokens[_index].Column;

    public bool PeekIs(string keyword) => !AtEnd && string.Equals(_tokens[_index].Text, keyword, StringComparison.OrdinalIgnoreCase);

    public CommandError Invalid(string message, params string[] expected) =>
        new(DiagnosticKind.InvalidInput, Column, message, expected);

    public CommandError InvalidAt(int column, string message, params string[] expected) =>
        new(DiagnosticKind.InvalidInput, column, message, expected);

    private CommandError Incomplete(string what, IReadOnlyList<string> expected) =>
        new(DiagnosticKind.IncompleteCommand, EndColumn, $"incomplete command: expected {what}", expected);

    public Token Next(string what, params string[] expected)
    {
        if (AtEnd) throw Incomplete(what, expected.Length > 0 ? expected : [what]);
        return _tokens[_index++];
    }

    /// <summary>One of the keywords (case-insensitive); returns it in lower case.</summary>
    public string Keyword(params string[] options)
    {
        var what = Describe(options);
        if (AtEnd) throw Incomplete(what, options);
        var t = _tokens[_index];
        foreach (var o in options)
        {
            if (string.Equals(o, t.Text, StringComparison.OrdinalIgnoreCase))
            {
                _index++;
                return o;
            }
        }
        throw Invalid($"expected {what}, found '{Printable(t.Text)}'", options);
    }

    public bool TryKeyword(string keyword)
    {
        if (!PeekIs(keyword)) return false;
        _index++;
        return true;
    }

    /// <summary>A decimal number in [min, max]; huge or signed numbers are errors, not overflows.</summary>
    public long Number(long min, long max, string what)
    {
        var desc = $"{what} ({min}-{max})";
        if (AtEnd) throw Incomplete(desc, [desc]);
        var t = _tokens[_index];
        if (t.Text.Length == 0 || t.Text.Length > 12 || !t.Text.All(c => c is >= '0' and <= '9'))
        {
            if (t.Text.All(c => c is >= '0' and <= '9'))
                throw Invalid($"{what} '{Printable(t.Text)}' is out of range {min}-{max}", desc);
            throw Invalid($"expected {desc}, found '{Printable(t.Text)}'", desc);
        }
        var value = long.Parse(t.Text, System.Globalization.CultureInfo.InvariantCulture);
        if (value < min || value > max)
            throw Invalid($"{what} {value} is out of range {min}-{max}", desc);
        _index++;
        return value;
    }

    public int Int(int min, int max, string what) => (int)Number(min, max, what);

    /// <summary>A dotted-quad IPv4 address, or a name from `name A.B.C.D NAME`.</summary>
    public uint Address(string what, IReadOnlyDictionary<string, uint>? names = null)
    {
        if (AtEnd) throw Incomplete(what, [what]);
        var t = _tokens[_index];
        if (Ipv4.TryParse(t.Text, out var a)) { _index++; return a; }
        if (names is not null && names.TryGetValue(t.Text, out a)) { _index++; return a; }
        throw Invalid($"expected {what} (A.B.C.D), found '{Printable(t.Text)}'", what);
    }

    public uint Mask(string what = "network mask")
    {
        if (AtEnd) throw Incomplete(what, [what]);
        var t = _tokens[_index];
        if (!Ipv4.TryParse(t.Text, out var m))
            throw Invalid($"expected {what} (A.B.C.D), found '{Printable(t.Text)}'", what);
        if (!Ipv4.IsContiguousMask(m))
            throw Invalid($"'{t.Text}' is not a valid network mask (ones must be contiguous)", what);
        _index++;
        return m;
    }

    /// <summary>Address + mask, checked that no host bits are set (the ASA rejects those too).</summary>
    public Ipv4Prefix Prefix(string what, IReadOnlyDictionary<string, uint>? names = null)
    {
        var column = Column;
        var a = Address(what, names);
        var m = Mask();
        var prefix = new Ipv4Prefix(a, Ipv4.MaskLength(m));
        if (prefix.Network != a)
            throw InvalidAt(column, $"address {Ipv4.Format(a)} has host bits set for mask {Ipv4.Format(m)} (network is {Ipv4.Format(prefix.Network)})", what);
        return prefix;
    }

    /// <summary>A configuration name (printable ASCII, no spaces, at most 241 characters).</summary>
    public string Name(string what, int maxLength = AsaDefaults.NameMaxLength)
    {
        if (AtEnd) throw Incomplete(what, [what]);
        var t = _tokens[_index];
        CheckName(t, what, maxLength);
        _index++;
        return t.Text;
    }

    public void CheckName(Token t, string what, int maxLength = AsaDefaults.NameMaxLength)
    {
        for (var i = 0; i < t.Text.Length; i++)
        {
            var c = t.Text[i];
            if (c is < '!' or > '~')
                throw InvalidAt(t.Column + i, $"{what} '{Printable(t.Text)}' contains a character outside printable ASCII", what);
        }
        if (t.Text.Length > maxLength)
            throw InvalidAt(t.Column, $"{what} is longer than {maxLength} characters", what);
    }

    /// <summary>The rest of the line as written from the cursor on (remarks, descriptions).</summary>
    public string Rest(string what)
    {
        if (AtEnd) throw Incomplete(what, [what]);
        var text = Line[_tokens[_index].Start..].TrimEnd();
        _index = _tokens.Length;
        return text;
    }

    public void End()
    {
        if (!AtEnd) throw Invalid($"unexpected '{Printable(_tokens[_index].Text)}': expected end of command", "end of command");
    }

    public static string Describe(IReadOnlyList<string> options) =>
        options.Count == 1 ? $"'{options[0]}'" : "one of " + string.Join(", ", options.Select(o => $"'{o}'"));

    /// <summary>Shows control and non-ASCII characters as \uXXXX so messages stay readable and safe.</summary>
    public static string Printable(string text)
    {
        if (text.Length > 60) text = text[..60] + "…";
        var sb = new System.Text.StringBuilder();
        foreach (var c in text)
        {
            if (c is >= ' ' and <= '~' || c == '…') sb.Append(c);
            else sb.Append($"\\u{(int)c:X4}");
        }
        return sb.ToString();
    }
}
