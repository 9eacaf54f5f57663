using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using IkeActors.Config;
using IkeActors.Config.Lookup;
using IkeActors.Config.Model;

namespace IkeActors.Explain;

/// <summary>
/// One ASA configuration: the typed model (IkeActors.Config) for meaning, and the text lines
/// for citing file:line. Keys are masked in every line this class hands out.
/// </summary>
public sealed partial class ConfigIndex
{
    private readonly string[] _lines;

    private ConfigIndex(string file, string[] lines, AsaConfig config)
    {
        File = file; _lines = lines; Config = config;
        Own = config.Interfaces.Where(i => i.Address is not null).Select(i => i.Address!.Value.Address.ToString()).ToHashSet(StringComparer.Ordinal);
    }

    public string File { get; }
    public AsaConfig Config { get; }
    /// <summary>The ASA's own interface addresses.</summary>
    public IReadOnlySet<string> Own { get; }

    public static ConfigIndex Load(string file, string text, List<string> problems)
    {
        var result = AsaConfigLoader.Load(text, file);
        foreach (var e in result.Errors.Take(5)) problems.Add($"{file}: configuration error: {e}");
        return new ConfigIndex(file, text.Replace("\r", "", StringComparison.Ordinal).Split('\n'), result.Config);
    }

    [GeneratedRegex(@"(pre-shared-key|(?:isakmp|ikev1) key)(\s+)(?!\*{5}(\s|$))(""[^""]*""|\S+)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretRegex();

    /// <summary>
    /// Never show a key: "pre-shared-key *****" as the ASA's show running-config does
    /// (`pre-shared-key`, `ikev1 pre-shared-key`, `crypto isakmp key … address …`), nor any other secret the
    /// configuration parser knows (a `username … password`, SNMP communities, …: <see cref="IkeActors.Config.Parsing.SecretMasker"/>).
    /// </summary>
    public static string Mask(string line) => SecretRegex().Replace(line, m => m.Groups[1].Value + m.Groups[2].Value + PreSharedKey.Mask);

    /// <summary>A configuration line as it may be shown: <see cref="Mask"/>, then the parser's own masking of the command.</summary>
    public static string MaskConfigLine(string line)
    {
        var keyless = Mask(line);
        var body = keyless.TrimStart();
        return body.Length == 0 ? keyless : keyless[..(keyless.Length - body.Length)] + IkeActors.Config.Parsing.SecretMasker.Mask(body);
    }

    public IEnumerable<ConfigReference> Lines(string pattern, string why)
    {
        var rx = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
        for (var i = 0; i < _lines.Length; i++)
            if (rx.IsMatch(_lines[i])) yield return new ConfigReference(File, i + 1, MaskConfigLine(_lines[i].TrimEnd()), why);
    }

    /// <summary>A command and its indented sub-commands.</summary>
    public IEnumerable<ConfigReference> Block(string pattern, string why)
    {
        var rx = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
        for (var i = 0; i < _lines.Length; i++)
        {
            if (!rx.IsMatch(_lines[i])) continue;
            yield return new ConfigReference(File, i + 1, MaskConfigLine(_lines[i].TrimEnd()), why);
            for (var k = i + 1; k < _lines.Length && _lines[k].StartsWith(' '); k++)
                yield return new ConfigReference(File, k + 1, MaskConfigLine(_lines[k].TrimEnd()), why);
        }
    }

    public ConfigReference Default(string text, string why) => new(File, 0, text + "   (default, not in the file)", why);

    public bool KnowsPeer(string peer) =>
        Config.CryptoMaps.Any(m => m.Entries.Any(e => e.Peers.Any(p => p.ToString() == peer))) || Config.FindTunnelGroup(peer) is not null;

    /// <summary>A crypto map on an interface refers to a dynamic map: peers need not be listed anywhere.</summary>
    public bool AcceptsAnyPeer => Config.CryptoMaps.Any(m => m.Interface is not null && m.Entries.Any(e => e.DynamicMap is not null));

    public (CryptoMap Map, CryptoMapEntry Entry)? EntryForPeer(string? peer)
    {
        foreach (var m in Config.CryptoMaps)
            foreach (var e in m.Entries)
                if (peer is null || e.Peers.Any(p => p.ToString() == peer)) return (m, e);
        return null;
    }

    internal static string E(string s) => Regex.Escape(s);
}

/// <summary>
/// Finds the configuration lines behind debug lines: the ISAKMP policy of "IKE entry # N",
/// the tunnel-group a connection landed on, the crypto map entry and ACL of a proxy-ID match,
/// the transform set, the lifetimes behind the rekey timers (95 % / 75 % of the phase 1
/// lifetime, 85 % of the phase 2 lifetime) and the responder-lifetime change.
/// </summary>
public sealed class ConfigLinker
{
    private readonly List<ConfigIndex> _configs;

    public ConfigLinker(List<ConfigIndex> configs) => _configs = configs;

    public IReadOnlyList<ConfigIndex> Configs => _configs;

    /// <summary>
    /// The configuration of the gateway that printed a side of a stream: the one that has the
    /// stream's peer as a crypto map peer or tunnel-group. When both ends print into one stream
    /// with the same peer address (the Cisco document), the initiator gets that configuration
    /// and the responder the other one.
    /// </summary>
    public ConfigIndex? ConfigFor(ExplainedStream stream, Side side)
    {
        if (_configs.Count == 0) return null;
        if (_configs.Count == 1) return _configs[0];
        var peer = stream.Peer;
        var knowing = peer is null ? _configs : _configs.Where(c => c.KnowsPeer(peer) && !c.Own.Contains(peer)).ToList();
        // A hub (dynamic crypto map) knows no peer by address: it is the gateway of a peer no other configuration names.
        if (peer is not null && knowing.Count == 0) knowing = _configs.Where(c => c.AcceptsAnyPeer && !c.Own.Contains(peer)).ToList();
        if (stream.BothEnds && knowing.Count >= 1 && knowing.Count < _configs.Count)
            return side == Side.Responder ? _configs.First(c => !knowing.Contains(c)) : knowing[0];
        return knowing.FirstOrDefault() ?? _configs[0];
    }

    /// <summary>The other end's configuration, when both were given.</summary>
    public ConfigIndex? OtherEnd(ConfigIndex? mine) => _configs.Count == 2 && mine is not null ? _configs.First(c => c != mine) : null;

    public void Link(ExplainedStream stream, List<ExplainedLine> lines)
    {
        if (_configs.Count == 0) return;
        foreach (var l in lines)
        {
            if (l.Message is null) continue;
            var cfg = ConfigFor(stream, l.Side);
            if (cfg is null) continue;
            try { l.Config.AddRange(For(l, cfg, stream, lines)); }
            catch (RegexMatchTimeoutException) { }
        }
    }

    private static string V(ExplainedLine l, string name) => l.Values.TryGetValue(name, out var v) ? v : "";

    private static int? I(ExplainedLine l, string name) =>
        int.TryParse(V(l, name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

    private const string PolicyHead = @"^\s*crypto (isakmp|ikev1) policy ";

    internal IEnumerable<ConfigReference> Policies(ConfigIndex c, string why) => c.Block(PolicyHead + @"\d+", why);

    internal IEnumerable<ConfigReference> TunnelGroup(ConfigIndex c, string name, string why) =>
        c.Block($@"^\s*tunnel-group {ConfigIndex.E(name)} (type|ipsec-attributes)", why);

    internal IEnumerable<ConfigReference> MapEntry(ConfigIndex c, string map, int seq, string what, string why) =>
        c.Lines($@"^\s*crypto map {ConfigIndex.E(map)} {seq} {what}", why);

    internal IEnumerable<ConfigReference> Acl(ConfigIndex c, string acl, string why, Func<string, bool>? filter = null) =>
        c.Lines($@"^\s*access-list {ConfigIndex.E(acl)} ", why).Where(r => filter is null || filter(r.Text));

    internal IEnumerable<ConfigReference> TransformSetsOf(ConfigIndex c, CryptoMap map, CryptoMapEntry e, string why)
    {
        foreach (var r in MapEntry(c, map.Name, e.Sequence, @"set (ikev1 )?transform-set", why)) yield return r;
        foreach (var t in e.TransformSets)
            foreach (var r in c.Lines($@"^\s*crypto ipsec (ikev1 )?transform-set {ConfigIndex.E(t)} ", why)) yield return r;
    }

    /// <summary>The phase 2 lifetime in seconds an entry asks for, with the line that sets it (or the default).</summary>
    internal (int Seconds, ConfigReference Line) P2Lifetime(ConfigIndex c, CryptoMap map, CryptoMapEntry e, string why)
    {
        if (e.LifetimeSeconds is { } s)
            return (s, MapEntry(c, map.Name, e.Sequence, @"set security-association lifetime seconds", why).FirstOrDefault()
                ?? new ConfigReference(c.File, 0, $"crypto map {map.Name} {e.Sequence} set security-association lifetime seconds {s}", why));
        var global = c.Lines(@"^\s*crypto ipsec security-association lifetime seconds", why).FirstOrDefault();
        return global is not null
            ? (c.Config.GlobalSaLifetime.Seconds, global)
            : (AsaDefaults.IpsecSaLifetimeSeconds, c.Default($"crypto ipsec security-association lifetime seconds {AsaDefaults.IpsecSaLifetimeSeconds}", why));
    }

    private IEnumerable<ConfigReference> For(ExplainedLine l, ConfigIndex c, ExplainedStream stream, List<ExplainedLine> all)
    {
        var peer = l.Peer ?? stream.Peer;
        switch (l.Message!.Name)
        {
            case "IkeSaProposalAcceptable":
            {
                var n = I(l, "policy");
                var exact = n is { } p ? c.Config.IsakmpPolicies.FirstOrDefault(x => x.Priority == p) : null;
                if (exact is not null) return c.Block(PolicyHead + exact.Priority + @"\b", $"IKE entry # {n}: the ISAKMP policy with priority {n}");
                if (c.Config.IsakmpPolicies.Count == 1)
                {
                    var only = c.Config.IsakmpPolicies[0];
                    return c.Block(PolicyHead + only.Priority + @"\b", $"IKE entry # {n} is the ASA's internal number of the policy that matched; the only ISAKMP policy configured is {only.Priority}");
                }
                return Policies(c, $"IKE entry # {n}: one of these ISAKMP policies (the ASA numbers entries internally; compare the offered attributes)");
            }
            case "OakleyProposalAcceptable" when l.Side == Side.Responder:
            case "ProcessingIkeSaPayload":
            case "AllSaProposalsUnacceptable":
            case "Phase1AttributeMismatch":
                return Policies(c, "the ISAKMP policies the peer's proposals are compared with");
            case "ConstructingIsakmpSaPayload" when l.Side == Side.Initiator:
                return Policies(c, "every ISAKMP policy is offered as a transform");
            case "ConnectionLandedOnTunnelGroup":
            case "GeneratingKeysForInitiator":
            case "GeneratingKeysForResponder":
            case "Phase1Completed":
            {
                var name = V(l, "tunnelGroup");
                if (name.Length == 0) name = l.Group ?? peer ?? "";
                var lines = TunnelGroup(c, name, $"tunnel-group {name}: LAN-to-LAN, its pre-shared key authenticates the peer").ToList();
                if (lines.Count == 0 && c.Config.FindTunnelGroup(AsaDefaults.DefaultL2LGroup) is not null)
                    lines = TunnelGroup(c, AsaDefaults.DefaultL2LGroup, "no tunnel-group named after the peer: DefaultL2LGroup applies").ToList();
                var l2l = c.Config.TunnelGroups.Where(g => g.Type == TunnelGroupType.IpsecL2L).ToList();
                if (lines.Count == 0 && l2l.Count == 1)
                    lines = TunnelGroup(c, l2l[0].Name, $"the log names tunnel-group {name}; the only LAN-to-LAN tunnel-group of this configuration is {l2l[0].Name}").ToList();
                return lines;
            }
            case "ConstructingIdPayload" when l.ExchangeMessage is "MM5" or "MM6" or "AM1" or "AM2":
            {
                var id = c.Lines(@"^\s*crypto (isakmp|ikev1) identity", "the phase 1 identity sent in the ID payload").ToList();
                return id.Count > 0 ? id : [c.Default("crypto isakmp identity auto", "the phase 1 identity sent in the ID payload: the interface address")];
            }
            case "StartingP1RekeyTimer":
            {
                var s = I(l, "seconds") ?? 0;
                foreach (var p in c.Config.IsakmpPolicies)
                {
                    var role = s == p.LifetimeSeconds * 95L / 100 ? "initiator: 95 %" : s == p.LifetimeSeconds * 75L / 100 ? "responder: 75 %" : null;
                    if (role is null) continue;
                    var why = $"{s} s = {role} of the phase 1 lifetime {p.LifetimeSeconds} s of policy {p.Priority}";
                    var life = c.Lines(@"^\s*lifetime " + p.LifetimeSeconds + @"\b", why).ToList();
                    return life.Count > 0 ? c.Lines(PolicyHead + p.Priority + @"\b", why).Concat(life)
                        : [c.Default($"crypto isakmp policy {p.Priority} lifetime {p.LifetimeSeconds}", why)];
                }
                return Policies(c, $"the phase 1 lifetime behind the {s} s timer (initiator 95 %, responder 75 %)");
            }
            case "InitiatorNewPhase1":
            case "InitiatorNewPhase2":
            case "InitiatorRekeyingPhase2":
            {
                var local = V(l, "localProxy"); var remote = V(l, "remoteProxy");
                var refs = new List<ConfigReference>();
                foreach (var map in c.Config.CryptoMaps.Where(m => m.Name == V(l, "cryptoMap")))
                    foreach (var e in map.Entries.Where(e => e.Peers.Any(p => p.ToString() == peer)))
                    {
                        refs.AddRange(MapEntry(c, map.Name, e.Sequence, "match address", $"crypto map {map.Name} entry {e.Sequence} matched the traffic"));
                        if (e.MatchAddress is { } acl)
                            refs.AddRange(Acl(c, acl, $"the crypto ACL: {local} to {remote} is interesting traffic", t => t.Contains(local, StringComparison.Ordinal)));
                        refs.AddRange(MapEntry(c, map.Name, e.Sequence, "set peer", "the peer of this entry"));
                    }
                return refs;
            }
            case "TransmittingProxyId":
            case "ConstructingProxyId":
            {
                if (c.EntryForPeer(peer) is not { } me || me.Entry.MatchAddress is not { } acl) return [];
                var proto = ProtocolFromDetails(l);
                return MapEntry(c, me.Map.Name, me.Entry.Sequence, "match address", "the proxy IDs come from the crypto ACL of this entry")
                    .Concat(Acl(c, acl, "the ACL line whose networks are sent as proxy IDs", t => proto is null || AclProtocolIs(t, proto.Value)));
            }
            case "ConstructingIpsecSaPayloadInitiator":
            case "ConstructingIpsecSaPayloadResponder":
            case "AllIpsecSaProposalsUnacceptable":
            case "ProcessingIpsecSaPayload":
            {
                if (c.EntryForPeer(peer) is not { } me) return [];
                return TransformSetsOf(c, me.Map, me.Entry, "the transform set(s) offered / accepted for this crypto map entry");
            }
            case "IpsecSaProposalAcceptable":
            {
                var seq = I(l, "sequence");
                foreach (var map in c.Config.CryptoMaps)
                    if (map.Entries.FirstOrDefault(e => e.Sequence == seq && e.DynamicMap is null) is { } e)
                        return TransformSetsOf(c, map, e, $"IPSec SA entry # {seq}: crypto map {map.Name} {seq} and its transform set");
                // A hub: the entry is a dynamic map's (`crypto dynamic-map NAME SEQ set ikev1 transform-set …`).
                foreach (var dynamicMap in c.Config.DynamicMaps)
                    if (dynamicMap.Entry(seq ?? -1) is { } d)
                    {
                        var why = $"IPSec SA entry # {seq}: crypto dynamic-map {dynamicMap.Name} {seq} and its transform set";
                        return c.Lines($@"^\s*crypto dynamic-map {ConfigIndex.E(dynamicMap.Name)} {seq} set (ikev1 )?transform-set", why)
                            .Concat(d.TransformSets.SelectMany(t => c.Lines($@"^\s*crypto ipsec (ikev1 )?transform-set {ConfigIndex.E(t)} ", why)));
                    }
                return [];
            }
            case "StaticCryptoMapChecking":
            case "StaticCryptoMapMatch":
            case "StaticCryptoMapAclMismatch":
            case "NpEncryptRuleLookup":
            {
                var map = V(l, "cryptoMap"); var seq = I(l, "sequence") ?? -1;
                var entry = c.Config.FindCryptoMap(map)?.Entry(seq);
                var refs = MapEntry(c, map, seq, "match address", $"crypto map {map} entry {seq}").ToList();
                var acl = V(l, "acl");
                if (acl.Length == 0) acl = entry?.MatchAddress ?? "";
                if (acl.Length > 0)
                {
                    var proto = ProxyProtocol(all, l);
                    refs.AddRange(Acl(c, acl, $"access-list {acl} matched against the proxy IDs", t => proto is null || AclProtocolIs(t, proto.Value)));
                }
                return refs;
            }
            case "RemotePeerConfiguredForCryptoMap":
                if (c.Config.FindDynamicMap(V(l, "cryptoMap")) is not null)
                    return c.Lines($@"^\s*crypto (dynamic-map {ConfigIndex.E(V(l, "cryptoMap"))} \d+ |map \S+ \d+ ipsec-isakmp dynamic {ConfigIndex.E(V(l, "cryptoMap"))}$)", "the dynamic map that accepted the peer's proposal (any peer)");
                return c.Lines($@"^\s*crypto map {ConfigIndex.E(V(l, "cryptoMap"))} \d+ set peer .*\b{ConfigIndex.E(peer ?? "")}\b", "the peer is listed in this crypto map entry");
            case "ResponderForcingRekeyDurationSeconds":
            case "OverridingInitiatorRekeyDurationSeconds":
            case "ResponderLifetimeDecode":
            {
                var refs = new List<ConfigReference>();
                if (c.EntryForPeer(peer) is { } me)
                    refs.Add(P2Lifetime(c, me.Map, me.Entry, "this end's phase 2 lifetime").Line);
                var other = OtherEnd(c);
                if (other is not null && other.EntryForPeer(null) is { })
                {
                    var oe = other.Config.CryptoMaps.SelectMany(m => m.Entries.Select(e => (m, e))).FirstOrDefault(x => x.e.Peers.Any(p => c.Own.Contains(p.ToString())));
                    if (oe.m is not null) refs.Add(P2Lifetime(other, oe.m, oe.e, "the peer's phase 2 lifetime: the shorter one wins (RESPONDER-LIFETIME, RFC 2407 §4.6.3.1)").Line);
                }
                return refs;
            }
            case "StartingP2RekeyTimer":
            {
                var s = I(l, "seconds") ?? 0;
                var candidates = new List<ConfigReference>();
                foreach (var cfg in new[] { c, OtherEnd(c) }.OfType<ConfigIndex>())
                    foreach (var map in cfg.Config.CryptoMaps)
                        foreach (var e in map.Entries)
                        {
                            var (life, line) = P2Lifetime(cfg, map, e, "");
                            if (s == life * 85L / 100)
                                candidates.Add(line with { Why = $"{s} s = 85 % of the negotiated phase 2 lifetime {life} s" + (cfg == c ? "" : " (the peer's, shorter, taken from its RESPONDER-LIFETIME)") });
                        }
                return candidates.DistinctBy(r => (r.File, r.Line, r.Text)).Take(2);
            }
            case "NatDetectionNoNat":
            case "NatDetectionRemoteBehindNat":
            case "NatDetectionLocalBehindNat":
            case "NatDetectionBothBehindNat":
            case "NatTraversalAutoDetected":
            {
                var natt = c.Lines(@"^\s*(no )?crypto (isakmp|ikev1) nat-traversal", "NAT-Traversal setting").ToList();
                return natt.Count > 0 ? natt : [c.Default($"crypto isakmp nat-traversal {AsaDefaults.NatTraversalKeepaliveSeconds}", "NAT-Traversal is on by default")];
            }
            case "KeepAliveTypeDpd":
            case "LostContactWithPeer":
            case "SendingDpdRuThere":
            {
                var name = l.Group ?? peer ?? "";
                var ka = c.Lines(@"^\s*isakmp keepalive", "DPD settings of the tunnel-group").ToList();
                return ka.Count > 0 ? ka : [c.Default($"isakmp keepalive threshold {AsaDefaults.DpdThresholdSeconds} retry {AsaDefaults.DpdRetrySeconds}", $"DPD of tunnel-group {name}")];
            }
            case "RejectingIpsecTunnelNoCryptoMap":
            case "TunnelRejectedCryptoMapPolicyNotFound":
            {
                var refs = new List<ConfigReference>();
                foreach (var map in c.Config.CryptoMaps)
                    foreach (var e in map.Entries)
                    {
                        refs.AddRange(MapEntry(c, map.Name, e.Sequence, "match address", "crypto map entries tried"));
                        if (e.MatchAddress is { } acl) refs.AddRange(Acl(c, acl, "no line of this ACL mirrors the peer's proxy IDs"));
                    }
                return refs;
            }
        }
        return [];
    }

    private static int? ProtocolFromDetails(ExplainedLine l)
    {
        foreach (var d in l.Record.Details)
        {
            var m = Regex.Match(d, @"Protocol (\d+)");
            if (m.Success) return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        return null;
    }

    /// <summary>The protocol of the proxy IDs received before this line in the same stream.</summary>
    private static int? ProxyProtocol(List<ExplainedLine> all, ExplainedLine at)
    {
        int? found = null;
        foreach (var l in all)
        {
            if (l == at) break;
            if (l.Values.TryGetValue("protocol", out var p) && l.Message?.Name.Contains("Proxy", StringComparison.Ordinal) == true
                && int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) found = n;
            var d = ProtocolFromDetails(l);
            if (d is not null) found = d;
        }
        return found;
    }

    private static bool AclProtocolIs(string aclLine, int protocol)
    {
        var m = Regex.Match(aclLine, @"\b(permit|deny)\s+(\S+)");
        if (!m.Success) return true;
        var word = m.Groups[2].Value;
        return protocol switch
        {
            0 => word == "ip",
            1 => word is "icmp" or "ip",
            6 => word is "tcp" or "ip",
            17 => word is "udp" or "ip",
            _ => true,
        };
    }
}
