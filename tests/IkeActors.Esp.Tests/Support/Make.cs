using System.Buffers.Binary;

namespace IkeActors.Esp.Tests.Support;

/// <summary>Builders for SAs and inner packets used across the tests.</summary>
internal static class Make
{
    public static byte[] Key(int length, byte seed) => Enumerable.Range(0, length).Select(i => (byte)(seed + i * 7)).ToArray();

    public static EspSa Sa(uint spi, EspDirection direction, EspCipher cipher = EspCipher.Aes128Cbc,
        EspIntegrity integrity = EspIntegrity.HmacSha1_96, EspLifetime lifetime = default) =>
        new(spi, direction, cipher, Key(cipher.KeySize(), 0x11), integrity, Key(integrity.KeySize(), 0x55), lifetime);

    /// <summary>An IPv4 ICMP echo request with correct header and ICMP checksums (RFC 791, RFC 792).</summary>
    public static byte[] IcmpEcho(string source, string destination, ushort sequence, int payloadLength = 56, byte type = 8, ushort id = 0x4242)
    {
        var p = new byte[20 + 8 + payloadLength];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), sequence);
        p[8] = 64;
        p[9] = 1;
        System.Net.IPAddress.Parse(source).TryWriteBytes(p.AsSpan(12), out _);
        System.Net.IPAddress.Parse(destination).TryWriteBytes(p.AsSpan(16), out _);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum(p.AsSpan(0, 20)));
        var icmp = p.AsSpan(20);
        icmp[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        for (int i = 8; i < icmp.Length; i++) icmp[i] = (byte)i;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        return p;
    }

    /// <summary>An IPv4 UDP packet (checksum 0, allowed for IPv4 by RFC 768).</summary>
    public static byte[] Udp(string source, string destination, ushort sourcePort, ushort destinationPort, int payloadLength = 16)
    {
        var p = new byte[20 + 8 + payloadLength];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[8] = 64;
        p[9] = 17;
        System.Net.IPAddress.Parse(source).TryWriteBytes(p.AsSpan(12), out _);
        System.Net.IPAddress.Parse(destination).TryWriteBytes(p.AsSpan(16), out _);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum(p.AsSpan(0, 20)));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(20), sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(24), (ushort)(8 + payloadLength));
        return p;
    }

    /// <summary>The Internet checksum (RFC 1071).</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if ((data.Length & 1) != 0) sum += (uint)data[^1] << 8;
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
