using System.Buffers.Binary;

namespace IkeActors.Protocol.Tests.Support;

/// <summary>
/// Writes a classic libpcap file (the "tcpdump" format: 24-byte global header, 16-byte record
/// headers, little-endian, magic a1b2c3d4, version 2.4) with UDP datagrams in IPv4, either
/// behind an Ethernet II header (linktype 1) or as raw IPv4 (linktype 101).
/// </summary>
public sealed class PcapWriter
{
    public const uint LinkTypeEthernet = 1;
    public const uint LinkTypeRawIpv4 = 101;

    private readonly MemoryStream _out = new();
    private readonly uint _linkType;
    private ushort _ipId = 0x1000;
    private uint _seconds = 1_795_762_774; // any fixed time; tshark only prints it

    public PcapWriter(uint linkType = LinkTypeEthernet)
    {
        _linkType = linkType;
        Span<byte> g = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(g, 0xa1b2c3d4);
        BinaryPrimitives.WriteUInt16LittleEndian(g[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(g[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(g[8..], 0);   // thiszone
        BinaryPrimitives.WriteUInt32LittleEndian(g[12..], 0); // sigfigs
        BinaryPrimitives.WriteUInt32LittleEndian(g[16..], 65535);
        BinaryPrimitives.WriteUInt32LittleEndian(g[20..], linkType);
        _out.Write(g);
    }

    public int PacketCount { get; private set; }

    /// <summary>Appends one IPv4/UDP datagram carrying <paramref name="payload"/>.</summary>
    public void AddUdp(ReadOnlySpan<byte> payload, byte[] srcIp, ushort srcPort, byte[] dstIp, ushort dstPort)
    {
        var packet = BuildIpv4Udp(payload, srcIp, srcPort, dstIp, dstPort, _ipId++);
        byte[] frame;
        if (_linkType == LinkTypeEthernet)
        {
            frame = new byte[14 + packet.Length];
            // Locally administered unicast MACs: dst 02:00:00:00:00:02, src 02:00:00:00:00:01.
            frame[0] = 0x02; frame[5] = 0x02;
            frame[6] = 0x02; frame[11] = 0x01;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
            packet.CopyTo(frame, 14);
        }
        else
        {
            frame = packet;
        }

        Span<byte> rec = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(rec, _seconds++);
        BinaryPrimitives.WriteUInt32LittleEndian(rec[4..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(rec[8..], (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(rec[12..], (uint)frame.Length);
        _out.Write(rec);
        _out.Write(frame);
        PacketCount++;
    }

    public byte[] ToArray() => _out.ToArray();

    public void Save(string path) => File.WriteAllBytes(path, ToArray());

    /// <summary>IPv4 header (RFC 791, no options, DF set, TTL 64, correct header checksum) + UDP header (RFC 768, checksum 0 = none).</summary>
    public static byte[] BuildIpv4Udp(ReadOnlySpan<byte> payload, byte[] srcIp, ushort srcPort, byte[] dstIp, ushort dstPort, ushort id)
    {
        var total = 20 + 8 + payload.Length;
        if (total > ushort.MaxValue) throw new ArgumentException("datagram too large for IPv4", nameof(payload));
        var p = new byte[total];
        p[0] = 0x45;
        p[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)total);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), 0x4000); // DF, offset 0
        p[8] = 64;
        p[9] = 17; // UDP
        srcIp.CopyTo(p, 12);
        dstIp.CopyTo(p, 16);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), InternetChecksum(p.AsSpan(0, 20)));

        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(20), srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(24), (ushort)(8 + payload.Length));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(26), 0);
        payload.CopyTo(p.AsSpan(28));
        return p;
    }

    /// <summary>RFC 1071 one's-complement sum of 16-bit words, complemented (checksum field zero while computing).</summary>
    public static ushort InternetChecksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        var i = 0;
        for (; i + 1 < data.Length; i += 2) sum += (uint)(data[i] << 8 | data[i + 1]);
        if (i < data.Length) sum += (uint)(data[i] << 8);
        while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}

/// <summary>One captured UDP datagram, with the ISAKMP message it carries (NAT-T non-ESP marker removed).</summary>
public sealed record CapturedIsakmp(int FrameNumber, string Source, ushort SourcePort, string Destination, ushort DestinationPort, byte[] Message)
{
    public override string ToString() => $"frame {FrameNumber} {Source}:{SourcePort} -> {Destination}:{DestinationPort} ({Message.Length} bytes)";
}

/// <summary>
/// Reads pcapng (Section Header, Interface Description and Enhanced Packet blocks;
/// other blocks are skipped) in the byte order the Section Header declares, and picks
/// the ISAKMP datagrams out of Ethernet + IPv4 + UDP frames.
/// </summary>
public static class PcapNg
{
    private const uint SectionHeaderBlock = 0x0A0D0D0A;
    private const uint InterfaceDescriptionBlock = 0x00000001;
    private const uint EnhancedPacketBlock = 0x00000006;
    private const uint ByteOrderMagic = 0x1A2B3C4D;

