using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// Manual (twice) NAT, `nat (real_ifc,mapped_ifc) [after-auto] [LINE] source static|dynamic REAL MAPPED
/// [destination static MAPPED REAL] [service REAL MAPPED] [no-proxy-arp] [route-lookup] …`,
/// and the ASA 8.2 NAT exemption `nat (inside) 0 access-list ACL`.
/// </summary>
internal sealed class NatParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    /// <summary>Valid twice NAT options outside the VPN model: the rule is kept as not interpreted.</summary>
    private static readonly HashSet<string> KnownUninterpreted =
        new(StringComparer.OrdinalIgnoreCase) { "dns", "net-to-net", "pat-pool", "extended", "flat", "include-reserve", "round-robin", "block-allocation", "interface" };

    public SubMode ParseNat(CommandCursor c)
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
            if (p != "any") Sources.AddReference(ReferenceKind.Interface, p, c, partColumn, "nat");
            partColumn += p.Length + 1;
        }

        if (parts.Length == 1)
        {
            // ASA 8.2 and earlier: `nat (inside) 0 access-list ACL` is NAT exemption; other ids are dynamic NAT.
            var id = c.Int(0, 2147483647, "NAT id");
            if (id != 0 || !c.PeekIs("access-list")) throw NotInterpreted();
            c.Keyword("access-list");
            var aclColumn = c.Column;
            var acl = c.Name("access-list name");
            if (!c.AtEnd) throw NotInterpreted(); // `outside` / `tcp`/`udp` limits, not modelled
            Sources.AddReference(ReferenceKind.AccessList, acl, c, aclColumn, "nat 0 access-list");
            Config.NatRules.Add(new NatRule(NatKind.Exemption, parts[0]) { AccessList = acl });
            return SubMode.None;
        }

        var rule = new NatRule(NatKind.Twice, parts[0]) { MappedInterface = parts[1] };
        if (c.PeekIs("after-auto") || c.PeekIs("after-object")) rule = rule with { Section = c.Keyword("after-auto", "after-object") };
        if (!c.AtEnd && c.Peek!.Value.Text.All(char.IsAsciiDigit)) rule = rule with { LineNumber = c.Int(1, 2147483647, "NAT rule line number") };
        c.Keyword("source");
        var type = c.Keyword("static", "dynamic");
        rule = rule with { SourceDynamic = type == "dynamic", SourceReal = NatObject(c, "real source object", allowInterface: false) };
        if (c.PeekIs("pat-pool")) throw NotInterpreted(); // dynamic PAT to a pool: outside the VPN model
        rule = rule with { SourceMapped = NatObject(c, "mapped source object", allowInterface: true) };
        while (!c.AtEnd)
        {
            if (KnownUninterpreted.Contains(c.Peek!.Value.Text)) throw NotInterpreted();
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
        Config.NatRules.Add(rule);
        return SubMode.None;
    }

    /// <summary>A NAT operand: `any`, `interface` (mapped side only), or a network object or object-group name.</summary>
    private string NatObject(CommandCursor c, string what, bool allowInterface)
    {
        var column = c.Column;
        var name = c.Name(what);
        if (name == "any" || allowInterface && name == "interface") return name;
        Sources.AddReference(ReferenceKind.NetworkObjectOrGroup, name, c, column, "nat");
        return name;
    }
}
