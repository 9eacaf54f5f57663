using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace IkeActors.Esp;

/// <summary>
/// The header a TUN device opened with IFF_VNET_HDR puts before each packet (struct virtio_net_hdr, linux/virtio_net.h;
/// host byte order): whether the packet is a super-packet to segment (GSO) and whether its checksum is left to us.
/// </summary>
public readonly record struct VirtioNetHeader(byte Flags, byte GsoType, ushort HeaderLength, ushort GsoSize, ushort ChecksumStart, ushort ChecksumOffset)
{
    public const int Size = 10;
    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum at ChecksumStart + ChecksumOffset holds only the pseudo-header's sum.</summary>
    public const byte NeedsChecksum = 1;
    public const byte GsoNone = 0, GsoTcpV4 = 1, GsoUdpL4 = 5, GsoEcn = 0x80;

    public void WriteTo(Span<byte> bytes)
    {
        bytes[0] = Flags;
        bytes[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[6..], ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[8..], ChecksumOffset);
    }

    public static bool TryRead(ReadOnlySpan<byte> bytes, out VirtioNetHeader header)
    {
        header = default;
        if (bytes.Length < Size) return false;
        header = new VirtioNetHeader(bytes[0], bytes[1], BinaryPrimitives.ReadUInt16LittleEndian(bytes[2..]), BinaryPrimitives.ReadUInt16LittleEndian(bytes[4..]),
            BinaryPrimitives.ReadUInt16LittleEndian(bytes[6..]), BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]));
        return true;
    }
}

/// <summary>
/// What the kernel left to a TUN device with offloads: a TCP/IPv4 super-packet (up to 64 KB with one set of headers)
/// cut into segments of the MSS it names, as the kernel's own TSO would (RFC 793/9293 sequence numbers, each segment a
/// whole IPv4 packet with its own identification and checksums), and checksums left partial completed (RFC 1071).
/// </summary>
public static class TcpSegmenter
{
    private const int Ipv4HeaderMin = 20, TcpHeaderMin = 20, ProtocolTcp = 6;
    private const byte Fin = 0x01, Psh = 0x08, Cwr = 0x80;

    /// <summary>Receives one segment (valid only during the call).</summary>
    public delegate void SegmentSink<TState>(ReadOnlySpan<byte> segment, TState state);

    /// <summary>
    /// Completes a checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM): the ones' complement sum from
    /// <paramref name="start"/> to the end, over the field that holds the pseudo-header's sum. False when the offsets
    /// lie outside the packet.
    /// </summary>
    public static bool TryCompleteChecksum(Span<byte> packet, int start, int offset)
    {
        if (start < 0 || offset < 0 || start + offset + 2 > packet.Length) return false;
        var total = packet.Length >= 4 && packet[0] >> 4 == 4 ? Math.Min(packet.Length, BinaryPrimitives.ReadUInt16BigEndian(packet[2..])) : packet.Length;
        if (start + offset + 2 > total) return false;
        var sum = Fold(Sum(packet[start..total], 0));
        BinaryPrimitives.WriteUInt16BigEndian(packet[(start + offset)..], (ushort)~sum);
        return true;
    }

