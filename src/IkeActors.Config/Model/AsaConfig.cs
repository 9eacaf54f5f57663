namespace IkeActors.Config.Model;

/// <summary>
/// The VPN-relevant part of an ASA configuration, as a typed model.
/// Records compare by value (lists are <see cref="ValueList{T}"/>), so two loads of
/// equivalent text (e.g. ASA 8.x and 9.x spellings) give equal models.
/// </summary>
public sealed record AsaConfig
{
    public string? Hostname { get; init; }
    public ValueList<NameEntry> Names { get; init; } = ValueList<NameEntry>.Empty;
    public ValueList<AsaInterface> Interfaces { get; init; } = ValueList<AsaInterface>.Empty;
    public ValueList<NetworkObject> NetworkObjects { get; init; } = ValueList<NetworkObject>.Empty;
    public ValueList<ServiceObject> ServiceObjects { get; init; } = ValueList<ServiceObject>.Empty;
    public ValueList<ObjectGroup> ObjectGroups { get; init; } = ValueList<ObjectGroup>.Empty;
    public ValueList<AccessList> AccessLists { get; init; } = ValueList<AccessList>.Empty;
    public ValueList<NatRule> NatRules { get; init; } = ValueList<NatRule>.Empty;
    public ValueList<TransformSet> TransformSets { get; init; } = ValueList<TransformSet>.Empty;
    public IpsecSaLifetime GlobalSaLifetime { get; init; } = IpsecSaLifetime.Default;
    public ValueList<CryptoMap> CryptoMaps { get; init; } = ValueList<CryptoMap>.Empty;
    /// <summary>`crypto dynamic-map NAME SEQ …`: templates a crypto map entry refers to (`ipsec-isakmp dynamic NAME`).</summary>
    public ValueList<DynamicMap> DynamicMaps { get; init; } = ValueList<DynamicMap>.Empty;
    /// <summary>Interfaces (by nameif) with `crypto isakmp enable` / `crypto ikev1 enable`.</summary>
    public ValueList<string> IsakmpEnabledInterfaces { get; init; } = ValueList<string>.Empty;
    /// <summary>ISAKMP policies in priority order (lowest number first).</summary>
    public ValueList<IsakmpPolicy> IsakmpPolicies { get; init; } = ValueList<IsakmpPolicy>.Empty;
    public IsakmpIdentitySetting Identity { get; init; } = IsakmpIdentitySetting.Default;
    public NatTraversal NatTraversal { get; init; } = NatTraversal.Default;
    /// <summary>`crypto ikev1 am-disable`: inbound Aggressive Mode is refused (ASA default: allowed).</summary>
    public bool AggressiveModeDisabled { get; init; }
    public ValueList<TunnelGroup> TunnelGroups { get; init; } = ValueList<TunnelGroup>.Empty;
    /// <summary>`mtu NAMEIF BYTES`, in file order (an interface without one has the ASA's 1500).</summary>
    public ValueList<InterfaceMtu> Mtus { get; init; } = ValueList<InterfaceMtu>.Empty;
    /// <summary>`crypto ipsec df-bit clear-df|copy-df|set-df NAMEIF` (copy-df where none is given).</summary>
    public ValueList<InterfaceDfBit> DfBitPolicies { get; init; } = ValueList<InterfaceDfBit>.Empty;
    /// <summary>`crypto ipsec fragmentation before-encryption|after-encryption NAMEIF` (before where none is given).</summary>
    public ValueList<InterfaceFragmentation> FragmentationPolicies { get; init; } = ValueList<InterfaceFragmentation>.Empty;
    /// <summary>`ip local pool NAME FIRST-LAST [mask MASK]`, in file order.</summary>
    public ValueList<IpLocalPool> IpLocalPools { get; init; } = ValueList<IpLocalPool>.Empty;
    /// <summary>`group-policy NAME internal` and their attributes; DfltGrpPolicy only when its attributes are written.</summary>
    public ValueList<GroupPolicy> GroupPolicies { get; init; } = ValueList<GroupPolicy>.Empty;
    /// <summary>`username NAME …`: the local user database (the `LOCAL` server group XAUTH checks).</summary>
    public ValueList<LocalUser> Users { get; init; } = ValueList<LocalUser>.Empty;

