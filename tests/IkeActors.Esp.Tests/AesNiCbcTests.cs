using System.Security.Cryptography;
using System.Text;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>
/// AES-CBC on the CPU's AES instructions (<see cref="AesNiCbc"/>), and the SA's cipher engine on both of its AES paths
/// (AES-NI, and the long-lived ICryptoTransform with its chaining correction): published vectors, then agreement with
/// .NET's AES on random keys, IVs and lengths.
/// </summary>
public class AesNiCbcTests
{
    private static readonly bool[] Paths = [true, false];

    [Fact]
    public void Aes_instructions_are_used_on_this_machine()
    {
        // Every x86-64 server of the last decade has them; a false here would silently leave the old path.
        Assert.Equal(System.Runtime.Intrinsics.X86.Aes.IsSupported, AesNiCbc.IsSupported);
        using var engine = new EspCipherEngine(EspCipher.Aes256Cbc, new byte[32]);
        Assert.Equal(AesNiCbc.IsSupported, engine.UsesAesNi);
        using var des = new EspCipherEngine(EspCipher.TripleDesCbc, Make.Key(24, 1));
        Assert.False(des.UsesAesNi);
    }

    // FIPS-197 Appendix C.1-C.3: one block, so CBC with a zero IV is the cipher itself; each key length's schedule.
    [Theory]
    [InlineData("000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a")]
    [InlineData("000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191")]
    [InlineData("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "8ea2b7ca516745bfeafc49904b496089")]
    public void Each_key_length_matches_fips197(string key, string ciphertext)
    {
        if (!AesNiCbc.IsSupported) return;
        using var aes = new AesNiCbc(Hex.Bytes(key));
        var block = Hex.Bytes("00112233445566778899aabbccddeeff");
        aes.Encrypt(block, new byte[16], block);
        Assert.Equal(ciphertext, Hex.Of(block));
        aes.Decrypt(block, new byte[16], block);
        Assert.Equal("00112233445566778899aabbccddeeff", Hex.Of(block));
    }

    // RFC 3602 §4, cases 1-4 (AES-128-CBC; case 4's four blocks are one pass of the four-wide decryption).
    [Theory]
    [InlineData("06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41", "53696e676c6520626c6f636b206d7367",
        "e353779c1079aeb82708942dbe77181a")]
    [InlineData("c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1")]
    [InlineData("6c3ea0477630ce21a2ce334aa746c2cd", "c782dc4c098c66cbd9cd27d825682c81", "This is a 48-byte message (exactly 3 AES blocks)",
        "d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5021c19216bad525c8579695d83ba2684")]
    [InlineData("56e47a38c5598974bc46903dba290349", "8ce82eefbea0da3c44699ed7db51b7d9",
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
        "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55")]
    public void Cbc_matches_rfc3602_on_both_paths(string key, string iv, string plaintext, string ciphertext)
    {
        var plain = plaintext.StartsWith("This") ? Encoding.ASCII.GetBytes(plaintext) : Hex.Bytes(plaintext);
        foreach (var useAesNi in Paths)
        {
            using var engine = new EspCipherEngine(EspCipher.Aes128Cbc, Hex.Bytes(key), useAesNi);
            var buffer = (byte[])plain.Clone();
            engine.Encrypt(buffer, Hex.Bytes(iv), buffer); // in place, as Encapsulate does
            Assert.Equal(ciphertext, Hex.Of(buffer));
            engine.Decrypt(buffer, Hex.Bytes(iv), buffer);
            Assert.Equal(Hex.Of(plain), Hex.Of(buffer));
        }
    }

    [Theory]
    [InlineData(EspCipher.Aes128Cbc)]
    [InlineData(EspCipher.Aes192Cbc)]
    [InlineData(EspCipher.Aes256Cbc)]
    public void Packets_in_sequence_match_dotnet_aes_on_both_paths(EspCipher cipher)
    {
        var random = new Random(3602 + (int)cipher);
        var key = new byte[cipher.KeySize()];
        random.NextBytes(key);
        using var reference = Aes.Create();
        reference.Key = key;
        using var aesNi = new EspCipherEngine(cipher, key, useAesNi: true);
        using var transform = new EspCipherEngine(cipher, key, useAesNi: false);
        var iv = new byte[16];
        for (int n = 0; n < 500; n++)
        {
            // 0 to 100 blocks: every remainder of the four-wide loop, and the chaining carried from packet to packet.
            var plain = new byte[16 * (n < 20 ? n : random.Next(0, 101))];
            random.NextBytes(plain);
            random.NextBytes(iv);
            var expected = reference.EncryptCbc(plain, iv, PaddingMode.None);
            foreach (var engine in new[] { aesNi, transform })
            {
                var inPlace = (byte[])plain.Clone();
                engine.Encrypt(inPlace, iv, inPlace);
                Assert.Equal(Hex.Of(expected), Hex.Of(inPlace));
                var apart = new byte[plain.Length];
                engine.Decrypt(expected, iv, apart);
                Assert.Equal(Hex.Of(plain), Hex.Of(apart));
                engine.Decrypt(inPlace, iv, inPlace);
                Assert.Equal(Hex.Of(plain), Hex.Of(inPlace));
            }
        }
    }

    [Fact]
    public void Chains_side_by_side_equal_each_packet_encrypted_alone_by_dotnet_s_aes()
    {
        // EncryptMany against .NET's one-shot CBC per lane (OpenSSL's): 1 to 20 lanes, equal and unequal lengths (a longer
        // lane goes on alone or with the other longer ones), zero-length lanes, every key length.
        if (!AesNiCbc.IsSupported) return;
        var random = new Random(17);
        foreach (var keyLength in new[] { 16, 24, 32 })
        {
            var key = new byte[keyLength];
            random.NextBytes(key);
            using var aes = new AesNiCbc(key);
            using var reference = Aes.Create();
            reference.Key = key;
            for (int round = 0; round < 60; round++)
            {
                int count = 1 + random.Next(20);
                bool equal = round % 3 == 0;
                int common = 16 * random.Next(1, 90);
                var lanes = new CbcLane[count];
                int at = random.Next(4);
                for (int i = 0; i < count; i++)
                {
                    int length = equal ? common : 16 * random.Next(0, 90);
                    lanes[i] = new CbcLane(at, at + 16, length); // ESP's layout: the IV right before the body
                    at += 16 + length + random.Next(3);
                }
                var buffer = new byte[at + 5];
                random.NextBytes(buffer);
                var expected = lanes.Select(l => reference.EncryptCbc(buffer.AsSpan(l.BodyOffset, l.Length), buffer.AsSpan(l.IvOffset, 16), PaddingMode.None)).ToList();
                var ivs = lanes.Select(l => Hex.Of(buffer.AsSpan(l.IvOffset, 16))).ToList();
                aes.EncryptMany(buffer, lanes);
                for (int i = 0; i < count; i++)
                {
                    Assert.Equal(Hex.Of(expected[i]), Hex.Of(buffer.AsSpan(lanes[i].BodyOffset, lanes[i].Length)));
                    Assert.Equal(ivs[i], Hex.Of(buffer.AsSpan(lanes[i].IvOffset, 16))); // IVs are read, not written
                }
            }
        }
    }

    [Fact]
    public void Lanes_outside_the_buffer_or_of_partial_blocks_are_refused_before_anything_is_encrypted()
    {
        if (!AesNiCbc.IsSupported) return;
        var aes = new AesNiCbc(new byte[16]);
        var buffer = new byte[256];
        var good = new CbcLane(0, 16, 64);
        foreach (var bad in new[] { new CbcLane(100, 116, 17), new CbcLane(100, 200, 64), new CbcLane(250, 16, 16), new CbcLane(-16, 0, 16),
                     new CbcLane(0, -16, 16), new CbcLane(0, 16, -16), new CbcLane(int.MaxValue - 8, 16, 16), new CbcLane(0, int.MaxValue - 8, 16) })
        {
            Assert.Throws<ArgumentException>(() => aes.EncryptMany(buffer, [good, bad]));
            Assert.All(buffer, b => Assert.Equal(0, b)); // the good lane before it untouched too
        }
        aes.Dispose();
        Assert.Throws<ObjectDisposedException>(() => aes.EncryptMany(buffer, [good]));
    }

    [Fact]
    public void Partial_blocks_and_short_ivs_are_refused_and_a_disposed_key_is_gone()
    {
        if (!AesNiCbc.IsSupported) return;
        var aes = new AesNiCbc(new byte[16]);
        Assert.Throws<ArgumentException>(() => aes.Encrypt(new byte[17], new byte[16], new byte[32]));
        Assert.Throws<ArgumentException>(() => aes.Decrypt(new byte[16], new byte[15], new byte[16]));
        Assert.Throws<ArgumentException>(() => aes.Decrypt(new byte[32], new byte[16], new byte[16]));
        Assert.Throws<ArgumentException>(() => new AesNiCbc(new byte[20]));
        aes.Dispose();
        // EspSa turns this into SaUnusable (a packet racing the SA's deletion).
        Assert.Throws<ObjectDisposedException>(() => aes.Encrypt(new byte[16], new byte[16], new byte[16]));
    }

    [Fact]
    public void No_allocation_per_packet()
    {
        using var engine = new EspCipherEngine(EspCipher.Aes256Cbc, new byte[32]);
        var body = new byte[1408];
        var iv = new byte[16];
        for (int i = 0; i < 100; i++) engine.Encrypt(body, iv, body);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            engine.Encrypt(body.AsSpan(0, 16 * (i % 88)), iv, body);
            engine.Decrypt(body.AsSpan(0, 16 * (i % 88)), iv, body);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
