using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// `object network NAME` (`host`, `subnet`, `range`, `fqdn`, `description`) and
/// `object service NAME` (`service PROTO [source OP PORT] [destination OP PORT]`, `description`).
/// </summary>
internal sealed class ObjectParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    /// <summary>`object network|service NAME`: opens the object's sub-command mode.</summary>
    public SubMode ParseObject(CommandCursor c)
    {
        c.Next("object");
        var kind = c.Keyword("network", "service");
        var nameColumn = c.Column;
        var name = c.Name("object name", 64);
        c.End();
        // Objects and object-groups share one name space.
        if (Config.ObjectGroups.Any(g => g.Name == name))
            throw c.InvalidAt(nameColumn, $"'{name}' is already an object-group name", "object name");
        if (kind == "service")
        {
            if (Config.NetworkObjects.Any(o => o.Name == name))
                throw c.InvalidAt(nameColumn, $"'{name}' is already a network object", "object name");
            if (!Config.ServiceObjects.Any(o => o.Name == name)) Config.ServiceObjects.Add(new ServiceObject(name));
            return new SubMode(SubModeKind.ObjectService, name);
        }
        if (Config.ServiceObjects.Any(o => o.Name == name))
            throw c.InvalidAt(nameColumn, $"'{name}' is already a service object", "object name");
        if (!Config.NetworkObjects.Any(o => o.Name == name)) Config.NetworkObjects.Add(new NetworkObject(name));
        return new SubMode(SubModeKind.ObjectNetwork, name);
    }

    /// <summary>One line under `object network NAME`: the last `host`/`subnet`/`range`/`fqdn` wins.</summary>
    public void ParseNetworkSubCommand(CommandCursor c, string objectName)
    {
        var objects = Config.NetworkObjects;
        var names = Config.NameTable;
        var index = objects.FindIndex(o => o.Name == objectName);
        var current = objects[index];
        var what = c.Keyword("host", "subnet", "range", "fqdn", "description", "nat");
        if (what != "description" && c.Peek is { } v6 && IsIpv6(v6.Text)) throw NotInterpreted(); // IPv6 objects: kept, not interpreted
        switch (what)
        {
            case "host":
                objects[index] = current with { Kind = NetworkObjectKind.Host, Host = c.Address("host address", names) };
                break;
            case "subnet":
                objects[index] = current with { Kind = NetworkObjectKind.Subnet, Subnet = c.Prefix("subnet address", names) };
                break;
            case "range":
            {
                var first = c.Address("first address", names);
                var column = c.Column;
                var last = c.Address("last address", names);
                if (last < first) throw c.InvalidAt(column, $"range end {Ipv4.Format(last)} is below its start {Ipv4.Format(first)}", "last address");
                objects[index] = current with { Kind = NetworkObjectKind.Range, Range = new Ipv4Range(first, last) };
                break;
            }
            case "fqdn":
            {
                if (c.PeekIs("v4") || c.PeekIs("v6")) c.Keyword("v4", "v6");
                objects[index] = current with { Kind = NetworkObjectKind.Fqdn, Fqdn = c.Name("fully qualified domain name") };
                break;
            }
            case "description":
                objects[index] = current with { Description = c.Rest("description text") };
                return;
            default:
                throw NotInterpreted(); // object NAT (auto NAT) inside the object
        }
        c.End();
    }

    /// <summary>One line under `object service NAME`.</summary>
    public void ParseServiceSubCommand(CommandCursor c, string objectName)
    {
        var objects = Config.ServiceObjects;
        var index = objects.FindIndex(o => o.Name == objectName);
        if (c.Keyword("service", "description") == "description")
        {
            objects[index] = objects[index] with { Description = c.Rest("description text") };
            return;
        }
        objects[index] = objects[index] with { Service = ServiceSyntax.ParseService(c) };
    }
}
