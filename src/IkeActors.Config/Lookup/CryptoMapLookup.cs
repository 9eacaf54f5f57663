using System.Net;
using IkeActors.Config.Model;

namespace IkeActors.Config.Lookup;

/// <summary>
/// A Quick Mode proxy identity (RFC 2407 section 4.6.2: ID_IPV4_ADDR, _SUBNET or _RANGE,
/// with protocol and port; 0 means any).
/// </summary>
public readonly record struct ProxyId(Ipv4Range Range, int Protocol = 0, int Port = 0)
{
    public static ProxyId Subnet(IPAddress address, IPAddress mask, int protocol = 0, int port = 0) =>
        new(new Ipv4Prefix(Ipv4.ToUInt32(address), Ipv4.MaskLength(Ipv4.ToUInt32(mask))).ToRange(), protocol, port);

    public static ProxyId Subnet(string addressMask, int protocol = 0, int port = 0) =>
        new(Ipv4Prefix.Parse(addressMask).ToRange(), protocol, port);

    public static ProxyId Host(IPAddress address, int protocol = 0, int port = 0) =>
        new(new Ipv4Range(Ipv4.ToUInt32(address), Ipv4.ToUInt32(address)), protocol, port);

    /// <summary>The subnet form, when the range is one (what ID_IPV4_ADDR_SUBNET carries).</summary>
    public Ipv4Prefix? Prefix => Range.AsPrefix();

    /// <summary>As `show crypto ipsec sa` prints an ident: "192.168.1.0/255.255.255.0/1/0".</summary>
    public override string ToString() => Prefix is { } p
        ? $"{Ipv4.Format(p.Network)}/{Ipv4.Format(p.Mask)}/{Protocol}/{Port}"
        : $"{Range}/{Protocol}/{Port}";
}

/// <summary>An outbound packet as the crypto map sees it (ports 0 when the protocol has none).</summary>
public readonly record struct Packet(IPAddress Source, IPAddress Destination, int Protocol, int SourcePort = 0, int DestinationPort = 0, int? IcmpType = null);

/// <summary>
/// The crypto map entry traffic or a proposal hit, the ACE it hit, and the proxy IDs that ACE gives.
/// For a proposal accepted by a dynamic map, <see cref="Map"/> is the crypto map whose entry refers
/// to it, <see cref="Entry"/> the dynamic map's entry (its transform sets, PFS and lifetime), and the
/// ACL and ACE are null when that entry has no `match address` (any proxies).
/// </summary>
public sealed record CryptoMapMatch(CryptoMap Map, CryptoMapEntry Entry, AccessList? AccessList, AccessListEntry? Ace, ProxyId Local, ProxyId Remote)
{
    /// <summary>The dynamic map whose entry matched; null for a static entry.</summary>
    public DynamicMap? Dynamic { get; init; }

    /// <summary>
    /// The map name the ASA prints for the SA ("Crypto map tag: NAME, seq num: SEQ"): the dynamic
    /// map's name for a dynamic match, with <see cref="Entry"/>'s sequence number.
    /// </summary>
    public string Tag => Dynamic?.Name ?? Map.Name;
}

/// <summary>What one step of the responder's crypto map check found.</summary>
public enum MapCheckOutcome
{
    /// <summary>A static entry matched: "Static Crypto Map check, map MAP seq = N is a successful match".</summary>
    Matched,
    /// <summary>A static entry did not (incomplete, ACL or peer).</summary>
    NotMatched,
    /// <summary>A static entry that refers to a dynamic map: "Static Crypto Map Check by-passed: Crypto map entry incomplete!".</summary>
    DynamicReference,
    /// <summary>The peer is listed in an earlier static entry, so the dynamic map is not used for it.</summary>
    DynamicSkipped,
    /// <summary>A dynamic map entry matched (its ACL covers the proxies, or it has none).</summary>
    DynamicMatched,
    /// <summary>A dynamic map entry did not (no transform set, or its ACL does not cover the proxies).</summary>
    DynamicNotMatched,
}

/// <summary>One step of the ASA's "Static Crypto Map check" (one map entry tried), for debug output.</summary>
public sealed record StaticMapCheckStep(string Map, int Sequence, bool Matched, string Reason)
{
    public MapCheckOutcome Outcome { get; init; } = Matched ? MapCheckOutcome.Matched : MapCheckOutcome.NotMatched;
}

