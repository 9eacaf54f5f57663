using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>
/// The HMAC behind every ESP ICV (<see cref="EspHmac"/>, <see cref="EspIntegrityEngine"/>) on both of its paths: the
/// precomputed inner and outer states continued through libcrypto (true), and the keyed IncrementalHash fallback (false).
/// Expected values typed from the RFCs. Keys and data are written as hex, "quoted ASCII", or either repeated to n bytes ("*n").
/// </summary>
public class HmacKnownAnswerTests
{
    private static readonly bool[] Paths = [true, false];

    private static byte[] Bytes(string spec)
    {
        if (spec.Split('*') is [var unit, var count])
        {
            // xx*n: one byte n times; "text"*n: the text repeated to n bytes (RFC 4868's "JefeJefe..." keys).
            var pattern = unit.StartsWith('"') ? Encoding.ASCII.GetBytes(unit[1..^1]) : Convert.FromHexString(unit);
            return Enumerable.Range(0, int.Parse(count)).Select(i => pattern[i % pattern.Length]).ToArray();
        }
        return spec.StartsWith('"') ? Encoding.ASCII.GetBytes(spec[1..^1]) : Hex.Bytes(spec);
    }

    private static HashAlgorithmName Hash(string name) => new(name);

    // RFC 2202 §2 (HMAC-MD5) and §3 (HMAC-SHA-1), test cases 1-7: name, key, data, digest. Cases 6 and 7 have an 80-byte
    // key, longer than the 64-byte block, so it is hashed first (RFC 2104 §2).
    private static readonly (string Hash, int Case, string Key, string Data, string Digest)[] Rfc2202 =
    [
        ("MD5", 1, "0b*16", "\"Hi There\"", "9294727a3638bb1c13f48ef8158bfc9d"),
        ("MD5", 2, "\"Jefe\"", "\"what do ya want for nothing?\"", "750c783e6ab0b503eaa86e310a5db738"),
        ("MD5", 3, "aa*16", "dd*50", "56be34521d144c88dbb8c733f0e8b3f6"),
        ("MD5", 4, "0102030405060708090a0b0c0d0e0f10111213141516171819", "cd*50", "697eaf0aca3a3aea3a75164746ffaa79"),
        ("MD5", 5, "0c*16", "\"Test With Truncation\"", "56461ef2342edc00f9bab995690efd4c"),
        ("MD5", 6, "aa*80", "\"Test Using Larger Than Block-Size Key - Hash Key First\"", "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"),
        ("MD5", 7, "aa*80", "\"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data\"", "6f630fad67cda0ee1fb1f562db3aa53e"),
        ("SHA1", 1, "0b*20", "\"Hi There\"", "b617318655057264e28bc0b6fb378c8ef146be00"),
        ("SHA1", 2, "\"Jefe\"", "\"what do ya want for nothing?\"", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
        ("SHA1", 3, "aa*20", "dd*50", "125d7342b9ac11cd91a39af48aa17b4f63f175d3"),
        ("SHA1", 4, "0102030405060708090a0b0c0d0e0f10111213141516171819", "cd*50", "4c9007f4026250c6bc8414f9bf50c86c2d7235da"),
        ("SHA1", 5, "0c*20", "\"Test With Truncation\"", "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"),
        ("SHA1", 6, "aa*80", "\"Test Using Larger Than Block-Size Key - Hash Key First\"", "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
        ("SHA1", 7, "aa*80", "\"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data\"", "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"),
    ];

    public static TheoryData<bool, int> Rfc2202Cases() => Cross(Rfc2202.Length);

    [Theory]
    [MemberData(nameof(Rfc2202Cases))]
    public void Hmac_md5_and_sha1_match_rfc2202(bool useLibcrypto, int index)
    {
        var c = Rfc2202[index];
        var data = Bytes(c.Data);
        Assert.Equal(c.Case switch { 1 => 8, 2 => 28, 3 or 4 => 50, 5 => 20, 6 => 54, _ => 73 }, data.Length); // the RFC's data_len
        using var hmac = EspHmac.Create(Hash(c.Hash), Bytes(c.Key), useLibcrypto);
        Assert.Equal(useLibcrypto && OperatingSystem.IsLinux(), hmac.UsesLibcrypto);
        var mac = new byte[hmac.HashSize];
        hmac.Compute(data, mac);
        Assert.Equal(c.Digest, Hex.Of(mac));
    }

    // RFC 4231 §4.2-§4.8, test cases 1-7 for SHA-256, SHA-384 and SHA-512: key, data, and the three digests. Case 5 is
    // truncated to 128 bits; cases 6 and 7 have a 131-byte key, longer than every block (64 and 128 bytes).
    private const string Rfc4231Case7Data = "\"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.\"";

    private static readonly (int Case, string Key, string Data, string Sha256, string Sha384, string Sha512)[] Rfc4231 =
    [
        (1, "0b*20", "4869205468657265",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
        (2, "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
        (3, "aa*20", "dd*50",
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
            "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"),
        (4, "0102030405060708090a0b0c0d0e0f10111213141516171819", "cd*50",
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
            "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"),
        (5, "0c*20", "546573742057697468205472756e636174696f6e",
            "a3b6167473100ee06e0c796c2955552b",
            "3abf34c3503b2a23a46efc619baef897",
            "415fad6271580a531d4179bc891d87a6"),
        (6, "aa*131", "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"),
        (7, "aa*131", Rfc4231Case7Data,
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
            "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"),
    ];

    public static TheoryData<bool, int> Rfc4231Cases() => Cross(Rfc4231.Length);

    [Theory]
    [MemberData(nameof(Rfc4231Cases))]
    public void Hmac_sha2_matches_rfc4231(bool useLibcrypto, int index)
    {
        var c = Rfc4231[index];
        var key = Bytes(c.Key);
        var data = Bytes(c.Data);
        if (c.Case == 7) Assert.Equal(152, data.Length); // the RFC's ten lines of hex
        foreach (var (hash, expected) in new[] { ("SHA256", c.Sha256), ("SHA384", c.Sha384), ("SHA512", c.Sha512) })
        {
            using var hmac = EspHmac.Create(Hash(hash), key, useLibcrypto);
            Assert.Equal(useLibcrypto && OperatingSystem.IsLinux(), hmac.UsesLibcrypto);
            var mac = new byte[expected.Length / 2]; // case 5: the leftmost 128 bits only (RFC 2104 §5)
            hmac.Compute(data, mac);
            Assert.Equal(expected, Hex.Of(mac));
        }
    }

    // The ESP truncations through the SA's engine, with ESP-sized keys: ICV 12 from RFC 2202's case 5 ("digest-96",
    // RFC 2403/2404 §2); 16, 24 and 32 from RFC 4868 §2.7.2's authenticator test cases (HMAC-SHA-256-128, -384-192,
    // -512-256; keys as long as the hash output, §2.1.1).
    [Theory]
    [InlineData(EspIntegrity.HmacMd5_96, "0c*16", "\"Test With Truncation\"", "56461ef2342edc00f9bab995")]
    [InlineData(EspIntegrity.HmacSha1_96, "0c*20", "\"Test With Truncation\"", "4c1a03424b55e07fe7f27be1")]
    [InlineData(EspIntegrity.HmacSha256_128, "0b*32", "4869205468657265", "198a607eb44bfbc69903a0f1cf2bbdc5")] // AUTH256-1
    [InlineData(EspIntegrity.HmacSha256_128, "\"Jefe\"*32", "7768617420646f2079612077616e7420666f72206e6f7468696e673f", "167f928588c5cc2eef8e3093caa0e87c")] // AUTH256-2
    [InlineData(EspIntegrity.HmacSha256_128, "aa*32", "dd*50", "cdcb1220d1ecccea91e53aba3092f962")] // AUTH256-3
    [InlineData(EspIntegrity.HmacSha256_128, "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", "cd*50", "372efcf9b40b35c2115b1346903d2ef4")] // AUTH256-4
    [InlineData(EspIntegrity.HmacSha384_192, "0b*48", "4869205468657265", "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973")] // AUTH384-1
    [InlineData(EspIntegrity.HmacSha384_192, "\"Jefe\"*48", "7768617420646f2079612077616e7420666f72206e6f7468696e673f", "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d")] // AUTH384-2
    [InlineData(EspIntegrity.HmacSha384_192, "aa*48", "dd*50", "809f439be00274321d4a538652164b53554a508184a0c316")] // AUTH384-3
    [InlineData(EspIntegrity.HmacSha512_256, "0b*64", "4869205468657265", "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8")] // AUTH512-1
    [InlineData(EspIntegrity.HmacSha512_256, "\"Jefe\"*64", "7768617420646f2079612077616e7420666f72206e6f7468696e673f", "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454")] // AUTH512-2
    [InlineData(EspIntegrity.HmacSha512_256, "aa*64", "dd*50", "2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8")] // AUTH512-3
    public void Esp_icvs_match_rfc2202_and_rfc4868(EspIntegrity integrity, string key, string data, string icv)
    {
        var k = Bytes(key);
        Assert.Equal(integrity.KeySize(), k.Length);
        Assert.Equal(integrity.IcvSize(), icv.Length / 2);
        foreach (var useLibcrypto in Paths)
        {
            using var engine = new EspIntegrityEngine(integrity, k, useLibcrypto);
            Assert.Equal(useLibcrypto && OperatingSystem.IsLinux(), engine.UsesLibcrypto);
            var computed = new byte[engine.IcvSize];
            engine.Compute(Bytes(data), computed);
            Assert.Equal(icv, Hex.Of(computed));
            Assert.True(engine.Verify(Bytes(data), computed));
            computed[^1] ^= 0x80;
            Assert.False(engine.Verify(Bytes(data), computed));
        }
    }

    public static TheoryData<EspIntegrity, bool> Transforms()
    {
        var d = new TheoryData<EspIntegrity, bool>();
        foreach (var i in new[] { EspIntegrity.HmacMd5_96, EspIntegrity.HmacSha1_96, EspIntegrity.HmacSha256_128, EspIntegrity.HmacSha384_192, EspIntegrity.HmacSha512_256 })
        {
            foreach (var p in Paths) d.Add(i, p);
        }
        return d;
    }

    private static byte[] Reference(EspIntegrity integrity, byte[] key, ReadOnlySpan<byte> data)
    {
        var full = integrity switch
        {
            EspIntegrity.HmacMd5_96 => HMACMD5.HashData(key, data),
            EspIntegrity.HmacSha1_96 => HMACSHA1.HashData(key, data),
            EspIntegrity.HmacSha256_128 => HMACSHA256.HashData(key, data),
            EspIntegrity.HmacSha384_192 => HMACSHA384.HashData(key, data),
            _ => HMACSHA512.HashData(key, data),
        };
        return full[..integrity.IcvSize()];
    }

    [Theory]
    [MemberData(nameof(Transforms))]
    public void Packets_in_sequence_get_the_icv_of_a_fresh_hmac_each(EspIntegrity integrity, bool useLibcrypto)
    {
        var key = RandomNumberGenerator.GetBytes(integrity.KeySize());
        using var engine = new EspIntegrityEngine(integrity, key, useLibcrypto);
        var random = new Random(4303);
        var buffer = new byte[9000];
        var icv = new byte[engine.IcvSize];
        for (int n = 0; n < 2000; n++)
        {
            // Lengths around every block boundary of every digest, then jumbo sizes; the state must be reset each time.
            int length = n < 300 ? n : random.Next(0, n % 10 == 0 ? buffer.Length : 1500);
            var data = buffer.AsSpan(0, length);
            random.NextBytes(data);
            engine.Compute(data, icv);
            Assert.Equal(Hex.Of(Reference(integrity, key, data)), Hex.Of(icv));
            Assert.True(engine.Verify(data, icv));
        }
    }

    [Theory]
    [MemberData(nameof(Transforms))]
    public void Hostile_empty_data_and_wrong_length_icvs(EspIntegrity integrity, bool useLibcrypto)
    {
        var key = RandomNumberGenerator.GetBytes(integrity.KeySize());
        using var engine = new EspIntegrityEngine(integrity, key, useLibcrypto);
        var icv = new byte[engine.IcvSize];
        engine.Compute([], icv);
        Assert.Equal(Hex.Of(Reference(integrity, key, [])), Hex.Of(icv));
        Assert.True(engine.Verify([], icv));

        var data = RandomNumberGenerator.GetBytes(100);
        var good = Reference(integrity, key, data);
        Assert.True(engine.Verify(data, good));
        foreach (int length in new[] { 0, 1, good.Length - 1, good.Length + 1, 64, 200 })
        {
            var received = new byte[length];
            good.AsSpan(0, Math.Min(length, good.Length)).CopyTo(received); // a right prefix or a right ICV with more after it
            Assert.False(engine.Verify(data, received));
        }
        Assert.True(engine.Verify(data, good)); // nothing left over from the refusals
    }

    [Theory]
    [MemberData(nameof(Transforms))]
    public void No_allocation_per_packet(EspIntegrity integrity, bool useLibcrypto)
    {
        using var engine = new EspIntegrityEngine(integrity, RandomNumberGenerator.GetBytes(integrity.KeySize()), useLibcrypto);
        var data = new byte[1400];
        var icv = new byte[engine.IcvSize];
        for (int i = 0; i < 100; i++) engine.Compute(data, icv); // compiled and warm
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            engine.Compute(data.AsSpan(0, i), icv);
            engine.Verify(data.AsSpan(0, i), icv);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [MemberData(nameof(Transforms))]
    public void Disposed_engine_refuses_to_compute(EspIntegrity integrity, bool useLibcrypto)
    {
        var engine = new EspIntegrityEngine(integrity, RandomNumberGenerator.GetBytes(integrity.KeySize()), useLibcrypto);
        engine.Dispose();
        // EspSa turns this into SaUnusable (a packet racing the SA's deletion).
        Assert.Throws<ObjectDisposedException>(() => engine.Compute([1, 2, 3], new byte[engine.IcvSize]));
    }

    [Fact]
    public void Truncation_outside_1_to_L_bytes_is_refused()
    {
        foreach (var useLibcrypto in Paths)
        {
            using var hmac = EspHmac.Create(HashAlgorithmName.SHA1, new byte[20], useLibcrypto);
            Assert.Throws<ArgumentException>(() => hmac.Compute([1], new byte[21]));
            Assert.Throws<ArgumentException>(() => hmac.Compute([1], []));
        }
    }

    [Fact]
    public void Structs_have_the_openssl_headers_sizes()
    {
        // openssl/md5.h and openssl/sha.h on LP64: MD5_CTX 92, SHA_CTX 96, SHA256_CTX 112, SHA512_CTX 216 bytes.
        Assert.Equal(92, Unsafe.SizeOf<Libcrypto.Md5Ctx>());
        Assert.Equal(96, Unsafe.SizeOf<Libcrypto.Sha1Ctx>());
        Assert.Equal(112, Unsafe.SizeOf<Libcrypto.Sha256Ctx>());
        Assert.Equal(216, Unsafe.SizeOf<Libcrypto.Sha512Ctx>());
    }

    [Fact]
    public void Libcrypto_path_is_taken_on_linux()
    {
        // Debian 12's libcrypto.so.3 has every low-level digest; a failed probe would silently leave the old path.
        Assert.Equal(OperatingSystem.IsLinux(), Libcrypto.IsLoaded);
        foreach (var digest in new[] { Libcrypto.Md5, Libcrypto.Sha1, Libcrypto.Sha256, Libcrypto.Sha384, Libcrypto.Sha512 })
        {
            Assert.Equal(OperatingSystem.IsLinux(), digest.IsAvailable);
        }
    }

    private static TheoryData<bool, int> Cross(int cases)
    {
        var d = new TheoryData<bool, int>();
        foreach (var p in Paths)
        {
            for (int i = 0; i < cases; i++) d.Add(p, i);
        }
        return d;
    }
}
