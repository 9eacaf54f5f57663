using IkeActors.Config.Lookup;
using IkeActors.Config.Model;
using IkeActors.Config.Parsing;
using IkeActors.Config.Show;

namespace IkeActors.Config.Validation;

/// <summary>
/// Checks made once the whole file is read: every name a command uses exists, every
/// crypto map peer can authenticate, ISAKMP policies are ones this gateway can negotiate,
/// crypto maps sit on interfaces where ISAKMP is enabled, and the remote-access parts (pools,
/// group policies, users, remote-access tunnel groups) hold together.
/// </summary>
internal sealed class ConfigValidator(AsaConfig config, SourceIndex sources)
{
    private readonly List<ConfigDiagnostic> _out = [];
    private readonly HashSet<string> _acls = config.AccessLists.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
    private readonly HashSet<string> _sets = config.TransformSets.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
    private readonly HashSet<string> _objects = config.NetworkObjects.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
    private readonly Dictionary<string, ObjectGroup> _groups = config.ObjectGroups.GroupBy(g => g.Name).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
    private readonly HashSet<string> _nameifs = config.Interfaces.Where(i => i.Nameif is not null).Select(i => i.Nameif!).ToHashSet(StringComparer.Ordinal);

    public IReadOnlyList<ConfigDiagnostic> Validate()
    {
        CheckReferences();
        CheckCryptoMaps();
        CheckDynamicMaps();
        CheckPolicies();
        CheckInterfaces();
        CheckObjects();
        CheckNatExemption();
        CheckRemoteAccess();
        return _out;
    }

    private void Error(Located at, string message) => Error(at.Location, at.SourceLine, message);
    private void Error(SourceLocation location, string line, string message) => Add(DiagnosticSeverity.Error, location, line, message);
    private void Warning(Located at, string message) => Add(DiagnosticSeverity.Warning, at.Location, at.SourceLine, message);

    private void Add(DiagnosticSeverity severity, SourceLocation location, string line, string message)
    {
        var column = location.Column;
        var echoed = SecretMasker.Mask(line, ref column);
        _out.Add(new ConfigDiagnostic(severity, DiagnosticKind.Semantic, location with { Column = column }, message, echoed, []));
    }

    private bool HasInterfaces => _nameifs.Count > 0;

