using System.Text;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>Published vectors for the transforms, run through our engines (the objects the SAs use).</summary>
public class AlgorithmVectorTests
{
    // RFC 3602 §4, Cases #1 and #2.
    [Theory]
    [InlineData("06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41", "53696e676c6520626c6f636b206d7367", "e353779c1079aeb82708942dbe77181a")]
    [InlineData("c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1")]
    public void Aes_cbc_matches_rfc3602(string key, string iv, string plaintext, string ciphertext)
    {
        using var engine = new EspCipherEngine(EspCipher.Aes128Cbc, Hex.Bytes(key));
        var buffer = Hex.Bytes(plaintext);
        engine.Encrypt(buffer, Hex.Bytes(iv), buffer); // in place, as Encapsulate does
        Assert.Equal(ciphertext, Hex.Of(buffer));
        engine.Decrypt(buffer, Hex.Bytes(iv), buffer);
        Assert.Equal(plaintext, Hex.Of(buffer));
    }

    // RFC 2202 §2 test case 1 (HMAC-MD5) and §3 test case 1 (HMAC-SHA-1), truncated to 96 bits as RFC 2403/2404 §3 say.
    [Theory]
    [InlineData(EspIntegrity.HmacMd5_96, 16, "9294727a3638bb1c13f48ef8")]
    [InlineData(EspIntegrity.HmacSha1_96, 20, "b617318655057264e28bc0b6")]
    public void Hmac_96_is_the_rfc2202_value_truncated(EspIntegrity integrity, int keyLength, string icv)
    {
        using var engine = new EspIntegrityEngine(integrity, Enumerable.Repeat((byte)0x0b, keyLength).ToArray());
        var data = Encoding.ASCII.GetBytes("Hi There");
        var computed = new byte[integrity.IcvSize()];
        engine.Compute(data, computed);
        Assert.Equal(icv, Hex.Of(computed));
        Assert.True(engine.Verify(data, Hex.Bytes(icv)));
        var wrong = Hex.Bytes(icv);
        wrong[^1] ^= 1;
        Assert.False(engine.Verify(data, wrong));
    }

    // RFC 4231 §4.2 test case 1 (key 0x0b x 20, "Hi There"); RFC 4868 §2.3 truncation to half the output.
    // ESP keys are the full hash length (RFC 4868 §2.1.1), so 20-byte keys are padded with zeros
    // to 32/48/64 bytes, which HMAC does anyway (RFC 2104 §2: keys shorter than B are zero-filled).
    [Theory]
    [InlineData(EspIntegrity.HmacSha256_128, "b0344c61d8db38535ca8afceaf0bf12b")]
    [InlineData(EspIntegrity.HmacSha384_192, "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec6")]
    [InlineData(EspIntegrity.HmacSha512_256, "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde")]
    public void Hmac_sha2_is_the_rfc4231_value_truncated(EspIntegrity integrity, string icv)
    {
        var key = new byte[integrity.KeySize()];
        key.AsSpan(0, 20).Fill(0x0b);
        using var engine = new EspIntegrityEngine(integrity, key);
        var computed = new byte[integrity.IcvSize()];
        engine.Compute(Encoding.ASCII.GetBytes("Hi There"), computed);
        Assert.Equal(icv, Hex.Of(computed));
    }

    // RFC 4303 §2.4 / RFC 3602 §3: sizes of what goes on the wire.
    [Theory]
    [InlineData(EspCipher.Aes128Cbc, EspIntegrity.HmacSha1_96, 84, 8 + 16 + 96 + 12)] // the strongSwan ping: 84 + 2 -> 96
    [InlineData(EspCipher.TripleDesCbc, EspIntegrity.HmacMd5_96, 84, 8 + 8 + 88 + 12)]
    [InlineData(EspCipher.Null, EspIntegrity.HmacSha256_128, 84, 8 + 0 + 88 + 16)]
    [InlineData(EspCipher.Aes256Cbc, EspIntegrity.HmacSha512_256, 14, 8 + 16 + 16 + 32)]
    public void Packet_sizes_follow_padding_rules(EspCipher cipher, EspIntegrity integrity, int inner, int expected)
    {
        using var sa = Make.Sa(1, EspDirection.Outbound, cipher, integrity);
        Assert.Equal(expected, sa.PacketSize(inner));
        Assert.True(sa.MaxPacketSize(inner) >= expected);
    }
}
