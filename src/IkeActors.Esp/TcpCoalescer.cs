using System.Buffers.Binary;

namespace IkeActors.Esp;

/// <summary>An inside device that takes a <see cref="VirtioNetHeader"/> with each packet (a TUN device opened with offloads).</summary>
public interface IVirtioPacketDevice : IPacketDevice
{
    /// <summary>Whether the device was opened with the header (else <see cref="Write(in VirtioNetHeader, ReadOnlySpan{byte})"/> may not be used).</summary>
    bool VirtioHeader { get; }

    /// <summary>Writes one packet, or a TCP super-packet the kernel segments, described by <paramref name="header"/>.</summary>
    void Write(in VirtioNetHeader header, ReadOnlySpan<byte> packet);
}

/// <summary>
/// Receive-side coalescing (GRO) for the TUN device: the decapsulated TCP segments of one receive batch that follow
/// each other in one connection (same addresses and ports, the next sequence number, the same acknowledgment, window,
/// flags and options, equal payload sizes but the last) are written as one super-packet the kernel takes whole
/// (VIRTIO_NET_HDR_GSO_TCPV4, its checksum left partial: the pseudo-header's sum, RFC 9293 §3.1), as Linux's own GRO
/// merges them. Anything else is written as it came. One instance per receiving thread.
/// </summary>
public sealed class TcpCoalescer
{
    private const int MaxPacket = 65535;
    private const byte Ack = 0x10, Psh = 0x08;
    private readonly byte[] _packet = GC.AllocateUninitializedArray<byte>(MaxPacket, pinned: true);
    private int _length, _segments, _mss;
    private uint _nextSequence;
    private bool _closed;
    private long _coalesced, _written;

    /// <summary>Segments merged into a predecessor, and packets (merged or not) written.</summary>
    public long Coalesced => _coalesced;
    public long Written => _written;

    /// <summary>Takes one decapsulated inner packet: merged into the pending super-packet, or the pending one written first.</summary>
    public void Add(ReadOnlySpan<byte> packet, IVirtioPacketDevice device)
    {
        if (!Eligible(packet, out var headers, out var payload))
        {
            Flush(device);
            Write(device, packet, default);
            return;
        }
        if (_segments > 0 && !_closed && Follows(packet, headers, payload))
        {
            packet[headers..].CopyTo(_packet.AsSpan(_length));
            _length += payload;
            _segments++;
            _nextSequence += (uint)payload;
            _coalesced++;
            _packet[33] |= (byte)(packet[33] & Psh);
            // PSH, or a segment shorter than the first, ends a run (Linux GRO flushes there as well).
            if (payload < _mss || (packet[33] & Psh) != 0) _closed = true;
            return;
        }
        Flush(device);
        packet.CopyTo(_packet);
        _length = packet.Length;
        _segments = 1;
        _mss = payload;
        _nextSequence = BinaryPrimitives.ReadUInt32BigEndian(packet[24..]) + (uint)payload;
        _closed = (packet[33] & Psh) != 0;
    }

    /// <summary>Writes the pending super-packet (or lone segment) to <paramref name="device"/>.</summary>
    public void Flush(IVirtioPacketDevice device)
    {
        if (_segments == 0) return;
        var packet = _packet.AsSpan(0, _length);
        var segments = _segments;
        _segments = 0;
        if (segments == 1)
        {
            Write(device, packet, default);
            return;
        }
        // One IPv4 packet of the merged length with its header checksum; TCP's checksum left partial for the kernel.
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)packet.Length);
        packet[10] = packet[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], (ushort)~TcpSegmenter.Fold(TcpSegmenter.Sum(packet[..20], 0)));
        var tcpLength = packet.Length - 20;
        var pseudo = TcpSegmenter.Fold(TcpSegmenter.Sum(packet.Slice(12, 8), 6UL + (ulong)tcpLength));
        BinaryPrimitives.WriteUInt16BigEndian(packet[36..], pseudo);
        var headers = 20 + (packet[32] >> 4) * 4;
        Write(device, packet, new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoTcpV4, (ushort)headers, (ushort)_mss, 20, 16));
    }

    private void Write(IVirtioPacketDevice device, ReadOnlySpan<byte> packet, in VirtioNetHeader header)
    {
        device.Write(header, packet);
        _written++;
    }

    /// <summary>An IPv4 packet without options, not a fragment, TCP with only ACK (and PSH) set and some payload.</summary>
    private static bool Eligible(ReadOnlySpan<byte> p, out int headers, out int payload)
    {
        headers = payload = 0;
        if (p.Length < 40 || p.Length > MaxPacket || p[0] != 0x45 || p[9] != 6) return false;
        if (BinaryPrimitives.ReadUInt16BigEndian(p[2..]) != p.Length) return false;
        if ((BinaryPrimitives.ReadUInt16BigEndian(p[6..]) & 0x3FFF) != 0) return false;
        var tcpHeader = (p[32] >> 4) * 4;
        if (tcpHeader < 20 || 20 + tcpHeader >= p.Length) return false;
        if ((p[33] & ~(Ack | Psh)) != 0 || (p[33] & Ack) == 0) return false;
        headers = 20 + tcpHeader;
        payload = p.Length - headers;
        return true;
    }

    /// <summary>The next segment of the pending one's connection, fitting behind it.</summary>
    private bool Follows(ReadOnlySpan<byte> p, int headers, int payload)
    {
        var first = _packet.AsSpan(0, headers);
        if (_length + payload > MaxPacket || payload > _mss) return false;
        if (headers != 20 + (first[32] >> 4) * 4) return false;
        if (BinaryPrimitives.ReadUInt32BigEndian(p[24..]) != _nextSequence) return false;
        // IPv4: version/IHL, TOS, flags (DF), TTL, protocol, addresses the same.
        if (p[1] != first[1] || p[6] != first[6] || p[8] != first[8] || !p.Slice(12, 8).SequenceEqual(first.Slice(12, 8))) return false;
        // TCP: ports, acknowledgment, header length, window, urgent pointer and options the same; flags but PSH the same.
        if (!p.Slice(20, 4).SequenceEqual(first.Slice(20, 4)) || !p.Slice(28, 5).SequenceEqual(first.Slice(28, 5))) return false;
        if ((p[33] & ~Psh) != (first[33] & ~Psh) || !p.Slice(34, 2).SequenceEqual(first.Slice(34, 2))) return false;
        return p.Slice(38, headers - 38).SequenceEqual(first[38..headers]);
    }
}