    /// <summary>An interface's MTU: its `mtu` line, else the ASA's default.</summary>
    public int MtuOf(string nameif) => Mtus.LastOrDefault(m => m.Nameif == nameif)?.Bytes ?? AsaDefaults.Mtu;
    public DfBitSetting DfBitOf(string nameif) => DfBitPolicies.LastOrDefault(d => d.Nameif == nameif)?.Policy ?? DfBitSetting.CopyDf;
    public bool FragmentsBeforeEncryption(string nameif) => FragmentationPolicies.LastOrDefault(f => f.Nameif == nameif)?.BeforeEncryption ?? true;

    public AsaInterface? FindInterface(string nameif) => Interfaces.FirstOrDefault(i => i.Nameif == nameif);
    public NetworkObject? FindObject(string name) => NetworkObjects.FirstOrDefault(o => o.Name == name);
    public ObjectGroup? FindObjectGroup(string name) => ObjectGroups.FirstOrDefault(o => o.Name == name);
    public ServiceObject? FindServiceObject(string name) => ServiceObjects.FirstOrDefault(o => o.Name == name);
    public AccessList? FindAccessList(string name) => AccessLists.FirstOrDefault(a => a.Name == name);
    public TransformSet? FindTransformSet(string name) => TransformSets.FirstOrDefault(t => t.Name == name);
    public CryptoMap? FindCryptoMap(string name) => CryptoMaps.FirstOrDefault(m => m.Name == name);
    public DynamicMap? FindDynamicMap(string name) => DynamicMaps.FirstOrDefault(m => m.Name == name);
    public TunnelGroup? FindTunnelGroup(string name) => TunnelGroups.FirstOrDefault(t => t.Name == name);
    public IpLocalPool? FindPool(string name) => IpLocalPools.FirstOrDefault(p => p.Name == name);
    public LocalUser? FindUser(string name) => Users.FirstOrDefault(u => u.Name == name);

    /// <summary>
    /// A group policy by name. DfltGrpPolicy always exists: the one written, else the built-in one
    /// (no attribute set, so every value is the ASA default).
    /// </summary>
    public GroupPolicy? FindGroupPolicy(string name) =>
        GroupPolicies.FirstOrDefault(g => g.Name == name) ?? (name == AsaDefaults.DfltGrpPolicy ? new GroupPolicy(name) : null);

    /// <summary>
    /// The remote-access tunnel group a client's group name (AM1's ID_KEY_ID, the EzVPN group) selects:
    /// a remote-access group of that name, else DefaultRAGroup, which the ASA always has (built-in,
    /// without a key, when not written).
    /// </summary>
    public TunnelGroup RemoteAccessGroup(string groupName) =>
        FindTunnelGroup(groupName) is { Type: TunnelGroupType.RemoteAccess or TunnelGroupType.IpsecRa } g ? g
        : FindTunnelGroup(AsaDefaults.DefaultRAGroup) ?? new TunnelGroup(AsaDefaults.DefaultRAGroup, TunnelGroupType.RemoteAccess);

    /// <summary>
    /// A group policy's attributes with inheritance resolved: each from the first of
    /// <paramref name="chain"/> that sets it (names that are null or not defined are skipped), then from
    /// DfltGrpPolicy, then the ASA default.
    /// </summary>
    public EffectiveGroupPolicy EffectiveGroupPolicy(params IEnumerable<string?> chain)
    {
        var policies = chain.OfType<string>().Select(n => GroupPolicies.FirstOrDefault(g => g.Name == n)).OfType<GroupPolicy>().ToList();
        policies.Add(FindGroupPolicy(AsaDefaults.DfltGrpPolicy)!);
        T? First<T>(Func<GroupPolicy, T?> attribute) where T : class => policies.Select(attribute).FirstOrDefault(v => v is not null);
        T? FirstValue<T>(Func<GroupPolicy, T?> attribute) where T : struct => policies.Select(attribute).FirstOrDefault(v => v is not null);
        var idle = FirstValue(p => p.IdleTimeoutMinutes);
        var session = FirstValue(p => p.SessionTimeoutMinutes);
        var split = FirstValue(p => p.SplitTunnelNetworkList);
        var domain = FirstValue(p => p.DefaultDomain);
        return new EffectiveGroupPolicy(policies[0].Name)
        {
            Banner = First(p => p.Banner) ?? ValueList<string>.Empty,
            DnsServers = First(p => p.DnsServers) ?? ValueList<uint>.Empty,
            SimultaneousLogins = FirstValue(p => p.SimultaneousLogins) ?? AsaDefaults.SimultaneousLogins,
            IdleTimeoutMinutes = idle is { } i ? (i.IsNone ? null : i.Value) : AsaDefaults.IdleTimeoutMinutes,
            SessionTimeoutMinutes = session is { IsNone: false } s ? s.Value : null,
            TunnelProtocols = First(p => p.TunnelProtocols) ?? AsaDefaults.TunnelProtocols,
            PasswordStorage = FirstValue(p => p.PasswordStorage) ?? AsaDefaults.PasswordStorage,
            SplitTunnelPolicy = FirstValue(p => p.SplitTunnelPolicy) ?? AsaDefaults.SplitTunnel,
            SplitTunnelNetworkList = split is { IsNone: false } l ? l.Value : null,
            DefaultDomain = domain is { IsNone: false } d ? d.Value : null,
            SplitDns = First(p => p.SplitDns) ?? ValueList<string>.Empty,
            AddressPools = First(p => p.AddressPools) ?? ValueList<string>.Empty,
        };
    }

