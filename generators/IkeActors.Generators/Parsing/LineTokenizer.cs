using System.Collections.Generic;
using System.Text;

namespace IkeActors.Generators.Parsing;

internal enum TokenKind { Word, String, Equals, Colon }

internal readonly struct Token
{
    public Token(TokenKind kind, string text, int column, int length)
    {
        Kind = kind; Text = text; Column = column; Length = length;
    }

    public TokenKind Kind { get; }
    public string Text { get; }
    public int Column { get; }
    public int Length { get; }
    public override string ToString() => Kind == TokenKind.String ? "\"" + Text + "\"" : Text;
}

/// <summary>
/// Splits one schema line into words, quoted strings, '=' and ':' and the trailing
/// '#' comment. Words are runs of anything else that is not whitespace.
/// </summary>
internal static class LineTokenizer
{
    public static List<Token> Tokenize(string line, out string? comment, out string? error, out int errorColumn)
    {
        var tokens = new List<Token>();
        comment = null; error = null; errorColumn = 0;
        var i = 0;
        while (i < line.Length)
        {
            var c = line[i];
            if (c == ' ' || c == '\t' || c == '\r') { i++; continue; }
            if (c == '#')
            {
                comment = line.Substring(i + 1).Trim();
                if (comment.Length == 0) comment = null;
                break;
            }
            if (c == '=' || c == ':')
            {
                tokens.Add(new Token(c == '=' ? TokenKind.Equals : TokenKind.Colon, c.ToString(), i, 1));
                i++;
                continue;
            }
            if (c == '"')
            {
                var start = i;
                var sb = new StringBuilder();
                i++;
                var closed = false;
                while (i < line.Length)
                {
                    if (line[i] == '\\' && i + 1 < line.Length && (line[i + 1] == '"' || line[i + 1] == '\\'))
                    {
                        sb.Append(line[i + 1]); i += 2; continue;
                    }
                    if (line[i] == '"') { closed = true; i++; break; }
                    sb.Append(line[i]); i++;
                }
                if (!closed)
                {
                    error = "unterminated string: a '\"' is missing";
                    errorColumn = start;
                    return tokens;
                }
                tokens.Add(new Token(TokenKind.String, sb.ToString(), start, i - start));
                continue;
            }
            var wordStart = i;
            while (i < line.Length && line[i] != ' ' && line[i] != '\t' && line[i] != '\r'
                   && line[i] != '=' && line[i] != ':' && line[i] != '"' && line[i] != '#')
                i++;
            tokens.Add(new Token(TokenKind.Word, line.Substring(wordStart, i - wordStart), wordStart, i - wordStart));
        }
        return tokens;
    }
}
