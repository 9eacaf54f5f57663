using System.Globalization;
using System.Text;
using IkeActors.Config.Model;

namespace IkeActors.Config.Show;

/// <summary>How to print: `show running-config` masks keys; `more system:running-config` shows them.</summary>
public sealed record ShowOptions
{
    /// <summary>
    /// False (the default) prints `ikev1 pre-shared-key *****` and `username NAME password ***** pbkdf2` as the
    /// ASA's `show running-config` does; true prints keys and passwords as they were written.
    /// </summary>
    public bool RevealSecrets { get; init; }

    public static readonly ShowOptions Masked = new();
    public static readonly ShowOptions Revealed = new() { RevealSecrets = true };
}

/// <summary>
/// Prints the model in the ASA 9.x running-config format (`crypto ikev1 …`,
/// `crypto ipsec ikev1 transform-set`, `ikev1 pre-shared-key`), one space of indent
/// for sub-commands, names for well-known ports and protocols as the ASA prints them.
/// </summary>
public static class RunningConfigWriter
{
    private static string N(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>`show running-config` of the whole interpreted model.</summary>
    public static string ShowRunningConfig(AsaConfig config, ShowOptions? options = null)
    {
        options ??= ShowOptions.Masked;
        var sb = new StringBuilder();
        if (config.Hostname is not null) sb.Append("hostname ").Append(config.Hostname).Append('\n');
        if (config.Names.Count > 0)
        {
            sb.Append("names\n");
            foreach (var n in config.Names)
            {
                sb.Append("name ").Append(Ipv4.Format(n.Address)).Append(' ').Append(n.Name);
                if (n.Description is not null) sb.Append(" description ").Append(n.Description);
                sb.Append('\n');
            }
        }
        // ASA 9.x prints the address pools right after `names`, before the interfaces.
        sb.Append(ShowIpLocalPool(config));
        foreach (var i in config.Interfaces) AppendInterface(sb, i);
        foreach (var o in config.NetworkObjects) AppendObject(sb, o);
        foreach (var o in config.ServiceObjects) AppendServiceObject(sb, o);
        foreach (var g in config.ObjectGroups)
        {
            if (g.Type == ObjectGroupType.Network) AppendGroup(sb, g);
            else if (g.Type is ObjectGroupType.Service or ObjectGroupType.Protocol or ObjectGroupType.IcmpType) AppendServiceGroup(sb, g);
        }
        sb.Append(ShowAccessList(config));
        foreach (var m in config.Mtus) sb.Append("mtu ").Append(m.Nameif).Append(' ').Append(N(m.Bytes)).Append('\n');
        foreach (var r in config.NatRules) sb.Append(FormatNat(r)).Append('\n');
        sb.Append(ShowCrypto(config));
        // Then, as the ASA orders them: group policies, users, tunnel groups.
        sb.Append(ShowGroupPolicy(config));
        sb.Append(ShowUsername(config, options));
        sb.Append(ShowTunnelGroup(config, options));
        return sb.ToString();
    }

    /// <summary>`show running-config ip local pool`: `ip local pool NAME FIRST-LAST [mask MASK]`.</summary>
    public static string ShowIpLocalPool(AsaConfig config)
    {
        var sb = new StringBuilder();
        foreach (var p in config.IpLocalPools)
        {
            sb.Append("ip local pool ").Append(p.Name).Append(' ').Append(p.Range.ToString());
            if (p.Mask is { } m) sb.Append(" mask ").Append(Ipv4.Format(m));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// `show running-config group-policy`: `group-policy NAME internal` (not for the built-in DfltGrpPolicy),
    /// then `group-policy NAME attributes` with the attributes written, in the order the ASA prints them
    /// (banner, dns-server, vpn-simultaneous-logins, vpn-idle-timeout, vpn-session-timeout,
    /// vpn-tunnel-protocol, password-storage, split-tunnel-policy, split-tunnel-network-list,
    /// default-domain, split-dns, address-pools: the order of the ASA's own listing of DfltGrpPolicy).
    /// </summary>
    public static string ShowGroupPolicy(AsaConfig config)
    {
        var sb = new StringBuilder();
        foreach (var g in config.GroupPolicies)
        {
            if (g.Name != AsaDefaults.DfltGrpPolicy) sb.Append("group-policy ").Append(g.Name).Append(" internal\n");
            if (!g.HasAttributes) continue;
            sb.Append("group-policy ").Append(g.Name).Append(" attributes\n");
            if (g.Banner is { } banner)
            {
                if (banner.Count == 0) sb.Append(" banner none\n");
                foreach (var line in banner) sb.Append(" banner value ").Append(line).Append('\n');
            }
            if (g.DnsServers is { } dns) sb.Append(dns.Count == 0 ? " dns-server none\n" : $" dns-server value {string.Join(' ', dns.Select(Ipv4.Format))}\n");
            if (g.SimultaneousLogins is { } logins) sb.Append(" vpn-simultaneous-logins ").Append(N(logins)).Append('\n');
            if (g.IdleTimeoutMinutes is { } idle) sb.Append(" vpn-idle-timeout ").Append(idle.IsNone ? "none" : N(idle.Value)).Append('\n');
            if (g.SessionTimeoutMinutes is { } session) sb.Append(" vpn-session-timeout ").Append(session.IsNone ? "none" : N(session.Value)).Append('\n');
            if (g.TunnelProtocols is { } protocols) sb.Append(" vpn-tunnel-protocol ").Append(string.Join(' ', protocols.Select(TunnelProtocolText))).Append('\n');
            if (g.PasswordStorage is { } storage) sb.Append(" password-storage ").Append(storage ? "enable" : "disable").Append('\n');
            if (g.SplitTunnelPolicy is { } split)
                sb.Append(" split-tunnel-policy ").Append(split switch
                {
                    SplitTunnelPolicy.TunnelAll => "tunnelall",
                    SplitTunnelPolicy.TunnelSpecified => "tunnelspecified",
                    _ => "excludespecified",
                }).Append('\n');
            if (g.SplitTunnelNetworkList is { } list) sb.Append(" split-tunnel-network-list ").Append(list.IsNone ? "none" : "value " + list.Value).Append('\n');
            if (g.DefaultDomain is { } domain) sb.Append(" default-domain ").Append(domain.IsNone ? "none" : "value " + domain.Value).Append('\n');
            if (g.SplitDns is { } splitDns) sb.Append(" split-dns ").Append(splitDns.Count == 0 ? "none" : "value " + string.Join(' ', splitDns)).Append('\n');
            if (g.AddressPools is { } pools) sb.Append(" address-pools ").Append(pools.Count == 0 ? "none" : "value " + string.Join(' ', pools)).Append('\n');
        }
        return sb.ToString();
    }

    public static string TunnelProtocolText(VpnTunnelProtocol p) => p switch
    {
        VpnTunnelProtocol.Ikev1 => "ikev1",
        VpnTunnelProtocol.Ikev2 => "ikev2",
        VpnTunnelProtocol.L2tpIpsec => "l2tp-ipsec",
        VpnTunnelProtocol.SslClient => "ssl-client",
        _ => "ssl-clientless",
    };

    /// <summary>
    /// `show running-config username`. The ASA prints a password as its hash
    /// (`username NAME password HASH encrypted|pbkdf2`). This gateway prints no hash, not even one it
    /// could compute from a clear password: a hash printed is a hash that can be guessed offline, so
    /// every password is `*****` with the keyword of the ASA's current format (`pbkdf2`), as ASA 9.x
    /// itself masks it in some outputs. `nopassword` stays. <see cref="ShowOptions.RevealSecrets"/>
    /// prints the password as it was written (clear text, or the hash with its keyword).
    /// </summary>
    public static string ShowUsername(AsaConfig config, ShowOptions? options = null)
    {
        options ??= ShowOptions.Masked;
        var sb = new StringBuilder();
        foreach (var u in config.Users)
        {
            sb.Append("username ").Append(u.Name);
            if (u.Password is not { } password) sb.Append(" nopassword");
            else if (!options.RevealSecrets) sb.Append(" password ").Append(UserPassword.Mask).Append(" pbkdf2");
            else
            {
                sb.Append(" password ").Append(password.Reveal());
                if (password.IsHash)
                    sb.Append(password.Form switch { PasswordForm.Encrypted => " encrypted", PasswordForm.Pbkdf2 => " pbkdf2", _ => " nt-encrypted" });
            }
            // Privilege 2 is the default and is not printed.
            if (u.Privilege != AsaDefaults.UserPrivilege) sb.Append(" privilege ").Append(N(u.Privilege));
            sb.Append('\n');
            if (!u.HasAttributes) continue;
            sb.Append("username ").Append(u.Name).Append(" attributes\n");
            if (u.VpnGroupPolicy is not null) sb.Append(" vpn-group-policy ").Append(u.VpnGroupPolicy).Append('\n');
            if (u.SimultaneousLogins is { } logins) sb.Append(" vpn-simultaneous-logins ").Append(N(logins)).Append('\n');
            if (u.FramedAddress is { } framed) sb.Append(" vpn-framed-ip-address ").Append(framed.ToString()).Append('\n');
            if (u.ServiceType is { } type)
                sb.Append(" service-type ").Append(type switch
                {
                    UserServiceType.RemoteAccess => "remote-access",
                    UserServiceType.Admin => "admin",
                    _ => "nas-prompt",
                }).Append('\n');
        }
        return sb.ToString();
    }

    private static void AppendInterface(StringBuilder sb, AsaInterface i)
    {
        sb.Append("interface ").Append(i.HardwareName).Append('\n');
        if (i.Nameif is not null) sb.Append(" nameif ").Append(i.Nameif).Append('\n');
        if (i.SecurityLevel is { } level) sb.Append(" security-level ").Append(N(level)).Append('\n');
        if (i.Dhcp) sb.Append(" ip address dhcp").Append(i.DhcpSetRoute ? " setroute" : "").Append('\n');
        else if (i.Address is { } a)
        {
            sb.Append(" ip address ").Append(a.ToString());
            if (i.StandbyAddress is { } s) sb.Append(" standby ").Append(Ipv4.Format(s));
            sb.Append('\n');
        }
        sb.Append("!\n");
    }

    private static void AppendObject(StringBuilder sb, NetworkObject o)
    {
        sb.Append("object network ").Append(o.Name).Append('\n');
        switch (o.Kind)
        {
            case NetworkObjectKind.Host: sb.Append(" host ").Append(Ipv4.Format(o.Host)).Append('\n'); break;
            case NetworkObjectKind.Subnet: sb.Append(" subnet ").Append(o.Subnet.ToAddressMask()).Append('\n'); break;
            case NetworkObjectKind.Range: sb.Append(" range ").Append(Ipv4.Format(o.Range.First)).Append(' ').Append(Ipv4.Format(o.Range.Last)).Append('\n'); break;
            case NetworkObjectKind.Fqdn: sb.Append(" fqdn ").Append(o.Fqdn).Append('\n'); break;
        }
        if (o.Description is not null) sb.Append(" description ").Append(o.Description).Append('\n');
    }

    private static void AppendServiceObject(StringBuilder sb, ServiceObject o)
    {
        sb.Append("object service ").Append(o.Name).Append('\n');
        if (o.Service is not null) sb.Append(" service ").Append(FormatService(o.Service)).Append('\n');
        if (o.Description is not null) sb.Append(" description ").Append(o.Description).Append('\n');
    }

    /// <summary>"tcp source eq 1024 destination eq https", "icmp echo", "esp".</summary>
    public static string FormatService(ServiceSpec s)
    {
        var sb = new StringBuilder(s.Protocol == ServiceSpec.TcpUdp ? "tcp-udp" : ProtocolText(s.Protocol));
        if (s.SourcePort is not null) sb.Append(" source ").Append(FormatPort(s.SourcePort, s.Protocol));
        if (s.DestinationPort is not null) sb.Append(" destination ").Append(FormatPort(s.DestinationPort, s.Protocol));
        if (s.IcmpType is { } icmp) sb.Append(' ').Append(IcmpText(icmp));
        return sb.ToString();
    }

    private static void AppendServiceGroup(StringBuilder sb, ObjectGroup g)
    {
        var type = g.Type switch { ObjectGroupType.Service => "service", ObjectGroupType.Protocol => "protocol", _ => "icmp-type" };
        sb.Append("object-group ").Append(type).Append(' ').Append(g.Name);
        if (g.ServiceProtocol is not null) sb.Append(' ').Append(g.ServiceProtocol);
        sb.Append('\n');
        if (g.Description is not null) sb.Append(" description ").Append(g.Description).Append('\n');
        var groupProtocol = g.ServiceProtocol switch { "tcp" => 6, "udp" => 17, _ => ServiceSpec.TcpUdp };
        foreach (var m in g.Services)
        {
            sb.Append(m.Kind switch
            {
                ServiceMemberKind.Port => $" port-object {FormatPort(m.Port!, groupProtocol)}",
                ServiceMemberKind.Service => $" service-object {FormatService(m.Service!)}",
                ServiceMemberKind.ServiceObject => $" service-object object {m.Name}",
                ServiceMemberKind.Protocol => $" protocol-object {(m.Protocol == ServiceSpec.TcpUdp ? "tcp-udp" : ProtocolText(m.Protocol))}",
                ServiceMemberKind.Icmp => $" icmp-object {IcmpText(m.IcmpType)}",
                _ => $" group-object {m.Name}",
            }).Append('\n');
        }
    }

    private static void AppendGroup(StringBuilder sb, ObjectGroup g)
    {
        sb.Append("object-group network ").Append(g.Name).Append('\n');
        if (g.Description is not null) sb.Append(" description ").Append(g.Description).Append('\n');
        foreach (var m in g.Members)
        {
            sb.Append(m.Kind switch
            {
                ObjectGroupMemberKind.Host => $" network-object host {Ipv4.Format(m.Host)}",
                ObjectGroupMemberKind.Subnet => $" network-object {m.Subnet.ToAddressMask()}",
                ObjectGroupMemberKind.Object => $" network-object object {m.Name}",
                _ => $" group-object {m.Name}",
            }).Append('\n');
        }
    }

    /// <summary>`show running-config access-list`.</summary>
    public static string ShowAccessList(AsaConfig config)
    {
        var sb = new StringBuilder();
        foreach (var acl in config.AccessLists)
        {
            foreach (var e in acl.Entries) sb.Append(FormatAccessListEntry(acl.Name, e)).Append('\n');
        }
        return sb.ToString();
    }

    public static string FormatAccessListEntry(string aclName, AccessListEntry e)
    {
        if (e.IsRemark) return $"access-list {aclName} remark {e.Remark}";
        if (e.Standard) return $"access-list {aclName} standard {(e.Action == AclAction.Permit ? "permit" : "deny")} {FormatAddress(e.Destination)}";
        var sb = new StringBuilder();
        sb.Append("access-list ").Append(aclName).Append(" extended ").Append(e.Action == AclAction.Permit ? "permit" : "deny").Append(' ');
        if (e.ServiceObject is not null) sb.Append(e.ServiceIsGroup ? "object-group " : "object ").Append(e.ServiceObject);
        else sb.Append(ProtocolText(e.Protocol));
        // Ports after a protocol group may be tcp or udp: print the names valid for both.
        var portProtocol = e.ServiceObject is not null ? ServiceSpec.TcpUdp : e.Protocol;
        sb.Append(' ').Append(FormatAddress(e.Source));
        if (e.SourcePort is not null) sb.Append(' ').Append(FormatPort(e.SourcePort, portProtocol));
        sb.Append(' ').Append(FormatAddress(e.Destination));
        if (e.DestinationPort is not null) sb.Append(' ').Append(FormatPort(e.DestinationPort, portProtocol));
        if (e.IcmpType is { } icmp) sb.Append(' ').Append(IcmpText(icmp));
        if (e.IcmpGroup is not null) sb.Append(" object-group ").Append(e.IcmpGroup);
        if (e.Log is not null) sb.Append(' ').Append(e.Log);
        if (e.TimeRange is not null) sb.Append(" time-range ").Append(e.TimeRange);
        if (e.Inactive) sb.Append(" inactive");
        return sb.ToString();
    }

    public static string ProtocolText(int protocol)
    {
        foreach (var (name, number) in AsaKeywords.Protocols)
        {
            if (number == protocol) return name;
        }
        return N(protocol);
    }

    private static string IcmpText(int type)
    {
        foreach (var (name, number) in AsaKeywords.IcmpTypes)
        {
            if (number == type) return name;
        }
        return N(type);
    }

    public static string FormatAddress(AddressSpec a) => a.Kind switch
    {
        AddressKind.Any => "any",
        AddressKind.Any4 => "any4",
        AddressKind.Any6 => "any6",
        AddressKind.Host => $"host {Ipv4.Format(a.Host)}",
        AddressKind.Subnet => a.Subnet.ToAddressMask(),
        AddressKind.Object => $"object {a.Name}",
        AddressKind.ObjectGroup => $"object-group {a.Name}",
        _ => $"interface {a.Name}",
    };

    private static string FormatPort(PortSpec p, int protocol) => p.Operator switch
    {
        PortOperator.Eq => $"eq {PortText(p.Low, protocol)}",
        PortOperator.Neq => $"neq {PortText(p.Low, protocol)}",
        PortOperator.Lt => $"lt {PortText(p.Low, protocol)}",
        PortOperator.Gt => $"gt {PortText(p.Low, protocol)}",
        PortOperator.Range => $"range {PortText(p.Low, protocol)} {PortText(p.High, protocol)}",
        _ => $"object-group {p.GroupName}",
    };

    /// <summary>The ASA prints well-known ports by name ("eq www", "eq https").</summary>
    public static string PortText(int port, int protocol)
    {
        foreach (var (name, number, tcp, udp) in AsaKeywords.Ports)
        {
            if (number != port) continue;
            if (protocol == 6 && tcp || protocol == 17 && udp || protocol == ServiceSpec.TcpUdp && tcp && udp) return name;
        }
        return N(port);
    }

    public static string FormatNat(NatRule r)
    {
        if (r.Kind == NatKind.Exemption) return $"nat ({r.RealInterface}) 0 access-list {r.AccessList}";
        var sb = new StringBuilder($"nat ({r.RealInterface},{r.MappedInterface})");
        if (r.Section is not null) sb.Append(' ').Append(r.Section);
        if (r.LineNumber is { } line) sb.Append(' ').Append(N(line));
        sb.Append(" source ").Append(r.SourceDynamic ? "dynamic " : "static ").Append(r.SourceReal).Append(' ').Append(r.SourceMapped);
        if (r.DestinationMapped is not null) sb.Append(" destination static ").Append(r.DestinationMapped).Append(' ').Append(r.DestinationReal);
        if (r.ServiceReal is not null) sb.Append(" service ").Append(r.ServiceReal).Append(' ').Append(r.ServiceMapped);
        if (r.Unidirectional) sb.Append(" unidirectional");
        if (r.NoProxyArp) sb.Append(" no-proxy-arp");
        if (r.RouteLookup) sb.Append(" route-lookup");
        if (r.Inactive) sb.Append(" inactive");
        if (r.Description is not null) sb.Append(" description ").Append(r.Description);
        return sb.ToString();
    }

    /// <summary>The `match` and `set` lines of one crypto map or dynamic map entry, in the ASA's order.</summary>
    private static void AppendEntry(StringBuilder sb, string prefix, CryptoMapEntry e)
    {
        if (e.MatchAddress is not null) sb.Append(prefix).Append("match address ").Append(e.MatchAddress).Append('\n');
        if (e.PfsGroup is { } pfs)
            sb.Append(prefix).Append(pfs == AsaDefaults.PfsGroupWhenUnspecified ? "set pfs" : $"set pfs group{N(pfs)}").Append('\n');
        if (e.Peers.Count > 0) sb.Append(prefix).Append("set peer ").Append(string.Join(' ', e.Peers)).Append('\n');
        if (e.TransformSets.Count > 0) sb.Append(prefix).Append("set ikev1 transform-set ").Append(string.Join(' ', e.TransformSets)).Append('\n');
        if (e.LifetimeSeconds is { } s) sb.Append(prefix).Append("set security-association lifetime seconds ").Append(N(s)).Append('\n');
        if (e.LifetimeKilobytesUnlimited) sb.Append(prefix).Append("set security-association lifetime kilobytes unlimited\n");
        else if (e.LifetimeKilobytes is { } k) sb.Append(prefix).Append("set security-association lifetime kilobytes ").Append(N(k)).Append('\n');
        if (e.AggressiveModeGroup is { } amGroup) sb.Append(prefix).Append("set ikev1 phase1-mode aggressive group").Append(N(amGroup)).Append('\n');
        if (e.ReverseRoute) sb.Append(prefix).Append("set reverse-route\n");
        if (e.ConnectionType != AsaDefaults.CryptoMapConnectionType)
            sb.Append(prefix).Append("set connection-type ").Append(AsaKeywords.ConnectionTypeText[e.ConnectionType]).Append('\n');
    }

    /// <summary>`show running-config crypto` (the IPsec and IKEv1 part), ASA 9.x spelling.</summary>
    public static string ShowCrypto(AsaConfig config)
    {
        var sb = new StringBuilder();
        foreach (var t in config.TransformSets)
        {
            sb.Append("crypto ipsec ikev1 transform-set ").Append(t.Name).Append(' ').Append(t.TransformText).Append('\n');
            if (t.Mode == IpsecMode.Transport) sb.Append("crypto ipsec ikev1 transform-set ").Append(t.Name).Append(" mode transport\n");
        }
        var global = config.GlobalSaLifetime;
        if (global.Seconds != AsaDefaults.IpsecSaLifetimeSeconds)
            sb.Append("crypto ipsec security-association lifetime seconds ").Append(N(global.Seconds)).Append('\n');
        if (global.Kilobytes != AsaDefaults.IpsecSaLifetimeKilobytes)
            sb.Append("crypto ipsec security-association lifetime kilobytes ").Append(global.Kilobytes is { } kb ? N(kb) : "unlimited").Append('\n');
        foreach (var d in config.DfBitPolicies)
            sb.Append("crypto ipsec df-bit ").Append(d.Policy switch { DfBitSetting.ClearDf => "clear-df", DfBitSetting.SetDf => "set-df", _ => "copy-df" })
                .Append(' ').Append(d.Nameif).Append('\n');
        foreach (var f in config.FragmentationPolicies)
            sb.Append("crypto ipsec fragmentation ").Append(f.BeforeEncryption ? "before-encryption " : "after-encryption ").Append(f.Nameif).Append('\n');
        // The ASA prints the dynamic maps before the crypto maps that refer to them.
        foreach (var map in config.DynamicMaps)
            foreach (var e in map.Entries)
                AppendEntry(sb, $"crypto dynamic-map {map.Name} {N(e.Sequence)} ", e);
        foreach (var map in config.CryptoMaps)
        {
            foreach (var e in map.Entries)
            {
                var prefix = $"crypto map {map.Name} {N(e.Sequence)} ";
                if (e.DynamicMap is not null) sb.Append(prefix).Append("ipsec-isakmp dynamic ").Append(e.DynamicMap).Append('\n');
                else AppendEntry(sb, prefix, e);
            }
            if (map.Interface is not null) sb.Append("crypto map ").Append(map.Name).Append(" interface ").Append(map.Interface).Append('\n');
            if (map.ModeConfigInitiate) sb.Append("crypto map ").Append(map.Name).Append(" client configuration address initiate\n");
        }
        if (config.Identity.Kind != AsaDefaults.Identity)
        {
            sb.Append("crypto isakmp identity ").Append(AsaKeywords.Identity[config.Identity.Kind]);
            if (config.Identity.KeyId is not null) sb.Append(' ').Append(config.Identity.KeyId);
            sb.Append('\n');
        }
        if (!config.NatTraversal.Enabled) sb.Append("no crypto isakmp nat-traversal\n");
        else if (config.NatTraversal.KeepaliveSeconds != AsaDefaults.NatTraversalKeepaliveSeconds)
            sb.Append("crypto isakmp nat-traversal ").Append(N(config.NatTraversal.KeepaliveSeconds)).Append('\n');
        if (config.AggressiveModeDisabled) sb.Append("crypto ikev1 am-disable\n");
        foreach (var iface in config.IsakmpEnabledInterfaces) sb.Append("crypto ikev1 enable ").Append(iface).Append('\n');
        foreach (var p in config.IsakmpPolicies)
        {
            sb.Append("crypto ikev1 policy ").Append(N(p.Priority)).Append('\n');
            sb.Append(" authentication ").Append(AsaKeywords.Authentication[p.Authentication]).Append('\n');
            sb.Append(" encryption ").Append(AsaKeywords.Encryption[p.Encryption]).Append('\n');
            sb.Append(" hash ").Append(AsaKeywords.Hash[p.Hash]).Append('\n');
            sb.Append(" group ").Append(N(p.Group)).Append('\n');
            sb.Append(" lifetime ").Append(N(p.LifetimeSeconds)).Append('\n');
        }
        return sb.ToString();
    }

    private static string Scope(string? nameif) => nameif is null ? "" : $"({nameif}) ";

    /// <summary>`show running-config tunnel-group`: keys masked unless <see cref="ShowOptions.RevealSecrets"/>.</summary>
    public static string ShowTunnelGroup(AsaConfig config, ShowOptions? options = null)
    {
        options ??= ShowOptions.Masked;
        var sb = new StringBuilder();
        foreach (var g in config.TunnelGroups)
        {
            var implicitType = g.Name is AsaDefaults.DefaultL2LGroup or AsaDefaults.DefaultRAGroup or "DefaultWEBVPNGroup";
            if (!implicitType) sb.Append("tunnel-group ").Append(g.Name).Append(" type ").Append(AsaKeywords.TunnelGroupTypeText[g.Type]).Append('\n');
            if (g.HasGeneralAttributes || g.AddressPoolSettings.Count > 0 || g.AuthenticationServerSettings.Count > 0 || g.DefaultGroupPolicy != AsaDefaults.DfltGrpPolicy)
            {
                // As the ASA prints them: address-pool, authentication-server-group, default-group-policy.
                sb.Append("tunnel-group ").Append(g.Name).Append(" general-attributes\n");
                foreach (var pools in g.AddressPoolSettings)
                    sb.Append(" address-pool ").Append(Scope(pools.Interface)).Append(string.Join(' ', pools.Value)).Append('\n');
                foreach (var server in g.AuthenticationServerSettings)
                    sb.Append(" authentication-server-group ").Append(Scope(server.Interface)).Append(server.Value.Group).Append(server.Value.LocalFallback ? " LOCAL" : "").Append('\n');
                if (g.DefaultGroupPolicy != AsaDefaults.DfltGrpPolicy) sb.Append(" default-group-policy ").Append(g.DefaultGroupPolicy).Append('\n');
            }
            var hasAttributes = g.HasIpsecAttributes || g.PreSharedKey is not null || g.Keepalive != IsakmpKeepalive.Default || g.UserAuthenticationSettings.Count > 0;
            if (!hasAttributes) continue;
            sb.Append("tunnel-group ").Append(g.Name).Append(" ipsec-attributes\n");
            if (g.PreSharedKey is not null)
                sb.Append(" ikev1 pre-shared-key ").Append(options.RevealSecrets ? g.PreSharedKey.Reveal() : PreSharedKey.Mask).Append('\n');
            foreach (var auth in g.UserAuthenticationSettings)
                sb.Append(" ikev1 user-authentication ").Append(Scope(auth.Interface)).Append(auth.Value switch
                {
                    IkeUserAuthentication.Xauth => "xauth",
                    IkeUserAuthentication.None => "none",
                    _ => "hybrid",
                }).Append('\n');
            var k = g.Keepalive;
            if (k.Disabled) sb.Append(" isakmp keepalive disable\n");
            else if (k != IsakmpKeepalive.Default)
                sb.Append(" isakmp keepalive threshold ").Append(k.ThresholdSeconds is { } t ? N(t) : "infinite").Append(" retry ").Append(N(k.RetrySeconds)).Append('\n');
        }
        return sb.ToString();
    }
}
