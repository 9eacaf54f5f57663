using System.Net;
using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>Signals that a command is valid ASA syntax outside the subset this gateway interprets.</summary>
internal sealed class NotInterpretedSignal : Exception;

/// <summary>A name used by a command, checked once the whole file is read.</summary>
internal sealed record Reference(ReferenceKind Kind, string Name, SourceLocation Location, string SourceLine, string Context);

internal enum ReferenceKind { AccessList, TransformSet, NetworkObjectOrGroup, NetworkObject, NetworkGroup, Interface, ServiceObject, ServiceGroup, PortGroup, ProtocolGroup, IcmpGroup }

internal sealed record PeerReference(string Map, int Sequence, IPAddress Peer, SourceLocation Location, string SourceLine);

internal sealed record Located(SourceLocation Location, string SourceLine);

/// <summary>
/// Reads ASA CLI text line by line into an <see cref="AsaConfig"/>. One bad command gives one
/// diagnostic and the next line is read; nothing a file contains makes it throw.
/// </summary>
internal sealed class AsaConfigParser
{
    private enum Block { None, Interface, ObjectNetwork, ObjectService, ObjectGroupNetwork, ObjectGroupService, IsakmpPolicy, TunnelGroupIpsec, Uninterpreted, Skipped }

    private readonly string _file;
    private readonly List<ConfigDiagnostic> _diagnostics = [];
    private readonly List<UninterpretedCommand> _notInterpreted = [];

    // Model under construction (records replaced as commands refine them).
    private string? _hostname;
    private string? _version;
    private readonly List<NameEntry> _names = [];
    private readonly Dictionary<string, uint> _nameTable = new(StringComparer.Ordinal);
    private readonly List<AsaInterface> _interfaces = [];
    private readonly List<NetworkObject> _objects = [];
    private readonly List<ServiceObject> _serviceObjects = [];
    private readonly List<ObjectGroup> _groups = [];
    private readonly List<string> _aclOrder = [];
    private readonly Dictionary<string, List<AccessListEntry>> _acls = new(StringComparer.Ordinal);
    private readonly List<NatRule> _nat = [];
    private readonly List<TransformSet> _transformSets = [];
    private IpsecSaLifetime _globalLifetime = IpsecSaLifetime.Default;
    private readonly List<string> _mapOrder = [];
    private readonly Dictionary<string, List<CryptoMapEntry>> _mapEntries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _mapInterface = new(StringComparer.Ordinal);
    private readonly List<string> _isakmpEnabled = [];
    private readonly SortedDictionary<int, IsakmpPolicy> _policies = [];
    private IsakmpIdentitySetting _identity = IsakmpIdentitySetting.Default;
    private NatTraversal _natTraversal = NatTraversal.Default;
    private readonly List<TunnelGroup> _tunnelGroups = [];

    // Facts for the checks made after the whole file is read.
    internal readonly List<Reference> References = [];
    internal readonly List<PeerReference> Peers = [];
    internal readonly Dictionary<string, Located> MapInterfaceLines = new(StringComparer.Ordinal);
    internal readonly Dictionary<string, Located> IsakmpEnableLines = new(StringComparer.Ordinal);
    internal readonly Dictionary<(int Priority, string Field), Located> PolicyLines = [];
    internal readonly Dictionary<(string Map, int Sequence), Located> MapEntryLines = [];

    // Current sub-command block.
    private Block _block;
    private string _blockKey = "";
    private int _blockPriority;
    private int _blockUninterpretedIndex = -1;

    public AsaConfigParser(string file) => _file = file;

    public IReadOnlyList<ConfigDiagnostic> Diagnostics => _diagnostics;

    public string? Version => _version;
    public IReadOnlyList<UninterpretedCommand> NotInterpreted => _notInterpreted;

    public void AddDiagnostic(ConfigDiagnostic d) => _diagnostics.Add(d);