/// <summary>The result of a Static Crypto Map check: the steps in order and the entry that matched, if any.</summary>
public sealed record StaticMapCheckResult(IReadOnlyList<StaticMapCheckStep> Steps, CryptoMapMatch? Match);

/// <summary>
/// Crypto map lookups used by negotiation: which entry protects an outbound packet
/// (initiator: "IPSEC(crypto_map_check): … MAP 10: matched"), and which entry accepts
/// the proxy IDs a peer proposes (responder: "Static Crypto Map check, map MAP seq = 10
/// is a successful match"). Entries are tried by sequence number; the first one wins. An entry
/// that refers to a dynamic map (`ipsec-isakmp dynamic DYN`) is tried by the responder only.
/// </summary>
public sealed class CryptoMapLookup(AsaConfig config)
{
    // Address specs resolve to the same ranges for the life of a config: resolve each once.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<AddressSpec, IReadOnlyList<Ipv4Range>> _resolved = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<AccessListEntry, IReadOnlyList<ServiceSpec>> _services = new();
    private readonly Dictionary<string, AccessList> _acls = config.AccessLists.GroupBy(a => a.Name).ToDictionary(g => g.Key, g => g.First());

    /// <summary>The maps in play: the one on the interface, or every applied map.</summary>
    private IEnumerable<CryptoMap> Maps(string? interfaceName) => interfaceName is null
        ? config.CryptoMaps.Where(m => m.Interface is not null)
        : config.CryptoMaps.Where(m => m.Interface == interfaceName);

    /// <summary>
    /// The first complete entry (by sequence number) whose ACL permits the packet. As on the ASA,
    /// an ACL is read top-down and its first matching line decides; a `deny` line means "not
    /// this entry" and the next entry is tried.
    /// </summary>
    public CryptoMapMatch? MatchOutbound(Packet packet, string? interfaceName = null)
    {
        if (!IsIpv4(packet.Source) || !IsIpv4(packet.Destination)) return null; // crypto maps here carry IPv4 only
        foreach (var map in Maps(interfaceName))
        {
            foreach (var entry in map.Entries)
            {
                // A dynamic map reference is incomplete here: the ASA never initiates on a dynamic map.
                if (!entry.IsComplete || !_acls.TryGetValue(entry.MatchAddress!, out var acl)) continue;
                foreach (var ace in acl.Entries)
                {
                    if (ace.IsRemark || ace.Inactive || MatchingService(ace, packet) is not { } service) continue;
                    if (ace.Action == AclAction.Deny) break;
                    // The proxy IDs are the ACE (one member of each group it names) that the packet hit.
                    var src = Ipv4.ToUInt32(packet.Source);
                    var dst = Ipv4.ToUInt32(packet.Destination);
                    var protocol = service.Protocol == ServiceSpec.TcpUdp ? packet.Protocol : service.Protocol;
                    var local = new ProxyId(Resolve(ace.Source).First(r => r.Contains(src)), protocol,
                        service.SourcePort is { Operator: PortOperator.Eq } sp ? sp.Low : 0);
                    var remote = new ProxyId(Resolve(ace.Destination).First(r => r.Contains(dst)), protocol,
                        service.DestinationPort is { Operator: PortOperator.Eq } dp ? dp.Low : 0);
                    return new CryptoMapMatch(map, entry, acl, ace, local, remote);
                }
            }
        }
        return null;
    }

    /// <summary>
    /// Responder side: the first entry (by sequence number) whose ACL has a permit line covering
    /// the proposed proxies — local (our side) within the ACE source, remote (the peer's side)
    /// within the ACE destination, protocol and port within the ACE's — and which lists the peer.
    /// </summary>
    public CryptoMapMatch? MatchProxy(IPAddress peer, ProxyId local, ProxyId remote, string? interfaceName = null) =>
        StaticCryptoMapCheck(peer, local, remote, interfaceName).Match;

