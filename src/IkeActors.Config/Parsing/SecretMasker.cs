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
        var tokens = Parsing.CommandCursor.Tokenize(command);
        if (tokens.Length == 0) return command;
        var chars = command.ToCharArray();
        var masked = new List<(int Start, int Length)>();
        for (var i = 0; i < tokens.Length - 1; i++)
        {
            if (!SecretFollows.Contains(tokens[i].Text)) continue;
            var secret = tokens[i + 1];
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
        foreach (var (start, length) in masked.Distinct().OrderBy(m => m.Start))
        {
            if (start < pos) continue;
            sb.Append(chars, pos, start - pos).Append("*****");
            pos = start + length;
        }
        sb.Append(chars, pos, chars.Length - pos);
        return sb.ToString();
    }
}
