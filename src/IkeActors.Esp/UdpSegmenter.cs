using System.Buffers.Binary;

namespace IkeActors.Esp;

/// <summary>
/// What the kernel leaves to a TUN device with UDP segmentation offload (TUN_F_USO4): a UDP/IPv4 super-packet, as an
/// application sending with UDP_SEGMENT makes one (one IPv4 and one UDP header before up to 64 KB of datagrams' payloads),
/// cut into the datagrams of the segment size it names, as the kernel's own segmentation would: each a whole IPv4 packet
/// with its own length, identification (+1 per datagram) and header checksum, its UDP length and a full UDP checksum
/// (RFC 768; a computed 0 sent as all ones).
/// </summary>
public static class UdpSegmenter
{
    private const int Ipv4HeaderMin = 20, UdpHeader = 8, ProtocolUdp = 17;

    /// <summary>
    /// Cuts a UDP/IPv4 super-packet into datagrams of at most <paramref name="segmentSize"/> payload bytes, each handed to
    /// <paramref name="sink"/>. False (nothing handed on) for anything that is not such a packet.
    /// </summary>
    public static bool TrySegment<TState>(ReadOnlySpan<byte> packet, int segmentSize, Span<byte> scratch, TState state, TcpSegmenter.SegmentSink<TState> sink, out int segments)
    {
        segments = 0;
        if (segmentSize <= 0 || packet.Length < Ipv4HeaderMin + UdpHeader || packet[0] >> 4 != 4 || packet[9] != ProtocolUdp) return false;
        var ihl = (packet[0] & 0x0F) * 4;
        var headers = ihl + UdpHeader;
        if (ihl < Ipv4HeaderMin || packet.Length < headers) return false;
        if ((BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3FFF) != 0) return false; // a fragment cannot be a super-packet
        var total = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        var end = total >= headers && total <= packet.Length ? total : packet.Length;
        var payload = packet[headers..end];
        if (payload.Length == 0 || scratch.Length < headers + Math.Min(segmentSize, payload.Length)) return false;

        var id = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        var pseudo = InternetChecksum.Sum(packet.Slice(12, 8), ProtocolUdp); // addresses and protocol (RFC 768)
        for (var at = 0; at < payload.Length; at += segmentSize)
        {
            var length = Math.Min(segmentSize, payload.Length - at);
            var datagram = scratch[..(headers + length)];
            packet[..headers].CopyTo(datagram);
            payload.Slice(at, length).CopyTo(datagram[headers..]);

            InternetChecksum.SetIpv4Header(datagram, ihl, (ushort)(id + segments));

            var udp = datagram[ihl..];
            BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udp.Length);
            udp[6] = udp[7] = 0;
            var sum = (ushort)~InternetChecksum.Fold(InternetChecksum.Sum(udp, pseudo + (ulong)udp.Length));
            BinaryPrimitives.WriteUInt16BigEndian(udp[6..], sum == 0 ? (ushort)0xFFFF : sum);

            sink(datagram, state);
            segments++;
        }
        return true;
    }
}
