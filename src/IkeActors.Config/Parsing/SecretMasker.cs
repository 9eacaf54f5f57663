namespace IkeActors.Config.Parsing;

/// <summary>
/// Masks secrets in commands that are listed back to the user as "not interpreted"
/// (passwords, keys, SNMP communities), the way the ASA prints `*****`.
/// </summary>
public static class SecretMasker
{
    private static readonly HashSet<string> SecretFollows = new(StringComparer.OrdinalIgnoreCase)
    {
        "password", "passwd", "key", "pre-shared-key", "community", "secret", "ldap-login-password",
        "md5", "shared-secret", "key-string", "ospf-key", "message-digest-key",
    };

    public static string Mask(string command)
    {
        var column = 1;
        return Mask(command, ref column);
    }

    /// <summary>The words that may follow a `username NAME password …` password (the password ends before them).</summary>
    private static readonly HashSet<string> UsernamePasswordEnd = new(StringComparer.OrdinalIgnoreCase)
    {
        "encrypted", "pbkdf2", "nt-encrypted", "privilege", "mschap",
    };

    /// <summary>
    /// Masks secrets in a line echoed with a diagnostic, and moves the diagnostic's 1-based
    /// column so the caret still points at the same word. After `pre-shared-key` the whole
    /// rest of the line is masked (a key is one word; anything after it may be part of it).
    /// In `username NAME password …` every word up to `encrypted`, `pbkdf2`, `nt-encrypted`,
    /// `privilege` or `mschap` is masked as one (a password written with spaces is still a password).
    /// </summary>
    public static string Mask(string command, ref int column)
    {
        var tokens = Parsing.CommandCursor.Tokenize(command);
        if (tokens.Length == 0) return command;
        var masked = new List<(int Start, int Length)>();
        for (var i = 0; i < tokens.Length - 1; i++)
        {
            if (!SecretFollows.Contains(tokens[i].Text)) continue;
            var secret = tokens[i + 1];
            if (tokens[i].Text.Equals("pre-shared-key", StringComparison.OrdinalIgnoreCase))
            {
                masked.Add((secret.Start, command.TrimEnd().Length - secret.Start));
                break;
            }
            if (i == 2 && tokens[0].Text.Equals("username", StringComparison.OrdinalIgnoreCase)
                && tokens[i].Text.Equals("password", StringComparison.OrdinalIgnoreCase))
            {
                var last = i + 1;
                while (last + 1 < tokens.Length && !UsernamePasswordEnd.Contains(tokens[last + 1].Text)) last++;
                masked.Add((secret.Start, tokens[last].Start + tokens[last].Text.Length - secret.Start));
                break;
            }
            // `crypto key generate rsa`, `ntp server A key 1`: a verb or a key number, not a secret.
            if (tokens[i].Text.Equals("key", StringComparison.OrdinalIgnoreCase)
                && (secret.Text is "generate" or "zeroize" or "import" or "export" || secret.Text.All(char.IsAsciiDigit) && i + 2 >= tokens.Length))
                continue;
            // `key 0 SECRET` / `password 8 SECRET`: an encryption type digit precedes the secret.
            if (secret.Text is "0" or "7" or "8" && i + 2 < tokens.Length) secret = tokens[i + 2];
            masked.Add((secret.Start, secret.Text.Length));
        }
        if (masked.Count == 0) return command;
        var sb = new System.Text.StringBuilder();
        var pos = 0;
        var newColumn = column;
        foreach (var (start, length) in masked.Distinct().OrderBy(m => m.Start))
        {
            if (start < pos) continue;
            sb.Append(command, pos, start - pos).Append(PreSharedKeyMask);
            pos = start + length;
            // A column inside the secret moves to its mask; one after it moves by the length change.
            if (column - 1 >= start + length) newColumn += PreSharedKeyMask.Length - length;
            else if (column - 1 > start) newColumn = sb.Length - PreSharedKeyMask.Length + 1;
        }
        sb.Append(command, pos, command.Length - pos);
        column = newColumn;
        return sb.ToString();
    }

    private const string PreSharedKeyMask = Model.PreSharedKey.Mask;
}
