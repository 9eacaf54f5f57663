using System.Net;

namespace IkeActors.Config.Parsing;

/// <summary>Signals that a command is valid ASA syntax outside the subset this gateway interprets.</summary>
internal sealed class NotInterpretedSignal : Exception;

/// <summary>The sub-command modes this gateway reads (the ASA prompt of each in brackets).</summary>
internal enum SubModeKind
{
    None,
    /// <summary>`interface NAME` (config-if).</summary>
    Interface,
    /// <summary>`object network NAME` (config-network-object).</summary>
    ObjectNetwork,
    /// <summary>`object service NAME` (config-service-object).</summary>
    ObjectService,
    /// <summary>`object-group network NAME` (config-network-object-group).</summary>
    ObjectGroupNetwork,
    /// <summary>`object-group service|protocol|icmp-type NAME` (config-service-object-group, …).</summary>
    ObjectGroupService,
    /// <summary>`crypto ikev1 policy N` (config-ikev1-policy).</summary>
    IsakmpPolicy,
    /// <summary>`tunnel-group NAME ipsec-attributes` (config-tunnel-ipsec).</summary>
    TunnelGroupIpsec,
    /// <summary>`tunnel-group NAME general-attributes` (config-tunnel-general).</summary>
    TunnelGroupGeneral,
    /// <summary>`group-policy NAME attributes` (config-group-policy).</summary>
    GroupPolicyAttributes,
    /// <summary>`username NAME attributes` (config-username).</summary>
    UsernameAttributes,
    /// <summary>Under a command kept as not interpreted: its sub-commands are counted with it.</summary>
    Uninterpreted,
    /// <summary>Under a header that had an error: its sub-commands are skipped, the error explains them.</summary>
    Skipped,
}

/// <summary>
/// The sub-command mode a header command opened: which one, and the name (or ISAKMP policy
/// priority) its sub-commands configure.
/// </summary>
internal readonly record struct SubMode(SubModeKind Kind, string Name = "", int Priority = 0)
{
    /// <summary>Global configuration mode: the command opened no sub-command mode.</summary>
    public static readonly SubMode None = new(SubModeKind.None);
}

/// <summary>
/// What every command family parser shares: the configuration being assembled, the source
/// index that records where names are defined and used, and the warnings list.
/// A parser method reads one command from its cursor; it throws a <see cref="CommandError"/>
/// for a command the ASA would reject and <see cref="NotInterpretedSignal"/> for one it
/// would accept but this gateway does not interpret.
/// </summary>
internal abstract class CommandFamilyParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
{
    protected AsaConfigBuilder Config { get; } = config;
    protected SourceIndex Sources { get; } = sources;

    protected static NotInterpretedSignal NotInterpreted() => new();

    /// <summary>An interface's nameif, the last word of the command, remembered as a reference `config check` resolves.</summary>
    protected string InterfaceAtEnd(CommandCursor c, string context)
    {
        var column = c.Column;
        var nameif = c.Name("interface name");
        Sources.AddReference(ReferenceKind.Interface, nameif, c, column, context);
        c.End();
        return nameif;
    }

    /// <summary>
    /// An optional `(NAMEIF)` word, as in `address-pool (inside) POOL`: the interface name, remembered as a
    /// reference `config check` resolves; null when the next word is not in parentheses.
    /// </summary>
    protected string? OptionalInterfaceInParentheses(CommandCursor c, string context)
    {
        if (c.Peek is not { } t || !t.Text.StartsWith('(')) return null;
        if (t.Text.Length < 3 || !t.Text.EndsWith(')'))
            throw c.Invalid($"expected (interface name), found '{CommandCursor.Printable(t.Text)}'", "(interface name)");
        var inner = new Token(t.Text[1..^1], t.Start + 1);
        c.CheckName(inner, "interface name", 48);
        c.Next("(interface name)");
        Sources.AddReference(ReferenceKind.Interface, inner.Text, c, inner.Column, context);
        return inner.Text;
    }

    /// <summary>One or more names to the end of the command (pools, domains), at most <paramref name="max"/>.</summary>
    protected static List<(string Name, int Column)> NamesToEnd(CommandCursor c, string what, int max, int maxLength = 64)
    {
        var names = new List<(string, int)>();
        do
        {
            var column = c.Column;
            if (names.Count == max) throw c.Invalid($"at most {max} {what}s can be given", "end of command");
            names.Add((c.Name(what, maxLength), column));
        }
        while (!c.AtEnd);
        return names;
    }

    protected void Warn(CommandCursor c, int column, string message)
    {
        var echoed = SecretMasker.Mask(c.Line, ref column);
        diagnostics.Add(new ConfigDiagnostic(DiagnosticSeverity.Warning, DiagnosticKind.Semantic, Sources.Location(c, column), message, echoed, []));
    }

    /// <summary>An IPv6 address or prefix ("2001:db8::1", "2001:db8::/32").</summary>
    protected static bool IsIpv6(string text)
    {
        var slash = text.IndexOf('/');
        var address = slash < 0 ? text : text[..slash];
        return address.Contains(':') && IPAddress.TryParse(address, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
    }
}
