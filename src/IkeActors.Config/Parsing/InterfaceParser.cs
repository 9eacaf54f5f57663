using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// `interface HARDWARE-NAME` and, under it, `nameif NAME`, `security-level 0-100` and
/// `ip address A.B.C.D MASK [standby A.B.C.D]` / `ip address dhcp [setroute]`.
/// </summary>
internal sealed class InterfaceParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    /// <summary>`interface GigabitEthernet0/0`: opens the interface's sub-command mode.</summary>
    public SubMode ParseInterface(CommandCursor c)
    {
        c.Next("interface");
        var hw = c.Name("interface name");
        c.End();
        if (!Config.Interfaces.Any(i => i.HardwareName == hw)) Config.Interfaces.Add(new AsaInterface(hw));
        return new SubMode(SubModeKind.Interface, hw);
    }

    /// <summary>One line under `interface HARDWARE-NAME`.</summary>
    public void ParseSubCommand(CommandCursor c, string hardwareName)
    {
        var interfaces = Config.Interfaces;
        var index = interfaces.FindIndex(i => i.HardwareName == hardwareName);
        var current = interfaces[index];
        if (c.PeekIs("nameif"))
        {
            c.Keyword("nameif");
            var column = c.Column;
            var name = c.Name("interface name (nameif)", 48);
            c.End();
            if (interfaces.Any(i => i.Nameif == name && i.HardwareName != hardwareName))
                throw c.InvalidAt(column, $"nameif '{name}' is already used by another interface", "interface name");
            interfaces[index] = current with { Nameif = name };
            return;
        }
        if (c.PeekIs("security-level"))
        {
            c.Keyword("security-level");
            var level = c.Int(0, AsaDefaults.SecurityLevelMax, "security level");
            c.End();
            interfaces[index] = current with { SecurityLevel = level };
            return;
        }
        if (c.PeekIs("ip") && c.PeekAt(1) is { } next && next.Text.Equals("address", StringComparison.OrdinalIgnoreCase))
        {
            c.Keyword("ip");
            c.Keyword("address");
            if (c.PeekIs("pppoe")) throw NotInterpreted();
            if (c.TryKeyword("dhcp"))
            {
                var setroute = c.TryKeyword("setroute");
                c.End();
                interfaces[index] = current with { Dhcp = true, DhcpSetRoute = setroute, Address = null };
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
            interfaces[index] = current with { Address = new InterfaceAddress(address, prefix.Length), Dhcp = false, StandbyAddress = standby };
            return;
        }
        // shutdown, speed, duplex, vlan, management-only, description…
        throw NotInterpreted();
    }
}
