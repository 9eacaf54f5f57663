using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// Reads ASA CLI text line by line into an <see cref="AsaConfig"/>: follows the sub-command
/// modes (`interface`, `object`, `object-group`, `crypto ikev1 policy`, `tunnel-group …
/// general-attributes|ipsec-attributes`, `group-policy … attributes`, `username … attributes`)
/// and hands each command to the parser of its family. One bad command
/// gives one diagnostic and the next line is read; nothing a file contains makes it throw.
/// </summary>
internal sealed class AsaConfigParser
{
    private readonly List<ConfigDiagnostic> _diagnostics = [];
    private readonly List<UninterpretedCommand> _notInterpreted = [];
    private readonly AsaConfigBuilder _config = new();

    private readonly SystemParser _system;
    private readonly InterfaceParser _interfaces;
    private readonly ObjectParser _objects;
    private readonly ObjectGroupParser _objectGroups;
    private readonly AccessListParser _accessLists;
    private readonly NatParser _nat;
    private readonly CryptoIpsecParser _cryptoIpsec;
    private readonly CryptoMapParser _cryptoMaps;
    private readonly CryptoIsakmpParser _cryptoIsakmp;
    private readonly TunnelGroupParser _tunnelGroups;
    private readonly IpLocalPoolParser _pools;
    private readonly GroupPolicyParser _groupPolicies;
    private readonly UsernameParser _users;

    // The sub-command mode the last global command opened, that command (secrets masked),
    // and under a command kept as not interpreted, its place in _notInterpreted.
    private SubMode _mode = SubMode.None;
    private string _modeHeader = "";
    private int _uninterpretedIndex = -1;
    // Under `group-policy … attributes` and `username … attributes`, `webvpn` (kept as not
    // interpreted) opens a nested mode: lines indented deeper than it (its indentation here)
    // are its own, counted with it.
    private int _nestedIndent = -1;

    public AsaConfigParser(string file)
    {
        Sources = new SourceIndex(file);
        _system = new SystemParser(_config, Sources, _diagnostics);
        _interfaces = new InterfaceParser(_config, Sources, _diagnostics);
        _objects = new ObjectParser(_config, Sources, _diagnostics);
        _objectGroups = new ObjectGroupParser(_config, Sources, _diagnostics);
        _accessLists = new AccessListParser(_config, Sources, _diagnostics);
        _nat = new NatParser(_config, Sources, _diagnostics);
        _cryptoIpsec = new CryptoIpsecParser(_config, Sources, _diagnostics);
        _cryptoMaps = new CryptoMapParser(_config, Sources, _diagnostics);
        _cryptoIsakmp = new CryptoIsakmpParser(_config, Sources, _diagnostics);
        _tunnelGroups = new TunnelGroupParser(_config, Sources, _diagnostics);
        _pools = new IpLocalPoolParser(_config, Sources, _diagnostics);
        _groupPolicies = new GroupPolicyParser(_config, Sources, _diagnostics);
        _users = new UsernameParser(_config, Sources, _diagnostics);
    }

    /// <summary>Where each name was defined and used, for the checks made after the whole file is read.</summary>
    public SourceIndex Sources { get; }

    public IReadOnlyList<ConfigDiagnostic> Diagnostics => _diagnostics;

    public string? Version => _config.Version;
    public IReadOnlyList<UninterpretedCommand> NotInterpreted => _notInterpreted;