    private void CheckReferences()
    {
        foreach (var r in sources.References)
        {
            switch (r.Kind)
            {
                case ReferenceKind.AccessList when !_acls.Contains(r.Name):
                    Error(r.Location, r.SourceLine, $"access-list '{r.Name}' does not exist ({r.Context})");
                    break;
                case ReferenceKind.AccessList when config.FindAccessList(r.Name)!.IsStandard:
                    // Crypto maps and NAT exemption match source and destination: a standard ACL has destinations only.
                    Error(r.Location, r.SourceLine, $"access-list '{r.Name}' is a standard access-list ({r.Context}): an extended access-list is needed here");
                    break;
                // The ASA takes these names before they are defined (it checks them when a client connects),
                // so they are warnings: the session then misses what the name was for.
                case ReferenceKind.Pool when config.FindPool(r.Name) is null:
                    Add(DiagnosticSeverity.Warning, r.Location, r.SourceLine, $"ip local pool '{r.Name}' is not defined ({r.Context}): no address can come from it; define it with `ip local pool {r.Name} FIRST-LAST mask MASK`");
                    break;
                case ReferenceKind.GroupPolicy when config.FindGroupPolicy(r.Name) is null:
                    Add(DiagnosticSeverity.Warning, r.Location, r.SourceLine, $"group-policy '{r.Name}' is not defined ({r.Context}): its sessions get DfltGrpPolicy's attributes; define it with `group-policy {r.Name} internal`");
                    break;
                case ReferenceKind.SplitTunnelAccessList when !_acls.Contains(r.Name):
                    Add(DiagnosticSeverity.Warning, r.Location, r.SourceLine, $"access-list '{r.Name}' is not defined ({r.Context}): no split-tunnel networks are sent to clients");
                    break;
                case ReferenceKind.TransformSet when !_sets.Contains(r.Name):
                    Error(r.Location, r.SourceLine, $"transform-set '{r.Name}' does not exist ({r.Context}); define it with `crypto ipsec ikev1 transform-set {r.Name} …`");
                    break;
                case ReferenceKind.NetworkObject when !_objects.Contains(r.Name):
                    Error(r.Location, r.SourceLine, _groups.ContainsKey(r.Name)
                        ? $"'{r.Name}' is an object-group, not an object: write `object-group {r.Name}` ({r.Context})"
                        : $"network object '{r.Name}' does not exist ({r.Context})");
                    break;
                case ReferenceKind.NetworkGroup:
                    var group = _groups.GetValueOrDefault(r.Name);
                    if (group is null)
                        Error(r.Location, r.SourceLine, _objects.Contains(r.Name)
                            ? $"'{r.Name}' is an object, not an object-group: write `object {r.Name}` ({r.Context})"
                            : $"object-group '{r.Name}' does not exist ({r.Context})");
                    else if (group.Type != ObjectGroupType.Network)
                        Error(r.Location, r.SourceLine, $"object-group '{r.Name}' is not a network object-group ({r.Context})");
                    break;
                case ReferenceKind.NetworkObjectOrGroup when !_objects.Contains(r.Name) && !_groups.ContainsKey(r.Name):
                    Error(r.Location, r.SourceLine, $"network object or object-group '{r.Name}' does not exist ({r.Context})");
                    break;
                case ReferenceKind.ServiceObject when config.FindServiceObject(r.Name) is null:
                    Error(r.Location, r.SourceLine, _objects.Contains(r.Name)
                        ? $"'{r.Name}' is a network object, not a service object ({r.Context})"
                        : $"service object '{r.Name}' does not exist ({r.Context})");
                    break;
                case ReferenceKind.ServiceGroup or ReferenceKind.PortGroup or ReferenceKind.ProtocolGroup or ReferenceKind.IcmpGroup:
                {
                    var wanted = r.Kind switch
                    {
                        ReferenceKind.ServiceGroup => new[] { ObjectGroupType.Service, ObjectGroupType.Protocol },
                        ReferenceKind.PortGroup => [ObjectGroupType.Service],
                        ReferenceKind.ProtocolGroup => [ObjectGroupType.Protocol],
                        _ => [ObjectGroupType.IcmpType],
                    };
                    var what = r.Kind switch
                    {
                        ReferenceKind.ServiceGroup => "service or protocol",
                        ReferenceKind.PortGroup => "service",
                        ReferenceKind.ProtocolGroup => "protocol",
                        _ => "icmp-type",
                    };
                    var found = _groups.GetValueOrDefault(r.Name);
                    if (found is null) Error(r.Location, r.SourceLine, $"object-group '{r.Name}' does not exist ({r.Context})");
                    else if (!wanted.Contains(found.Type)) Error(r.Location, r.SourceLine, $"object-group '{r.Name}' is not a {what} object-group ({r.Context})");
                    break;
                }
                case ReferenceKind.DynamicMap when config.FindDynamicMap(r.Name) is null:
                    // Harmless at run time (the entry accepts no peer), so a warning like an incomplete entry.
                    Add(DiagnosticSeverity.Warning, r.Location, r.SourceLine, $"dynamic map '{r.Name}' is not defined ({r.Context}): this entry accepts no peer; define it with `crypto dynamic-map {r.Name} 10 set ikev1 transform-set …`");
                    break;
                case ReferenceKind.Interface when HasInterfaces && !_nameifs.Contains(r.Name):
                    Error(r.Location, r.SourceLine, $"interface '{r.Name}' does not exist (no interface has `nameif {r.Name}`) ({r.Context})");
                    break;
            }
        }
    }

