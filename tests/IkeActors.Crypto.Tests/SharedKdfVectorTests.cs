using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace IkeActors.Crypto.Tests;

/// <summary>tests/data/vectors/ikev1-psk-kdf.json: values from another implementation (AES-128, SHA1, group 2).</summary>
public class SharedKdfVectorTests
{
    public static TheoryData<string> Cases() =>
        new(Vectors.Load("ikev1-psk-kdf.json").GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!));

    private static JsonElement Case(string name) =>
        Vectors.Load("ikev1-psk-kdf.json").GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static Phase1Keys Derive(JsonElement c)
    {
        Phase1KeyStatus status = Phase1Keys.TryDerivePreSharedKey(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.AesCbc, 128,
            Encoding.ASCII.GetBytes(c.GetProperty("psk_ascii").GetString()!), c.Bytes("ni"), c.Bytes("nr"), c.Bytes("gxy"),
            c.Bytes("ckyI"), c.Bytes("ckyR"), c.Bytes("ownKe"), c.Bytes("peerKe"), out Phase1Keys? keys);
        Assert.Equal(Phase1KeyStatus.Ok, status);
        return keys!;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Every_listed_value_is_reproduced(string name)
    {
        JsonElement c = Case(name);
        JsonElement expect = c.GetProperty("expect");
        using Phase1Keys keys = Derive(c);
        Assert.Equal(expect.GetProperty("skeyid").GetString()!.ToLowerInvariant(), Hex.S(keys.Skeyid));
        Assert.Equal(expect.GetProperty("skeyidD").GetString()!.ToLowerInvariant(), Hex.S(keys.SkeyidD));
        Assert.Equal(expect.GetProperty("skeyidA").GetString()!.ToLowerInvariant(), Hex.S(keys.SkeyidA));
        Assert.Equal(expect.GetProperty("skeyidE").GetString()!.ToLowerInvariant(), Hex.S(keys.SkeyidE));
        Assert.Equal(expect.GetProperty("encKey").GetString()!.ToLowerInvariant(), Hex.S(keys.EncryptionKey));
        Assert.Equal(expect.GetProperty("ivPhase1").GetString()!.ToLowerInvariant(), Hex.S(keys.Phase1Iv));

        byte[] hashR = new byte[20];
        IkeHashes.HashR(IkeHashAlgorithm.Sha1, keys.Skeyid, c.Bytes("ownKe"), c.Bytes("peerKe"), c.Bytes("ckyI"), c.Bytes("ckyR"),
            c.Bytes("saOfferBody"), c.Bytes("peerIdBody"), hashR);
        Assert.Equal(expect.GetProperty("hashR").GetString()!.ToLowerInvariant(), Hex.S(hashR));
        Assert.True(IkePrf.FixedTimeEquals(hashR, expect.Bytes("hashR")));

        if (expect.TryGetProperty("ivForMessageId", out JsonElement ivm))
        {
            Assert.True(IsakmpCipher.TryCreate(keys, out IsakmpCipher? cipher));
            using (cipher)
            {
                uint mid = BinaryPrimitives.ReadUInt32BigEndian(ivm.Bytes("messageId"));
                byte[] iv = new byte[16];
                cipher.GetIv(mid, iv);
                Assert.Equal(ivm.GetProperty("iv").GetString()!.ToLowerInvariant(), Hex.S(iv));
            }
        }
    }

    [Theory, MemberData(nameof(Cases))]
    public void A_wrong_psk_or_flipped_input_changes_the_keys(string name)
    {
        JsonElement c = Case(name);
        string expected = c.GetProperty("expect").GetProperty("skeyidD").GetString()!.ToLowerInvariant();
        byte[] gxy = c.Bytes("gxy");
        gxy[^1] ^= 1;
        Assert.Equal(Phase1KeyStatus.Ok, Phase1Keys.TryDerivePreSharedKey(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.AesCbc, 128,
            "AAAB"u8, c.Bytes("ni"), c.Bytes("nr"), c.Bytes("gxy"), c.Bytes("ckyI"), c.Bytes("ckyR"), c.Bytes("ownKe"), c.Bytes("peerKe"), out Phase1Keys? k1));
        Assert.Equal(Phase1KeyStatus.Ok, Phase1Keys.TryDerivePreSharedKey(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.AesCbc, 128,
            "AAAA"u8, c.Bytes("ni"), c.Bytes("nr"), gxy, c.Bytes("ckyI"), c.Bytes("ckyR"), c.Bytes("ownKe"), c.Bytes("peerKe"), out Phase1Keys? k2));
        using (k1)
        using (k2)
        {
            Assert.NotEqual(expected, Hex.S(k1!.SkeyidD));
            Assert.NotEqual(expected, Hex.S(k2!.SkeyidD));
        }
    }
}
