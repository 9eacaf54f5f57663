using System.Buffers.Binary;

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