    /// <summary>
    /// What a remote-access session gets, as the ASA resolves it: the user's attributes, then the user's
    /// `vpn-group-policy`, then the tunnel group's `default-group-policy`, then DfltGrpPolicy, then the
    /// ASA defaults (Cisco ASA configuration guide, "Connection Profiles, Group Policies, and Users").
    /// </summary>
    public EffectiveGroupPolicy EffectiveGroupPolicyFor(TunnelGroup group, LocalUser? user = null)
    {
        var policy = EffectiveGroupPolicy(user?.VpnGroupPolicy, group.DefaultGroupPolicy);
        return user?.SimultaneousLogins is { } logins ? policy with { SimultaneousLogins = logins } : policy;
    }

    /// <summary>
    /// The pools a session's address comes from, in the order to try them: the group policy's
    /// `address-pools` when it has any, else the tunnel group's `address-pool` for the interface
    /// (a group policy's pools take precedence over the connection profile's). A user with a
    /// `vpn-framed-ip-address` gets that address instead (<see cref="LocalUser.FramedAddress"/>).
    /// </summary>
    public IReadOnlyList<IpLocalPool> AddressPoolsFor(TunnelGroup group, LocalUser? user = null, string? nameif = null)
    {
        var names = EffectiveGroupPolicyFor(group, user).AddressPools;
        if (names.Count == 0) names = group.AddressPoolsOn(nameif);
        return names.Select(FindPool).OfType<IpLocalPool>().ToList();
    }

    /// <summary>
    /// A split-tunnel network list as the (address, mask) pairs sent to the client (Mode-Config
    /// SPLIT_INCLUDE / SPLIT_EXCLUDE): the permitted addresses of a standard ACL, or the permitted
    /// destinations of an extended one (objects and groups expanded, ranges cut into prefixes).
    /// Deny, inactive and remark lines send nothing. Empty when the ACL does not exist.
    /// </summary>
    public IReadOnlyList<Ipv4Prefix> SplitTunnelNetworks(string aclName)
    {
        if (FindAccessList(aclName) is not { } acl) return [];
        var lookup = new Lookup.CryptoMapLookup(this);
        var result = new List<Ipv4Prefix>();
        foreach (var e in acl.Entries.Where(e => !e.IsRemark && !e.Inactive && e.Action == AclAction.Permit))
            foreach (var range in lookup.Resolve(e.Destination))
                foreach (var prefix in range.ToPrefixes())
                    if (!result.Contains(prefix)) result.Add(prefix);
        return result;
    }

    /// <summary>The crypto map applied to an interface (`crypto map NAME interface IF`).</summary>
    public CryptoMap? CryptoMapOnInterface(string nameif) => CryptoMaps.FirstOrDefault(m => m.Interface == nameif);

    /// <summary>
    /// The tunnel-group an L2L peer lands on: the one named after its address, else
    /// DefaultL2LGroup (the ASA's "Connection landed on tunnel_group 10.0.0.2").
    /// </summary>
    public TunnelGroup? TunnelGroupForPeer(System.Net.IPAddress peer) =>
        FindTunnelGroup(peer.ToString()) ?? FindTunnelGroup(AsaDefaults.DefaultL2LGroup);

    /// <summary>The pre-shared key phase 1 uses with a peer (its tunnel-group's, else DefaultL2LGroup's).</summary>
    public PreSharedKey? PreSharedKeyForPeer(System.Net.IPAddress peer) =>
        FindTunnelGroup(peer.ToString())?.PreSharedKey ?? FindTunnelGroup(AsaDefaults.DefaultL2LGroup)?.PreSharedKey;

