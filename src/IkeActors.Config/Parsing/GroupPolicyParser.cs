using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// `group-policy NAME internal` and `group-policy NAME attributes` with, under it, the attributes
/// an IKEv1 remote-access client is given (Cisco ASA command reference, group-policy attributes mode):
/// `banner`, `dns-server`, `default-domain`, `split-dns`, `split-tunnel-policy`,
/// `split-tunnel-network-list`, `vpn-tunnel-protocol`, `vpn-simultaneous-logins`, `password-storage`,
/// `address-pools`, `vpn-idle-timeout`, `vpn-session-timeout`. The ASA's other attributes are not
/// interpreted; `group-policy NAME external` is not interpreted either.
/// </summary>
internal sealed class GroupPolicyParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    /// <summary>Group-policy attributes the ASA knows that this gateway does not model (not interpreted, not errors).</summary>
    internal static readonly HashSet<string> OtherAttributes = new(StringComparer.OrdinalIgnoreCase)
    {
        "wins-server", "dhcp-network-scope", "vpn-access-hours", "vpn-filter", "ipv6-vpn-filter", "ip-comp", "re-xauth",
        "group-lock", "pfs", "ipsec-udp", "ipsec-udp-port", "ipv6-split-tunnel-policy", "split-tunnel-all-dns", "intercept-dhcp",
        "secure-unit-authentication", "user-authentication", "user-authentication-idle-timeout", "ip-phone-bypass", "leap-bypass",
        "nem", "backup-servers", "msie-proxy", "nac", "nac-settings", "nac-sq-period", "nac-reval-period", "nac-default-acl",
        "ipv6-address-pools", "client-access-rule", "client-firewall", "client-bypass-protocol", "webvpn", "anyconnect-custom",
        "description", "vlan", "gateway-fqdn", "security-group-tag", "smartcard-removal-disconnect", "scep-forwarding-url",
        "always-on-vpn", "periodic-authentication", "svc", "customization", "homepage", "vpn-nac-exempt",
    };

    /// <summary>The attributes read here (with <see cref="OtherAttributes"/>, every word this mode accepts).</summary>
    internal static readonly string[] Attributes =
    [
        "banner", "dns-server", "default-domain", "split-dns", "split-tunnel-policy", "split-tunnel-network-list",
        "vpn-tunnel-protocol", "vpn-simultaneous-logins", "password-storage", "address-pools", "vpn-idle-timeout", "vpn-session-timeout",
    ];

    /// <summary>`group-policy NAME internal|external|attributes`.</summary>
    public SubMode ParseGroupPolicy(CommandCursor c)
    {
        c.Next("group-policy");
        var nameColumn = c.Column;
        var name = c.Name("group-policy name", 64);
        var what = c.Keyword("internal", "external", "attributes");
        var policies = Config.GroupPolicies;
        switch (what)
        {
            case "internal":
                if (c.PeekIs("from")) throw NotInterpreted(); // `internal from OTHER`: a copy, not modelled
                c.End();
                if (Config.ExternalGroupPolicies.Contains(name))
                    throw c.InvalidAt(nameColumn, $"group-policy '{name}' is already an external group policy", "group-policy name");
                if (!policies.Any(g => g.Name == name)) policies.Add(new GroupPolicy(name));
                return SubMode.None;
            case "external":
                if (name == AsaDefaults.DfltGrpPolicy || policies.Any(g => g.Name == name))
                    throw c.InvalidAt(nameColumn, $"group-policy '{name}' is already an internal group policy", "group-policy name");
                Config.ExternalGroupPolicies.Add(name);
                throw NotInterpreted(); // its attributes are on the AAA server
            default:
                c.End();
                if (!policies.Any(g => g.Name == name))
                {
                    if (Config.ExternalGroupPolicies.Contains(name))
                        throw c.InvalidAt(nameColumn, $"group-policy '{name}' is external: its attributes come from its AAA server", "internal group-policy name");
                    // DfltGrpPolicy is built in: its attributes can be changed without an `internal` line.
                    if (name != AsaDefaults.DfltGrpPolicy)
                        throw c.InvalidAt(nameColumn, $"group-policy '{name}' does not exist: `group-policy {name} internal` must come first", "group-policy name");
                    policies.Add(new GroupPolicy(name));
                }
                return new SubMode(SubModeKind.GroupPolicyAttributes, name);
        }
    }

    /// <summary>One line under `group-policy NAME attributes`.</summary>
    public void ParseAttribute(CommandCursor c, string policyName)
    {
        var policies = Config.GroupPolicies;
        var index = policies.FindIndex(g => g.Name == policyName);
        var p = policies[index];
        if (c.Peek is { } first && OtherAttributes.Contains(first.Text)) throw NotInterpreted();
        var what = c.Keyword(Attributes);
        var valueColumn = c.Column;
        switch (what)
        {
            case "banner":
                if (NoneOrValue(c, "banner text"))
                {
                    var textColumn = c.Column;
                    var text = c.Rest("banner text");
                    CheckText(c, text, textColumn, "banner text", AsaDefaults.BannerMaxLength);
                    p = p with { Banner = (p.Banner ?? ValueList<string>.Empty).Append(text).ToValueList() };
                }
                else p = p with { Banner = ValueList<string>.Empty };
                break;
            case "dns-server":
                if (NoneOrValue(c, "DNS server address"))
                {
                    var servers = new List<uint>();
                    do
                    {
                        if (servers.Count == AsaDefaults.MaxDnsServers) throw c.Invalid($"at most {AsaDefaults.MaxDnsServers} DNS servers can be given", "end of command");
                        if (c.Peek is { } v6 && IsIpv6(v6.Text)) throw NotInterpreted(); // IPv6 DNS servers (9.x): not modelled
                        servers.Add(c.Address("DNS server address"));
                    }
                    while (!c.AtEnd);
                    p = p with { DnsServers = servers.ToValueList() };
                }
                else p = p with { DnsServers = ValueList<uint>.Empty };
                break;
            case "default-domain":
                p = p with { DefaultDomain = NoneOrValue(c, "domain name") ? NoneOr<string>.Of(OneName(c, "domain name")) : NoneOr<string>.None };
                break;
            case "split-dns":
                p = p with { SplitDns = NoneOrValue(c, "domain name") ? Distinct(c, NamesToEnd(c, "domain name", int.MaxValue, AsaDefaults.NameMaxLength), "domain name") : ValueList<string>.Empty };
                break;
            case "split-tunnel-policy":
            {
                var policy = c.Keyword("tunnelall", "tunnelspecified", "excludespecified") switch
                {
                    "tunnelall" => SplitTunnelPolicy.TunnelAll,
                    "tunnelspecified" => SplitTunnelPolicy.TunnelSpecified,
                    _ => SplitTunnelPolicy.ExcludeSpecified,
                };
                c.End();
                p = p with { SplitTunnelPolicy = policy };
                break;
            }
            case "split-tunnel-network-list":
                if (NoneOrValue(c, "access-list name"))
                {
                    var aclColumn = c.Column;
                    var acl = OneName(c, "access-list name", AsaDefaults.NameMaxLength);
                    Sources.AddReference(ReferenceKind.SplitTunnelAccessList, acl, c, aclColumn, $"group-policy {policyName} split-tunnel-network-list");
                    p = p with { SplitTunnelNetworkList = NoneOr<string>.Of(acl) };
                }
                else p = p with { SplitTunnelNetworkList = NoneOr<string>.None };
                break;
            case "vpn-tunnel-protocol":
                p = p with { TunnelProtocols = ParseTunnelProtocols(c) };
                break;
            case "vpn-simultaneous-logins":
                p = p with { SimultaneousLogins = c.Int(0, AsaDefaults.SimultaneousLoginsMax, "simultaneous logins") };
                c.End();
                break;
            case "password-storage":
                p = p with { PasswordStorage = c.Keyword("enable", "disable") == "enable" };
                c.End();
                break;
            case "address-pools":
                if (NoneOrValue(c, "pool name"))
                {
                    var pools = NamesToEnd(c, "pool name", AsaDefaults.MaxPoolsPerLine);
                    foreach (var (pool, column) in pools) Sources.AddReference(ReferenceKind.Pool, pool, c, column, $"group-policy {policyName} address-pools");
                    p = p with { AddressPools = Distinct(c, pools, "pool name") };
                }
                else p = p with { AddressPools = ValueList<string>.Empty };
                break;
            case "vpn-idle-timeout":
                if (c.PeekIs("alert-interval")) throw NotInterpreted();
                p = p with { IdleTimeoutMinutes = Timeout(c, "idle timeout minutes") };
                break;
            default: // vpn-session-timeout
                if (c.PeekIs("alert-interval")) throw NotInterpreted();
                p = p with { SessionTimeoutMinutes = Timeout(c, "session timeout minutes") };
                break;
        }
        policies[index] = p;
        Sources.GroupPolicyLines[(policyName, what)] = Sources.At(c, valueColumn);
    }

    /// <summary>`value …` (true: the value follows) or `none` (false, end of command).</summary>
    private static bool NoneOrValue(CommandCursor c, string what)
    {
        if (c.Keyword("value", "none") == "value")
        {
            if (c.AtEnd) c.Next(what);
            return true;
        }
        c.End();
        return false;
    }

    private static string OneName(CommandCursor c, string what, int maxLength = AsaDefaults.NameMaxLength)
    {
        var name = c.Name(what, maxLength);
        c.End();
        return name;
    }

    private static ValueList<string> Distinct(CommandCursor c, List<(string Name, int Column)> names, string what)
    {
        for (var i = 1; i < names.Count; i++)
        {
            if (names.Take(i).Any(n => n.Name == names[i].Name))
                throw c.InvalidAt(names[i].Column, $"{what} '{names[i].Name}' is given twice", what);
        }
        return names.Select(n => n.Name).ToValueList();
    }

    /// <summary>`MINUTES` (1-35791394) or `none` (no limit).</summary>
    private static NoneOr<int> Timeout(CommandCursor c, string what)
    {
        if (c.TryKeyword("none"))
        {
            c.End();
            return NoneOr<int>.None;
        }
        if (c.Peek is { } t && !t.Text.All(char.IsAsciiDigit))
            throw c.Invalid($"expected {what} ({AsaDefaults.TimeoutMinutesMin}-{AsaDefaults.TimeoutMinutesMax}) or 'none', found '{CommandCursor.Printable(t.Text)}'", what, "none");
        var minutes = c.Int(AsaDefaults.TimeoutMinutesMin, AsaDefaults.TimeoutMinutesMax, what);
        c.End();
        return NoneOr<int>.Of(minutes);
    }

    /// <summary>`vpn-tunnel-protocol WORD…` in the 8.4+ spelling or the 8.2 one (`IPSec`, `svc`, `webvpn`).</summary>
    private static ValueList<VpnTunnelProtocol> ParseTunnelProtocols(CommandCursor c)
    {
        var set = new SortedSet<VpnTunnelProtocol>();
        do
        {
            var word = c.Keyword("ikev1", "ikev2", "l2tp-ipsec", "ssl-client", "ssl-clientless", "IPSec", "svc", "webvpn");
            set.Add(word switch
            {
                "ikev1" or "IPSec" => VpnTunnelProtocol.Ikev1,
                "ikev2" => VpnTunnelProtocol.Ikev2,
                "l2tp-ipsec" => VpnTunnelProtocol.L2tpIpsec,
                "ssl-client" or "svc" => VpnTunnelProtocol.SslClient,
                _ => VpnTunnelProtocol.SslClientless,
            });
        }
        while (!c.AtEnd);
        return set.ToValueList();
    }

    /// <summary>Free text (a banner line): printable ASCII, at most <paramref name="maxLength"/> characters.</summary>
    private static void CheckText(CommandCursor c, string text, int column, string what, int maxLength)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] is < ' ' or > '~')
                throw c.InvalidAt(column + i, $"{what} contains a character outside printable ASCII", what);
        }
        if (text.Length > maxLength) throw c.InvalidAt(column, $"{what} is longer than {maxLength} characters", what);
    }
}
