using System.Buffers.Binary;

namespace IkeActors.Esp.Tests.Support;

/// <summary>A minimal pcapng reader (Enhanced Packet Blocks only, little-endian sections): what the reference capture needs.</summary>
internal static class PcapNg
{
    public static List<byte[]> ReadFrames(string path)
    {
        var data = File.ReadAllBytes(path);
        var frames = new List<byte[]>();
        int offset = 0;
        while (offset + 12 <= data.Length)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset + 4));
            if (length < 12 || offset + length > data.Length) throw new InvalidDataException($"bad block at {offset}");
            if (type == 6) // Enhanced Packet Block
            {
                int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset + 20));
                frames.Add(data.AsSpan(offset + 28, captured).ToArray());
            }
            offset += length;
        }
        return frames;
    }

    /// <summary>The UDP payload of an Ethernet/IPv4/UDP frame, with its ports; null for anything else.</summary>
    public static (byte[] Payload, int SourcePort, int DestinationPort)? UdpPayload(byte[] frame)
    {
        if (frame.Length < 14 + 20 + 8 || BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) != 0x0800) return null;
        var ip = frame.AsSpan(14);
        int ihl = (ip[0] & 0x0F) * 4;
        if (ip[9] != 17) return null;
        var udp = ip[ihl..];
        int udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
        return (udp[8..udpLength].ToArray(), BinaryPrimitives.ReadUInt16BigEndian(udp), BinaryPrimitives.ReadUInt16BigEndian(udp[2..]));
    }
}