    /// <summary>
    /// Whether an Aggressive Mode from any address could authenticate: Aggressive Mode is not disabled and a
    /// remote-access tunnel group has a pre-shared key (its clients name the group in AM1's ID_KEY_ID).
    /// </summary>
    public bool AcceptsAggressiveModeByGroup =>
        !AggressiveModeDisabled && TunnelGroups.Any(g => g.IsRemoteAccess && g.PreSharedKey is not null);

    /// <summary>The transform sets an entry proposes, in its order (names that do not exist are left out).</summary>
    public IReadOnlyList<TransformSet> TransformSetsOf(CryptoMapEntry entry) =>
        entry.TransformSets.Select(FindTransformSet).OfType<TransformSet>().ToList();

    /// <summary>The address of the interface a crypto map is applied to (the local IKE endpoint).</summary>
    public System.Net.IPAddress? LocalAddressOf(CryptoMap map) =>
        map.Interface is { } nameif && FindInterface(nameif)?.Address is { } a ? a.Address : null;
}

/// <summary>`mtu NAMEIF BYTES` (64-9198 on the ASA).</summary>
public sealed record InterfaceMtu(string Nameif, int Bytes);

/// <summary>The outer header's DF bit for tunnels on an interface (`crypto ipsec df-bit`).</summary>
public enum DfBitSetting { CopyDf, ClearDf, SetDf }

/// <summary>`crypto ipsec df-bit clear-df|copy-df|set-df NAMEIF`.</summary>
public sealed record InterfaceDfBit(string Nameif, DfBitSetting Policy);

/// <summary>`crypto ipsec fragmentation before-encryption|after-encryption NAMEIF`.</summary>
public sealed record InterfaceFragmentation(string Nameif, bool BeforeEncryption);

/// <summary>`name 192.168.1.0 HQ-LAN [description TEXT]` (ASA 8.x style names for addresses).</summary>
public sealed record NameEntry(uint Address, string Name, string? Description = null);

/// <summary>An `interface` block: the hardware name, its `nameif`, `security-level`, `ip address`.</summary>
public sealed record AsaInterface(string HardwareName)
{
    public string? Nameif { get; init; }
    public int? SecurityLevel { get; init; }
    /// <summary>`ip address A.B.C.D MASK`: the interface's own address and its subnet.</summary>
    public InterfaceAddress? Address { get; init; }
    /// <summary>`ip address dhcp [setroute]`.</summary>
    public bool Dhcp { get; init; }
    public bool DhcpSetRoute { get; init; }
    public uint? StandbyAddress { get; init; }
}

/// <summary>An interface address: the host address and the prefix length of its subnet.</summary>
public readonly record struct InterfaceAddress(uint Host, int Length)
{
    public Ipv4Prefix Subnet => new(Host, Length);
    public System.Net.IPAddress Address => Ipv4.ToAddress(Host);
    public override string ToString() => $"{Ipv4.Format(Host)} {Ipv4.Format(Ipv4.MaskFromLength(Length))}";
}

public enum NetworkObjectKind { Host, Subnet, Range, Fqdn }

/// <summary>`object network NAME` with `host`, `subnet`, `range` or `fqdn`.</summary>
public sealed record NetworkObject(string Name)
{
    public NetworkObjectKind? Kind { get; init; }
    public uint Host { get; init; }
    public Ipv4Prefix Subnet { get; init; }
    public Ipv4Range Range { get; init; }
    public string? Fqdn { get; init; }
    public string? Description { get; init; }

    public static NetworkObject ForHost(string name, uint a) => new(name) { Kind = NetworkObjectKind.Host, Host = a };
    public static NetworkObject ForSubnet(string name, Ipv4Prefix p) => new(name) { Kind = NetworkObjectKind.Subnet, Subnet = p };
    public static NetworkObject ForRange(string name, Ipv4Range r) => new(name) { Kind = NetworkObjectKind.Range, Range = r };
}

public enum ObjectGroupType { Network, Service, Protocol, IcmpType, User, Security }

public enum ObjectGroupMemberKind { Host, Subnet, Object, Group }

/// <summary>`network-object host A` / `network-object A M` / `network-object object N` / `group-object N`.</summary>
public sealed record ObjectGroupMember(ObjectGroupMemberKind Kind, uint Host = 0, Ipv4Prefix Subnet = default, string? Name = null);

