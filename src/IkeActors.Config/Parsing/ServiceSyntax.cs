using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// Protocol and port syntax shared by `object service`, `object-group service` and
/// `access-list … extended`: protocols by name or number, `eq|neq|lt|gt PORT`,
/// `range LOW HIGH`, ports by number or by the ASA's names (www, https, domain…).
/// </summary>
internal static class ServiceSyntax
{
    /// <summary>
    /// `PROTO [source OP PORT] [destination OP PORT]` (or, ASA 8.x style, `PROTO OP PORT` for the
    /// destination), `icmp [TYPE]`, or a bare protocol. OP is eq, neq, lt, gt or range.
    /// </summary>
    public static ServiceSpec ParseService(CommandCursor c)
    {
        var protocol = ParseProtocol(c);
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
                    var spec = ParsePortCondition(c, c.Keyword("eq", "neq", "lt", "gt", "range"), protocol);
                    if (word == "source") source = spec;
                    else destination = spec;
                }
                else
                {
                    if (destination is not null) throw c.InvalidAt(column, "the destination port is given twice", "end of command");
                    destination = ParsePortCondition(c, word, protocol);
                }
            }
        }
        c.End();
        return new ServiceSpec(protocol, source, destination);
    }

    /// <summary>A protocol for a service: a name (tcp, udp, tcp-udp, icmp, esp…) or a number 0-255.</summary>
    public static int ParseProtocol(CommandCursor c)
    {
        var expected = new[] { "tcp", "udp", "tcp-udp", "icmp", "ip", "esp", "ah", "gre", "protocol number (0-255)" };
        if (c.AtEnd) c.Next("protocol", expected);
        var text = c.Peek!.Value.Text;
        if (text.Equals("tcp-udp", StringComparison.OrdinalIgnoreCase)) { c.Next("protocol"); return ServiceSpec.TcpUdp; }
        if (AsaKeywords.Protocols.TryGetValue(text, out var p)) { c.Next("protocol"); return p; }
        if (text.All(char.IsAsciiDigit)) return c.Int(0, 255, "protocol number");
        throw c.Invalid($"expected a protocol (tcp, udp, tcp-udp, icmp, ip, … or 0-255), found '{CommandCursor.Printable(text)}'", expected);
    }

    /// <summary>What follows an operator already read: `range LOW HIGH`, or `eq|neq|lt|gt PORT`.</summary>
    public static PortSpec ParsePortCondition(CommandCursor c, string op, int protocol)
    {
        if (op == "range")
        {
            var column = c.Column;
            var low = ParsePort(c, protocol);
            var high = ParsePort(c, protocol);
            if (high < low) throw c.InvalidAt(column, $"port range {low}-{high} is empty (the first port must not exceed the second)", "port");
            return new PortSpec(PortOperator.Range, low, high);
        }
        var kind = op switch { "eq" => PortOperator.Eq, "neq" => PortOperator.Neq, "lt" => PortOperator.Lt, _ => PortOperator.Gt };
        return new PortSpec(kind, ParsePort(c, protocol));
    }

    /// <summary>A port number 0-65535, or a port name valid for the protocol (`www` is TCP only, `domain` both).</summary>
    public static int ParsePort(CommandCursor c, int protocol)
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
}