    /// <summary>
    /// Cuts a TCP/IPv4 super-packet into segments of at most <paramref name="mss"/> payload bytes, each handed to
    /// <paramref name="sink"/>: the IPv4 header copied with its total length, identification (+1 per segment) and checksum
    /// set; the TCP header with its sequence number advanced, FIN and PSH on the last segment only, CWR on the first
    /// only, and a full checksum. False (nothing handed on) for anything that is not such a packet.
    /// </summary>
    public static bool TrySegment<TState>(ReadOnlySpan<byte> packet, int mss, Span<byte> scratch, TState state, SegmentSink<TState> sink, out int segments)
    {
        segments = 0;
        if (mss <= 0 || packet.Length < Ipv4HeaderMin + TcpHeaderMin || packet[0] >> 4 != 4 || packet[9] != ProtocolTcp) return false;
        var ihl = (packet[0] & 0x0F) * 4;
        if (ihl < Ipv4HeaderMin || packet.Length < ihl + TcpHeaderMin) return false;
        if ((BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3FFF) != 0) return false; // a fragment cannot be a super-packet
        var tcpLength = (packet[ihl + 12] >> 4) * 4;
        var headers = ihl + tcpLength;
        if (tcpLength < TcpHeaderMin || packet.Length < headers) return false;
        var total = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        // A super-packet's IPv4 total length may be 0 or wrong beyond 64 KB: the bytes read are the packet.
        var end = total >= headers && total <= packet.Length ? total : packet.Length;
        var payload = packet[headers..end];
        if (payload.Length == 0 || scratch.Length < headers + Math.Min(mss, payload.Length)) return false;

        var id = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        var sequence = BinaryPrimitives.ReadUInt32BigEndian(packet[(ihl + 4)..]);
        var flags = packet[ihl + 13];
        // The pseudo-header's addresses and protocol, summed once (RFC 9293 §3.1).
        var pseudo = Sum(packet.Slice(12, 8), ProtocolTcp);
        for (var at = 0; at < payload.Length; at += mss)
        {
            var length = Math.Min(mss, payload.Length - at);
            var first = at == 0;
            var last = at + length == payload.Length;
            var segment = scratch[..(headers + length)];
            packet[..headers].CopyTo(segment);
            payload.Slice(at, length).CopyTo(segment[headers..]);

            SetIpv4Header(segment, ihl, (ushort)(id + segments));

            var tcp = segment[ihl..];
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], unchecked(sequence + (uint)at));
            var f = flags;
            if (!last) f &= unchecked((byte)~(Fin | Psh));
            if (!first) f &= unchecked((byte)~Cwr);
            tcp[13] = f;
            tcp[16] = tcp[17] = 0;
            var sum = Sum(tcp, pseudo + (ulong)tcp.Length);
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)~Fold(sum));

            sink(segment, state);
            segments++;
        }
        return true;
    }

    /// <summary>
    /// The IPv4 header of a packet cut from (or merged into) a super-packet: its total length (the packet's own),
    /// identification and header checksum (RFC 791).
    /// </summary>
    internal static void SetIpv4Header(Span<byte> packet, int ihl, ushort id)
    {
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet[4..], id);
        packet[10] = packet[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], (ushort)~Fold(Sum(packet[..ihl], 0)));
    }

    /// <summary>
    /// The data's 16-bit big-endian words (a trailing byte zero-padded) added to <paramref name="initial"/>, folded or not
    /// (the caller folds). On a little-endian machine the words are added in the machine's order, 32 or 8 bytes at a
    /// time, and the folded sum byte-swapped once: the ones' complement sum does not depend on byte order (RFC 1071 §2(B)).
    /// </summary>
    internal static ulong Sum(ReadOnlySpan<byte> data, ulong initial)
    {
        if (!BitConverter.IsLittleEndian) return SumBigEndian(data, initial);
        ulong sum = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated && data.Length >= 256) // below it, folding the lanes costs more than it saves
        {
            // 32 bytes a step: eight 32-bit words widened into four 64-bit lanes (no lane can overflow below 2^31 steps).
            var lanes = Vector256<ulong>.Zero;
            var blocks = MemoryMarshal.Cast<byte, Vector256<uint>>(data);
            foreach (var block in blocks)
            {
                var (low, high) = Vector256.Widen(block);
                lanes += low + high;
            }
            sum = Fold(lanes.GetElement(0)) + (ulong)Fold(lanes.GetElement(1)) + Fold(lanes.GetElement(2)) + Fold(lanes.GetElement(3));
            i = blocks.Length * 32;
        }
        var words = MemoryMarshal.Cast<byte, ulong>(data[i..]);
        foreach (var w in words) sum += (w & 0xFFFF_FFFF) + (w >> 32); // two 32-bit halves: their 64-bit sum cannot overflow
        i += words.Length * 8;
        if (i + 4 <= data.Length)
        {
            sum += MemoryMarshal.Read<uint>(data[i..]);
            i += 4;
        }
        if (i + 2 <= data.Length)
        {
            sum += MemoryMarshal.Read<ushort>(data[i..]);
            i += 2;
        }
        if (i < data.Length) sum += data[i]; // the low byte of a little-endian word: the high byte once swapped
        return initial + BinaryPrimitives.ReverseEndianness(Fold(sum));
    }

    private static ulong SumBigEndian(ReadOnlySpan<byte> data, ulong initial)
    {
        var sum = initial;
        var i = 0;
        for (; i + 2 <= data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    /// <summary>A sum folded to 16 bits with end-around carry (RFC 1071 §4.1); 2^16 ≡ 1 modulo 2^16 - 1, so 32-bit words add alike.</summary>
    internal static ushort Fold(ulong sum)
    {
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }
}