    /// <summary>
    /// <see cref="MatchProxy"/> with every entry tried, for `debug crypto ikev1` lines. A static entry
    /// matches when its ACL covers the proxies and it lists the peer; an entry that refers to a
    /// dynamic map tries that map's entries by sequence number, with no peer check: one whose ACL
    /// covers the proxies, or that has no `match address`, matches. A peer listed in an earlier
    /// static entry does not fall through to the dynamic map (the ASA's "cannot match peerless map
    /// when peer found in previous map entry").
    /// </summary>
    public StaticMapCheckResult StaticCryptoMapCheck(IPAddress peer, ProxyId local, ProxyId remote, string? interfaceName = null)
    {
        var steps = new List<StaticMapCheckStep>();
        foreach (var map in Maps(interfaceName))
        {
            var peerListed = false;
            foreach (var entry in map.Entries)
            {
                if (entry.DynamicMap is { } dynamicName)
                {
                    steps.Add(new StaticMapCheckStep(map.Name, entry.Sequence, false, "dynamic map " + dynamicName) { Outcome = MapCheckOutcome.DynamicReference });
                    if (config.FindDynamicMap(dynamicName) is not { } dynamicMap) continue;
                    if (CheckDynamicMap(map, dynamicMap, peerListed, local, remote, steps) is { } dynamicMatch)
                        return new StaticMapCheckResult(steps, dynamicMatch);
                    continue;
                }
                peerListed |= entry.Peers.Contains(peer);
                if (!entry.IsComplete || !_acls.TryGetValue(entry.MatchAddress!, out var acl))
                {
                    steps.Add(new StaticMapCheckStep(map.Name, entry.Sequence, false, "crypto map entry incomplete"));
                    continue;
                }
                var ace = FirstCoveringAce(acl, local, remote);
                if (ace is null || ace.Action == AclAction.Deny)
                {
                    steps.Add(new StaticMapCheckStep(map.Name, entry.Sequence, false, "proxy IDs not in access-list " + acl.Name));
                    continue;
                }
                if (!entry.Peers.Contains(peer))
                {
                    steps.Add(new StaticMapCheckStep(map.Name, entry.Sequence, false, $"peer {peer} is not a peer of this entry"));
                    continue;
                }
                steps.Add(new StaticMapCheckStep(map.Name, entry.Sequence, true, "successful match"));
                return new StaticMapCheckResult(steps, new CryptoMapMatch(map, entry, acl, ace, local, remote));
            }
        }
        return new StaticMapCheckResult(steps, null);
    }

    /// <summary>The entries of a dynamic map, by sequence number: the first that accepts the proxies (any peer).</summary>
    private CryptoMapMatch? CheckDynamicMap(CryptoMap map, DynamicMap dynamicMap, bool peerListed, ProxyId local, ProxyId remote, List<StaticMapCheckStep> steps)
    {
        foreach (var entry in dynamicMap.Entries)
        {
            if (peerListed)
            {
                steps.Add(new StaticMapCheckStep(dynamicMap.Name, entry.Sequence, false, "cannot match peerless map when peer found in previous map entry") { Outcome = MapCheckOutcome.DynamicSkipped });
                continue;
            }
            if (!entry.IsCompleteDynamic)
            {
                steps.Add(new StaticMapCheckStep(dynamicMap.Name, entry.Sequence, false, "dynamic map entry incomplete") { Outcome = MapCheckOutcome.DynamicNotMatched });
                continue;
            }
            AccessList? acl = null;
            AccessListEntry? ace = null;
            if (entry.MatchAddress is { } aclName)
            {
                // A `match address` naming no access-list accepts nothing (config check reports it).
                ace = _acls.TryGetValue(aclName, out acl) ? FirstCoveringAce(acl, local, remote) : null;
                if (ace is null || ace.Action == AclAction.Deny)
                {
                    steps.Add(new StaticMapCheckStep(dynamicMap.Name, entry.Sequence, false, "proxy IDs not in access-list " + aclName) { Outcome = MapCheckOutcome.DynamicNotMatched });
                    continue;
                }
            }
            steps.Add(new StaticMapCheckStep(dynamicMap.Name, entry.Sequence, true, "successful match") { Outcome = MapCheckOutcome.DynamicMatched });
            return new CryptoMapMatch(map, entry, acl, ace, local, remote) { Dynamic = dynamicMap };
        }
        return null;
    }

