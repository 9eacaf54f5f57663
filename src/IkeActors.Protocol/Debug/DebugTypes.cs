using System.Net;

namespace IkeActors.Protocol;

/// <summary>The tag an ASA debug line starts with.</summary>
public enum DebugClass
{
    /// <summary>"[IKEv1]: "</summary>
    IKEv1,
    /// <summary>"[IKEv1 DEBUG]: "</summary>
    Debug,
    /// <summary>"[IKEv1 DECODE]: "</summary>
    Decode,
    /// <summary>"IPSEC: "</summary>
    Ipsec,
}

/// <summary>One entry of the generated debug-message catalog.</summary>
public sealed record DebugMessageInfo(
    string Name, int SyslogId, int Severity, DebugClass Class, int Level, bool HasPeerContext, string Template)
{
    /// <summary>The tag as the ASA prints it on the console.</summary>
    public string Tag => TagOf(Class);

    public static string TagOf(DebugClass c) => c switch
    {
        DebugClass.IKEv1 => "[IKEv1]: ",
        DebugClass.Debug => "[IKEv1 DEBUG]: ",
        DebugClass.Decode => "[IKEv1 DECODE]: ",
        _ => "IPSEC: ",
    };
}

/// <summary>
/// Who a line is about. The ASA prefixes "IP = peer, " and, once the tunnel group is
/// known, "Group = name, IP = peer, ".
/// </summary>
public readonly struct DebugContext
{
    public DebugContext(IPAddress? peer, string? group = null, string? user = null)
    {
        Peer = peer; Group = group; User = user;
    }

    public IPAddress? Peer { get; }
    public string? Group { get; }

    /// <summary>The remote-access user once XAUTH authenticated it: the ASA then prints "Group = g, Username = u, IP = p, ".</summary>
    public string? User { get; }

    public DebugContext WithGroup(string? group) => new(Peer, group, User);
}

/// <summary>A formatted debug line, valid only during the sink's Write call.</summary>
public readonly ref struct DebugLine
{
    public DebugLine(DebugMessageInfo message, ReadOnlySpan<char> text)
    {
        Message = message; Text = text;
    }

    public DebugMessageInfo Message { get; }
    /// <summary>The line after its tag: "IP = 10.0.0.2, constructing ISAKMP SA payload".</summary>
    public ReadOnlySpan<char> Text { get; }

    /// <summary>Console form: "[IKEv1 DEBUG]: IP = 10.0.0.2, constructing ISAKMP SA payload".</summary>
    public string ToAsaString() => string.Concat(Message.Tag, Text);

    /// <summary>Syslog form: "%ASA-7-715046: IP = 10.0.0.2, constructing ISAKMP SA payload".</summary>
    public string ToSyslogString() => $"%ASA-{Message.Severity}-{Message.SyslogId}: {Text}";
}

/// <summary>Receives debug lines, like the ASA console with `debug crypto ikev1 Level`.</summary>
public interface IDebugSink
{
    /// <summary>1-255 as in `debug crypto ikev1 N`; 0 prints nothing.</summary>
    int Level { get; }

    void Write(in DebugLine line);
}

/// <summary>Prints nothing.</summary>
public sealed class NullDebugSink : IDebugSink
{
    public static readonly NullDebugSink Instance = new();
    public int Level => 0;
    public void Write(in DebugLine line) { }
}

/// <summary>Collects console-form lines (tests, `show` buffers).</summary>
public sealed class ListDebugSink(int level) : IDebugSink
{
    private readonly List<string> _lines = new();
    public int Level { get; set; } = level;
    public IReadOnlyList<string> Lines => _lines;
    public void Write(in DebugLine line) { lock (_lines) _lines.Add(line.ToAsaString()); }
}
