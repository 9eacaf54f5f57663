using System.Buffers.Binary;

namespace IkeActors.Esp;

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
        var sum = InternetChecksum.Fold(InternetChecksum.Sum(packet[start..total], 0));
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
        var pseudo = InternetChecksum.Sum(packet.Slice(12, 8), ProtocolTcp);
        for (var at = 0; at < payload.Length; at += mss)
        {
            var length = Math.Min(mss, payload.Length - at);
            var first = at == 0;
            var last = at + length == payload.Length;
            var segment = scratch[..(headers + length)];
            packet[..headers].CopyTo(segment);
            payload.Slice(at, length).CopyTo(segment[headers..]);

            InternetChecksum.SetIpv4Header(segment, ihl, (ushort)(id + segments));

            var tcp = segment[ihl..];
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], unchecked(sequence + (uint)at));
            var f = flags;
            if (!last) f &= unchecked((byte)~(Fin | Psh));
            if (!first) f &= unchecked((byte)~Cwr);
            tcp[13] = f;
            tcp[16] = tcp[17] = 0;
            var sum = InternetChecksum.Sum(tcp, pseudo + (ulong)tcp.Length);
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)~InternetChecksum.Fold(sum));

            sink(segment, state);
            segments++;
        }
        return true;
    }
}