    private void CheckCryptoMaps()
    {
        foreach (var p in sources.Peers)
        {
            var map = config.FindCryptoMap(p.Map);
            if (map?.Entry(p.Sequence) is not { } entry || !entry.Peers.Contains(p.Peer)) continue; // replaced by a later `set peer`
            var at = new Located(p.Location, p.SourceLine);
            var group = config.FindTunnelGroup(p.Peer.ToString());
            if (group is null)
            {
                var fallback = config.FindTunnelGroup(AsaDefaults.DefaultL2LGroup);
                if (fallback?.PreSharedKey is null)
                {
                    Error(at, $"peer {p.Peer} has no tunnel-group: add `tunnel-group {p.Peer} type ipsec-l2l` and its `ipsec-attributes` with `ikev1 pre-shared-key`");
                    continue;
                }
                group = fallback;
            }
            if (group.Type != TunnelGroupType.IpsecL2L)
            {
                Error(at, $"tunnel-group {group.Name} for peer {p.Peer} is of type {AsaKeywords.TunnelGroupTypeText[group.Type]}, expected ipsec-l2l");
                continue;
            }
            if (group.PreSharedKey is null)
                Error(at, $"peer {p.Peer} has no pre-shared key: tunnel-group {group.Name} ipsec-attributes has no `ikev1 pre-shared-key`");
        }

        foreach (var map in config.CryptoMaps)
        {
            foreach (var entry in map.Entries)
            {
                if (!sources.MapEntryLines.TryGetValue((map.Name, entry.Sequence), out var at)) continue;
                if (entry.DynamicMap is not null) continue; // its settings are the dynamic map's, checked below
                if (map.Entries.FirstOrDefault(e => e.DynamicMap is not null && e.Sequence < entry.Sequence) is { } dynamicEntry)
                    Warning(at, $"crypto map {map.Name} {entry.Sequence} comes after the dynamic map entry {map.Name} {dynamicEntry.Sequence}: "
                        + "the dynamic entry should have the highest sequence number (the ASA suggests 65535) so that static entries are checked first");
                if (!entry.IsComplete)
                {
                    var missing = new List<string>();
                    if (entry.MatchAddress is null) missing.Add("match address");
                    if (entry.Peers.Count == 0) missing.Add("set peer");
                    if (entry.TransformSets.Count == 0) missing.Add("set ikev1 transform-set");
                    Warning(at, $"crypto map {map.Name} {entry.Sequence} is incomplete (no {string.Join(", no ", missing)}): it is never used");
                }
                if (entry.MatchAddress is not null && config.FindAccessList(entry.MatchAddress) is { } acl
                    && !acl.Entries.Any(e => !e.IsRemark && e.Action == AclAction.Permit && !e.Inactive))
                    Warning(at, $"access-list {acl.Name} of crypto map {map.Name} {entry.Sequence} permits nothing: no traffic is protected");
            }
            if (map.Interface is null && map.Entries.Count > 0 && map.Entries.Select(e => sources.MapEntryLines.GetValueOrDefault((map.Name, e.Sequence))).FirstOrDefault(l => l is not null) is { } first)
                Warning(first, $"crypto map {map.Name} is not applied to any interface (`crypto map {map.Name} interface outside`)");
        }
    }

    /// <summary>
    /// Dynamic maps: an entry needs a transform set; `set peer` is accepted by the ASA but a
    /// dynamic entry answers any peer here and never initiates; a map no crypto map refers to is unused.
    /// </summary>
    private void CheckDynamicMaps()
    {
        foreach (var map in config.DynamicMaps)
        {
            foreach (var entry in map.Entries)
            {
                if (!sources.DynamicMapEntryLines.TryGetValue((map.Name, entry.Sequence), out var at)) continue;
                if (!entry.IsCompleteDynamic)
                    Warning(at, $"crypto dynamic-map {map.Name} {entry.Sequence} is incomplete (no set ikev1 transform-set): it is never used");
                if (entry.MatchAddress is not null && config.FindAccessList(entry.MatchAddress) is { } acl
                    && !acl.Entries.Any(e => !e.IsRemark && e.Action == AclAction.Permit && !e.Inactive))
                    Warning(at, $"access-list {acl.Name} of crypto dynamic-map {map.Name} {entry.Sequence} permits nothing: no proposal is accepted");
                if (sources.DynamicMapPeerLines.TryGetValue((map.Name, entry.Sequence), out var peerAt))
                    Warning(peerAt, $"crypto dynamic-map {map.Name} {entry.Sequence} set peer: a dynamic map answers any peer that initiates and never initiates itself; the peer is ignored (use a static crypto map entry for a known peer)");
            }
            if (!config.CryptoMaps.Any(m => m.Entries.Any(e => e.DynamicMap == map.Name))
                && map.Entries.Select(e => sources.DynamicMapEntryLines.GetValueOrDefault((map.Name, e.Sequence))).FirstOrDefault(l => l is not null) is { } first)
                Warning(first, $"crypto dynamic-map {map.Name} is not used by any crypto map (`crypto map outside_map 65535 ipsec-isakmp dynamic {map.Name}`)");
        }
    }

