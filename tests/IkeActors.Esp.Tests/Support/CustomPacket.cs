using System.Buffers.Binary;
using System.Security.Cryptography;

namespace IkeActors.Esp.Tests.Support;

/// <summary>
/// Builds authentic ESP packets with trailers an honest sender would never produce (bad padding, next
/// header, pad length), straight from System.Security.Cryptography with the same keys as <see cref="Make.Sa"/>,
/// so the receiver's post-ICV checks can be reached.
/// </summary>
internal static class CustomPacket
{
    public static byte[] AesSha1(uint spi, uint seq, byte[] payload, byte[] padding, byte padLength, byte nextHeader)
    {
        var body = payload.Concat(padding).Append(padLength).Append(nextHeader).ToArray();
        Assert.True(body.Length % 16 == 0, "test bug: body must be whole AES blocks");
        var iv = new byte[16];
        RandomNumberGenerator.Fill(iv);
        using var aes = Aes.Create();
        aes.Key = Make.Key(16, 0x11);
        var ct = aes.EncryptCbc(body, iv, PaddingMode.None);
        var packet = new byte[8 + 16 + ct.Length + 12];
        BinaryPrimitives.WriteUInt32BigEndian(packet, spi);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), seq);
        iv.CopyTo(packet, 8);
        ct.CopyTo(packet, 24);
        var mac = HMACSHA1.HashData(Make.Key(20, 0x55), packet.AsSpan(0, packet.Length - 12));
        mac.AsSpan(0, 12).CopyTo(packet.AsSpan(packet.Length - 12));
        return packet;
    }
}