/// <summary>
/// An `object-group`. Network groups have <see cref="Members"/>; service, protocol and
/// icmp-type groups have <see cref="Services"/>; user and security groups are kept by name only.
/// </summary>
public sealed record ObjectGroup(string Name, ObjectGroupType Type)
{
    /// <summary>`object-group service NAME tcp|udp|tcp-udp`: the protocol its `port-object`s apply to.</summary>
    public string? ServiceProtocol { get; init; }
    public string? Description { get; init; }
    public ValueList<ObjectGroupMember> Members { get; init; } = ValueList<ObjectGroupMember>.Empty;
    public ValueList<ServiceMember> Services { get; init; } = ValueList<ServiceMember>.Empty;
}

/// <summary>
/// What a service matches: an IP protocol (0 = any, <see cref="TcpUdp"/> = tcp or udp) with
/// optional source/destination port conditions or an ICMP type.
/// </summary>
public sealed record ServiceSpec(int Protocol, PortSpec? SourcePort = null, PortSpec? DestinationPort = null, int? IcmpType = null)
{
    /// <summary>The `tcp-udp` keyword of service objects and groups.</summary>
    public const int TcpUdp = 256;

    public bool MatchesProtocol(int protocol) =>
        Protocol == 0 || Protocol == protocol || Protocol == TcpUdp && protocol is 6 or 17;
}

/// <summary>`object service NAME` with its `service …` line.</summary>
public sealed record ServiceObject(string Name)
{
    public ServiceSpec? Service { get; init; }
    public string? Description { get; init; }
}

public enum ServiceMemberKind { Port, Service, ServiceObject, Protocol, Icmp, Group }

/// <summary>
/// A line of a service, protocol or icmp-type object-group: `port-object eq www`,
/// `service-object tcp destination eq https`, `service-object object NAME`,
/// `protocol-object udp`, `icmp-object echo`, `group-object NAME`.
/// </summary>
public sealed record ServiceMember(ServiceMemberKind Kind, PortSpec? Port = null, ServiceSpec? Service = null, int Protocol = 0, int IcmpType = 0, string? Name = null);

public enum AddressKind { Any, Any4, Any6, Host, Subnet, Object, ObjectGroup, Interface }

/// <summary>A source or destination in an access-list entry.</summary>
public sealed record AddressSpec(AddressKind Kind, uint Host = 0, Ipv4Prefix Subnet = default, string? Name = null)
{
    public static readonly AddressSpec Any = new(AddressKind.Any);
    public static AddressSpec ForHost(uint a) => new(AddressKind.Host, Host: a);
    public static AddressSpec ForSubnet(Ipv4Prefix p) => new(AddressKind.Subnet, Subnet: p);
    public static AddressSpec ForObject(string n) => new(AddressKind.Object, Name: n);
    public static AddressSpec ForObjectGroup(string n) => new(AddressKind.ObjectGroup, Name: n);
}

public enum PortOperator { Eq, Neq, Lt, Gt, Range, ObjectGroup }

/// <summary>A port condition: `eq N`, `neq N`, `lt N`, `gt N`, `range A B`, or a service `object-group`.</summary>
public sealed record PortSpec(PortOperator Operator, int Low = 0, int High = 0, string? GroupName = null)
{
    public bool Matches(int port) => Operator switch
    {
        PortOperator.Eq => port == Low,
        PortOperator.Neq => port != Low,
        PortOperator.Lt => port < Low,
        PortOperator.Gt => port > Low,
        PortOperator.Range => port >= Low && port <= High,
        _ => false, // a port object-group: CryptoMapLookup expands it to its members first
    };
}

/// <summary>
/// One line of an access-list: a remark, an extended entry
/// `permit|deny PROTO SRC [port] DST [port|icmp-type] [log…] [time-range N] [inactive]`, or a
/// standard entry `permit|deny any4|host A|A MASK` (<see cref="Standard"/>: its address is the
/// <see cref="Destination"/>, as the ASA's standard ACLs name destination addresses).
/// </summary>
public sealed record AccessListEntry
{
    public string? Remark { get; init; }
    /// <summary>`access-list NAME standard …`: only <see cref="Action"/> and <see cref="Destination"/> are used.</summary>
    public bool Standard { get; init; }
    public AclAction Action { get; init; }
    /// <summary>IP protocol number; 0 is `ip` (any protocol), -1 when a service object(-group) stands in its place.</summary>
    public int Protocol { get; init; }
    /// <summary>`object-group NAME` / `object NAME` in the protocol position (not interpreted for matching).</summary>
    public string? ServiceObject { get; init; }
    public bool ServiceIsGroup { get; init; }
    public AddressSpec Source { get; init; } = AddressSpec.Any;
    public PortSpec? SourcePort { get; init; }
    public AddressSpec Destination { get; init; } = AddressSpec.Any;
    public PortSpec? DestinationPort { get; init; }
    public int? IcmpType { get; init; }
    /// <summary>`object-group NAME` of type icmp-type in the ICMP type position.</summary>
    public string? IcmpGroup { get; init; }
    /// <summary>The `log …` clause as written (normalized spacing), if any.</summary>
    public string? Log { get; init; }
    public string? TimeRange { get; init; }
    public bool Inactive { get; init; }

