using System.Buffers;
using System.Globalization;
using System.Net;

namespace IkeActors.Protocol;

/// <summary>
/// Builds one debug line in a caller's stack buffer, renting from the array pool only if
/// a line outgrows it. Used by the generated AsaDebug methods.
/// </summary>
public ref struct DebugTextWriter
{
    private Span<char> _buffer;
    private char[]? _rented;
    private int _length;

    public DebugTextWriter(Span<char> initial)
    {
        _buffer = initial; _rented = null; _length = 0;
    }

    public readonly ReadOnlySpan<char> Written => _buffer.Slice(0, _length);

    public void Append(ReadOnlySpan<char> text)
    {
        Ensure(text.Length);
        text.CopyTo(_buffer.Slice(_length));
        _length += text.Length;
    }

    public void Append(char c)
    {
        Ensure(1);
        _buffer[_length++] = c;
    }

    public void AppendInteger(long value)
    {
        Ensure(20);
        value.TryFormat(_buffer.Slice(_length), out var n, default, CultureInfo.InvariantCulture);
        _length += n;
    }

    /// <summary>Hex without a prefix or padding, as the ASA prints SPIs and message IDs.</summary>
    public void AppendHex(ulong value, bool upperCase)
    {
        Ensure(16);
        value.TryFormat(_buffer.Slice(_length), out var n, upperCase ? "X" : "x", CultureInfo.InvariantCulture);
        _length += n;
    }

    public void AppendAddress(IPAddress? address)
    {
        if (address is null) { Append("0.0.0.0"); return; }
        Ensure(45);
        address.TryFormat(_buffer.Slice(_length), out var n);
        _length += n;
    }

    /// <summary>"Group = g, [Username = u, ]IP = p, " or "IP = p, " (the ASA's line prefixes).</summary>
    public void AppendContext(in DebugContext context)
    {
        if (context.Group is { } group)
        {
            Append("Group = ");
            Append(group);
            Append(", ");
        }
        if (context.User is { } user)
        {
            Append("Username = ");
            Append(user);
            Append(", ");
        }
        if (context.Peer is not null || context.Group is not null)
        {
            Append("IP = ");
            AppendAddress(context.Peer);
            Append(", ");
        }
    }

    /// <summary>"HDR + SA (1) + VENDOR (13) + NONE (0)": the payload list of an IKE_DECODE line.</summary>
    public void AppendPayloadList(ReadOnlySpan<byte> payloadTypes)
    {
        Append("HDR");
        foreach (var t in payloadTypes)
        {
            Append(" + ");
            var name = ((PayloadType)t).GetDisplayName();
            Append(name ?? "UNKNOWN");
            Append(" (");
            AppendInteger(t);
            Append(')');
        }
        Append(" + NONE (0)");
    }

    private void Ensure(int extra)
    {
        if (_length + extra <= _buffer.Length) return;
        var bigger = ArrayPool<char>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + extra));
        _buffer.Slice(0, _length).CopyTo(bigger);
        if (_rented is not null) ArrayPool<char>.Shared.Return(_rented);
        _rented = bigger;
        _buffer = bigger;
    }

    public void Dispose()
    {
        if (_rented is not null) ArrayPool<char>.Shared.Return(_rented);
        _rented = null;
    }
}
