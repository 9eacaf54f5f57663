using System.Buffers.Binary;

namespace IkeActors.Protocol;

/// <summary>A payload value the message builder can chain (implemented by every generated payload).</summary>
public interface IIsakmpPayload
{
    /// <summary>The payload type number (RFC 2408 §3.1).</summary>
    byte PayloadType { get; }
    /// <summary>Exact encoded size, generic header included.</summary>
    int EncodedSize { get; }
    /// <summary>Writes the payload with the given Next Payload value.</summary>
    int Write(Span<byte> destination, byte nextPayload);
}

/// <summary>
/// Assembles a plaintext ISAKMP message into a caller's buffer: the header, then payloads,
/// each one's type written into the previous Next Payload field (RFC 2408 §3.1, §3.2),
/// and the total length on Finish. Allocates nothing.
/// </summary>
public ref struct MessageBuilder
{
    // RFC 2408 §3.1: Next Payload is octet 16 of the header, Length octets 24-27.
    private const int HeaderNextPayloadOffset = 16;
    private const int HeaderLengthOffset = 24;

    private readonly Span<byte> _buffer;
    private int _length;
    private int _nextPayloadAt;

    public MessageBuilder(Span<byte> buffer, in IsakmpHeader header)
    {
        _buffer = buffer;
        _length = header.Write(buffer);
        _buffer[HeaderNextPayloadOffset] = 0;
        _nextPayloadAt = HeaderNextPayloadOffset;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Length => _length;

    /// <summary>Appends a payload (generic over the payload type, so a struct payload is not boxed).</summary>
    public void Add<T>(in T payload) where T : struct, IIsakmpPayload
    {
        var written = payload.Write(_buffer.Slice(_length), 0);
        _buffer[_nextPayloadAt] = payload.PayloadType;
        _nextPayloadAt = _length;
        _length += written;
    }

    /// <summary>Appends a payload held as the interface (a list of mixed payload types).</summary>
    public void Add(IIsakmpPayload payload)
    {
        var written = payload.Write(_buffer.Slice(_length), 0);
        _buffer[_nextPayloadAt] = payload.PayloadType;
        _nextPayloadAt = _length;
        _length += written;
    }

    /// <summary>The buffer after the bytes written so far, for a body the caller writes itself (<see cref="AddEncrypted"/>).</summary>
    public readonly Span<byte> Free => _buffer.Slice(_length);

    /// <summary>
    /// Takes <paramref name="length"/> bytes the caller wrote into <see cref="Free"/> as the encrypted payload chain
    /// (RFC 2408 §3.1, E flag): the header's Next Payload names its first payload. Nothing follows it.
    /// </summary>
    public void AddEncrypted(PayloadType firstPayload, int length)
    {
        _buffer[_nextPayloadAt] = (byte)firstPayload;
        _length += length;
    }

    /// <summary>Writes the total length into the header and returns the message.</summary>
    public readonly Span<byte> Finish()
    {
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(HeaderLengthOffset), (uint)_length);
        return _buffer.Slice(0, _length);
    }
}