    public AsaConfig Parse(string text)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Length > 0 && line[0] == '\uFEFF') line = line[1..]; // a byte-order mark on the first line
            ParseLine(line, i + 1);
        }
        return BuildModel();
    }

    private void ParseLine(string line, int number)
    {
        var trimmed = line.Trim();
        if (trimmed.Length == 0) return;
        var indented = char.IsWhiteSpace(line[0]);

        // `!` separators and `:` annotations (": Saved", ": Hardware: …", ":end") are not commands.
        if (trimmed[0] is '!' or ':')
        {
            if (!indented) EndBlock();
            return;
        }
        var cursor = new CommandCursor(line, number);
        // `exit` leaves a sub-mode and `end` configuration mode (as in pasted or `write terminal` text).
        if (cursor.PeekIs("exit") || cursor.PeekIs("end") && trimmed.Length == 3 && !indented
            || cursor.PeekIs("quit") && _block is not (Block.Uninterpreted or Block.Skipped))
        {
            EndBlock();
            return;
        }
        if (indented && _block != Block.None)
        {
            if (_block == Block.Skipped) return; // under a block header that had an error: the error explains them
            if (_block == Block.Uninterpreted)
            {
                var u = _notInterpreted[_blockUninterpretedIndex];
                _notInterpreted[_blockUninterpretedIndex] = u with { SubLines = u.SubLines + 1 };
                return;
            }
            Run(cursor, () => ParseSubCommand(cursor), isSubCommand: true);
            return;
        }
        if (!indented && IsUnindentedSubCommand(cursor))
        {
            // Pasted configuration often loses its indentation; the ASA stays in the sub-mode
            // until a global command comes, and so do we.
            Run(cursor, () => ParseSubCommand(cursor), isSubCommand: true);
            return;
        }
        EndBlock();
        _blockHeader = SecretMasker.Mask(trimmed);
        Run(cursor, () => ParseCommand(cursor), isSubCommand: false);
    }

    private static readonly Dictionary<Block, HashSet<string>> SubCommandWords = new()
    {
        [Block.Interface] = new(StringComparer.OrdinalIgnoreCase) { "nameif", "security-level", "shutdown", "speed", "duplex", "vlan", "management-only", "description" },
        [Block.ObjectNetwork] = new(StringComparer.OrdinalIgnoreCase) { "host", "subnet", "range", "fqdn", "description" },
        [Block.ObjectGroupNetwork] = new(StringComparer.OrdinalIgnoreCase) { "network-object", "group-object", "description" },
        [Block.ObjectService] = new(StringComparer.OrdinalIgnoreCase) { "service", "description" },
        [Block.ObjectGroupService] = new(StringComparer.OrdinalIgnoreCase) { "port-object", "service-object", "protocol-object", "icmp-object", "group-object", "description" },
        [Block.IsakmpPolicy] = new(StringComparer.OrdinalIgnoreCase) { "authentication", "encryption", "hash", "group", "lifetime" },
        [Block.TunnelGroupIpsec] = new(StringComparer.OrdinalIgnoreCase) { "pre-shared-key", "ikev1", "ikev2", "peer-id-validate", "chain" },
    };

    private bool IsUnindentedSubCommand(CommandCursor c)
    {
        if (!SubCommandWords.TryGetValue(_block, out var words) || c.Peek is not { } first) return false;
        if (words.Contains(first.Text)) return true;
        // Words that are also global commands count only with the sub-command's second word.
        var second = c.PeekAt(1)?.Text;
        return _block switch
        {
            Block.Interface => first.Text.Equals("ip", StringComparison.OrdinalIgnoreCase) && "address".Equals(second, StringComparison.OrdinalIgnoreCase),
            Block.TunnelGroupIpsec => first.Text.Equals("isakmp", StringComparison.OrdinalIgnoreCase) && "keepalive".Equals(second, StringComparison.OrdinalIgnoreCase),
            _ => false,
        };
    }

    private string _blockHeader = "";

    private void EndBlock()
    {
        _block = Block.None;
        _blockUninterpretedIndex = -1;
    }

    private void Run(CommandCursor cursor, Action parse, bool isSubCommand)
    {
        // A command that fails leaves no references behind (its names are not checked twice).
        var references = References.Count;
        var peers = Peers.Count;
        try
        {
            parse();
        }
        catch (NotInterpretedSignal)
        {
            References.RemoveRange(references, References.Count - references);
            Peers.RemoveRange(peers, Peers.Count - peers);
            _notInterpreted.Add(new UninterpretedCommand(cursor.LineNumber, SecretMasker.Mask(cursor.Line.Trim()))
            {
                Context = isSubCommand ? _blockHeader : null,
            });
            if (!isSubCommand)
            {
                // Lines indented under a command we do not interpret belong to it.
                _block = Block.Uninterpreted;
                _blockUninterpretedIndex = _notInterpreted.Count - 1;
            }
        }
        catch (CommandError e)
        {
            References.RemoveRange(references, References.Count - references);
            Peers.RemoveRange(peers, Peers.Count - peers);
            // The echoed line never carries a secret (a key with a typo is still a key).
            var column = e.Column;
            var echoed = SecretMasker.Mask(cursor.Line, ref column);
            _diagnostics.Add(new ConfigDiagnostic(DiagnosticSeverity.Error, e.Kind,
                new SourceLocation(_file, cursor.LineNumber, column), e.Message, echoed, e.Expected));
            // The sub-commands of a block whose header failed are skipped (the header's error explains them).
            if (!isSubCommand) _block = Block.Skipped;
        }
    }

    private static NotInterpretedSignal Skip() => new();

    private SourceLocation Loc(CommandCursor c, int column) => new(_file, c.LineNumber, column);
    private Located Here(CommandCursor c, int column) => new(Loc(c, column), c.Line);

    private void Warn(CommandCursor c, int column, string message)
    {
        var echoed = SecretMasker.Mask(c.Line, ref column);
        _diagnostics.Add(new ConfigDiagnostic(DiagnosticSeverity.Warning, DiagnosticKind.Semantic, Loc(c, column), message, echoed, []));
    }

    // ------------------------------------------------------------------ top level

    private void ParseCommand(CommandCursor c)
    {
        var first = c.Peek!.Value.Text.ToLowerInvariant();
        switch (first)
        {
            case "asa":
                c.Next("ASA");
                if (!c.TryKeyword("version")) throw Skip();
                _version = c.Rest("version");
                return;
            case "hostname":
                c.Next("hostname");
                _hostname = c.Name("host name", 63);
                c.End();
                return;
            case "names":
                c.Next("names");
                c.End();
                return;
            case "name":
                ParseName(c);
                return;
            case "interface":
                ParseInterface(c);
                return;
            case "object":
                ParseObject(c);
                return;
            case "object-group":
                ParseObjectGroup(c);
                return;
            case "access-list":
                ParseAccessList(c);
                return;
            case "nat":
                ParseNat(c);
                return;
            case "crypto":
                ParseCrypto(c);
                return;
            case "tunnel-group":
                ParseTunnelGroup(c);
                return;
            case "no":
                c.Next("no");
                if (c.TryKeyword("crypto") && (c.TryKeyword("isakmp") || c.TryKeyword("ikev1")) && c.TryKeyword("nat-traversal"))
                {
                    c.End();
                    _natTraversal = _natTraversal with { Enabled = false };
                    return;
                }
                throw Skip();
            default:
                throw Skip();
        }
    }

    private void ParseName(CommandCursor c)
    {
        c.Next("name");
        if (c.Peek is { } v6 && IsIpv6(v6.Text)) throw Skip(); // IPv6 names: kept, not interpreted
        var address = c.Address("IP address");
        var name = c.Name("name", 63);
        string? description = null;
        if (!c.AtEnd)
        {
            c.Keyword("description");
            description = c.Rest("description text");
        }
        _nameTable[name] = address;
        _names.RemoveAll(n => n.Name == name);
        _names.Add(new NameEntry(address, name, description));
    }

    private void ParseInterface(CommandCursor c)
    {
        c.Next("interface");
        var hw = c.Name("interface name");
        c.End();
        if (!_interfaces.Any(i => i.HardwareName == hw)) _interfaces.Add(new AsaInterface(hw));
        Enter(Block.Interface, hw);
    }

    private void Enter(Block block, string key, int priority = 0)
    {
        _block = block;
        _blockKey = key;
        _blockPriority = priority;
    }

    private void ParseObject(CommandCursor c)
    {
        c.Next("object");
        var kind = c.Keyword("network", "service");
        var nameColumn = c.Column;
        var name = c.Name("object name", 64);
        c.End();
        if (_groups.Any(g => g.Name == name))
            throw c.InvalidAt(nameColumn, $"'{name}' is already an object-group name", "object name");
        if (kind == "service")
        {
            if (_objects.Any(o => o.Name == name))
                throw c.InvalidAt(nameColumn, $"'{name}' is already a network object", "object name");
            if (!_serviceObjects.Any(o => o.Name == name)) _serviceObjects.Add(new ServiceObject(name));
            Enter(Block.ObjectService, name);
            return;
        }
        if (_serviceObjects.Any(o => o.Name == name))
            throw c.InvalidAt(nameColumn, $"'{name}' is already a service object", "object name");
        if (!_objects.Any(o => o.Name == name)) _objects.Add(new NetworkObject(name));
        Enter(Block.ObjectNetwork, name);
    }

    private void ParseObjectGroup(CommandCursor c)
    {
        c.Next("object-group");
        var type = c.Keyword("network", "service", "protocol", "icmp-type", "user", "security");
        var nameColumn = c.Column;
        var name = c.Name("object-group name", 64);
        if (_objects.Any(o => o.Name == name) || _serviceObjects.Any(o => o.Name == name))
            throw c.InvalidAt(nameColumn, $"'{name}' is already an object name", "object-group name");
        if (type != "network")
        {
            var groupType = type switch
            {
                "service" => ObjectGroupType.Service,
                "protocol" => ObjectGroupType.Protocol,
                "icmp-type" => ObjectGroupType.IcmpType,
                "user" => ObjectGroupType.User,
                _ => ObjectGroupType.Security,
            };
            string? proto = null;
            if (groupType == ObjectGroupType.Service && !c.AtEnd) proto = c.Keyword("tcp", "udp", "tcp-udp");
            var index = _groups.FindIndex(g => g.Name == name);
            if (index < 0) _groups.Add(new ObjectGroup(name, groupType) { ServiceProtocol = proto });
            else if (_groups[index].Type != groupType || _groups[index].ServiceProtocol != proto)
                throw c.InvalidAt(nameColumn, $"object-group '{name}' is already defined as another type", "object-group name");
            // User and security groups are known by name and type only.
            if (groupType is ObjectGroupType.User or ObjectGroupType.Security) throw Skip();
            c.End();
            Enter(Block.ObjectGroupService, name);
            return;
        }
        c.End();
        var existing = _groups.FindIndex(g => g.Name == name);
        if (existing < 0) _groups.Add(new ObjectGroup(name, ObjectGroupType.Network));
        else if (_groups[existing].Type != ObjectGroupType.Network)
            throw c.InvalidAt(nameColumn, $"object-group '{name}' is already defined as another type", "object-group name");
        Enter(Block.ObjectGroupNetwork, name);
    }

    // ------------------------------------------------------------------ access-list

    private void ParseAccessList(CommandCursor c)
    {
        c.Next("access-list");
        var name = c.Name("access-list name");
        var kind = c.Keyword("extended", "remark", "standard", "ethertype", "webtype", "line");
        AccessListEntry entry;
        if (kind == "remark")
        {
            entry = AccessListEntry.ForRemark(c.Rest("remark text"));
        }
        else if (kind == "extended")
        {
            entry = ParseAce(c);
        }
        else
        {
            throw Skip();
        }
        if (!_acls.TryGetValue(name, out var list))
        {
            _acls[name] = list = [];
            _aclOrder.Add(name);
        }
        list.Add(entry);
    }

    private AccessListEntry ParseAce(CommandCursor c)
    {
        var action = c.Keyword("permit", "deny") == "permit" ? AclAction.Permit : AclAction.Deny;
        var entry = new AccessListEntry { Action = action };

        // Protocol: a name, a number, or a service/protocol object(-group).
        var protoText = c.Peek?.Text;
        if (c.PeekIs("object-group") || c.PeekIs("object"))
        {
            var isGroup = c.Keyword("object-group", "object") == "object-group";
            var column = c.Column;
            var svc = c.Name(isGroup ? "service object-group name" : "service object name");
            if (isGroup && _groups.FirstOrDefault(g => g.Name == svc) is { } g && g.Type is not (ObjectGroupType.Service or ObjectGroupType.Protocol))
                throw c.InvalidAt(column, $"object-group '{svc}' is not a service or protocol group", "service object-group name");
            if (!isGroup && _objects.Any(o => o.Name == svc))
                throw c.InvalidAt(column, $"'{svc}' is a network object, expected a service object", "service object name");
            References.Add(new Reference(isGroup ? ReferenceKind.ServiceGroup : ReferenceKind.ServiceObject, svc, Loc(c, column), c.Line, "access-list"));
            entry = entry with { ServiceObject = svc, ServiceIsGroup = isGroup, Protocol = -1 };
        }
        else if (protoText is not null && AsaKeywords.Protocols.TryGetValue(protoText, out var p))
        {
            c.Next("protocol");
            entry = entry with { Protocol = p };
        }
        else if (protoText is not null && protoText.All(char.IsAsciiDigit))
        {
            entry = entry with { Protocol = c.Int(0, 255, "protocol number") };
        }
        else
        {
            var expected = new[] { "ip", "tcp", "udp", "icmp", "esp", "ah", "gre", "protocol number (0-255)", "object-group", "object" };
            if (protoText is null) c.Next("protocol", expected);
            throw c.Invalid($"expected a protocol (ip, tcp, udp, icmp, … or 0-255), found '{CommandCursor.Printable(protoText!)}'", expected);
        }

        if (entry.Protocol == 58) throw Skip(); // icmp6: IPv6 only, kept as not interpreted
        var ported = entry.Protocol is 6 or 17 or 132 || entry.ServiceObject is not null;
        entry = entry with { Source = ParseAclAddress(c, "source") };
        if (ported && IsPortStart(c, afterDestination: false)) entry = entry with { SourcePort = ParsePort(c, entry.Protocol) };
        entry = entry with { Destination = ParseAclAddress(c, "destination") };
        if (ported && IsPortStart(c, afterDestination: true)) entry = entry with { DestinationPort = ParsePort(c, entry.Protocol) };
        else if (entry.Protocol == 1 && c.PeekIs("object-group"))
        {
            c.Keyword("object-group");
            var column = c.Column;
            var group = c.Name("icmp-type object-group name");
            References.Add(new Reference(ReferenceKind.IcmpGroup, group, Loc(c, column), c.Line, "access-list"));
            entry = entry with { IcmpGroup = group };
        }
        else if (entry.Protocol == 1 && !c.AtEnd && !IsAceOption(c))
        {
            var t = c.Peek!.Value;
            if (AsaKeywords.IcmpTypes.TryGetValue(t.Text, out var icmp)) { c.Next("icmp type"); entry = entry with { IcmpType = icmp }; }
            else if (t.Text.All(char.IsAsciiDigit)) entry = entry with { IcmpType = c.Int(0, 255, "ICMP type") };
            else
            {
                var options = AsaKeywords.IcmpTypes.Keys.Concat(["log", "time-range", "inactive"]).ToArray();
                throw c.Invalid($"expected an ICMP type (echo, echo-reply, unreachable, …) or end of command, found '{CommandCursor.Printable(t.Text)}'", options);
            }
        }

        var seen = new HashSet<string>();
        while (!c.AtEnd)
        {
            var optionColumn = c.Column;
            var option = c.Keyword("log", "time-range", "inactive");
            if (!seen.Add(option)) throw c.InvalidAt(optionColumn, $"'{option}' is given twice", "end of command");
            switch (option)
            {
                case "log":
                    entry = entry with { Log = ParseLog(c) };
                    break;
                case "time-range":
                    entry = entry with { TimeRange = c.Name("time-range name") };
                    break;
                default:
                    entry = entry with { Inactive = true };
                    break;
            }
        }
        return entry;
    }

    /// <summary>An IPv6 address or prefix ("2001:db8::1", "2001:db8::/32").</summary>
    private static bool IsIpv6(string text)
    {
        var slash = text.IndexOf('/');
        var address = slash < 0 ? text : text[..slash];
        return address.Contains(':') && IPAddress.TryParse(address, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
    }

    private static bool IsAceOption(CommandCursor c) => c.PeekIs("log") || c.PeekIs("time-range") || c.PeekIs("inactive");

    private static readonly string[] LogLevels =
        ["emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational", "debugging"];

    private static string ParseLog(CommandCursor c)
    {
        var parts = new List<string> { "log" };
        if (c.TryKeyword("disable")) return "log disable";
        if (c.TryKeyword("default")) return "log default";
        if (!c.AtEnd && c.Peek!.Value.Text.All(char.IsAsciiDigit)) parts.Add(c.Int(0, 7, "log level").ToString(System.Globalization.CultureInfo.InvariantCulture));
        else if (!c.AtEnd && LogLevels.Contains(c.Peek!.Value.Text.ToLowerInvariant())) parts.Add(c.Keyword(LogLevels));
        if (c.TryKeyword("interval"))
        {
            parts.Add("interval");
            parts.Add(c.Int(1, 600, "log interval seconds").ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return string.Join(' ', parts);
    }

    /// <summary>
    /// Whether a port condition follows. `object-group NAME` after the source address is a
    /// source port group only if NAME is a known service group (else it is the destination);
    /// after the destination address it can only be a service group.
    /// </summary>
    private bool IsPortStart(CommandCursor c, bool afterDestination)
    {
        if (c.PeekIs("eq") || c.PeekIs("neq") || c.PeekIs("lt") || c.PeekIs("gt") || c.PeekIs("range")) return true;
        if (c.PeekIs("object-group") && c.PeekAt(1) is { } name)
            return afterDestination
                ? !_groups.Any(g => g.Name == name.Text && g.Type == ObjectGroupType.Network)
                : _groups.Any(g => g.Name == name.Text && g.Type == ObjectGroupType.Service);
        return false;
    }

    private PortSpec ParsePort(CommandCursor c, int protocol)
    {
        var op = c.Keyword("eq", "neq", "lt", "gt", "range", "object-group");
        switch (op)
        {
            case "object-group":
            {
                var groupColumn = c.Column;
                var group = c.Name("service object-group name");
                References.Add(new Reference(ReferenceKind.PortGroup, group, Loc(c, groupColumn), c.Line, "access-list"));
                return new PortSpec(PortOperator.ObjectGroup, GroupName: group);
            }
            case "range":
                var column = c.Column;
                var low = ParsePortValue(c, protocol);
                var high = ParsePortValue(c, protocol);
                if (high < low) throw c.InvalidAt(column, $"port range {low}-{high} is empty (the first port must not exceed the second)", "port");
                return new PortSpec(PortOperator.Range, low, high);
            default:
                var kind = op switch { "eq" => PortOperator.Eq, "neq" => PortOperator.Neq, "lt" => PortOperator.Lt, _ => PortOperator.Gt };
                return new PortSpec(kind, ParsePortValue(c, protocol));
        }
    }

    internal static int ParsePortValue(CommandCursor c, int protocol)
    {
        if (c.AtEnd) return c.Int(0, 65535, "port");
        var text = c.Peek!.Value.Text;
        if (text.All(char.IsAsciiDigit)) return c.Int(0, 65535, "port");
        foreach (var (name, port, tcp, udp) in AsaKeywords.Ports)
        {
            if (!string.Equals(name, text, StringComparison.OrdinalIgnoreCase)) continue;
            if (protocol == 6 && !tcp || protocol == 17 && !udp) continue;
            c.Next("port");
            return port;
        }
        throw c.Invalid($"expected a port number (0-65535) or name (www, https, ssh, domain, …), found '{CommandCursor.Printable(text)}'", "port");
    }

    private AddressSpec ParseAclAddress(CommandCursor c, string role)
    {
        var expected = new[] { "any", "any4", "any6", "host", "A.B.C.D", "object", "object-group", "interface" };
        if (c.AtEnd) c.Next($"{role} address", expected);
        var t = c.Peek!.Value;
        switch (t.Text.ToLowerInvariant())
        {
            // Identity firewall and TrustSec criteria: valid ASA, outside this gateway's model.
            case "user" or "user-group" or "object-group-user" or "security-group" or "object-group-security":
                throw Skip();
            case "any": c.Next(role); return AddressSpec.Any;
            case "any4": c.Next(role); return new AddressSpec(AddressKind.Any4);
            case "any6": c.Next(role); return new AddressSpec(AddressKind.Any6);
            case "host":
                c.Next(role);
                if (c.Peek is { } h && IsIpv6(h.Text)) throw Skip();
                return AddressSpec.ForHost(c.Address($"{role} host address", _nameTable));
            case "interface": c.Next(role); return new AddressSpec(AddressKind.Interface, Name: c.Name("interface name"));
            case "object":
            {
                c.Next(role);
                var column = c.Column;
                var name = c.Name("network object name");
                References.Add(new Reference(ReferenceKind.NetworkObject, name, Loc(c, column), c.Line, "access-list"));
                return AddressSpec.ForObject(name);
            }
            case "object-group":
            {
                c.Next(role);
                var column = c.Column;
                var name = c.Name("network object-group name");
                References.Add(new Reference(ReferenceKind.NetworkGroup, name, Loc(c, column), c.Line, "access-list"));
                return AddressSpec.ForObjectGroup(name);
            }
        }
        if (Ipv4.TryParse(t.Text, out _) || _nameTable.ContainsKey(t.Text))
            return AddressSpec.ForSubnet(c.Prefix($"{role} address", _nameTable));
        if (IsIpv6(t.Text)) throw Skip(); // IPv6 entries never match the IPv4 traffic this gateway carries
        throw c.Invalid($"expected a {role} address (any, host A.B.C.D, A.B.C.D MASK, object NAME, object-group NAME), found '{CommandCursor.Printable(t.Text)}'", expected);
    }

    // ------------------------------------------------------------------ nat

    private static readonly HashSet<string> NatKnownUninterpreted =
        new(StringComparer.OrdinalIgnoreCase) { "dns", "net-to-net", "pat-pool", "extended", "flat", "include-reserve", "round-robin", "block-allocation", "interface" };

    private void ParseNat(CommandCursor c)
    {
        c.Next("nat");
        var ifColumn = c.Column;
        var ifs = c.Next("(real_ifc,mapped_ifc)", "(inside,outside)").Text;
        if (ifs.Length < 3 || ifs[0] != '(' || ifs[^1] != ')')
            throw c.InvalidAt(ifColumn, $"expected interfaces in parentheses, e.g. (inside,outside), found '{CommandCursor.Printable(ifs)}'", "(real_ifc,mapped_ifc)");
        var parts = ifs[1..^1].Split(',');
        if (parts.Length > 2 || parts.Any(p => p.Length == 0))
            throw c.InvalidAt(ifColumn, $"expected (real_ifc,mapped_ifc), found '{CommandCursor.Printable(ifs)}'", "(real_ifc,mapped_ifc)");
        var partColumn = ifColumn + 1;
        foreach (var p in parts)
        {
            if (p != "any") References.Add(new Reference(ReferenceKind.Interface, p, Loc(c, partColumn), c.Line, "nat"));
            partColumn += p.Length + 1;
        }

        if (parts.Length == 1)
        {
            // ASA 8.2 and earlier: `nat (inside) 0 access-list ACL` is NAT exemption; other ids are dynamic NAT.
            var id = c.Int(0, 2147483647, "NAT id");
            if (id != 0 || !c.PeekIs("access-list")) throw Skip();
            c.Keyword("access-list");
            var aclColumn = c.Column;
            var acl = c.Name("access-list name");
            if (!c.AtEnd) throw Skip(); // `outside` / `tcp`/`udp` limits, not modelled
            References.Add(new Reference(ReferenceKind.AccessList, acl, Loc(c, aclColumn), c.Line, "nat 0 access-list"));
            _nat.Add(new NatRule(NatKind.Exemption, parts[0]) { AccessList = acl });
            return;
        }

        var rule = new NatRule(NatKind.Twice, parts[0]) { MappedInterface = parts[1] };
        if (c.PeekIs("after-auto") || c.PeekIs("after-object")) rule = rule with { Section = c.Keyword("after-auto", "after-object") };
        if (!c.AtEnd && c.Peek!.Value.Text.All(char.IsAsciiDigit)) rule = rule with { LineNumber = c.Int(1, 2147483647, "NAT rule line number") };
        c.Keyword("source");
        var type = c.Keyword("static", "dynamic");
        rule = rule with { SourceDynamic = type == "dynamic", SourceReal = NatObject(c, "real source object", allowInterface: false) };
        if (c.PeekIs("pat-pool")) throw Skip(); // dynamic PAT to a pool: outside the VPN model
        rule = rule with { SourceMapped = NatObject(c, "mapped source object", allowInterface: true) };
        while (!c.AtEnd)
        {
            if (NatKnownUninterpreted.Contains(c.Peek!.Value.Text)) throw Skip();
            var option = c.Keyword("destination", "service", "no-proxy-arp", "route-lookup", "unidirectional", "inactive", "description");
            switch (option)
            {
                case "destination":
                    c.Keyword("static");
                    rule = rule with
                    {
                        DestinationMapped = NatObject(c, "mapped destination object", allowInterface: true),
                        DestinationReal = NatObject(c, "real destination object", allowInterface: false),
                    };
                    break;
                case "service":
                    rule = rule with { ServiceReal = c.Name("real service object"), ServiceMapped = c.Name("mapped service object") };
                    break;
                case "no-proxy-arp": rule = rule with { NoProxyArp = true }; break;
                case "route-lookup": rule = rule with { RouteLookup = true }; break;
                case "unidirectional": rule = rule with { Unidirectional = true }; break;
                case "inactive": rule = rule with { Inactive = true }; break;
                default: rule = rule with { Description = c.Rest("description text") }; break;
            }
        }
        _nat.Add(rule);
    }

    private string NatObject(CommandCursor c, string what, bool allowInterface)
    {
        var column = c.Column;
        var name = c.Name(what);
        if (name == "any" || allowInterface && name == "interface") return name;
        References.Add(new Reference(ReferenceKind.NetworkObjectOrGroup, name, Loc(c, column), c.Line, "nat"));
        return name;
    }

    // ------------------------------------------------------------------ crypto

    private void ParseCrypto(CommandCursor c)
    {
        c.Next("crypto");
        var what = c.Keyword("ipsec", "map", "isakmp", "ikev1", "ikev2", "ca", "dynamic-map", "key", "engine", "checksum", "ssl");
        switch (what)
        {
            case "ipsec": ParseCryptoIpsec(c); return;
            case "map": ParseCryptoMap(c); return;
            case "isakmp":
            case "ikev1": ParseCryptoIsakmp(c, what); return;
            default: throw Skip();
        }
    }

    private void ParseCryptoIpsec(CommandCursor c)
    {
        var what = c.Keyword("ikev1", "transform-set", "security-association", "ikev2", "df-bit", "fragmentation", "profile", "client-services", "inner-routing-lookup");
        if (what == "ikev1")
        {
            c.Keyword("transform-set");
            ParseTransformSet(c);
            return;
        }
        if (what == "transform-set")
        {
            ParseTransformSet(c);
            return;
        }
        if (what == "security-association")
        {
            var sub = c.Keyword("lifetime", "pmtu-aging", "replay");
            if (sub != "lifetime") throw Skip();
            var unit = c.Keyword("seconds", "kilobytes");
            if (unit == "seconds")
            {
                _globalLifetime = _globalLifetime with { Seconds = c.Int(AsaDefaults.IpsecSaLifetimeSecondsMin, AsaDefaults.IpsecSaLifetimeSecondsMax, "lifetime seconds") };
            }
            else if (c.TryKeyword("unlimited"))
            {
                _globalLifetime = _globalLifetime with { Kilobytes = null };
            }
            else
            {
                _globalLifetime = _globalLifetime with { Kilobytes = c.Number(AsaDefaults.IpsecSaLifetimeKilobytesMin, AsaDefaults.IpsecSaLifetimeKilobytesMax, "lifetime kilobytes") };
            }
            c.End();
            return;
        }
        throw Skip();
    }

    private static readonly string[] EncryptionTransforms = ["esp-des", "esp-3des", "esp-aes", "esp-aes-192", "esp-aes-256", "esp-null"];
    private static readonly string[] IntegrityTransforms = ["esp-md5-hmac", "esp-sha-hmac", "esp-sha256-hmac", "esp-sha384-hmac", "esp-sha512-hmac", "esp-none"];

    private void ParseTransformSet(CommandCursor c)
    {
        var name = c.Name("transform-set name", 64);
        var index = _transformSets.FindIndex(t => t.Name == name);
        if (c.PeekIs("mode"))
        {
            c.Keyword("mode");
            var mode = c.Keyword("tunnel", "transport") == "transport" ? IpsecMode.Transport : IpsecMode.Tunnel;
            c.End();
            if (index < 0) throw c.InvalidAt(c.EndColumn - 1, $"transform-set '{name}' must be defined with its transforms before its mode", "transform");
            _transformSets[index] = _transformSets[index] with { Mode = mode };
            return;
        }
        EspEncryption? enc = null;
        EspIntegrity? integrity = null;
        var all = EncryptionTransforms.Concat(IntegrityTransforms).ToArray();
        var firstColumn = c.Column;
        var count = 0;
        while (!c.AtEnd || count == 0)
        {
            var column = c.Column;
            var t = c.Keyword(all);
            count++;
            if (AsaKeywords.TryParse(AsaKeywords.EspEncryptionText, t, out EspEncryption e))
            {
                if (enc is not null) throw c.InvalidAt(column, "a transform set has only one encryption transform", "esp-md5-hmac", "esp-sha-hmac");
                enc = e;
            }
            else if (AsaKeywords.TryParse(AsaKeywords.EspIntegrityText, t, out EspIntegrity i))
            {
                if (integrity is not null) throw c.InvalidAt(column, "a transform set has only one authentication transform", EncryptionTransforms);
                integrity = i;
            }
            if (count > 2) throw c.InvalidAt(column, "a transform set has at most two transforms", "end of command");
        }
        if (enc is null) throw c.InvalidAt(firstColumn, "a transform set needs an encryption transform (esp-aes, esp-3des, …)", EncryptionTransforms);
        var set = new TransformSet(name, enc.Value, integrity ?? EspIntegrity.None);
        if (index < 0) _transformSets.Add(set);
        else _transformSets[index] = set with { Mode = _transformSets[index].Mode };
    }

    private void ParseCryptoMap(CommandCursor c)
    {
        var mapName = c.Name("crypto map name", 64);
        if (c.PeekIs("interface"))
        {
            c.Keyword("interface");
            var column = c.Column;
            var iface = c.Name("interface name");
            c.End();
            EnsureMap(mapName);
            // An interface carries one crypto map: applying another replaces it.
            foreach (var other in _mapInterface.Where(kv => kv.Value == iface && kv.Key != mapName).Select(kv => kv.Key).ToList())
                _mapInterface.Remove(other);
            _mapInterface[mapName] = iface;
            MapInterfaceLines[mapName] = Here(c, column);
            return;
        }
        if (c.PeekIs("client") || c.PeekIs("redundancy")) throw Skip();
        if (!c.AtEnd && !c.Peek!.Value.Text.All(char.IsAsciiDigit))
            throw c.Invalid($"expected a sequence number (1-65535) or 'interface', found '{CommandCursor.Printable(c.Peek!.Value.Text)}'", "sequence number (1-65535)", "interface");
        var seqColumn = c.Column;
        var seq = c.Int(1, AsaDefaults.SequenceMax, "sequence number");
        var verb = c.Keyword("match", "set", "ipsec-isakmp", "ipsec-manual");
        if (verb is "ipsec-isakmp" or "ipsec-manual") throw Skip();
        if (verb == "match")
        {
            c.Keyword("address");
            var column = c.Column;
            var acl = c.Name("access-list name");
            c.End();
            References.Add(new Reference(ReferenceKind.AccessList, acl, Loc(c, column), c.Line, $"crypto map {mapName} {seq} match address"));
            UpdateEntry(c, mapName, seq, seqColumn, e => e with { MatchAddress = acl });
            return;
        }

        var setting = c.Keyword("peer", "transform-set", "ikev1", "pfs", "security-association", "reverse-route", "connection-type",
            "ikev2", "nat-t-disable", "phase1-mode", "trustpoint", "inheritance", "validate-icmp-errors", "tfc-packets", "df-bit");
        switch (setting)
        {
            case "peer":
            {
                var peers = new List<IPAddress>();
                while (!c.AtEnd || peers.Count == 0)
                {
                    var column = c.Column;
                    if (peers.Count == AsaDefaults.MaxPeersPerEntry)
                        throw c.Invalid($"a crypto map entry has at most {AsaDefaults.MaxPeersPerEntry} peers", "end of command");
                    var a = Ipv4.ToAddress(c.Address("peer IP address", _nameTable));
                    if (peers.Contains(a)) throw c.InvalidAt(column, $"peer {a} is listed twice", "peer IP address");
                    peers.Add(a);
                    Peers.Add(new PeerReference(mapName, seq, a, Loc(c, column), c.Line));
                }
                UpdateEntry(c, mapName, seq, seqColumn, e => e with { Peers = peers.ToValueList() });
                return;
            }
            case "ikev1":
                if (c.Keyword("transform-set", "phase1-mode") == "phase1-mode") throw Skip();
                goto case "transform-set";
            case "transform-set":
            {
                var sets = new List<string>();
                while (!c.AtEnd || sets.Count == 0)
                {
                    var column = c.Column;
                    if (sets.Count == AsaDefaults.MaxTransformSetsPerEntry)
                        throw c.Invalid($"a crypto map entry has at most {AsaDefaults.MaxTransformSetsPerEntry} transform sets", "end of command");
                    var name = c.Name("transform-set name", 64);
                    if (sets.Contains(name)) throw c.InvalidAt(column, $"transform-set '{name}' is listed twice", "transform-set name");
                    sets.Add(name);
                    References.Add(new Reference(ReferenceKind.TransformSet, name, Loc(c, column), c.Line, $"crypto map {mapName} {seq} set transform-set"));
                }
                UpdateEntry(c, mapName, seq, seqColumn, e => e with { TransformSets = sets.ToValueList() });
                return;
            }
            case "pfs":
            {
                var group = AsaDefaults.PfsGroupWhenUnspecified;
                if (!c.AtEnd)
                {
                    var options = AsaKeywords.DhGroups.Select(g => $"group{g}").ToArray();
                    group = int.Parse(c.Keyword(options)[5..], System.Globalization.CultureInfo.InvariantCulture);
                }
                c.End();
                UpdateEntry(c, mapName, seq, seqColumn, e => e with { PfsGroup = group });
                return;
            }
            case "security-association":
            {
                if (c.Keyword("lifetime", "replay") == "replay") throw Skip();
                var unit = c.Keyword("seconds", "kilobytes");
                if (unit == "seconds")
                {
                    var s = c.Int(AsaDefaults.IpsecSaLifetimeSecondsMin, AsaDefaults.IpsecSaLifetimeSecondsMax, "lifetime seconds");
                    c.End();
                    UpdateEntry(c, mapName, seq, seqColumn, e => e with { LifetimeSeconds = s });
                }
                else if (c.TryKeyword("unlimited"))
                {
                    c.End();
                    UpdateEntry(c, mapName, seq, seqColumn, e => e with { LifetimeKilobytes = null, LifetimeKilobytesUnlimited = true });
                }
                else
                {
                    var kb = c.Number(AsaDefaults.IpsecSaLifetimeKilobytesMin, AsaDefaults.IpsecSaLifetimeKilobytesMax, "lifetime kilobytes");
                    c.End();
                    UpdateEntry(c, mapName, seq, seqColumn, e => e with { LifetimeKilobytes = kb, LifetimeKilobytesUnlimited = false });
                }
                return;
            }
            case "reverse-route":
                if (!c.AtEnd) throw Skip(); // `reverse-route dynamic` and friends
                UpdateEntry(c, mapName, seq, seqColumn, e => e with { ReverseRoute = true });
                return;
            case "connection-type":
            {
                var t = c.Keyword("bidirectional", "answer-only", "originate-only");
                c.End();
                AsaKeywords.TryParse(AsaKeywords.ConnectionTypeText, t, out ConnectionType ct);
                UpdateEntry(c, mapName, seq, seqColumn, e => e with { ConnectionType = ct });
                return;
            }
            default:
                throw Skip();
        }
    }

    private void EnsureMap(string name)
    {
        if (_mapEntries.ContainsKey(name)) return;
        _mapEntries[name] = [];
        _mapOrder.Add(name);
    }

    private void UpdateEntry(CommandCursor c, string map, int seq, int seqColumn, Func<CryptoMapEntry, CryptoMapEntry> change)
    {
        EnsureMap(map);
        var entries = _mapEntries[map];
        var index = entries.FindIndex(e => e.Sequence == seq);
        if (index >= 0)
        {
            entries[index] = change(entries[index]);
            return;
        }
        var insertAt = entries.FindIndex(e => e.Sequence > seq);
        if (insertAt < 0) insertAt = entries.Count;
        entries.Insert(insertAt, change(new CryptoMapEntry(seq)));
        MapEntryLines[(map, seq)] = Here(c, seqColumn);
    }

    private void ParseCryptoIsakmp(CommandCursor c, string spelling)
    {
        var what = c.Keyword("enable", "policy", "identity", "nat-traversal",
            "am-disable", "disconnect-notify", "reload-wait", "ipsec-over-tcp", "limit", "remote-access", "fragmentation", "keepalive");
        switch (what)
        {
            case "enable":
            {
                var column = c.Column;
                var iface = c.Name("interface name");
                c.End();
                if (!_isakmpEnabled.Contains(iface)) _isakmpEnabled.Add(iface);
                IsakmpEnableLines[iface] = Here(c, column);
                return;
            }
            case "policy":
            {
                var column = c.Column;
                var priority = c.Int(1, AsaDefaults.PriorityMax, "policy priority");
                c.End();
                if (!_policies.ContainsKey(priority)) _policies[priority] = new IsakmpPolicy(priority);
                PolicyLines[(priority, "")] = Here(c, column);
                Enter(Block.IsakmpPolicy, spelling, priority);
                return;
            }
            case "identity":
            {
                var kind = c.Keyword("address", "hostname", "key-id", "auto");
                AsaKeywords.TryParse(AsaKeywords.Identity, kind, out IsakmpIdentity id);
                string? keyId = null;
                if (id == IsakmpIdentity.KeyId) keyId = c.Name("key-id string");
                c.End();
                _identity = new IsakmpIdentitySetting(id, keyId);
                return;
            }
            case "nat-traversal":
            {
                var keepalive = AsaDefaults.NatTraversalKeepaliveSeconds;
                if (!c.AtEnd) keepalive = c.Int(AsaDefaults.NatTraversalKeepaliveMin, AsaDefaults.NatTraversalKeepaliveMax, "NAT-T keepalive seconds");
                c.End();
                _natTraversal = new NatTraversal(true, keepalive);
                return;
            }
            default:
                throw Skip();
        }
    }

    // ------------------------------------------------------------------ tunnel-group

    private static readonly Dictionary<string, TunnelGroupType> ImplicitGroups = new(StringComparer.Ordinal)
    {
        // The ASA's built-in connection profiles exist without a `type` line.
        [AsaDefaults.DefaultL2LGroup] = TunnelGroupType.IpsecL2L,
        ["DefaultRAGroup"] = TunnelGroupType.RemoteAccess,
        ["DefaultWEBVPNGroup"] = TunnelGroupType.Webvpn,
    };

    private void ParseTunnelGroup(CommandCursor c)
    {
        c.Next("tunnel-group");
        var nameColumn = c.Column;
        var name = c.Name("tunnel-group name", 64);
        var what = c.Keyword("type", "ipsec-attributes", "general-attributes", "webvpn-attributes", "ppp-attributes");
        var index = _tunnelGroups.FindIndex(t => t.Name == name);
        switch (what)
        {
            case "type":
            {
                var t = c.Keyword("ipsec-l2l", "remote-access", "ipsec-ra", "webvpn");
                c.End();
                AsaKeywords.TryParse(AsaKeywords.TunnelGroupTypeText, t, out TunnelGroupType type);
                if (index < 0) _tunnelGroups.Add(new TunnelGroup(name, type));
                else _tunnelGroups[index] = _tunnelGroups[index] with { Type = type };
                return;
            }
            case "ipsec-attributes":
                c.End();
                if (index < 0)
                {
                    if (!ImplicitGroups.TryGetValue(name, out var implicitType))
                        throw c.InvalidAt(nameColumn, $"tunnel-group '{name}' has no type: `tunnel-group {name} type ipsec-l2l` must come first", "tunnel-group with a type");
                    _tunnelGroups.Add(new TunnelGroup(name, implicitType));
                    index = _tunnelGroups.Count - 1;
                }
                _tunnelGroups[index] = _tunnelGroups[index] with { HasIpsecAttributes = true };
                Enter(Block.TunnelGroupIpsec, name);
                return;
            default:
                if (index < 0 && !ImplicitGroups.ContainsKey(name))
                    throw c.InvalidAt(nameColumn, $"tunnel-group '{name}' has no type: `tunnel-group {name} type …` must come first", "tunnel-group with a type");
                throw Skip();
        }
    }

    // ------------------------------------------------------------------ sub-commands

    private void ParseSubCommand(CommandCursor c)
    {
        switch (_block)
        {
            case Block.Interface: ParseInterfaceSub(c); return;
            case Block.ObjectNetwork: ParseObjectNetworkSub(c); return;
            case Block.ObjectGroupNetwork: ParseObjectGroupSub(c); return;
            case Block.ObjectService: ParseServiceObjectSub(c); return;
            case Block.ObjectGroupService: ParseServiceGroupSub(c); return;
            case Block.IsakmpPolicy: ParsePolicySub(c); return;
            case Block.TunnelGroupIpsec: ParseTunnelGroupIpsecSub(c); return;
        }
    }

    private void ParseInterfaceSub(CommandCursor c)
    {
        var index = _interfaces.FindIndex(i => i.HardwareName == _blockKey);
        var current = _interfaces[index];
        if (c.PeekIs("nameif"))
        {
            c.Keyword("nameif");
            var column = c.Column;
            var name = c.Name("interface name (nameif)", 48);
            c.End();
            if (_interfaces.Any(i => i.Nameif == name && i.HardwareName != _blockKey))
                throw c.InvalidAt(column, $"nameif '{name}' is already used by another interface", "interface name");
            _interfaces[index] = current with { Nameif = name };
            return;
        }
        if (c.PeekIs("security-level"))
        {
            c.Keyword("security-level");
            var level = c.Int(0, AsaDefaults.SecurityLevelMax, "security level");
            c.End();
            _interfaces[index] = current with { SecurityLevel = level };
            return;
        }
        if (c.PeekIs("ip") && c.PeekAt(1) is { } next && next.Text.Equals("address", StringComparison.OrdinalIgnoreCase))
        {
            c.Keyword("ip");
            c.Keyword("address");
            if (c.PeekIs("pppoe")) throw Skip();
            if (c.TryKeyword("dhcp"))
            {
                var setroute = c.TryKeyword("setroute");
                c.End();
                _interfaces[index] = current with { Dhcp = true, DhcpSetRoute = setroute, Address = null };
                return;
            }
            var column = c.Column;
            var address = c.Address("interface IP address");
            var mask = c.Mask();
            var prefix = new Ipv4Prefix(address, Ipv4.MaskLength(mask));
            if (Ipv4.MaskLength(mask) < 31 && (address == prefix.Network || address == prefix.Last))
                throw c.InvalidAt(column, $"{Ipv4.Format(address)} is the network or broadcast address of {prefix}", "host address");
            uint? standby = null;
            if (c.TryKeyword("standby")) standby = c.Address("standby IP address");
            c.End();
            _interfaces[index] = current with { Address = new InterfaceAddress(address, prefix.Length), Dhcp = false, StandbyAddress = standby };
            return;
        }
        throw Skip();
    }

    private void ParseObjectNetworkSub(CommandCursor c)
    {
        var index = _objects.FindIndex(o => o.Name == _blockKey);
        var current = _objects[index];
        var what = c.Keyword("host", "subnet", "range", "fqdn", "description", "nat");
        if (what != "description" && c.Peek is { } v6 && IsIpv6(v6.Text)) throw Skip(); // IPv6 objects: kept, not interpreted
        switch (what)
        {
            case "host":
                _objects[index] = current with { Kind = NetworkObjectKind.Host, Host = c.Address("host address", _nameTable) };
                break;
            case "subnet":
                _objects[index] = current with { Kind = NetworkObjectKind.Subnet, Subnet = c.Prefix("subnet address", _nameTable) };
                break;
            case "range":
            {
                var first = c.Address("first address", _nameTable);
                var column = c.Column;
                var last = c.Address("last address", _nameTable);
                if (last < first) throw c.InvalidAt(column, $"range end {Ipv4.Format(last)} is below its start {Ipv4.Format(first)}", "last address");
                _objects[index] = current with { Kind = NetworkObjectKind.Range, Range = new Ipv4Range(first, last) };
                break;
            }
            case "fqdn":
            {
                if (c.PeekIs("v4") || c.PeekIs("v6")) c.Keyword("v4", "v6");
                _objects[index] = current with { Kind = NetworkObjectKind.Fqdn, Fqdn = c.Name("fully qualified domain name") };
                break;
            }
            case "description":
                _objects[index] = current with { Description = c.Rest("description text") };
                return;
            default:
                throw Skip(); // object NAT (auto NAT) inside the object
        }
        c.End();
    }

    /// <summary>`group-object NAME` inside an object-group: the nested group's name, recorded as a reference to check.</summary>
    private string GroupObject(CommandCursor c, ReferenceKind kind)
    {
        var column = c.Column;
        var name = c.Name("object-group name");
        if (name == _blockKey) throw c.InvalidAt(column, "an object-group cannot contain itself", "object-group name");
        References.Add(new Reference(kind, name, Loc(c, column), c.Line, "group-object"));
        return name;
    }

    private void ParseObjectGroupSub(CommandCursor c)
    {
        var index = _groups.FindIndex(g => g.Name == _blockKey);
        var current = _groups[index];
        var what = c.Keyword("network-object", "group-object", "description");
        ObjectGroupMember member;
        switch (what)
        {
            case "description":
                _groups[index] = current with { Description = c.Rest("description text") };
                return;
            case "group-object":
            {
                var name = GroupObject(c, ReferenceKind.NetworkGroup);
                member = new ObjectGroupMember(ObjectGroupMemberKind.Group, Name: name);
                break;
            }
            default:
                if (c.Peek is { } v6 && IsIpv6(v6.Text) || c.PeekAt(1) is { } v6Host && c.PeekIs("host") && IsIpv6(v6Host.Text))
                    throw Skip(); // IPv6 members: kept, not interpreted
                if (c.TryKeyword("host"))
                {
                    member = new ObjectGroupMember(ObjectGroupMemberKind.Host, Host: c.Address("host address", _nameTable));
                }
                else if (c.TryKeyword("object"))
                {
                    var column = c.Column;
                    var name = c.Name("network object name");
                    References.Add(new Reference(ReferenceKind.NetworkObject, name, Loc(c, column), c.Line, "network-object object"));
                    member = new ObjectGroupMember(ObjectGroupMemberKind.Object, Name: name);
                }
                else if (!c.AtEnd && (Ipv4.TryParse(c.Peek!.Value.Text, out _) || _nameTable.ContainsKey(c.Peek!.Value.Text)))
                {
                    member = new ObjectGroupMember(ObjectGroupMemberKind.Subnet, Subnet: c.Prefix("network address", _nameTable));
                }
                else
                {
                    throw c.Invalid(c.AtEnd ? "incomplete network-object" : $"expected 'host', 'object' or A.B.C.D MASK, found '{CommandCursor.Printable(c.Peek!.Value.Text)}'",
                        "host", "object", "A.B.C.D");
                }
                break;
        }
        c.End();
        if (!current.Members.Contains(member))
            _groups[index] = current with { Members = current.Members.Append(member).ToValueList() };
    }

    private void ParseServiceObjectSub(CommandCursor c)
    {
        var index = _serviceObjects.FindIndex(o => o.Name == _blockKey);
        if (c.Keyword("service", "description") == "description")
        {
            _serviceObjects[index] = _serviceObjects[index] with { Description = c.Rest("description text") };
            return;
        }
        _serviceObjects[index] = _serviceObjects[index] with { Service = ParseServiceSpec(c) };
    }

    /// <summary>
    /// `PROTO [source OP PORT] [destination OP PORT]` (or, ASA 8.x style, `PROTO OP PORT` for the
    /// destination), `icmp [TYPE]`, or a bare protocol. OP is eq, neq, lt, gt or range.
    /// </summary>
    private static ServiceSpec ParseServiceSpec(CommandCursor c)
    {
        var protocol = ParseServiceProtocol(c);
        if (protocol == 1)
        {
            int? type = null;
            if (!c.AtEnd)
            {
                var t = c.Peek!.Value.Text;
                if (AsaKeywords.IcmpTypes.TryGetValue(t, out var named)) { c.Next("icmp type"); type = named; }
                else type = c.Int(0, 255, "ICMP type");
            }
            c.End();
            return new ServiceSpec(1, IcmpType: type);
        }
        PortSpec? source = null, destination = null;
        if (protocol is 6 or 17 or 132 or ServiceSpec.TcpUdp)
        {
            while (!c.AtEnd)
            {
                var column = c.Column;
                var word = c.Keyword("source", "destination", "eq", "neq", "lt", "gt", "range");
                if (word is "source" or "destination")
                {
                    if (word == "source" ? source is not null : destination is not null)
                        throw c.InvalidAt(column, $"'{word}' is given twice", "end of command");
                    var spec = ParseServiceOperator(c, c.Keyword("eq", "neq", "lt", "gt", "range"), protocol);
                    if (word == "source") source = spec;
                    else destination = spec;
                }
                else
                {
                    if (destination is not null) throw c.InvalidAt(column, "the destination port is given twice", "end of command");
                    destination = ParseServiceOperator(c, word, protocol);
                }
            }
        }
        c.End();
        return new ServiceSpec(protocol, source, destination);
    }

    private static int ParseServiceProtocol(CommandCursor c)
    {
        var expected = new[] { "tcp", "udp", "tcp-udp", "icmp", "ip", "esp", "ah", "gre", "protocol number (0-255)" };
        if (c.AtEnd) c.Next("protocol", expected);
        var text = c.Peek!.Value.Text;
        if (text.Equals("tcp-udp", StringComparison.OrdinalIgnoreCase)) { c.Next("protocol"); return ServiceSpec.TcpUdp; }
        if (AsaKeywords.Protocols.TryGetValue(text, out var p)) { c.Next("protocol"); return p; }
        if (text.All(char.IsAsciiDigit)) return c.Int(0, 255, "protocol number");
        throw c.Invalid($"expected a protocol (tcp, udp, tcp-udp, icmp, ip, … or 0-255), found '{CommandCursor.Printable(text)}'", expected);
    }

    private static PortSpec ParseServiceOperator(CommandCursor c, string op, int protocol)
    {
        if (op == "range")
        {
            var column = c.Column;
            var low = ParsePortValue(c, protocol);
            var high = ParsePortValue(c, protocol);
            if (high < low) throw c.InvalidAt(column, $"port range {low}-{high} is empty (the first port must not exceed the second)", "port");
            return new PortSpec(PortOperator.Range, low, high);
        }
        var kind = op switch { "eq" => PortOperator.Eq, "neq" => PortOperator.Neq, "lt" => PortOperator.Lt, _ => PortOperator.Gt };
        return new PortSpec(kind, ParsePortValue(c, protocol));
    }

    private void ParseServiceGroupSub(CommandCursor c)
    {
        var index = _groups.FindIndex(g => g.Name == _blockKey);
        var current = _groups[index];
        var allowed = current.Type switch
        {
            ObjectGroupType.Service => new[] { "port-object", "service-object", "group-object", "description" },
            ObjectGroupType.Protocol => new[] { "protocol-object", "group-object", "description" },
            _ => new[] { "icmp-object", "group-object", "description" },
        };
        var whatColumn = c.Column;
        var what = c.Keyword(allowed);
        ServiceMember member;
        switch (what)
        {
            case "description":
                _groups[index] = current with { Description = c.Rest("description text") };
                return;
            case "group-object":
            {
                var name = GroupObject(c, current.Type switch
                {
                    ObjectGroupType.Service => ReferenceKind.ServiceGroup,
                    ObjectGroupType.Protocol => ReferenceKind.ProtocolGroup,
                    _ => ReferenceKind.IcmpGroup,
                });
                member = new ServiceMember(ServiceMemberKind.Group, Name: name);
                c.End();
                break;
            }
            case "port-object":
            {
                if (current.ServiceProtocol is null)
                    throw c.InvalidAt(whatColumn, $"port-object needs a group with a protocol (`object-group service {_blockKey} tcp|udp|tcp-udp`)", "service-object");
                var protocol = current.ServiceProtocol switch { "tcp" => 6, "udp" => 17, _ => ServiceSpec.TcpUdp };
                member = new ServiceMember(ServiceMemberKind.Port, Port: ParseServiceOperator(c, c.Keyword("eq", "range"), protocol));
                c.End();
                break;
            }
            case "service-object":
                if (c.TryKeyword("object"))
                {
                    var column = c.Column;
                    var name = c.Name("service object name");
                    References.Add(new Reference(ReferenceKind.ServiceObject, name, Loc(c, column), c.Line, "service-object object"));
                    member = new ServiceMember(ServiceMemberKind.ServiceObject, Name: name);
                    c.End();
                }
                else
                {
                    member = new ServiceMember(ServiceMemberKind.Service, Service: ParseServiceSpec(c));
                }
                break;
            case "protocol-object":
                member = new ServiceMember(ServiceMemberKind.Protocol, Protocol: ParseServiceProtocol(c));
                c.End();
                break;
            default:
            {
                var t = c.Next("ICMP type", "echo", "echo-reply", "unreachable", "ICMP type (0-255)");
                int type;
                if (AsaKeywords.IcmpTypes.TryGetValue(t.Text, out var named)) type = named;
                else if (t.Text.All(char.IsAsciiDigit) && t.Text.Length <= 3 && int.Parse(t.Text, System.Globalization.CultureInfo.InvariantCulture) <= 255)
                    type = int.Parse(t.Text, System.Globalization.CultureInfo.InvariantCulture);
                else throw c.InvalidAt(t.Column, $"expected an ICMP type (echo, echo-reply, unreachable, … or 0-255), found '{CommandCursor.Printable(t.Text)}'", "ICMP type");
                member = new ServiceMember(ServiceMemberKind.Icmp, IcmpType: type);
                c.End();
                break;
            }
        }
        if (!current.Services.Contains(member))
            _groups[index] = current with { Services = current.Services.Append(member).ToValueList() };
    }

    private void ParsePolicySub(CommandCursor c)
    {
        var current = _policies[_blockPriority];
        var what = c.Keyword("authentication", "encryption", "hash", "group", "lifetime");
        var valueColumn = c.Column;
        switch (what)
        {
            case "authentication":
                AsaKeywords.TryParse(AsaKeywords.Authentication, c.Keyword("pre-share", "rsa-sig", "crack"), out IsakmpAuthentication a);
                current = current with { Authentication = a };
                break;
            case "encryption":
                AsaKeywords.TryParse(AsaKeywords.Encryption, c.Keyword("des", "3des", "aes", "aes-192", "aes-256"), out IkeEncryption e);
                current = current with { Encryption = e };
                break;
            case "hash":
                AsaKeywords.TryParse(AsaKeywords.Hash, c.Keyword("md5", "sha", "sha256", "sha384", "sha512"), out IkeHash h);
                current = current with { Hash = h };
                break;
            case "group":
                var g = int.Parse(c.Keyword(AsaKeywords.DhGroups.Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray()), System.Globalization.CultureInfo.InvariantCulture);
                current = current with { Group = g };
                break;
            default:
                current = current with { LifetimeSeconds = c.Int(AsaDefaults.IsakmpPolicyLifetimeMin, AsaDefaults.IsakmpPolicyLifetimeMax, "lifetime seconds") };
                break;
        }
        c.End();
        _policies[_blockPriority] = current;
        PolicyLines[(_blockPriority, what)] = Here(c, valueColumn);
    }

    private void ParseTunnelGroupIpsecSub(CommandCursor c)
    {
        var index = _tunnelGroups.FindIndex(t => t.Name == _blockKey);
        var current = _tunnelGroups[index];
        var what = c.Keyword("pre-shared-key", "ikev1", "isakmp", "ikev2", "peer-id-validate", "chain", "trust-point",
            "radius-sdi-xauth", "authorization-required", "authentication", "tunnel-group-map");
        switch (what)
        {
            case "ikev1":
                if (c.Keyword("pre-shared-key", "trust-point", "user-authentication") != "pre-shared-key") throw Skip();
                goto case "pre-shared-key";
            case "pre-shared-key":
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
                _tunnelGroups[index] = current with { PreSharedKey = psk };
                return;
            }
            case "isakmp":
            {
                var sub = c.Keyword("keepalive", "ikev1-user-authentication");
                if (sub != "keepalive") throw Skip();
                if (c.TryKeyword("disable"))
                {
                    c.End();
                    _tunnelGroups[index] = current with { Keepalive = new IsakmpKeepalive(true, AsaDefaults.DpdThresholdSeconds, AsaDefaults.DpdRetrySeconds) };
                    return;
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
                _tunnelGroups[index] = current with { Keepalive = new IsakmpKeepalive(false, threshold, retry) };
                return;
            }
            default:
                throw Skip();
        }
    }

    // ------------------------------------------------------------------ result

    private AsaConfig BuildModel() => new()
    {
        Hostname = _hostname,
        Names = _names.ToValueList(),
        Interfaces = _interfaces.ToValueList(),
        NetworkObjects = _objects.ToValueList(),
        ServiceObjects = _serviceObjects.ToValueList(),
        ObjectGroups = _groups.ToValueList(),
        AccessLists = _aclOrder.Select(n => new AccessList(n) { Entries = _acls[n].ToValueList() }).ToValueList(),
        NatRules = _nat.ToValueList(),
        TransformSets = _transformSets.ToValueList(),
        GlobalSaLifetime = _globalLifetime,
        CryptoMaps = _mapOrder.Select(n => new CryptoMap(n)
        {
            Entries = _mapEntries[n].ToValueList(),
            Interface = _mapInterface.GetValueOrDefault(n),
        }).ToValueList(),
        IsakmpEnabledInterfaces = _isakmpEnabled.ToValueList(),
        IsakmpPolicies = _policies.Values.ToValueList(),
        Identity = _identity,
        NatTraversal = _natTraversal,
        TunnelGroups = _tunnelGroups.ToValueList(),
    };
}
