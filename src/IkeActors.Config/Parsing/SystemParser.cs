using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// The device-wide lines at the top of a running configuration:
/// `ASA Version 9.12(4)`, `hostname NAME`, `names` and `name A.B.C.D NAME [description TEXT]`.
/// </summary>
internal sealed class SystemParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    /// <summary>`ASA Version 9.12(4)`: kept as written, for the load result.</summary>
    public SubMode ParseAsaVersion(CommandCursor c)
    {
        c.Next("ASA");
        if (!c.TryKeyword("version")) throw NotInterpreted();
        Config.Version = c.Rest("version");
        return SubMode.None;
    }

    /// <summary>`hostname NAME`.</summary>
    public SubMode ParseHostname(CommandCursor c)
    {
        c.Next("hostname");
        Config.Hostname = c.Name("host name", 63);
        c.End();
        return SubMode.None;
    }

    /// <summary>`mtu NAMEIF BYTES`: the interface's MTU (the tunnels on it fit their ESP packets within it).</summary>
    public SubMode ParseMtu(CommandCursor c)
    {
        c.Next("mtu");
        var column = c.Column;
        var nameif = c.Name("interface name");
        Sources.AddReference(ReferenceKind.Interface, nameif, c, column, "mtu");
        var bytes = c.Int(AsaDefaults.MtuMin, AsaDefaults.MtuMax, "mtu");
        c.End();
        Config.Mtus.RemoveAll(m => m.Nameif == nameif);
        Config.Mtus.Add(new InterfaceMtu(nameif, bytes));
        return SubMode.None;
    }

    /// <summary>`names`: turns on name translation; the `name` lines are read either way.</summary>
    public SubMode ParseNames(CommandCursor c)
    {
        c.Next("names");
        c.End();
        return SubMode.None;
    }

    /// <summary>`name A.B.C.D NAME [description TEXT]`: NAME may then stand for the address.</summary>
    public SubMode ParseName(CommandCursor c)
    {
        c.Next("name");
        if (c.Peek is { } v6 && IsIpv6(v6.Text)) throw NotInterpreted(); // IPv6 names: kept, not interpreted
        var address = c.Address("IP address");
        var name = c.Name("name", 63);
        string? description = null;
        if (!c.AtEnd)
        {
            c.Keyword("description");
            description = c.Rest("description text");
        }
        Config.AddName(address, name, description);
        return SubMode.None;
    }
}
