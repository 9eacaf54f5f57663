using System.Buffers.Binary;

namespace IkeActors.Protocol;

/// <summary>One payload of a walked message: its type (from the previous Next Payload) and bytes.</summary>
public readonly ref struct PayloadEntry
{
    internal PayloadEntry(byte type, int offset, ReadOnlySpan<byte> raw)
    {
        Type = type; Offset = offset; Raw = raw;
    }

    /// <summary>The payload type number (RFC 2408 §3.1).</summary>
    public byte Type { get; }
    /// <summary>Offset from the start of the message.</summary>
    public int Offset { get; }
    /// <summary>The payload, generic header included.</summary>
    public ReadOnlySpan<byte> Raw { get; }
    /// <summary>The payload body after the generic header.</summary>
    public ReadOnlySpan<byte> Body => Raw.Slice(4);
}

/// <summary>Enumerates the payloads of a message whose chain was validated.</summary>
public ref struct PayloadEntryEnumerator
{
    private ReadOnlySpan<byte> _rest;
    private byte _type;
    private int _offset;
    private PayloadEntry _current;

    public PayloadEntryEnumerator(ReadOnlySpan<byte> body, byte firstType, int bodyOffset)
    {
        _rest = body; _type = firstType; _offset = bodyOffset; _current = default;
    }

    public readonly PayloadEntryEnumerator GetEnumerator() => this;
    public readonly PayloadEntry Current => _current;

    public bool MoveNext()
    {
        if (_type == 0 || _rest.Length < 4) return false;
        int length = BinaryPrimitives.ReadUInt16BigEndian(_rest.Slice(2));
        if (length < 4 || length > _rest.Length) return false;
        _current = new PayloadEntry(_type, _offset, _rest.Slice(0, length));
        _type = _rest[0];
        _rest = _rest.Slice(length);
        _offset += length;
        return true;
    }
}