    private void CheckPolicies()
    {
        foreach (var policy in config.IsakmpPolicies)
        {
            Located At(string field) => sources.PolicyLines.GetValueOrDefault((policy.Priority, field)) ?? sources.PolicyLines[(policy.Priority, "")];
            if (policy.Authentication != IsakmpAuthentication.PreShare)
                Error(At("authentication"), $"ISAKMP policy {policy.Priority}: authentication {AsaKeywords.Authentication[policy.Authentication]} is not supported (this gateway authenticates IKEv1 with pre-shared keys only)");
            // SHA-2 (RFC 4868) and ECP groups 19-21 (RFC 5903) are negotiated in IKEv1 by strongSwan,
            // Libreswan and this gateway; a real ASA offers them for IKEv2 only, so say so but accept them.
            if (policy.Hash is IkeHash.Sha256 or IkeHash.Sha384 or IkeHash.Sha512)
                Warning(At("hash"), $"ISAKMP policy {policy.Priority}: hash {AsaKeywords.Hash[policy.Hash]} is accepted here, but a Cisco ASA offers SHA-2 for IKEv2 only; an ASA peer will not match this policy");
            if (policy.Group is 19 or 20 or 21)
                Warning(At("group"), $"ISAKMP policy {policy.Priority}: Diffie-Hellman group {policy.Group} is accepted here, but a Cisco ASA offers it for IKEv2 only; an ASA peer will not match this policy");
            if (policy.Group is 7 or 24)
                Error(At("group"), $"ISAKMP policy {policy.Priority}: Diffie-Hellman group {policy.Group} is not supported (use group 2, 5, 14, 15, 16, 19, 20 or 21)");
            if (policy.Encryption == IkeEncryption.Des && policy.Group >= 14)
                Warning(At("encryption"), $"ISAKMP policy {policy.Priority}: encryption des with group {policy.Group} pairs a 56-bit cipher with a strong group; use aes");
        }
        foreach (var set in config.TransformSets.Where(t => t.Encryption.IsGcm()))
            if (sources.TransformSetLines.TryGetValue(set.Name, out var setLine))
                Warning(setLine, $"transform-set {set.Name}: {AsaKeywords.EspEncryptionText[set.Encryption]} is accepted here (RFC 4106 in IKEv1 Quick Mode, as strongSwan and Libreswan negotiate it), but a Cisco ASA offers AES-GCM in IKEv2 proposals only; an ASA peer will not match this transform set");
        var mapsInUse = config.CryptoMaps.Where(m => m.Interface is not null && m.Entries.Any(e => e.IsComplete || e.DynamicMap is not null)).ToList();
        if (mapsInUse.Count > 0 && config.IsakmpPolicies.Count == 0 && sources.MapInterfaceLines.TryGetValue(mapsInUse[0].Name, out var line))
            Error(line, "no ISAKMP policy is configured (`crypto ikev1 policy 10` with authentication pre-share …): phase 1 cannot be negotiated");
    }

    private void CheckInterfaces()
    {
        foreach (var map in config.CryptoMaps)
        {
            if (map.Interface is null || !sources.MapInterfaceLines.TryGetValue(map.Name, out var at)) continue;
            if (HasInterfaces && config.FindInterface(map.Interface) is null)
            {
                Error(at, $"interface '{map.Interface}' does not exist (no interface has `nameif {map.Interface}`)");
                continue;
            }
            if (!config.IsakmpEnabledInterfaces.Contains(map.Interface))
                Error(at, $"crypto map {map.Name} is applied to interface {map.Interface} but ISAKMP is not enabled there (`crypto ikev1 enable {map.Interface}`)");
        }
        foreach (var iface in config.IsakmpEnabledInterfaces)
        {
            if (HasInterfaces && config.FindInterface(iface) is null && sources.IsakmpEnableLines.TryGetValue(iface, out var at))
                Error(at, $"interface '{iface}' does not exist (no interface has `nameif {iface}`)");
        }
    }

