using System.Buffers.Binary;

namespace IkeActors.Esp.Tests.Support;

/// <summary>Writes a classic pcap of raw IPv4 packets (LINKTYPE_RAW = 101), wrapping ESP in an outer IPv4 (and UDP) header.</summary>
internal sealed class PcapWriter : IDisposable
{
    private readonly FileStream _file;
    private ushort _ipId;

    public PcapWriter(string path)
    {
        _file = File.Create(path);
        var header = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xa1b2c3d4);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 65535);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), 101);
        _file.Write(header);
    }

    /// <summary>Outer IPv4 10.0.0.1 -> 10.0.0.2 carrying ESP directly (protocol 50) or in UDP 4500 (RFC 3948).</summary>
    public void WriteEsp(ReadOnlySpan<byte> esp, bool udp, string source = "10.0.0.1", string destination = "10.0.0.2")
    {
        int l4 = udp ? 8 : 0;
        var packet = new byte[20 + l4 + esp.Length];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), ++_ipId);
        packet[8] = 64;
        packet[9] = udp ? (byte)17 : (byte)50;
        System.Net.IPAddress.Parse(source).TryWriteBytes(packet.AsSpan(12), out _);
        System.Net.IPAddress.Parse(destination).TryWriteBytes(packet.AsSpan(16), out _);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), Make.Checksum(packet.AsSpan(0, 20)));
        if (udp)
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(20), 4500);
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(22), 4500);
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(24), (ushort)(8 + esp.Length)); // checksum 0 (RFC 3948 §3.1.2)
        }
        esp.CopyTo(packet.AsSpan(20 + l4));
        WriteRecord(packet);
    }

    public void WriteRecord(ReadOnlySpan<byte> packet)
    {
        var record = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), (uint)packet.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12), (uint)packet.Length);
        _file.Write(record);
        _file.Write(packet);
    }

    public void Dispose() => _file.Dispose();
}