    public bool IsRemark => Remark is not null;

    public static AccessListEntry ForRemark(string text) => new() { Remark = text };
}

/// <summary>An access-list: all lines with the same name, in order.</summary>
public sealed record AccessList(string Name)
{
    public ValueList<AccessListEntry> Entries { get; init; } = ValueList<AccessListEntry>.Empty;

    /// <summary>A standard ACL (`access-list NAME standard …`): destination addresses only, for split tunnelling.</summary>
    public bool IsStandard => Entries.Any(e => e.Standard);
}

public enum NatKind { Twice, Exemption }

/// <summary>
/// A NAT rule that matters for VPN traffic. ASA 8.3+ twice NAT:
/// `nat (inside,outside) source static A A destination static B B [no-proxy-arp] [route-lookup]`;
/// ASA 8.2 and earlier exemption: `nat (inside) 0 access-list ACL`.
/// </summary>
public sealed record NatRule(NatKind Kind, string RealInterface)
{
    public string? MappedInterface { get; init; }
    /// <summary>`after-auto` (8.4) / `after-object` (9.x) section.</summary>
    public string? Section { get; init; }
    public int? LineNumber { get; init; }
    public bool SourceDynamic { get; init; }
    public string? SourceReal { get; init; }
    public string? SourceMapped { get; init; }
    public string? DestinationMapped { get; init; }
    public string? DestinationReal { get; init; }
    public string? ServiceReal { get; init; }
    public string? ServiceMapped { get; init; }
    public bool NoProxyArp { get; init; }
    public bool RouteLookup { get; init; }
    public bool Unidirectional { get; init; }
    public bool Inactive { get; init; }
    public string? Description { get; init; }
    /// <summary>For <see cref="NatKind.Exemption"/>: the access-list naming exempted traffic.</summary>
    public string? AccessList { get; init; }
}

/// <summary>`crypto ipsec [ikev1] transform-set NAME ENC [AUTH]` and its `mode`.</summary>
public sealed record TransformSet(string Name, EspEncryption Encryption, EspAuthentication Integrity)
{
    public IpsecMode Mode { get; init; } = AsaDefaults.TransformSetMode;

    /// <summary>As `show crypto ipsec sa` prints it: "esp-aes esp-sha-hmac".</summary>
    public string TransformText => Integrity == EspAuthentication.None
        ? AsaKeywords.EspEncryptionText[Encryption]
        : $"{AsaKeywords.EspEncryptionText[Encryption]} {AsaKeywords.EspAuthenticationText[Integrity]}";
}

/// <summary>IPsec SA lifetime (seconds and kilobytes); null kilobytes is `unlimited`.</summary>
public sealed record IpsecSaLifetime(int Seconds, long? Kilobytes)
{
    public static readonly IpsecSaLifetime Default = new(AsaDefaults.IpsecSaLifetimeSeconds, AsaDefaults.IpsecSaLifetimeKilobytes);
}

