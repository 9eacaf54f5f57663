using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// `access-list NAME extended permit|deny PROTO SOURCE [PORT] DESTINATION [PORT] [log …] [time-range NAME] [inactive]`,
/// `access-list NAME standard permit|deny any|any4|host A.B.C.D|A.B.C.D MASK` (destination addresses, as
/// split-tunnel lists use them) and `access-list NAME remark TEXT`. Ethertype and webtype lists are kept
/// as not interpreted.
/// </summary>
internal sealed class AccessListParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    private static readonly string[] LogLevels =
        ["emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational", "debugging"];

    public SubMode ParseAccessList(CommandCursor c)
    {
        c.Next("access-list");
        var name = c.Name("access-list name");
        var kindColumn = c.Column;
        var kind = c.Keyword("extended", "remark", "standard", "ethertype", "webtype", "line");
        AccessListEntry entry;
        if (kind == "remark")
        {
            entry = AccessListEntry.ForRemark(c.Rest("remark text"));
        }
        else if (kind is "extended" or "standard")
        {
            // The ASA keeps one type per access-list: a standard line cannot join an extended list, nor the reverse.
            var earlier = Config.AccessListEntries(name).FirstOrDefault(e => !e.IsRemark);
            if (earlier is not null && earlier.Standard != (kind == "standard"))
                throw c.InvalidAt(kindColumn, $"access-list '{name}' is {(earlier.Standard ? "a standard" : "an extended")} access-list: a {kind} entry cannot be added to it", earlier.Standard ? "standard" : "extended");
            entry = kind == "extended" ? ParseAce(c) : ParseStandardAce(c);
        }
        else
        {
            throw NotInterpreted();
        }
        Config.AddAccessListEntry(name, entry);
        return SubMode.None;
    }

    /// <summary>A standard ACE from `permit|deny` on: `any`, `any4`, `host A.B.C.D` or `A.B.C.D MASK`.</summary>
    private AccessListEntry ParseStandardAce(CommandCursor c)
    {
        var action = c.Keyword("permit", "deny") == "permit" ? AclAction.Permit : AclAction.Deny;
        var names = Config.NameTable;
        var expected = new[] { "any", "any4", "host", "A.B.C.D" };
        if (c.AtEnd) c.Next("address", expected);
        var t = c.Peek!.Value;
        AddressSpec address;
        if (c.TryKeyword("any")) address = AddressSpec.Any;
        else if (c.TryKeyword("any4")) address = new AddressSpec(AddressKind.Any4);
        else if (c.TryKeyword("host"))
        {
            if (c.Peek is { } h && IsIpv6(h.Text)) throw NotInterpreted();
            address = AddressSpec.ForHost(c.Address("host address", names));
        }
        else if (Ipv4.TryParse(t.Text, out _) || names.ContainsKey(t.Text)) address = AddressSpec.ForSubnet(c.Prefix("address", names));
        else if (IsIpv6(t.Text) || t.Text.Equals("any6", StringComparison.OrdinalIgnoreCase)) throw NotInterpreted();
        else throw c.Invalid($"expected an address (any4, host A.B.C.D, A.B.C.D MASK), found '{CommandCursor.Printable(t.Text)}'", expected);
        c.End();
        return new AccessListEntry { Standard = true, Action = action, Destination = address };
    }

    /// <summary>An extended ACE from `permit|deny` on.</summary>
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
            if (isGroup && Config.ObjectGroups.FirstOrDefault(g => g.Name == svc) is { } g && g.Type is not (ObjectGroupType.Service or ObjectGroupType.Protocol))
                throw c.InvalidAt(column, $"object-group '{svc}' is not a service or protocol group", "service object-group name");
            if (!isGroup && Config.NetworkObjects.Any(o => o.Name == svc))
                throw c.InvalidAt(column, $"'{svc}' is a network object, expected a service object", "service object name");
            Sources.AddReference(isGroup ? ReferenceKind.ServiceGroup : ReferenceKind.ServiceObject, svc, c, column, "access-list");
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

        if (entry.Protocol == 58) throw NotInterpreted(); // icmp6: IPv6 only, kept as not interpreted
        var ported = entry.Protocol is 6 or 17 or 132 || entry.ServiceObject is not null;
        entry = entry with { Source = ParseAddress(c, "source") };
        if (ported && IsPortStart(c, afterDestination: false)) entry = entry with { SourcePort = ParseAcePort(c, entry.Protocol) };
        entry = entry with { Destination = ParseAddress(c, "destination") };
        if (ported && IsPortStart(c, afterDestination: true)) entry = entry with { DestinationPort = ParseAcePort(c, entry.Protocol) };
        else if (entry.Protocol == 1 && c.PeekIs("object-group"))
        {
            c.Keyword("object-group");
            var column = c.Column;
            var group = c.Name("icmp-type object-group name");
            Sources.AddReference(ReferenceKind.IcmpGroup, group, c, column, "access-list");
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

    private static bool IsAceOption(CommandCursor c) => c.PeekIs("log") || c.PeekIs("time-range") || c.PeekIs("inactive");

    /// <summary>`log [LEVEL] [interval SECONDS]`, `log disable` or `log default`, after `log` is read.</summary>
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
                ? !Config.ObjectGroups.Any(g => g.Name == name.Text && g.Type == ObjectGroupType.Network)
                : Config.ObjectGroups.Any(g => g.Name == name.Text && g.Type == ObjectGroupType.Service);
        return false;
    }

    /// <summary>`eq|neq|lt|gt PORT`, `range LOW HIGH` or `object-group SERVICE-GROUP`.</summary>
    private PortSpec ParseAcePort(CommandCursor c, int protocol)
    {
        var op = c.Keyword("eq", "neq", "lt", "gt", "range", "object-group");
        if (op != "object-group") return ServiceSyntax.ParsePortCondition(c, op, protocol);
        var groupColumn = c.Column;
        var group = c.Name("service object-group name");
        Sources.AddReference(ReferenceKind.PortGroup, group, c, groupColumn, "access-list");
        return new PortSpec(PortOperator.ObjectGroup, GroupName: group);
    }

    /// <summary>
    /// A source or destination: `any`, `any4`, `any6`, `host A.B.C.D`, `A.B.C.D MASK`,
    /// `object NAME`, `object-group NAME` or `interface NAMEIF`.
    /// </summary>
    private AddressSpec ParseAddress(CommandCursor c, string role)
    {
        var names = Config.NameTable;
        var expected = new[] { "any", "any4", "any6", "host", "A.B.C.D", "object", "object-group", "interface" };
        if (c.AtEnd) c.Next($"{role} address", expected);
        var t = c.Peek!.Value;
        switch (t.Text.ToLowerInvariant())
        {
            // Identity firewall and TrustSec criteria: valid ASA, outside this gateway's model.
            case "user" or "user-group" or "object-group-user" or "security-group" or "object-group-security":
                throw NotInterpreted();
            case "any": c.Next(role); return AddressSpec.Any;
            case "any4": c.Next(role); return new AddressSpec(AddressKind.Any4);
            case "any6": c.Next(role); return new AddressSpec(AddressKind.Any6);
            case "host":
                c.Next(role);
                if (c.Peek is { } h && IsIpv6(h.Text)) throw NotInterpreted();
                return AddressSpec.ForHost(c.Address($"{role} host address", names));
            case "interface": c.Next(role); return new AddressSpec(AddressKind.Interface, Name: c.Name("interface name"));
            case "object":
            {
                c.Next(role);
                var column = c.Column;
                var name = c.Name("network object name");
                Sources.AddReference(ReferenceKind.NetworkObject, name, c, column, "access-list");
                return AddressSpec.ForObject(name);
            }
            case "object-group":
            {
                c.Next(role);
                var column = c.Column;
                var name = c.Name("network object-group name");
                Sources.AddReference(ReferenceKind.NetworkGroup, name, c, column, "access-list");
                return AddressSpec.ForObjectGroup(name);
            }
        }
        if (Ipv4.TryParse(t.Text, out _) || names.ContainsKey(t.Text))
            return AddressSpec.ForSubnet(c.Prefix($"{role} address", names));
        if (IsIpv6(t.Text)) throw NotInterpreted(); // IPv6 entries never match the IPv4 traffic this gateway carries
        throw c.Invalid($"expected a {role} address (any, host A.B.C.D, A.B.C.D MASK, object NAME, object-group NAME), found '{CommandCursor.Printable(t.Text)}'", expected);
    }
}
