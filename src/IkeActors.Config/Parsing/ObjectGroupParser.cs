using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// `object-group network NAME` (`network-object`, `group-object`) and
/// `object-group service|protocol|icmp-type NAME` (`port-object`, `service-object`,
/// `protocol-object`, `icmp-object`, `group-object`); `user` and `security` groups are
/// known by name and type only.
/// </summary>
internal sealed class ObjectGroupParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    /// <summary>
    /// `object-group network NAME`, `object-group service NAME [tcp|udp|tcp-udp]`,
    /// `object-group protocol|icmp-type NAME`: opens the group's sub-command mode.
    /// </summary>
    public SubMode ParseObjectGroup(CommandCursor c)
    {
        var groups = Config.ObjectGroups;
        c.Next("object-group");
        var type = c.Keyword("network", "service", "protocol", "icmp-type", "user", "security");
        var nameColumn = c.Column;
        var name = c.Name("object-group name", 64);
        if (Config.NetworkObjects.Any(o => o.Name == name) || Config.ServiceObjects.Any(o => o.Name == name))
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
            var index = groups.FindIndex(g => g.Name == name);
            if (index < 0) groups.Add(new ObjectGroup(name, groupType) { ServiceProtocol = proto });
            else if (groups[index].Type != groupType || groups[index].ServiceProtocol != proto)
                throw c.InvalidAt(nameColumn, $"object-group '{name}' is already defined as another type", "object-group name");
            // User and security groups are known by name and type only.
            if (groupType is ObjectGroupType.User or ObjectGroupType.Security) throw NotInterpreted();
            c.End();
            return new SubMode(SubModeKind.ObjectGroupService, name);
        }
        c.End();
        var existing = groups.FindIndex(g => g.Name == name);
        if (existing < 0) groups.Add(new ObjectGroup(name, ObjectGroupType.Network));
        else if (groups[existing].Type != ObjectGroupType.Network)
            throw c.InvalidAt(nameColumn, $"object-group '{name}' is already defined as another type", "object-group name");
        return new SubMode(SubModeKind.ObjectGroupNetwork, name);
    }

    /// <summary>
    /// One line under `object-group network NAME`: `network-object host A.B.C.D`,
    /// `network-object A.B.C.D MASK`, `network-object object NAME`, `group-object NAME`, `description`.
    /// </summary>
    public void ParseNetworkSubCommand(CommandCursor c, string groupName)
    {
        var groups = Config.ObjectGroups;
        var names = Config.NameTable;
        var index = groups.FindIndex(g => g.Name == groupName);
        var current = groups[index];
        var what = c.Keyword("network-object", "group-object", "description");
        ObjectGroupMember member;
        switch (what)
        {
            case "description":
                groups[index] = current with { Description = c.Rest("description text") };
                return;
            case "group-object":
            {
                var name = GroupObject(c, groupName, ReferenceKind.NetworkGroup);
                member = new ObjectGroupMember(ObjectGroupMemberKind.Group, Name: name);
                break;
            }
            default:
                if (c.Peek is { } v6 && IsIpv6(v6.Text) || c.PeekAt(1) is { } v6Host && c.PeekIs("host") && IsIpv6(v6Host.Text))
                    throw NotInterpreted(); // IPv6 members: kept, not interpreted
                if (c.TryKeyword("host"))
                {
                    member = new ObjectGroupMember(ObjectGroupMemberKind.Host, Host: c.Address("host address", names));
                }
                else if (c.TryKeyword("object"))
                {
                    var column = c.Column;
                    var name = c.Name("network object name");
                    Sources.AddReference(ReferenceKind.NetworkObject, name, c, column, "network-object object");
                    member = new ObjectGroupMember(ObjectGroupMemberKind.Object, Name: name);
                }
                else if (!c.AtEnd && (Ipv4.TryParse(c.Peek!.Value.Text, out _) || names.ContainsKey(c.Peek!.Value.Text)))
                {
                    member = new ObjectGroupMember(ObjectGroupMemberKind.Subnet, Subnet: c.Prefix("network address", names));
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
            groups[index] = current with { Members = current.Members.Append(member).ToValueList() };
    }

    /// <summary>
    /// One line under `object-group service|protocol|icmp-type NAME`: `port-object eq|range …`
    /// (groups with a protocol), `service-object PROTO …` or `service-object object NAME`,
    /// `protocol-object PROTO`, `icmp-object TYPE`, `group-object NAME`, `description`.
    /// </summary>
    public void ParseServiceSubCommand(CommandCursor c, string groupName)
    {
        var groups = Config.ObjectGroups;
        var index = groups.FindIndex(g => g.Name == groupName);
        var current = groups[index];
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
                groups[index] = current with { Description = c.Rest("description text") };
                return;
            case "group-object":
            {
                var name = GroupObject(c, groupName, current.Type switch
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
                    throw c.InvalidAt(whatColumn, $"port-object needs a group with a protocol (`object-group service {groupName} tcp|udp|tcp-udp`)", "service-object");
                var protocol = current.ServiceProtocol switch { "tcp" => 6, "udp" => 17, _ => ServiceSpec.TcpUdp };
                member = new ServiceMember(ServiceMemberKind.Port, Port: ServiceSyntax.ParsePortCondition(c, c.Keyword("eq", "range"), protocol));
                c.End();
                break;
            }
            case "service-object":
                if (c.TryKeyword("object"))
                {
                    var column = c.Column;
                    var name = c.Name("service object name");
                    Sources.AddReference(ReferenceKind.ServiceObject, name, c, column, "service-object object");
                    member = new ServiceMember(ServiceMemberKind.ServiceObject, Name: name);
                    c.End();
                }
                else
                {
                    member = new ServiceMember(ServiceMemberKind.Service, Service: ServiceSyntax.ParseService(c));
                }
                break;
            case "protocol-object":
                member = new ServiceMember(ServiceMemberKind.Protocol, Protocol: ServiceSyntax.ParseProtocol(c));
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
            groups[index] = current with { Services = current.Services.Append(member).ToValueList() };
    }

    /// <summary>`group-object NAME` inside an object-group: the nested group's name, recorded as a reference to check.</summary>
    private string GroupObject(CommandCursor c, string groupName, ReferenceKind kind)
    {
        var column = c.Column;
        var name = c.Name("object-group name");
        if (name == groupName) throw c.InvalidAt(column, "an object-group cannot contain itself", "object-group name");
        Sources.AddReference(kind, name, c, column, "group-object");
        return name;
    }
}
