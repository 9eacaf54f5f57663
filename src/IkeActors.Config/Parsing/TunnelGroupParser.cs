using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// `tunnel-group NAME type ipsec-l2l|remote-access|webvpn`; `tunnel-group NAME general-attributes` with,
/// under it, `address-pool [(IF)] POOL…`, `default-group-policy NAME` and
/// `authentication-server-group [(IF)] LOCAL|NAME [LOCAL]`; and `tunnel-group NAME ipsec-attributes`
/// with, under it, `ikev1 pre-shared-key KEY` (8.2: `pre-shared-key KEY`),
/// `ikev1 user-authentication [(IF)] none|xauth|hybrid` (8.2: `isakmp ikev1-user-authentication`) and
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
            case "ipsec-attributes" or "general-attributes":
                c.End();
                if (index < 0)
                {
                    if (!ImplicitGroups.TryGetValue(name, out var implicitType))
                        throw c.InvalidAt(nameColumn, $"tunnel-group '{name}' has no type: `tunnel-group {name} type ipsec-l2l` must come first", "tunnel-group with a type");
                    groups.Add(new TunnelGroup(name, implicitType));
                    index = groups.Count - 1;
                }
                if (what == "general-attributes")
                {
                    groups[index] = groups[index] with { HasGeneralAttributes = true };
                    return new SubMode(SubModeKind.TunnelGroupGeneral, name);
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
            {
                var sub = c.Keyword("pre-shared-key", "trust-point", "user-authentication");
                if (sub == "trust-point") throw NotInterpreted();
                if (sub == "user-authentication")
                {
                    groups[index] = current with { UserAuthenticationSettings = ParseUserAuthentication(c, groupName, current.UserAuthenticationSettings) };
                    return;
                }
                goto case "pre-shared-key";
            }
            case "pre-shared-key":
            {
                var keyAt = Sources.At(c, c.Column);
                groups[index] = current with { PreSharedKey = ParsePreSharedKey(c) };
                Sources.PreSharedKeyLines[groupName] = keyAt;
                return;
            }
            case "isakmp":
            {
                var sub = c.Keyword("keepalive", "ikev1-user-authentication");
                groups[index] = sub == "keepalive"
                    ? current with { Keepalive = ParseKeepalive(c) }
                    : current with { UserAuthenticationSettings = ParseUserAuthentication(c, groupName, current.UserAuthenticationSettings) };
                return;
            }
            default:
                throw NotInterpreted();
        }
    }

    /// <summary>What follows `ikev1 user-authentication` / 8.2 `isakmp ikev1-user-authentication`: `[(IF)] none|xauth|hybrid`.</summary>
    private ValueList<InterfaceScoped<IkeUserAuthentication>> ParseUserAuthentication(CommandCursor c, string groupName, ValueList<InterfaceScoped<IkeUserAuthentication>> settings)
    {
        var iface = OptionalInterfaceInParentheses(c, $"tunnel-group {groupName} ikev1 user-authentication");
        var mode = c.Keyword("none", "xauth", "hybrid") switch
        {
            "none" => IkeUserAuthentication.None,
            "xauth" => IkeUserAuthentication.Xauth,
            _ => IkeUserAuthentication.Hybrid,
        };
        c.End();
        return Replace(settings, iface, mode);
    }

    /// <summary>General attributes the ASA knows that this gateway does not model (not interpreted, not errors).</summary>
    internal static readonly HashSet<string> OtherGeneralAttributes = new(StringComparer.OrdinalIgnoreCase)
    {
        "ipv6-address-pool", "secondary-authentication-server-group", "authorization-server-group", "accounting-server-group",
        "dhcp-server", "strip-realm", "strip-group", "password-management", "authorization-required", "authorization-dn-attributes",
        "username-from-certificate", "secondary-username-from-certificate", "override-account-disable", "nat-assigned-to-public-ip",
        "scep-enrollment", "authenticated-session-username", "annotation",
    };

    internal static readonly string[] GeneralAttributes = ["address-pool", "default-group-policy", "authentication-server-group"];

    /// <summary>One line under `tunnel-group NAME general-attributes`.</summary>
    public void ParseGeneralSubCommand(CommandCursor c, string groupName)
    {
        var groups = Config.TunnelGroups;
        var index = groups.FindIndex(t => t.Name == groupName);
        var current = groups[index];
        if (c.Peek is { } first && OtherGeneralAttributes.Contains(first.Text)) throw NotInterpreted();
        var what = c.Keyword(GeneralAttributes);
        switch (what)
        {
            case "address-pool":
            {
                var iface = OptionalInterfaceInParentheses(c, $"tunnel-group {groupName} address-pool");
                var pools = NamesToEnd(c, "pool name", AsaDefaults.MaxPoolsPerLine);
                for (var i = 0; i < pools.Count; i++)
                {
                    if (pools.Take(i).Any(p => p.Name == pools[i].Name))
                        throw c.InvalidAt(pools[i].Column, $"pool name '{pools[i].Name}' is given twice", "pool name");
                }
                foreach (var (pool, column) in pools)
                    Sources.AddReference(ReferenceKind.Pool, pool, c, column, $"tunnel-group {groupName} address-pool");
                groups[index] = current with { AddressPoolSettings = Replace(current.AddressPoolSettings, iface, pools.Select(p => p.Name).ToValueList()) };
                return;
            }
            case "default-group-policy":
            {
                var column = c.Column;
                var policy = c.Name("group-policy name", 64);
                c.End();
                Sources.AddReference(ReferenceKind.GroupPolicy, policy, c, column, $"tunnel-group {groupName} default-group-policy");
                groups[index] = current with { DefaultGroupPolicy = policy };
                return;
            }
            default:
            {
                var iface = OptionalInterfaceInParentheses(c, $"tunnel-group {groupName} authentication-server-group");
                var column = c.Column;
                var server = c.Name("AAA server group name (or LOCAL)", 64);
                var fallback = c.TryKeyword(AsaDefaults.LocalServerGroup);
                c.End();
                if (fallback && server == AsaDefaults.LocalServerGroup)
                    throw c.InvalidAt(column, "LOCAL cannot be its own fallback", "AAA server group name");
                Sources.AuthenticationServerLines[(groupName, iface ?? "")] = Sources.At(c, column);
                groups[index] = current with { AuthenticationServerSettings = Replace(current.AuthenticationServerSettings, iface, new AuthenticationServer(server, fallback)) };
                return;
            }
        }
    }

    /// <summary>A per-interface setting replaces the earlier one for the same interface (or for all, when none is named).</summary>
    private static ValueList<InterfaceScoped<T>> Replace<T>(ValueList<InterfaceScoped<T>> settings, string? iface, T value) =>
        settings.Where(s => s.Interface != iface).Append(new InterfaceScoped<T>(iface, value)).ToValueList();

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