    private void CheckObjects()
    {
        // Nested object-groups must not loop (the ASA refuses a group-object that would).
        foreach (var group in config.ObjectGroups.Where(g => g.Type == ObjectGroupType.Network))
        {
            if (ReachesItself(group.Name, group.Name, [], 0))
            {
                var r = sources.References.FirstOrDefault(x => x.Kind == ReferenceKind.NetworkGroup && x.Context == "group-object"
                    && config.FindObjectGroup(group.Name)!.Members.Any(m => m.Kind == ObjectGroupMemberKind.Group && m.Name == x.Name));
                if (r is not null) Error(r.Location, r.SourceLine, $"object-group '{group.Name}' contains itself through group-object");
            }
        }
    }

    /// <summary>
    /// The classic ASA VPN mistake: protected traffic is caught by a dynamic (PAT) twice-NAT rule
    /// before any exemption, so after translation it no longer matches the crypto ACL. Manual
    /// NAT rules are read in order, `after-auto`/`after-object` ones last; the first rule whose
    /// real source (and real destination, if it has one) covers the traffic decides.
    /// Object (auto) NAT is not interpreted and so not considered.
    /// </summary>
    private void CheckNatExemption()
    {
        var twice = config.NatRules.Where(r => r.Kind == NatKind.Twice && !r.Inactive).ToList();
        if (!twice.Any(r => r.SourceDynamic)) return;
        var ordered = twice.Where(r => r.Section is null).Concat(twice.Where(r => r.Section is not null)).ToList();
        var lookup = new CryptoMapLookup(config);
        IReadOnlyList<Ipv4Range> Ranges(string? name) => name is null or "any"
            ? [Ipv4Range.All]
            : config.FindObject(name) is not null ? lookup.Resolve(AddressSpec.ForObject(name)) : lookup.Resolve(AddressSpec.ForObjectGroup(name));

        foreach (var map in config.CryptoMaps.Where(m => m.Interface is not null))
        {
            foreach (var entry in map.Entries.Where(e => e.IsComplete))
            {
                if (config.FindAccessList(entry.MatchAddress!) is not { } acl) continue;
                if (!sources.MapEntryLines.TryGetValue((map.Name, entry.Sequence), out var at)) continue;
                var warned = false;
                foreach (var ace in acl.Entries.Where(e => !e.IsRemark && !e.Inactive && e.Action == AclAction.Permit))
                {
                    foreach (var src in lookup.Resolve(ace.Source))
                    foreach (var dst in lookup.Resolve(ace.Destination))
                    {
                        var first = ordered.FirstOrDefault(r =>
                            (r.MappedInterface == map.Interface || r.MappedInterface == "any")
                            && Ranges(r.SourceReal).Any(x => x.Contains(src))
                            && (r.DestinationReal is null || Ranges(r.DestinationReal).Any(x => x.Contains(dst))));
                        if (warned || first is null || !first.SourceDynamic) continue;
                        Warning(at, $"traffic of crypto map {map.Name} {entry.Sequence} ({src} to {dst}) is translated by `{RunningConfigWriter.FormatNat(first)}` before any NAT exemption: after translation it no longer matches access-list {acl.Name}");
                        warned = true;
                    }
                }
            }
        }
    }

    private bool ReachesItself(string start, string current, HashSet<string> seen, int depth)
    {
        if (depth > 64 || !seen.Add(current)) return false;
        var group = config.FindObjectGroup(current);
        if (group is null) return false;
        foreach (var m in group.Members)
        {
            if (m.Kind != ObjectGroupMemberKind.Group || m.Name is null) continue;
            if (m.Name == start) return true;
            if (ReachesItself(start, m.Name, seen, depth + 1)) return true;
        }
        return false;
    }