    /// <summary>Every Enhanced Packet Block: its 1-based frame number, interface linktype and captured bytes.</summary>
    public static List<(int Frame, ushort LinkType, byte[] Data)> ReadPackets(byte[] file)
    {
        var packets = new List<(int, ushort, byte[])>();
        var linkTypes = new List<ushort>();
        var bigEndian = false;
        var offset = 0;
        var frame = 0;
        while (offset < file.Length)
        {
            if (file.Length - offset < 12) throw new InvalidDataException($"pcapng: truncated block at {offset}");
            var blockType = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset));
            if (blockType == SectionHeaderBlock)
            {
                var magic = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 8));
                if (magic == ByteOrderMagic) bigEndian = false;
                else if (BinaryPrimitives.ReverseEndianness(magic) == ByteOrderMagic) bigEndian = true;
                else throw new InvalidDataException($"pcapng: bad byte-order magic at {offset + 8}");
                linkTypes.Clear();
            }
            else if (bigEndian)
            {
                blockType = BinaryPrimitives.ReverseEndianness(blockType);
            }

            var length = (int)U32(file, offset + 4, bigEndian);
            if (length < 12 || length % 4 != 0 || length > file.Length - offset)
                throw new InvalidDataException($"pcapng: bad block length {length} at {offset}");
            if (U32(file, offset + length - 4, bigEndian) != (uint)length)
                throw new InvalidDataException($"pcapng: trailing block length differs at {offset}");

            switch (blockType)
            {
                case InterfaceDescriptionBlock:
                    linkTypes.Add(U16(file, offset + 8, bigEndian));
                    break;
                case EnhancedPacketBlock:
                {
                    var iface = (int)U32(file, offset + 8, bigEndian);
                    var captured = (int)U32(file, offset + 20, bigEndian);
                    if (captured > length - 32) throw new InvalidDataException($"pcapng: captured length {captured} beyond block at {offset}");
                    frame++;
                    packets.Add((frame, linkTypes[iface], file.AsSpan(offset + 28, captured).ToArray()));
                    break;
                }
                case SectionHeaderBlock:
                    break;
                default:
                    // Simple Packet Blocks would count as frames too; the reference files have none.
                    if (blockType == 3) throw new NotSupportedException("pcapng: Simple Packet Block");
                    break;
            }
            offset += length;
        }
        return packets;
    }

    /// <summary>
    /// The ISAKMP messages of a capture: UDP 500, and UDP 4500 where the first four bytes
    /// are the zero non-ESP marker (RFC 3948 §2.2; a non-zero first word is ESP, skipped;
    /// a single 0xFF byte is a NAT keepalive, skipped).
    /// </summary>
    public static List<CapturedIsakmp> ReadIsakmp(string path)
    {
        var result = new List<CapturedIsakmp>();
        foreach (var (frame, linkType, data) in ReadPackets(File.ReadAllBytes(path)))
        {
            if (linkType != 1) throw new NotSupportedException($"frame {frame}: linktype {linkType}, expected Ethernet");
            if (data.Length < 14 || BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(12)) != 0x0800) continue;
            var ip = data.AsSpan(14);
            if (ip.Length < 20 || ip[0] >> 4 != 4) continue;
            var ihl = (ip[0] & 0x0F) * 4;
            var totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            if (ip[9] != 17 || totalLength > ip.Length || ihl < 20 || totalLength < ihl + 8) continue;
            var udp = ip[ihl..totalLength];
            var srcPort = BinaryPrimitives.ReadUInt16BigEndian(udp);
            var dstPort = BinaryPrimitives.ReadUInt16BigEndian(udp[2..]);
            var udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
            if (udpLength < 8 || udpLength > udp.Length) continue;
            var payload = udp[8..udpLength];
            if (srcPort == 4500 || dstPort == 4500)
            {
                if (payload.Length < 4 || BinaryPrimitives.ReadUInt32BigEndian(payload) != 0) continue; // ESP or keepalive
                payload = payload[4..];
            }
            else if (srcPort != 500 && dstPort != 500)
            {
                continue;
            }
            result.Add(new CapturedIsakmp(frame, $"{ip[12]}.{ip[13]}.{ip[14]}.{ip[15]}", srcPort,
                $"{ip[16]}.{ip[17]}.{ip[18]}.{ip[19]}", dstPort, payload.ToArray()));
        }
        return result;
    }

    private static uint U32(byte[] b, int at, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));

    private static ushort U16(byte[] b, int at, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(at)) : BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at));
}
