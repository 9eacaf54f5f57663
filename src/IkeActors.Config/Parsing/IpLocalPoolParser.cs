using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// `ip local pool NAME FIRST-LAST [mask MASK]` (Cisco ASA command reference, `ip local pool`): the
/// IPv4 addresses remote-access clients are given. Other global `ip …` commands (`ip verify
/// reverse-path`, `ip audit`…) are not interpreted.
/// </summary>
internal sealed class IpLocalPoolParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    public SubMode ParseIp(CommandCursor c)
    {
        c.Next("ip");
        if (!c.TryKeyword("local")) throw NotInterpreted();
        c.Keyword("pool");
        var nameColumn = c.Column;
        var name = c.Name("pool name", 64);
        var rangeColumn = c.Column;
        var rangeText = c.Next("address range (FIRST-LAST)", "A.B.C.D-A.B.C.D").Text;
        var dash = rangeText.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            if (IsIpv6(rangeText)) throw NotInterpreted(); // IPv6 pools are `ipv6 local pool`
            throw c.InvalidAt(rangeColumn, $"expected an address range FIRST-LAST (A.B.C.D-A.B.C.D), found '{CommandCursor.Printable(rangeText)}'", "A.B.C.D-A.B.C.D");
        }
        var firstText = rangeText[..dash];
        var lastText = rangeText[(dash + 1)..];
        if (!Ipv4.TryParse(firstText, out var first))
            throw c.InvalidAt(rangeColumn, $"expected the first address (A.B.C.D), found '{CommandCursor.Printable(firstText)}'", "A.B.C.D-A.B.C.D");
        if (!Ipv4.TryParse(lastText, out var last))
            throw c.InvalidAt(rangeColumn + dash + 1, $"expected the last address (A.B.C.D), found '{CommandCursor.Printable(lastText)}'", "A.B.C.D-A.B.C.D");
        if (first > last)
            throw c.InvalidAt(rangeColumn, $"the first address {Ipv4.Format(first)} is above the last address {Ipv4.Format(last)}", "A.B.C.D-A.B.C.D");
        var size = (long)last - first + 1;
        if (size > AsaDefaults.PoolMaxAddresses)
            throw c.InvalidAt(rangeColumn, $"the pool has {size} addresses; at most {AsaDefaults.PoolMaxAddresses} are supported (one /16)", "A.B.C.D-A.B.C.D");
        uint? mask = null;
        if (!c.AtEnd)
        {
            c.Keyword("mask");
            mask = c.Mask();
            c.End();
        }
        if (Config.IpLocalPools.Any(p => p.Name == name))
        {
            var at = Sources.PoolLines.TryGetValue(name, out var earlier) ? $" (line {earlier.Location.Line})" : "";
            throw c.InvalidAt(nameColumn, $"ip local pool '{name}' is already defined{at}: remove it first (`no ip local pool {name}`)", "pool name");
        }
        Config.IpLocalPools.Add(new IpLocalPool(name, new Ipv4Range(first, last)) { Mask = mask });
        Sources.PoolLines[name] = Sources.At(c, nameColumn);
        return SubMode.None;
    }
}