    /// <summary>The remote-access checks: pools, group policies, users, remote-access tunnel groups.</summary>
    private void CheckRemoteAccess()
    {
        // Pools: two pools, or a pool and an interface's own subnet, sharing addresses would hand
        // out an address twice, or one the ASA or its neighbours use.
        var pools = config.IpLocalPools;
        for (var i = 0; i < pools.Count; i++)
        {
            if (!sources.PoolLines.TryGetValue(pools[i].Name, out var at)) continue;
            foreach (var other in pools.Take(i).Where(o => o.Range.Overlaps(pools[i].Range)))
                Warning(at, $"ip local pool {pools[i].Name} ({pools[i].Range}) overlaps ip local pool {other.Name} ({other.Range}): the same address could be given to two clients");
            foreach (var iface in config.Interfaces.Where(x => x.Address is not null))
            {
                var subnet = iface.Address!.Value.Subnet;
                if (!subnet.ToRange().Overlaps(pools[i].Range)) continue;
                var own = pools[i].Contains(iface.Address.Value.Host) ? $", including the interface's own address {Ipv4.Format(iface.Address.Value.Host)}" : "";
                Warning(at, $"ip local pool {pools[i].Name} ({pools[i].Range}) overlaps the subnet {subnet} of interface {iface.Nameif ?? iface.HardwareName}{own}: clients would get addresses of hosts on that subnet");
            }
        }

        // Users: a fixed address inside a pool can also be handed to another client from that pool
        // (one outside every pool, as the seed document assigns it, is the usual way).
        foreach (var user in config.Users)
        {
            if (user.FramedAddress is not { } framed || !sources.UserLines.TryGetValue((user.Name, "vpn-framed-ip-address"), out var at)) continue;
            if (pools.FirstOrDefault(p => p.Contains(framed.Address)) is { } pool)
                Warning(at, $"user {user.Name}'s vpn-framed-ip-address {Ipv4.Format(framed.Address)} is inside ip local pool {pool.Name} ({pool.Range}): the pool may give the same address to another client; take it out of the pool's range");
        }

        // Group policies: a split-tunnel policy needs its list; this gateway speaks IKEv1 only.
        foreach (var policy in config.GroupPolicies)
        {
            if (policy.SplitTunnelPolicy is SplitTunnelPolicy.TunnelSpecified or SplitTunnelPolicy.ExcludeSpecified
                && sources.GroupPolicyLines.TryGetValue((policy.Name, "split-tunnel-policy"), out var splitAt)
                && config.EffectiveGroupPolicy(policy.Name).SplitTunnelNetworkList is null)
            {
                var what = policy.SplitTunnelPolicy == SplitTunnelPolicy.TunnelSpecified ? "tunnelspecified" : "excludespecified";
                Warning(splitAt, $"group-policy {policy.Name}: split-tunnel-policy {what} without a split-tunnel-network-list: clients are sent no networks (add `split-tunnel-network-list value ACL`)");
            }
            if (policy.TunnelProtocols is { } protocols && !protocols.Contains(VpnTunnelProtocol.Ikev1)
                && sources.GroupPolicyLines.TryGetValue((policy.Name, "vpn-tunnel-protocol"), out var protocolAt))
                Warning(protocolAt, $"group-policy {policy.Name}: vpn-tunnel-protocol does not include ikev1: IKEv1 clients given this policy are refused (ASA syslog 713206), and IKEv1 is all this gateway speaks");
        }

        foreach (var group in config.TunnelGroups)
        {
            foreach (var server in group.AuthenticationServerSettings.Where(s => !s.Value.IsLocal))
            {
                if (!sources.AuthenticationServerLines.TryGetValue((group.Name, server.Interface ?? ""), out var at)) continue;
                Warning(at, $"tunnel-group {group.Name}: authentication-server-group {server.Value.Group}: only LOCAL is supported (the `username` database); "
                    + (server.Value.LocalFallback ? "XAUTH is checked against LOCAL, the fallback" : "XAUTH cannot succeed for this group"));
            }

            // RFC 2409 §5.4: in Aggressive Mode the responder's second message carries HASH_R, a MAC keyed
            // with SKEYID = prf(pre-shared-key, Ni | Nr), before any encryption, to anyone who sends
            // AM1 with the group's name. An observer or a fake client can then try keys offline.
            if (group.Type is TunnelGroupType.RemoteAccess or TunnelGroupType.IpsecRa && group.PreSharedKey is not null
                && !config.AggressiveModeDisabled && sources.PreSharedKeyLines.TryGetValue(group.Name, out var keyAt))
                Warning(keyAt, $"tunnel-group {group.Name} is a remote-access group with a pre-shared key and Aggressive Mode is enabled: "
                    + "anyone who names the group gets a hash of the group key in the clear and can guess the key offline (ike-scan --pskcrack, psk-crack); "
                    + "use a long random group key at least, and better `crypto ikev1 am-disable` with clients that use Main Mode, or certificates (rsa-sig) instead of a group key");
        }
    }
}