    private AccessListEntry? FirstCoveringAce(AccessList acl, ProxyId local, ProxyId remote)
    {
        if (local.Protocol != remote.Protocol) return null;
        foreach (var ace in acl.Entries)
        {
            if (ace.IsRemark || ace.Inactive) continue;
            // A proxy protocol of 0 (all) is covered only by an `ip` line; ICMP types are not
            // part of proxy IDs and so do not narrow a line here.
            var covered = Services(ace).Any(s =>
                (s.Protocol == 0 || s.Protocol == local.Protocol || s.Protocol == ServiceSpec.TcpUdp && local.Protocol is 6 or 17)
                && PortCovers(s.SourcePort, local.Port) && PortCovers(s.DestinationPort, remote.Port));
            if (!covered) continue;
            if (!Resolve(ace.Source).Any(r => r.Contains(local.Range))) continue;
            if (!Resolve(ace.Destination).Any(r => r.Contains(remote.Range))) continue;
            return ace;
        }
        return null;
    }

    /// <summary>A proxy port of 0 means every port: only an ACE without a port condition covers it.</summary>
    private static bool PortCovers(PortSpec? spec, int proxyPort) =>
        spec is null || proxyPort != 0 && spec.Matches(proxyPort);

    private static bool IsIpv4(IPAddress a) => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;

    /// <summary>True when the ACE's protocol, addresses and ports all match the packet.</summary>
    public bool Matches(AccessListEntry ace, Packet packet) => MatchingService(ace, packet) is not null;

    /// <summary>The first service of the ACE (protocol, ports, ICMP type) the packet matches, if its addresses match too.</summary>
    private ServiceSpec? MatchingService(AccessListEntry ace, Packet packet)
    {
        if (ace.IsRemark || !IsIpv4(packet.Source) || !IsIpv4(packet.Destination)) return null;
        var src = Ipv4.ToUInt32(packet.Source);
        var dst = Ipv4.ToUInt32(packet.Destination);
        if (!Resolve(ace.Source).Any(r => r.Contains(src))) return null;
        if (!Resolve(ace.Destination).Any(r => r.Contains(dst))) return null;
        return Services(ace).FirstOrDefault(s =>
            s.MatchesProtocol(packet.Protocol)
            && (s.SourcePort is null || s.SourcePort.Matches(packet.SourcePort))
            && (s.DestinationPort is null || s.DestinationPort.Matches(packet.DestinationPort))
            && (s.IcmpType is null || packet.Protocol == 1 && packet.IcmpType == s.IcmpType));
    }

    /// <summary>
    /// The concrete services an ACE stands for: its protocol (or the members of the service or
    /// protocol object/group in that position) combined with its port conditions (port groups
    /// expanded) and ICMP type (icmp-type groups expanded). As the ASA expands object-groups
    /// into one ACE per member, each service here is one such expanded line.
    /// </summary>
    public IReadOnlyList<ServiceSpec> Services(AccessListEntry ace) => _services.GetOrAdd(ace, a =>
    {
        var bases = a.ServiceObject is null
            ? [new ServiceSpec(a.Protocol)]
            : a.ServiceIsGroup ? ExpandServiceGroup(a.ServiceObject, 0) : ServiceObjectSpecs(a.ServiceObject);
        var sources = a.SourcePort is null ? [null] : ExpandPort(a.SourcePort, 0).Cast<PortSpec?>().ToList();
        var destinations = a.DestinationPort is null ? [null] : ExpandPort(a.DestinationPort, 0).Cast<PortSpec?>().ToList();
        IReadOnlyList<int?> icmpTypes = a.IcmpType is { } t ? [t] : a.IcmpGroup is { } g ? ExpandIcmpGroup(g, 0).Cast<int?>().ToList() : [null];
        var result = new List<ServiceSpec>();
        foreach (var b in bases)
        foreach (var sp in sources)
        foreach (var dp in destinations)
        foreach (var icmp in icmpTypes)
            result.Add(b with { SourcePort = sp ?? b.SourcePort, DestinationPort = dp ?? b.DestinationPort, IcmpType = icmp ?? b.IcmpType });
        return result;
    });

    private List<ServiceSpec> ServiceObjectSpecs(string name) =>
        config.FindServiceObject(name)?.Service is { } spec ? [spec] : [];

