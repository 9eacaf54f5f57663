using System.Buffers.Binary;

namespace IkeActors.Esp;

/// <summary>What a UDP/4500 datagram carries (RFC 3948 §2).</summary>
public enum UdpPayloadKind
{
    /// <summary>Empty, or too short to be any of the below.</summary>
    Invalid,
    /// <summary>A single 0xFF byte (RFC 3948 §2.3).</summary>
    NatKeepalive,
    /// <summary>Non-ESP marker (4 zero bytes) followed by an IKE message (RFC 3948 §2.2).</summary>
    Ike,
    /// <summary>An ESP packet: the first 4 bytes are a non-zero SPI (RFC 3948 §2.1).</summary>
    Esp,
}

/// <summary>RFC 3948 UDP encapsulation of ESP and IKE on port 4500.</summary>
public static class UdpEncapsulation
{
    public const int NatTraversalPort = 4500;
    public const int NonEspMarkerLength = 4;
    public const byte NatKeepaliveByte = 0xFF;

    /// <summary>
    /// Classifies a UDP/4500 payload. For <see cref="UdpPayloadKind.Ike"/>, <paramref name="body"/> is the
    /// IKE message after the marker; for <see cref="UdpPayloadKind.Esp"/> it is the whole ESP packet.
    /// </summary>
    public static UdpPayloadKind Classify(ReadOnlySpan<byte> payload, out Range body)
    {
        body = default;
        if (payload.Length == 1)
        {
            return payload[0] == NatKeepaliveByte ? UdpPayloadKind.NatKeepalive : UdpPayloadKind.Invalid;
        }
        if (payload.Length < NonEspMarkerLength)
        {
            return UdpPayloadKind.Invalid;
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(payload) == 0)
        {
            // An IKE header is 28 bytes (RFC 2408 §3.1); leave that check to the IKE decoder.
            body = new Range(NonEspMarkerLength, payload.Length);
            return UdpPayloadKind.Ike;
        }
        if (payload.Length < 8)
        {
            return UdpPayloadKind.Invalid; // an ESP header is SPI + sequence number
        }
        body = Range.All;
        return UdpPayloadKind.Esp;
    }

    /// <summary>Writes the one-byte NAT keepalive (RFC 3948 §2.3); returns 1.</summary>
    public static int WriteNatKeepalive(Span<byte> destination)
    {
        destination[0] = NatKeepaliveByte;
        return 1;
    }

    /// <summary>Writes the non-ESP marker and then the IKE message (RFC 3948 §2.2); returns the length.</summary>
    public static int PrefixIkeMessage(ReadOnlySpan<byte> ikeMessage, Span<byte> destination)
    {
        int length = NonEspMarkerLength + ikeMessage.Length;
        if (destination.Length < length)
        {
            throw new ArgumentException($"destination holds {destination.Length} bytes, {length} needed", nameof(destination));
        }
        destination[..NonEspMarkerLength].Clear();
        ikeMessage.CopyTo(destination[NonEspMarkerLength..]);
        return length;
    }
}
