using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// `tunnel-group NAME type ipsec-l2l|remote-access|webvpn` and `tunnel-group NAME ipsec-attributes`
/// with, under it, `ikev1 pre-shared-key KEY` (8.2: `pre-shared-key KEY`) and
/// `isakmp keepalive [threshold N|infinite] [retry N] | disable` (dead peer detection).
/// </summary>
internal sealed class TunnelGroupParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    private static readonly Dictionary<string, TunnelGroupType> ImplicitGroups = new(StringComparer.Ordinal)
    {
        // The ASA's built-in connection profiles exist without a `type` line.
        [AsaDefaults.DefaultL2LGroup] = TunnelGroupType.IpsecL2L,
        [AsaDefaults.DefaultRAGroup] = TunnelGroupType.RemoteAccess,
        ["DefaultWEBVPNGroup"] = TunnelGroupType.Webvpn,
    };

    /// <summary>`tunnel-group NAME type …` or `tunnel-group NAME ipsec-attributes` (which opens a sub-command mode).</summary>
    public SubMode ParseTunnelGroup(CommandCursor c)
    {
        var groups = Config.TunnelGroups;
        c.Next("tunnel-group");
        var nameColumn = c.Column;
        var name = c.Name("tunnel-group name", 64);
        var what = c.Keyword("type", "ipsec-attributes", "general-attributes", "webvpn-attributes", "ppp-attributes");
        var index = groups.FindIndex(t => t.Name == name);
        switch (what)
        {
            case "type":
            {
                var t = c.Keyword("ipsec-l2l", "remote-access", "ipsec-ra", "webvpn");
                c.End();
                AsaKeywords.TryParse(AsaKeywords.TunnelGroupTypeText, t, out TunnelGroupType type);
                if (index < 0) groups.Add(new TunnelGroup(name, type));
                else groups[index] = groups[index] with { Type = type };
                return SubMode.None;
            }
            case "ipsec-attributes":
                c.End();
                if (index < 0)
                {
                    if (!ImplicitGroups.TryGetValue(name, out var implicitType))
                        throw c.InvalidAt(nameColumn, $"tunnel-group '{name}' has no type: `tunnel-group {name} type ipsec-l2l` must come first", "tunnel-group with a type");
                    groups.Add(new TunnelGroup(name, implicitType));
                    index = groups.Count - 1;
                }
                groups[index] = groups[index] with { HasIpsecAttributes = true };
                return new SubMode(SubModeKind.TunnelGroupIpsec, name);
            default:
                if (index < 0 && !ImplicitGroups.ContainsKey(name))
                    throw c.InvalidAt(nameColumn, $"tunnel-group '{name}' has no type: `tunnel-group {name} type …` must come first", "tunnel-group with a type");
                throw NotInterpreted();
        }
    }

    /// <summary>One line under `tunnel-group NAME ipsec-attributes`.</summary>
    public void ParseIpsecSubCommand(CommandCursor c, string groupName)
    {
        var groups = Config.TunnelGroups;
        var index = groups.FindIndex(t => t.Name == groupName);
        var current = groups[index];
        var what = c.Keyword("pre-shared-key", "ikev1", "isakmp", "ikev2", "peer-id-validate", "chain", "trust-point",
            "radius-sdi-xauth", "authorization-required", "authentication", "tunnel-group-map");
        switch (what)
        {
            case "ikev1":
                if (c.Keyword("pre-shared-key", "trust-point", "user-authentication") != "pre-shared-key") throw NotInterpreted();
                goto case "pre-shared-key";
            case "pre-shared-key":
                groups[index] = current with { PreSharedKey = ParsePreSharedKey(c) };
                return;
            case "isakmp":
            {
                var sub = c.Keyword("keepalive", "ikev1-user-authentication");
                if (sub != "keepalive") throw NotInterpreted();
                groups[index] = current with { Keepalive = ParseKeepalive(c) };
                return;
            }
            default:
                throw NotInterpreted();
        }
    }

    /// <summary>The KEY of `[ikev1] pre-shared-key KEY`: one word of 1-128 printable ASCII characters.</summary>
    private PreSharedKey ParsePreSharedKey(CommandCursor c)
    {
        var column = c.Column;
        var key = c.Next("pre-shared key", "pre-shared key");
        if (key.Text.Length > AsaDefaults.PreSharedKeyMaxLength)
            throw c.InvalidAt(column, $"pre-shared key is longer than {AsaDefaults.PreSharedKeyMaxLength} characters", "pre-shared key (1-128 characters)");
        for (var i = 0; i < key.Text.Length; i++)
        {
            if (key.Text[i] is < '!' or > '~')
                throw c.InvalidAt(column + i, "pre-shared key contains a character outside printable ASCII", "pre-shared key (1-128 characters)");
        }
        if (!c.AtEnd)
            throw c.Invalid("a pre-shared key is one word: it cannot contain spaces", "end of command");
        var psk = new PreSharedKey(key.Text);
        if (psk.IsMaskPlaceholder)
            Warn(c, column, "pre-shared key is the mask '*****' that `show running-config` prints, not a real key (copy the configuration from `more system:running-config`)");
        return psk;
    }

    /// <summary>What follows `isakmp keepalive`: `disable`, or `threshold SECONDS|infinite` and `retry SECONDS` in either order.</summary>
    private static IsakmpKeepalive ParseKeepalive(CommandCursor c)
    {
        if (c.TryKeyword("disable"))
        {
            c.End();
            return new IsakmpKeepalive(true, AsaDefaults.DpdThresholdSeconds, AsaDefaults.DpdRetrySeconds);
        }
        int? threshold = AsaDefaults.DpdThresholdSeconds;
        var retry = AsaDefaults.DpdRetrySeconds;
        var any = false;
        while (!c.AtEnd || !any)
        {
            var option = any ? c.Keyword("threshold", "retry") : c.Keyword("threshold", "retry", "disable");
            any = true;
            if (option == "threshold")
            {
                threshold = c.TryKeyword("infinite") ? null : c.Int(AsaDefaults.DpdThresholdMin, AsaDefaults.DpdThresholdMax, "keepalive threshold seconds");
            }
            else
            {
                retry = c.Int(AsaDefaults.DpdRetryMin, AsaDefaults.DpdRetryMax, "keepalive retry seconds");
            }
        }
        return new IsakmpKeepalive(false, threshold, retry);
    }
}