/// <summary>
/// One `crypto map NAME SEQ …` entry, or one `crypto dynamic-map NAME SEQ …` entry (the same
/// settings; a dynamic entry needs only a transform set and matches any peer).
/// </summary>
public sealed record CryptoMapEntry(int Sequence)
{
    /// <summary>`crypto map NAME SEQ ipsec-isakmp dynamic DYN`: this entry stands for dynamic map DYN's entries.</summary>
    public string? DynamicMap { get; init; }
    public string? MatchAddress { get; init; }
    public ValueList<System.Net.IPAddress> Peers { get; init; } = ValueList<System.Net.IPAddress>.Empty;
    public ValueList<string> TransformSets { get; init; } = ValueList<string>.Empty;
    /// <summary>`set pfs [groupN]`; null when PFS is not set.</summary>
    public int? PfsGroup { get; init; }
    /// <summary>`set security-association lifetime seconds N`; null inherits the global value.</summary>
    public int? LifetimeSeconds { get; init; }
    /// <summary>`set security-association lifetime kilobytes N`; null inherits the global value.</summary>
    public long? LifetimeKilobytes { get; init; }
    public bool LifetimeKilobytesUnlimited { get; init; }
    public bool ReverseRoute { get; init; }
    public ConnectionType ConnectionType { get; init; } = AsaDefaults.CryptoMapConnectionType;
    /// <summary>
    /// `set ikev1 phase1-mode aggressive [groupN]` (8.2: `set phase1-mode …`): this entry initiates Aggressive Mode with
    /// DH group N (the KE goes in the first message, so the group is fixed up front; group 2 when not given). Null: Main Mode.
    /// </summary>
    public int? AggressiveModeGroup { get; init; }

    /// <summary>An entry needs an ACL, a peer and a transform set to be used (ASA "incomplete" otherwise).</summary>
    public bool IsComplete => MatchAddress is not null && Peers.Count > 0 && TransformSets.Count > 0;

    /// <summary>A dynamic map entry needs only a transform set (ASA CLI guide, "Using Dynamic Crypto Maps").</summary>
    public bool IsCompleteDynamic => TransformSets.Count > 0;

    /// <summary>The lifetime this entry proposes, with the global value where it sets none.</summary>
    public IpsecSaLifetime EffectiveLifetime(IpsecSaLifetime global) => new(
        LifetimeSeconds ?? global.Seconds,
        LifetimeKilobytesUnlimited ? null : LifetimeKilobytes ?? global.Kilobytes);
}

/// <summary>A crypto map: its entries in sequence-number order and the interface it is applied to.</summary>
public sealed record CryptoMap(string Name)
{
    public ValueList<CryptoMapEntry> Entries { get; init; } = ValueList<CryptoMapEntry>.Empty;
    public string? Interface { get; init; }
    /// <summary>`client configuration address initiate`: the head-end pushes Mode Config (SET) instead of answering a request.</summary>
    public bool ModeConfigInitiate { get; init; }

    public CryptoMapEntry? Entry(int sequence) => Entries.FirstOrDefault(e => e.Sequence == sequence);
}

/// <summary>
/// `crypto dynamic-map NAME SEQ …`: entries tried by sequence number when a peer's proposal
/// reaches the crypto map entry that refers to this map. Responder only: the ASA never
/// initiates on a dynamic map.
/// </summary>
public sealed record DynamicMap(string Name)
{
    public ValueList<CryptoMapEntry> Entries { get; init; } = ValueList<CryptoMapEntry>.Empty;

    public CryptoMapEntry? Entry(int sequence) => Entries.FirstOrDefault(e => e.Sequence == sequence);
}

/// <summary>`crypto isakmp policy N` / `crypto ikev1 policy N` with its parameters (defaults where absent).</summary>
public sealed record IsakmpPolicy(int Priority)
{
    public IsakmpAuthentication Authentication { get; init; } = AsaDefaults.IsakmpPolicyAuthentication;
    public IkeEncryption Encryption { get; init; } = AsaDefaults.IsakmpPolicyEncryption;
    public IkeHash Hash { get; init; } = AsaDefaults.IsakmpPolicyHash;
    public int Group { get; init; } = AsaDefaults.IsakmpPolicyGroup;
    public int LifetimeSeconds { get; init; } = AsaDefaults.IsakmpPolicyLifetimeSeconds;
}

/// <summary>`crypto isakmp identity address|hostname|key-id ID|auto`.</summary>
public sealed record IsakmpIdentitySetting(IsakmpIdentity Kind, string? KeyId = null)
{
    public static readonly IsakmpIdentitySetting Default = new(AsaDefaults.Identity);
}

/// <summary>`crypto isakmp nat-traversal [N]` / `no crypto isakmp nat-traversal`.</summary>
public sealed record NatTraversal(bool Enabled, int KeepaliveSeconds)
{
    public static readonly NatTraversal Default = new(AsaDefaults.NatTraversalEnabled, AsaDefaults.NatTraversalKeepaliveSeconds);
}

