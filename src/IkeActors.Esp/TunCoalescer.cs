using System.Buffers.Binary;

namespace IkeActors.Esp;

/// <summary>An inside device that takes a <see cref="VirtioNetHeader"/> with each packet (a TUN device opened with offloads).</summary>
public interface IVirtioPacketDevice : IPacketDevice
{
    /// <summary>Whether the device was opened with the header (else <see cref="Write(in VirtioNetHeader, ReadOnlySpan{byte})"/> may not be used).</summary>
    bool VirtioHeader { get; }

    /// <summary>Whether the device takes UDP super-packets (VIRTIO_NET_HDR_GSO_UDP_L4) as well as TCP ones.</summary>
    bool UdpSegmentation => false;

    /// <summary>Writes one packet, or a TCP or UDP super-packet the kernel segments, described by <paramref name="header"/>.</summary>
    void Write(in VirtioNetHeader header, ReadOnlySpan<byte> packet);
}

/// <summary>
/// Receive-side coalescing (GRO) for the TUN device, as Linux's own GRO merges packets, one run at a time:
/// <list type="bullet">
/// <item>TCP segments of one receive batch that follow each other in one connection (same addresses and ports, the next
/// sequence number, the same acknowledgment, window, flags and options, equal payload sizes but the last) are written as
/// one super-packet the kernel takes whole (VIRTIO_NET_HDR_GSO_TCPV4, its checksum left partial: the pseudo-header's
/// sum, RFC 9293 §3.1);</item>
/// <item>where the device takes UDP segmentation, UDP datagrams of one flow (same addresses, ports, TOS, TTL and DF; equal
/// sizes but the last; consecutive identifications unless DF is set) as one UDP super-packet (VIRTIO_NET_HDR_GSO_UDP_L4,
/// at most 64 datagrams), which the kernel cuts back into the datagrams before a socket without UDP_GRO sees them.</item>
/// </list>
/// A packet whose transport checksum does not hold is never merged. Anything else is written as it came. One instance
/// per receiving thread.
/// </summary>
public sealed class TunCoalescer
{
    private const int MaxPacket = 65535, Ipv4Header = 20, UdpHeader = 8;
    private const byte Ack = 0x10, Psh = 0x08, ProtocolTcp = 6, ProtocolUdp = 17;
    /// <summary>Datagrams in one UDP super-packet: the lowest UDP_MAX_SEGMENTS of the kernels that take them (a write of more is refused).</summary>
    public const int MaxUdpSegments = 64;
    private readonly byte[] _packet = GC.AllocateUninitializedArray<byte>(MaxPacket, pinned: true);
    private int _length, _segments, _mss;
    private uint _nextSequence; // TCP: the sequence number the next segment must have; UDP without DF: its identification
    private bool _closed;
    private long _coalesced, _written;

    /// <summary>Segments merged into a predecessor, and packets (merged or not) written.</summary>
    public long Coalesced => _coalesced;
    public long Written => _written;

    /// <summary>Takes one decapsulated inner packet: merged into the pending super-packet, or the pending one written first.</summary>
    public void Add(ReadOnlySpan<byte> packet, IVirtioPacketDevice device)
    {
        if (TcpEligible(packet, out var headers, out var payload)) AddTcp(packet, headers, payload, device);
        else if (device.UdpSegmentation && UdpEligible(packet, out payload)) AddUdp(packet, payload, device);
        else
        {
            Flush(device);
            Write(device, packet, default);
        }
    }

    private void AddTcp(ReadOnlySpan<byte> packet, int headers, int payload, IVirtioPacketDevice device)
    {
        if (_segments > 0 && !_closed && _packet[9] == ProtocolTcp && FollowsTcp(packet, headers, payload))
        {
            Append(packet[headers..]);
            _nextSequence += (uint)payload;
            _packet[33] |= (byte)(packet[33] & Psh);
            // PSH, or a segment shorter than the first, ends a run (Linux GRO flushes there as well).
            if (payload < _mss || (packet[33] & Psh) != 0) _closed = true;
            return;
        }
        Start(packet, payload, device);
        _nextSequence = BinaryPrimitives.ReadUInt32BigEndian(packet[24..]) + (uint)payload;
        _closed = (packet[33] & Psh) != 0;
    }