    private List<ServiceSpec> ExpandServiceGroup(string name, int depth)
    {
        var result = new List<ServiceSpec>();
        if (depth > 32 || config.FindObjectGroup(name) is not { } group) return result;
        var groupProtocol = group.ServiceProtocol switch { "tcp" => 6, "udp" => 17, _ => ServiceSpec.TcpUdp };
        foreach (var m in group.Services)
        {
            switch (m.Kind)
            {
                case ServiceMemberKind.Port: result.Add(new ServiceSpec(groupProtocol, DestinationPort: m.Port)); break;
                case ServiceMemberKind.Service: result.Add(m.Service!); break;
                case ServiceMemberKind.ServiceObject: result.AddRange(ServiceObjectSpecs(m.Name!)); break;
                case ServiceMemberKind.Protocol: result.Add(new ServiceSpec(m.Protocol)); break;
                case ServiceMemberKind.Group: result.AddRange(ExpandServiceGroup(m.Name!, depth + 1)); break;
            }
        }
        return result;
    }

    /// <summary>A port condition, with a service object-group (`port-object` lines) expanded.</summary>
    private List<PortSpec> ExpandPort(PortSpec spec, int depth)
    {
        if (spec.Operator != PortOperator.ObjectGroup) return [spec];
        var result = new List<PortSpec>();
        if (depth > 32 || spec.GroupName is null || config.FindObjectGroup(spec.GroupName) is not { } group) return result;
        foreach (var m in group.Services)
        {
            if (m.Kind == ServiceMemberKind.Port) result.Add(m.Port!);
            else if (m.Kind == ServiceMemberKind.Group) result.AddRange(ExpandPort(new PortSpec(PortOperator.ObjectGroup, GroupName: m.Name), depth + 1));
        }
        return result;
    }

    private List<int> ExpandIcmpGroup(string name, int depth)
    {
        var result = new List<int>();
        if (depth > 32 || config.FindObjectGroup(name) is not { } group) return result;
        foreach (var m in group.Services)
        {
            if (m.Kind == ServiceMemberKind.Icmp) result.Add(m.IcmpType);
            else if (m.Kind == ServiceMemberKind.Group) result.AddRange(ExpandIcmpGroup(m.Name!, depth + 1));
        }
        return result;
    }

    /// <summary>The IPv4 ranges an access-list address stands for (objects and nested groups expanded).</summary>
    public IReadOnlyList<Ipv4Range> Resolve(AddressSpec spec) => _resolved.GetOrAdd(spec, s =>
    {
        var result = new List<Ipv4Range>();
        Resolve(s, result, 0);
        return result;
    });

    private void Resolve(AddressSpec spec, List<Ipv4Range> into, int depth)
    {
        if (depth > 32) return; // group loops are reported by validation; stop here
        switch (spec.Kind)
        {
            case AddressKind.Any:
            case AddressKind.Any4:
                into.Add(Ipv4Range.All);
                break;
            case AddressKind.Host:
                into.Add(new Ipv4Range(spec.Host, spec.Host));
                break;
            case AddressKind.Subnet:
                into.Add(spec.Subnet.ToRange());
                break;
            case AddressKind.Object when spec.Name is not null && config.FindObject(spec.Name) is { } o:
                AddObject(o, into);
                break;
            case AddressKind.ObjectGroup when spec.Name is not null && config.FindObjectGroup(spec.Name) is { } g:
                foreach (var m in g.Members)
                {
                    switch (m.Kind)
                    {
                        case ObjectGroupMemberKind.Host: into.Add(new Ipv4Range(m.Host, m.Host)); break;
                        case ObjectGroupMemberKind.Subnet: into.Add(m.Subnet.ToRange()); break;
                        case ObjectGroupMemberKind.Object: Resolve(AddressSpec.ForObject(m.Name!), into, depth + 1); break;
                        case ObjectGroupMemberKind.Group: Resolve(AddressSpec.ForObjectGroup(m.Name!), into, depth + 1); break;
                    }
                }
                break;
            // any6, interface, fqdn objects and unknown names stand for no IPv4 traffic here.
        }
    }

    private static void AddObject(NetworkObject o, List<Ipv4Range> into)
    {
        switch (o.Kind)
        {
            case NetworkObjectKind.Host: into.Add(new Ipv4Range(o.Host, o.Host)); break;
            case NetworkObjectKind.Subnet: into.Add(o.Subnet.ToRange()); break;
            case NetworkObjectKind.Range: into.Add(o.Range); break;
        }
    }
}
