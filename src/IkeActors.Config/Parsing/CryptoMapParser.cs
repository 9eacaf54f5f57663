using System.Net;
using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// Crypto maps, after `crypto map` is read: `NAME SEQ match address ACL`,
/// `NAME SEQ set peer|ikev1 transform-set|pfs|security-association lifetime|reverse-route|connection-type …`,
/// `NAME SEQ ipsec-isakmp dynamic DYN` and `NAME interface NAMEIF`; and dynamic maps, after
/// `crypto dynamic-map` is read: `DYN SEQ match address ACL` and `DYN SEQ set …` with the same settings.
/// </summary>
internal sealed class CryptoMapParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    public SubMode ParseCryptoMap(CommandCursor c)
    {
        var mapName = c.Name("crypto map name", 64);
        if (c.PeekIs("interface"))
        {
            c.Keyword("interface");
            var column = c.Column;
            var iface = c.Name("interface name");
            c.End();
            Config.ApplyCryptoMap(mapName, iface);
            Sources.MapInterfaceLines[mapName] = Sources.At(c, column);
            return SubMode.None;
        }
        if (c.PeekIs("client"))
        {
            // `crypto map NAME client configuration address initiate|respond`: Mode Config pushed by the head-end (SET,
            // draft-dukes-ike-mode-cfg-02 §3.2) or given on the client's request (the default). `client authentication` is not interpreted.
            c.Keyword("client");
            if (!c.PeekIs("configuration")) throw NotInterpreted();
            c.Keyword("configuration");
            c.Keyword("address");
            var mode = c.Keyword("initiate", "respond");
            c.End();
            Config.SetModeConfigInitiate(mapName, mode == "initiate");
            return SubMode.None;
        }
        if (c.PeekIs("redundancy")) throw NotInterpreted();
        if (!c.AtEnd && !c.Peek!.Value.Text.All(char.IsAsciiDigit))
            throw c.Invalid($"expected a sequence number (1-65535) or 'interface', found '{CommandCursor.Printable(c.Peek!.Value.Text)}'", "sequence number (1-65535)", "interface");
        var seqColumn = c.Column;
        var seq = c.Int(1, AsaDefaults.SequenceMax, "sequence number");
        var verb = c.Keyword("match", "set", "ipsec-isakmp", "ipsec-manual");
        if (verb == "ipsec-manual") throw NotInterpreted();
        var entry = new EntryLine(mapName, seq, seqColumn, Dynamic: false);
        if (verb == "ipsec-isakmp")
        {
            ParseDynamicReference(c, entry);
            return SubMode.None;
        }
        ParseMatchOrSet(c, entry, verb);
        return SubMode.None;
    }

    /// <summary>`crypto dynamic-map NAME SEQ match address ACL | set …`, after `crypto dynamic-map` is read.</summary>
    public SubMode ParseDynamicMap(CommandCursor c)
    {
        var mapName = c.Name("dynamic map name", 64);
        if (!c.AtEnd && !c.Peek!.Value.Text.All(char.IsAsciiDigit))
            throw c.Invalid($"expected a sequence number (1-65535), found '{CommandCursor.Printable(c.Peek!.Value.Text)}'", "sequence number (1-65535)");
        var seqColumn = c.Column;
        var seq = c.Int(1, AsaDefaults.SequenceMax, "sequence number");
        var verb = c.Keyword("match", "set");
        ParseMatchOrSet(c, new EntryLine(mapName, seq, seqColumn, Dynamic: true), verb);
        return SubMode.None;
    }

    /// <summary>
    /// `ipsec-isakmp dynamic DYN`: the entry stands for the dynamic map's entries, so it carries
    /// no settings of its own.
    /// </summary>
    private void ParseDynamicReference(CommandCursor c, EntryLine entry)
    {
        c.Keyword("dynamic");
        var column = c.Column;
        var dynamicMap = c.Name("dynamic map name", 64);
        c.End();
        var existing = Config.CryptoMapEntries(entry.Map).Find(e => e.Sequence == entry.Sequence);
        if (existing is not null && existing != new CryptoMapEntry(entry.Sequence) { DynamicMap = existing.DynamicMap })
            throw c.InvalidAt(entry.SequenceColumn, $"crypto map {entry.Map} {entry.Sequence} already has match/set commands: a dynamic map reference needs an entry of its own", "another sequence number");
        Sources.AddReference(ReferenceKind.DynamicMap, dynamicMap, c, column, $"crypto map {entry.Map} {entry.Sequence} ipsec-isakmp dynamic");
        UpdateEntry(c, entry, e => e with { DynamicMap = dynamicMap });
    }

    /// <summary>`match address ACL` or `set …` of one entry, after the verb is read.</summary>
    private void ParseMatchOrSet(CommandCursor c, EntryLine entry, string verb)
    {
        if (!entry.Dynamic && Config.CryptoMapEntries(entry.Map).Find(e => e.Sequence == entry.Sequence)?.DynamicMap is { } dyn)
            throw c.InvalidAt(entry.SequenceColumn, $"crypto map {entry.Map} {entry.Sequence} refers to dynamic map {dyn}: configure `crypto dynamic-map {dyn} …` instead", "another sequence number");
        if (verb == "match")
        {
            c.Keyword("address");
            var column = c.Column;
            var acl = c.Name("access-list name");
            c.End();
            Sources.AddReference(ReferenceKind.AccessList, acl, c, column, $"{entry.Command} {entry.Map} {entry.Sequence} match address");
            UpdateEntry(c, entry, e => e with { MatchAddress = acl });
            return;
        }
        ParseSet(c, entry);
    }

    /// <summary>`set …` of one crypto map entry, after `set` is read.</summary>
    private void ParseSet(CommandCursor c, EntryLine entry)
    {
        var setting = c.Keyword("peer", "transform-set", "ikev1", "pfs", "security-association", "reverse-route", "connection-type",
            "ikev2", "nat-t-disable", "phase1-mode", "trustpoint", "inheritance", "validate-icmp-errors", "tfc-packets", "df-bit");
        switch (setting)
        {
            case "peer":
            {
                // set peer A.B.C.D [A.B.C.D …]: backup peers, tried in order.
                var peers = new List<IPAddress>();
                while (!c.AtEnd || peers.Count == 0)
                {
                    var column = c.Column;
                    if (peers.Count == AsaDefaults.MaxPeersPerEntry)
                        throw c.Invalid($"a crypto map entry has at most {AsaDefaults.MaxPeersPerEntry} peers", "end of command");
                    var a = Ipv4.ToAddress(c.Address("peer IP address", Config.NameTable));
                    if (peers.Contains(a)) throw c.InvalidAt(column, $"peer {a} is listed twice", "peer IP address");
                    peers.Add(a);
                    if (entry.Dynamic) Sources.DynamicMapPeerLines[(entry.Map, entry.Sequence)] = Sources.At(c, column);
                    else Sources.AddPeer(entry.Map, entry.Sequence, a, c, column);
                }
                UpdateEntry(c, entry, e => e with { Peers = peers.ToValueList() });
                return;
            }
            case "ikev1":
                if (c.Keyword("transform-set", "phase1-mode") == "phase1-mode") goto case "phase1-mode";
                goto case "transform-set";
            case "phase1-mode":
            {
                // set [ikev1] phase1-mode main | aggressive [group1|group2|group5|…]: the initiator's phase 1 exchange.
                if (c.Keyword("main", "aggressive") == "main")
                {
                    c.End();
                    UpdateEntry(c, entry, e => e with { AggressiveModeGroup = null });
                    return;
                }
                var group = AsaDefaults.AggressiveModeGroupWhenUnspecified;
                if (!c.AtEnd)
                {
                    var options = AsaKeywords.DhGroups.Select(g => $"group{g}").ToArray();
                    group = int.Parse(c.Keyword(options)[5..], System.Globalization.CultureInfo.InvariantCulture);
                }
                c.End();
                UpdateEntry(c, entry, e => e with { AggressiveModeGroup = group });
                return;
            }
            case "transform-set":
            {
                // set [ikev1] transform-set NAME [NAME …]: offered in order.
                var sets = new List<string>();
                while (!c.AtEnd || sets.Count == 0)
                {
                    var column = c.Column;
                    if (sets.Count == AsaDefaults.MaxTransformSetsPerEntry)
                        throw c.Invalid($"a crypto map entry has at most {AsaDefaults.MaxTransformSetsPerEntry} transform sets", "end of command");
                    var name = c.Name("transform-set name", 64);
                    if (sets.Contains(name)) throw c.InvalidAt(column, $"transform-set '{name}' is listed twice", "transform-set name");
                    sets.Add(name);
                    Sources.AddReference(ReferenceKind.TransformSet, name, c, column, $"{entry.Command} {entry.Map} {entry.Sequence} set transform-set");
                }
                UpdateEntry(c, entry, e => e with { TransformSets = sets.ToValueList() });
                return;
            }
            case "pfs":
            {
                // set pfs [groupN]: group 2 when no group is given.
                var group = AsaDefaults.PfsGroupWhenUnspecified;
                if (!c.AtEnd)
                {
                    var options = AsaKeywords.DhGroups.Select(g => $"group{g}").ToArray();
                    group = int.Parse(c.Keyword(options)[5..], System.Globalization.CultureInfo.InvariantCulture);
                }
                c.End();
                UpdateEntry(c, entry, e => e with { PfsGroup = group });
                return;
            }
            case "security-association":
                ParseLifetime(c, entry);
                return;
            case "reverse-route":
                if (!c.AtEnd) throw NotInterpreted(); // `reverse-route dynamic` and friends
                UpdateEntry(c, entry, e => e with { ReverseRoute = true });
                return;
            case "connection-type":
            {
                var t = c.Keyword("bidirectional", "answer-only", "originate-only");
                c.End();
                AsaKeywords.TryParse(AsaKeywords.ConnectionTypeText, t, out ConnectionType ct);
                UpdateEntry(c, entry, e => e with { ConnectionType = ct });
                return;
            }
            default:
                throw NotInterpreted();
        }
    }

    /// <summary>`set security-association lifetime seconds N | kilobytes N|unlimited` (replay: not interpreted).</summary>
    private void ParseLifetime(CommandCursor c, EntryLine entry)
    {
        if (c.Keyword("lifetime", "replay") == "replay") throw NotInterpreted();
        var unit = c.Keyword("seconds", "kilobytes");
        if (unit == "seconds")
        {
            var s = c.Int(AsaDefaults.IpsecSaLifetimeSecondsMin, AsaDefaults.IpsecSaLifetimeSecondsMax, "lifetime seconds");
            c.End();
            UpdateEntry(c, entry, e => e with { LifetimeSeconds = s });
        }
        else if (c.TryKeyword("unlimited"))
        {
            c.End();
            UpdateEntry(c, entry, e => e with { LifetimeKilobytes = null, LifetimeKilobytesUnlimited = true });
        }
        else
        {
            var kb = c.Number(AsaDefaults.IpsecSaLifetimeKilobytesMin, AsaDefaults.IpsecSaLifetimeKilobytesMax, "lifetime kilobytes");
            c.End();
            UpdateEntry(c, entry, e => e with { LifetimeKilobytes = kb, LifetimeKilobytesUnlimited = false });
        }
    }

    /// <summary>Entry SEQ of crypto map (or dynamic map) NAME, and the column of SEQ on the line being read.</summary>
    private readonly record struct EntryLine(string Map, int Sequence, int SequenceColumn, bool Dynamic)
    {
        public string Command => Dynamic ? "crypto dynamic-map" : "crypto map";
    }

    /// <summary>
    /// Changes an entry, creating it (in sequence order) on its first line; the source index
    /// keeps where that first line is.
    /// </summary>
    private void UpdateEntry(CommandCursor c, EntryLine entry, Func<CryptoMapEntry, CryptoMapEntry> change)
    {
        var entries = entry.Dynamic ? Config.DynamicMapEntries(entry.Map) : Config.CryptoMapEntries(entry.Map);
        var index = entries.FindIndex(e => e.Sequence == entry.Sequence);
        if (index >= 0)
        {
            entries[index] = change(entries[index]);
            return;
        }
        var insertAt = entries.FindIndex(e => e.Sequence > entry.Sequence);
        if (insertAt < 0) insertAt = entries.Count;
        entries.Insert(insertAt, change(new CryptoMapEntry(entry.Sequence)));
        (entry.Dynamic ? Sources.DynamicMapEntryLines : Sources.MapEntryLines)[(entry.Map, entry.Sequence)] = Sources.At(c, entry.SequenceColumn);
    }
}
