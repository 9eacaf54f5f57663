using System.Net;
using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// Static crypto maps, after `crypto map` is read: `NAME SEQ match address ACL`,
/// `NAME SEQ set peer|ikev1 transform-set|pfs|security-association lifetime|reverse-route|connection-type …`
/// and `NAME interface NAMEIF`.
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
        if (c.PeekIs("client") || c.PeekIs("redundancy")) throw NotInterpreted();
        if (!c.AtEnd && !c.Peek!.Value.Text.All(char.IsAsciiDigit))
            throw c.Invalid($"expected a sequence number (1-65535) or 'interface', found '{CommandCursor.Printable(c.Peek!.Value.Text)}'", "sequence number (1-65535)", "interface");
        var seqColumn = c.Column;
        var seq = c.Int(1, AsaDefaults.SequenceMax, "sequence number");
        var verb = c.Keyword("match", "set", "ipsec-isakmp", "ipsec-manual");
        if (verb is "ipsec-isakmp" or "ipsec-manual") throw NotInterpreted();
        var entry = new EntryLine(mapName, seq, seqColumn);
        if (verb == "match")
        {
            c.Keyword("address");
            var column = c.Column;
            var acl = c.Name("access-list name");
            c.End();
            Sources.AddReference(ReferenceKind.AccessList, acl, c, column, $"crypto map {mapName} {seq} match address");
            UpdateEntry(c, entry, e => e with { MatchAddress = acl });
            return SubMode.None;
        }
        ParseSet(c, entry);
        return SubMode.None;
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
                    Sources.AddPeer(entry.Map, entry.Sequence, a, c, column);
                }
                UpdateEntry(c, entry, e => e with { Peers = peers.ToValueList() });
                return;
            }
            case "ikev1":
                if (c.Keyword("transform-set", "phase1-mode") == "phase1-mode") throw NotInterpreted();
                goto case "transform-set";
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
                    Sources.AddReference(ReferenceKind.TransformSet, name, c, column, $"crypto map {entry.Map} {entry.Sequence} set transform-set");
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

    /// <summary>Entry SEQ of crypto map NAME, and the column of SEQ on the line being read.</summary>
    private readonly record struct EntryLine(string Map, int Sequence, int SequenceColumn);

    /// <summary>
    /// Changes an entry, creating it (in sequence order) on its first line; the source index
    /// keeps where that first line is.
    /// </summary>
    private void UpdateEntry(CommandCursor c, EntryLine entry, Func<CryptoMapEntry, CryptoMapEntry> change)
    {
        var entries = Config.CryptoMapEntries(entry.Map);
        var index = entries.FindIndex(e => e.Sequence == entry.Sequence);
        if (index >= 0)
        {
            entries[index] = change(entries[index]);
            return;
        }
        var insertAt = entries.FindIndex(e => e.Sequence > entry.Sequence);
        if (insertAt < 0) insertAt = entries.Count;
        entries.Insert(insertAt, change(new CryptoMapEntry(entry.Sequence)));
        Sources.MapEntryLines[(entry.Map, entry.Sequence)] = Sources.At(c, entry.SequenceColumn);
    }
}