    public AsaConfig Parse(string text)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Length > 0 && line[0] == '\uFEFF') line = line[1..]; // a byte-order mark on the first line
            ParseLine(line, i + 1);
        }
        return _config.Build();
    }

    private void ParseLine(string line, int number)
    {
        var trimmed = line.Trim();
        if (trimmed.Length == 0) return;
        var indented = char.IsWhiteSpace(line[0]);

        // `!` separators and `:` annotations (": Saved", ": Hardware: …", ":end") are not commands.
        if (trimmed[0] is '!' or ':')
        {
            if (!indented) LeaveMode();
            return;
        }
        var cursor = new CommandCursor(line, number);
        // `exit` leaves a sub-mode and `end` configuration mode (as in pasted or `write terminal` text).
        if (cursor.PeekIs("exit") || cursor.PeekIs("end") && trimmed.Length == 3 && !indented
            || cursor.PeekIs("quit") && _mode.Kind is not (SubModeKind.Uninterpreted or SubModeKind.Skipped))
        {
            LeaveMode();
            return;
        }
        if (indented && _mode.Kind != SubModeKind.None)
        {
            if (_mode.Kind == SubModeKind.Skipped) return; // under a header that had an error: the error explains them
            if (_mode.Kind == SubModeKind.Uninterpreted)
            {
                CountSubLine();
                return;
            }
            var indent = line.Length - line.TrimStart().Length;
            if (_nestedIndent >= 0 && indent > _nestedIndent)
            {
                CountSubLine();
                return;
            }
            _nestedIndent = -1;
            var kept = _notInterpreted.Count;
            Run(cursor, () => ParseSubCommand(cursor), isSubCommand: true);
            if (_notInterpreted.Count > kept && _mode.Kind is SubModeKind.GroupPolicyAttributes or SubModeKind.UsernameAttributes
                && CommandCursor.Tokenize(trimmed)[0].Text.Equals("webvpn", StringComparison.OrdinalIgnoreCase))
            {
                _nestedIndent = indent;
                _uninterpretedIndex = _notInterpreted.Count - 1;
            }
            return;
        }
        if (!indented && IsUnindentedSubCommand(cursor))
        {
            // Pasted configuration often loses its indentation; the ASA stays in the sub-mode
            // until a global command comes, and so do we.
            _nestedIndent = -1;
            Run(cursor, () => ParseSubCommand(cursor), isSubCommand: true);
            return;
        }
        LeaveMode();
        _modeHeader = SecretMasker.Mask(trimmed);
        Run(cursor, () => _mode = ParseCommand(cursor), isSubCommand: false);
    }

    private static readonly Dictionary<SubModeKind, HashSet<string>> SubCommandWords = new()
    {
        [SubModeKind.Interface] = new(StringComparer.OrdinalIgnoreCase) { "nameif", "security-level", "shutdown", "speed", "duplex", "vlan", "management-only", "description" },
        [SubModeKind.ObjectNetwork] = new(StringComparer.OrdinalIgnoreCase) { "host", "subnet", "range", "fqdn", "description" },
        [SubModeKind.ObjectGroupNetwork] = new(StringComparer.OrdinalIgnoreCase) { "network-object", "group-object", "description" },
        [SubModeKind.ObjectService] = new(StringComparer.OrdinalIgnoreCase) { "service", "description" },
        [SubModeKind.ObjectGroupService] = new(StringComparer.OrdinalIgnoreCase) { "port-object", "service-object", "protocol-object", "icmp-object", "group-object", "description" },
        [SubModeKind.IsakmpPolicy] = new(StringComparer.OrdinalIgnoreCase) { "authentication", "encryption", "hash", "group", "lifetime" },
        [SubModeKind.TunnelGroupIpsec] = new(StringComparer.OrdinalIgnoreCase) { "pre-shared-key", "ikev1", "ikev2", "peer-id-validate", "chain" },
        [SubModeKind.TunnelGroupGeneral] = new(TunnelGroupParser.GeneralAttributes.Concat(TunnelGroupParser.OtherGeneralAttributes), StringComparer.OrdinalIgnoreCase),
        // `banner` and `webvpn` are global commands too (`banner motd …`, `webvpn`): see below.
        [SubModeKind.GroupPolicyAttributes] = new(GroupPolicyParser.Attributes.Concat(GroupPolicyParser.OtherAttributes).Except(["banner", "webvpn", "description"]), StringComparer.OrdinalIgnoreCase),
        // `ssh`, `email`, `banner` and `webvpn` are global commands too.
        [SubModeKind.UsernameAttributes] = new(UsernameParser.Attributes.Concat(UsernameParser.OtherAttributes).Except(["ssh", "email", "banner", "webvpn"]), StringComparer.OrdinalIgnoreCase),
    };

    /// <summary>Whether an unindented line is a sub-command of the current mode rather than a global command.</summary>
    private bool IsUnindentedSubCommand(CommandCursor c)
    {
        if (!SubCommandWords.TryGetValue(_mode.Kind, out var words) || c.Peek is not { } first) return false;
        if (words.Contains(first.Text)) return true;
        // Words that are also global commands count only with the sub-command's second word.
        var second = c.PeekAt(1)?.Text;
        return _mode.Kind switch
        {
            SubModeKind.Interface => first.Text.Equals("ip", StringComparison.OrdinalIgnoreCase) && "address".Equals(second, StringComparison.OrdinalIgnoreCase),
            SubModeKind.TunnelGroupIpsec => first.Text.Equals("isakmp", StringComparison.OrdinalIgnoreCase)
                && ("keepalive".Equals(second, StringComparison.OrdinalIgnoreCase) || "ikev1-user-authentication".Equals(second, StringComparison.OrdinalIgnoreCase)),
            // The group-policy `banner value|none`, unlike the global `banner motd|exec|login|asdm`.
            SubModeKind.GroupPolicyAttributes => first.Text.Equals("banner", StringComparison.OrdinalIgnoreCase)
                && ("value".Equals(second, StringComparison.OrdinalIgnoreCase) || "none".Equals(second, StringComparison.OrdinalIgnoreCase)),
            _ => false,
        };
    }

    private void LeaveMode()
    {
        _mode = SubMode.None;
        _uninterpretedIndex = -1;
        _nestedIndent = -1;
    }

    /// <summary>A line that belongs to the not-interpreted command or sub-command before it.</summary>
    private void CountSubLine()
    {
        var u = _notInterpreted[_uninterpretedIndex];
        _notInterpreted[_uninterpretedIndex] = u with { SubLines = u.SubLines + 1 };
    }

    /// <summary>
    /// Runs one command's parser and turns what it throws into a diagnostic or a
    /// not-interpreted entry. A command that fails leaves no references behind (its names
    /// are not checked twice).
    /// </summary>
    private void Run(CommandCursor cursor, Action parse, bool isSubCommand)
    {
        var mark = Sources.Mark();
        try
        {
            parse();
        }
        catch (NotInterpretedSignal)
        {
            Sources.ForgetSince(mark);
            _notInterpreted.Add(new UninterpretedCommand(cursor.LineNumber, SecretMasker.Mask(cursor.Line.Trim()))
            {
                Context = isSubCommand ? _modeHeader : null,
            });
            if (!isSubCommand)
            {
                // Lines indented under a command we do not interpret belong to it.
                _mode = new SubMode(SubModeKind.Uninterpreted);
                _uninterpretedIndex = _notInterpreted.Count - 1;
            }
        }
        catch (CommandError e)
        {
            Sources.ForgetSince(mark);
            // The echoed line never carries a secret (a key with a typo is still a key).
            var column = e.Column;
            var echoed = SecretMasker.Mask(cursor.Line, ref column);
            _diagnostics.Add(new ConfigDiagnostic(DiagnosticSeverity.Error, e.Kind,
                Sources.Location(cursor, column), e.Message, echoed, e.Expected));
            // The sub-commands of a header that failed are skipped (the header's error explains them).
            if (!isSubCommand) _mode = new SubMode(SubModeKind.Skipped);
        }
    }

    /// <summary>A global command, by its first word; returns the sub-command mode it opens.</summary>
    private SubMode ParseCommand(CommandCursor c) => c.Peek!.Value.Text.ToLowerInvariant() switch
    {
        "asa" => _system.ParseAsaVersion(c),
        "hostname" => _system.ParseHostname(c),
        "mtu" => _system.ParseMtu(c),
        "names" => _system.ParseNames(c),
        "name" => _system.ParseName(c),
        "interface" => _interfaces.ParseInterface(c),
        "object" => _objects.ParseObject(c),
        "object-group" => _objectGroups.ParseObjectGroup(c),
        "access-list" => _accessLists.ParseAccessList(c),
        "nat" => _nat.ParseNat(c),
        "crypto" => ParseCrypto(c),
        "tunnel-group" => _tunnelGroups.ParseTunnelGroup(c),
        "ip" => _pools.ParseIp(c),
        "group-policy" => _groupPolicies.ParseGroupPolicy(c),
        "username" => _users.ParseUsername(c),
        "no" => _cryptoIsakmp.ParseNo(c),
        _ => throw new NotInterpretedSignal(),
    };

    /// <summary>`crypto ipsec …`, `crypto map …`, `crypto dynamic-map …`, `crypto ikev1|isakmp …`; the rest of `crypto` (ca, ikev2, key…) is not interpreted.</summary>
    private SubMode ParseCrypto(CommandCursor c)
    {
        c.Next("crypto");
        var what = c.Keyword("ipsec", "map", "isakmp", "ikev1", "ikev2", "ca", "dynamic-map", "key", "engine", "checksum", "ssl");
        return what switch
        {
            "ipsec" => _cryptoIpsec.ParseCryptoIpsec(c),
            "map" => _cryptoMaps.ParseCryptoMap(c),
            "dynamic-map" => _cryptoMaps.ParseDynamicMap(c),
            "isakmp" or "ikev1" => _cryptoIsakmp.ParseCryptoIsakmp(c, what),
            _ => throw new NotInterpretedSignal(),
        };
    }

    /// <summary>A line in the current sub-command mode, handed to the parser that opened the mode.</summary>
    private void ParseSubCommand(CommandCursor c)
    {
        switch (_mode.Kind)
        {
            case SubModeKind.Interface: _interfaces.ParseSubCommand(c, _mode.Name); return;
            case SubModeKind.ObjectNetwork: _objects.ParseNetworkSubCommand(c, _mode.Name); return;
            case SubModeKind.ObjectService: _objects.ParseServiceSubCommand(c, _mode.Name); return;
            case SubModeKind.ObjectGroupNetwork: _objectGroups.ParseNetworkSubCommand(c, _mode.Name); return;
            case SubModeKind.ObjectGroupService: _objectGroups.ParseServiceSubCommand(c, _mode.Name); return;
            case SubModeKind.IsakmpPolicy: _cryptoIsakmp.ParsePolicySubCommand(c, _mode.Priority); return;
            case SubModeKind.TunnelGroupIpsec: _tunnelGroups.ParseIpsecSubCommand(c, _mode.Name); return;
            case SubModeKind.TunnelGroupGeneral: _tunnelGroups.ParseGeneralSubCommand(c, _mode.Name); return;
            case SubModeKind.GroupPolicyAttributes: _groupPolicies.ParseAttribute(c, _mode.Name); return;
            case SubModeKind.UsernameAttributes: _users.ParseAttribute(c, _mode.Name); return;
        }
    }
}