    private void AddUdp(ReadOnlySpan<byte> packet, int payload, IVirtioPacketDevice device)
    {
        if (_segments > 0 && !_closed && _packet[9] == ProtocolUdp && FollowsUdp(packet, payload))
        {
            Append(packet[(Ipv4Header + UdpHeader)..]);
            _nextSequence++;
            // A shorter datagram is the last of a run (the kernel cuts every one but the last at the first's size).
            if (payload < _mss || _segments == MaxUdpSegments) _closed = true;
            return;
        }
        Start(packet, payload, device);
        _nextSequence = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) + 1u;
        _closed = false;
    }

    private void Start(ReadOnlySpan<byte> packet, int payload, IVirtioPacketDevice device)
    {
        Flush(device);
        packet.CopyTo(_packet);
        _length = packet.Length;
        _segments = 1;
        _mss = payload;
    }

    private void Append(ReadOnlySpan<byte> payload)
    {
        payload.CopyTo(_packet.AsSpan(_length));
        _length += payload.Length;
        _segments++;
        _coalesced++;
    }

    /// <summary>Writes the pending super-packet (or lone packet) to <paramref name="device"/>.</summary>
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
        // One IPv4 packet of the merged length with its header checksum; the transport checksum left partial for the
        // kernel: the pseudo-header's sum over the merged length, as a socket's own GSO send leaves it.
        InternetChecksum.SetIpv4Header(packet, Ipv4Header, BinaryPrimitives.ReadUInt16BigEndian(packet[4..]));
        var protocol = packet[9];
        var transportLength = packet.Length - Ipv4Header;
        var pseudo = InternetChecksum.Fold(InternetChecksum.Sum(packet.Slice(12, 8), protocol + (ulong)transportLength));
        if (protocol == ProtocolUdp)
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet[24..], (ushort)transportLength);
            BinaryPrimitives.WriteUInt16BigEndian(packet[26..], pseudo);
            Write(device, packet, new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoUdpL4, Ipv4Header + UdpHeader, (ushort)_mss, Ipv4Header, 6));
            return;
        }
        BinaryPrimitives.WriteUInt16BigEndian(packet[36..], pseudo);
        var headers = Ipv4Header + (packet[32] >> 4) * 4;
        Write(device, packet, new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoTcpV4, (ushort)headers, (ushort)_mss, Ipv4Header, 16));
    }

    private void Write(IVirtioPacketDevice device, ReadOnlySpan<byte> packet, in VirtioNetHeader header)
    {
        device.Write(header, packet);
        _written++;
    }

    /// <summary>An IPv4 packet without options whose total length is what came, not a fragment.</summary>
    private static bool Ipv4Whole(ReadOnlySpan<byte> p, byte protocol, int minimum) =>
        p.Length >= minimum && p.Length <= MaxPacket && p[0] == 0x45 && p[9] == protocol
        && BinaryPrimitives.ReadUInt16BigEndian(p[2..]) == p.Length
        && (BinaryPrimitives.ReadUInt16BigEndian(p[6..]) & 0x3FFF) == 0;

    /// <summary>TCP with only ACK (and PSH) set, some payload and a checksum that holds.</summary>
    private static bool TcpEligible(ReadOnlySpan<byte> p, out int headers, out int payload)
    {
        headers = payload = 0;
        if (!Ipv4Whole(p, ProtocolTcp, Ipv4Header + 20)) return false;
        var tcpHeader = (p[32] >> 4) * 4;
        if (tcpHeader < 20 || Ipv4Header + tcpHeader >= p.Length) return false;
        if ((p[33] & ~(Ack | Psh)) != 0 || (p[33] & Ack) == 0) return false;
        headers = Ipv4Header + tcpHeader;
        payload = p.Length - headers;
        return ChecksumHolds(p, ProtocolTcp);
    }

    /// <summary>UDP whose length field is the datagram's, with some payload and a checksum that holds (or none).</summary>
    private static bool UdpEligible(ReadOnlySpan<byte> p, out int payload)
    {
        payload = 0;
        if (!Ipv4Whole(p, ProtocolUdp, Ipv4Header + UdpHeader + 1)) return false;
        if (BinaryPrimitives.ReadUInt16BigEndian(p[24..]) != p.Length - Ipv4Header) return false;
        payload = p.Length - Ipv4Header - UdpHeader;
        return (p[26] == 0 && p[27] == 0) || ChecksumHolds(p, ProtocolUdp); // 0: sent without one (RFC 768)
    }

    /// <summary>
    /// The transport checksum over the pseudo-header holds (RFC 9293 §3.1, RFC 768): merged, a packet's checksum is made
    /// anew by the kernel, so one that arrived damaged from the far host is written as it came and dropped there, as it
    /// would have been unmerged (Linux merges only what was verified as well).
    /// </summary>
    private static bool ChecksumHolds(ReadOnlySpan<byte> p, byte protocol)
    {
        var transport = p[Ipv4Header..];
        var pseudo = InternetChecksum.Sum(p.Slice(12, 8), protocol + (ulong)transport.Length);
        return InternetChecksum.Fold(InternetChecksum.Sum(transport, pseudo)) == 0xFFFF;
    }

    /// <summary>IPv4: TOS, flags (DF), TTL and addresses the same (version, IHL and protocol are by eligibility).</summary>
    private bool SameIpv4(ReadOnlySpan<byte> p, ReadOnlySpan<byte> first) =>
        p[1] == first[1] && p[6] == first[6] && p[8] == first[8] && p.Slice(12, 8).SequenceEqual(first.Slice(12, 8));

    /// <summary>The next segment of the pending one's connection, fitting behind it.</summary>
    private bool FollowsTcp(ReadOnlySpan<byte> p, int headers, int payload)
    {
        var first = _packet.AsSpan(0, headers);
        if (_length + payload > MaxPacket || payload > _mss) return false;
        if (headers != Ipv4Header + (first[32] >> 4) * 4) return false;
        if (BinaryPrimitives.ReadUInt32BigEndian(p[24..]) != _nextSequence) return false;
        if (!SameIpv4(p, first)) return false;
        // TCP: ports, acknowledgment, header length, window, urgent pointer and options the same; flags but PSH the same.
        if (!p.Slice(20, 4).SequenceEqual(first.Slice(20, 4)) || !p.Slice(28, 5).SequenceEqual(first.Slice(28, 5))) return false;
        if ((p[33] & ~Psh) != (first[33] & ~Psh) || !p.Slice(34, 2).SequenceEqual(first.Slice(34, 2))) return false;
        return p.Slice(38, headers - 38).SequenceEqual(first[38..headers]);
    }

    /// <summary>The next datagram of the pending one's flow, no larger than the first, fitting behind it.</summary>
    private bool FollowsUdp(ReadOnlySpan<byte> p, int payload)
    {
        var first = _packet.AsSpan(0, Ipv4Header + UdpHeader);
        if (_length + payload > MaxPacket || payload > _mss) return false;
        if (!SameIpv4(p, first) || !p.Slice(20, 4).SequenceEqual(first.Slice(20, 4))) return false;
        // The kernel numbers the datagrams it cuts from the first's identification on: without DF (RFC 6864 §4.1: the
        // identification may matter) only datagrams numbered so are merged.
        const byte dontFragment = 0x40;
        return (p[6] & dontFragment) != 0 || BinaryPrimitives.ReadUInt16BigEndian(p[4..]) == (ushort)_nextSequence;
    }
}