/// <summary>`isakmp keepalive threshold N retry M` / `threshold infinite` / `disable` (DPD, RFC 3706).</summary>
public sealed record IsakmpKeepalive(bool Disabled, int? ThresholdSeconds, int RetrySeconds)
{
    public static readonly IsakmpKeepalive Default = new(false, AsaDefaults.DpdThresholdSeconds, AsaDefaults.DpdRetrySeconds);
    public bool Infinite => !Disabled && ThresholdSeconds is null;
}

/// <summary>A `tunnel-group NAME` with its type, general-attributes and ipsec-attributes.</summary>
public sealed record TunnelGroup(string Name, TunnelGroupType Type)
{
    /// <summary>A remote-access connection profile (`remote-access`, or 8.x's `ipsec-ra`): clients name it by group.</summary>
    public bool IsRemoteAccess => Type is TunnelGroupType.RemoteAccess or TunnelGroupType.IpsecRa;

    /// <summary>`address-pool [(IF)] POOL…` lines, one per interface (Interface null: all interfaces).</summary>
    public ValueList<InterfaceScoped<ValueList<string>>> AddressPoolSettings { get; init; } = ValueList<InterfaceScoped<ValueList<string>>>.Empty;
    /// <summary>`default-group-policy NAME` (DfltGrpPolicy when not written).</summary>
    public string DefaultGroupPolicy { get; init; } = AsaDefaults.DfltGrpPolicy;
    /// <summary>`authentication-server-group [(IF)] NAME [LOCAL]` lines (LOCAL when none is written).</summary>
    public ValueList<InterfaceScoped<AuthenticationServer>> AuthenticationServerSettings { get; init; } = ValueList<InterfaceScoped<AuthenticationServer>>.Empty;
    /// <summary>True when a `general-attributes` block was present.</summary>
    public bool HasGeneralAttributes { get; init; }
    /// <summary>`ikev1 user-authentication [(IF)] none|xauth|hybrid` lines (8.2: `isakmp ikev1-user-authentication`).</summary>
    public ValueList<InterfaceScoped<IkeUserAuthentication>> UserAuthenticationSettings { get; init; } = ValueList<InterfaceScoped<IkeUserAuthentication>>.Empty;

    /// <summary>The pools of the `address-pool` line without an interface.</summary>
    public ValueList<string> AddressPools => AddressPoolsOn(null);

    /// <summary>The pools for sessions on an interface: that interface's `address-pool` line, else the one for all.</summary>
    public ValueList<string> AddressPoolsOn(string? nameif) => Scoped(AddressPoolSettings, nameif) ?? ValueList<string>.Empty;

    /// <summary>Who checks XAUTH passwords: the `authentication-server-group` for all interfaces, else LOCAL.</summary>
    public AuthenticationServer AuthenticationServer => AuthenticationServerOn(null);

    public AuthenticationServer AuthenticationServerOn(string? nameif) => Scoped(AuthenticationServerSettings, nameif) ?? AuthenticationServer.Local;

    /// <summary>
    /// Whether remote-access clients of this group authenticate with XAUTH after phase 1 (xauth, the
    /// default for remote-access groups), or not (none); hybrid is XAUTH with a certificate on the
    /// ASA's side only. For a LAN-to-LAN group: none.
    /// </summary>
    public IkeUserAuthentication UserAuthentication => UserAuthenticationOn(null);

    public IkeUserAuthentication UserAuthenticationOn(string? nameif) =>
        Type is not (TunnelGroupType.RemoteAccess or TunnelGroupType.IpsecRa) ? IkeUserAuthentication.None
        : UserAuthenticationSettings.FirstOrDefault(s => s.Interface == nameif && nameif is not null)?.Value
          ?? UserAuthenticationSettings.FirstOrDefault(s => s.Interface is null)?.Value
          ?? AsaDefaults.RemoteAccessUserAuthentication;

    private static T? Scoped<T>(ValueList<InterfaceScoped<T>> settings, string? nameif) where T : class =>
        (nameif is null ? null : settings.FirstOrDefault(s => s.Interface == nameif)?.Value) ?? settings.FirstOrDefault(s => s.Interface is null)?.Value;

    /// <summary>`pre-shared-key` (8.x) / `ikev1 pre-shared-key` (9.x); ToString() masks it.</summary>
    public PreSharedKey? PreSharedKey { get; init; }
    public IsakmpKeepalive Keepalive { get; init; } = IsakmpKeepalive.Default;
    /// <summary>True when an `ipsec-attributes` block was present.</summary>
    public bool HasIpsecAttributes { get; init; }
}
