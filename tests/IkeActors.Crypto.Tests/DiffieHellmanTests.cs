using System.Numerics;
using System.Runtime.InteropServices;
using CsCheck;

namespace IkeActors.Crypto.Tests;

public class DiffieHellmanTests
{
    public static TheoryData<DhGroupId> AllGroups() => new(Enum.GetValues<DhGroupId>());

    public static TheoryData<DhGroupId> ModpGroups() => new(Enum.GetValues<DhGroupId>().Where(g => (int)g < 19));

    public static TheoryData<DhGroupId> EcpGroups() => new(Enum.GetValues<DhGroupId>().Where(g => (int)g >= 19));

    private static ModpGroup Modp(DhGroupId id, DhExponentPolicy policy = DhExponentPolicy.FullLength) => (ModpGroup)DhGroup.Get(id, policy);

    private static BigInteger Big(ReadOnlySpan<byte> b) => new(b, isUnsigned: true, isBigEndian: true);

    private static byte[] Bytes(BigInteger v, int length)
    {
        byte[] r = new byte[length];
        int n = v.GetByteCount(isUnsigned: true);
        v.TryWriteBytes(r.AsSpan(length - n), out _, isUnsigned: true, isBigEndian: true);
        return r;
    }

    // ---- group parameters ----

    /// <summary>floor(pi * 2^bits) by Machin's formula, to re-derive the primes from their RFC definition.</summary>
    private static BigInteger PiFixed(int bits)
    {
        int guard = 32;
        BigInteger one = BigInteger.One << (bits + guard);
        static BigInteger ArcTanInv(int x, BigInteger one)
        {
            BigInteger sum = 0, term = one / x;
            int n = 1, sign = 1;
            BigInteger x2 = x * x;
            while (!term.IsZero)
            {
                sum += sign * (term / n);
                term /= x2;
                n += 2;
                sign = -sign;
            }
            return sum;
        }
        return (16 * ArcTanInv(5, one) - 4 * ArcTanInv(239, one)) >> guard;
    }

    // RFC 2409 §6.1/§6.2, RFC 3526 §2-§5: p = 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi] + k).
    [Theory]
    [InlineData(DhGroupId.Modp768, 768, 149686)]
    [InlineData(DhGroupId.Modp1024, 1024, 129093)]
    [InlineData(DhGroupId.Modp1536, 1536, 741804)]
    [InlineData(DhGroupId.Modp2048, 2048, 124476)]
    [InlineData(DhGroupId.Modp3072, 3072, 1690314)]
    [InlineData(DhGroupId.Modp4096, 4096, 240904)]
    public void Primes_follow_the_rfc_formula(DhGroupId id, int n, int k)
    {
        BigInteger p = BigInteger.Pow(2, n) - BigInteger.Pow(2, n - 64) - 1 + BigInteger.Pow(2, 64) * (PiFixed(n - 130) + k);
        Assert.Equal(p, Big(Modp(id).Prime));
        Assert.Equal(n / 8, DhGroup.Get(id).PublicValueLength);
    }

    [Theory, MemberData(nameof(ModpGroups))]
    public void Primes_equal_openssls_copies(DhGroupId id)
    {
        Assert.True(ModpGroup.UsesOpenSsl, "libcrypto must be loadable on the Linux test machines");
        IntPtr bn = id switch
        {
            DhGroupId.Modp768 => OpenSslBn.BN_get_rfc2409_prime_768(IntPtr.Zero),
            DhGroupId.Modp1024 => OpenSslBn.BN_get_rfc2409_prime_1024(IntPtr.Zero),
            DhGroupId.Modp1536 => OpenSslBn.BN_get_rfc3526_prime_1536(IntPtr.Zero),
            DhGroupId.Modp2048 => OpenSslBn.BN_get_rfc3526_prime_2048(IntPtr.Zero),
            DhGroupId.Modp3072 => OpenSslBn.BN_get_rfc3526_prime_3072(IntPtr.Zero),
            _ => OpenSslBn.BN_get_rfc3526_prime_4096(IntPtr.Zero),
        };
        try
        {
            int len = Modp(id).Prime.Length;
            byte[] theirs = new byte[len];
            unsafe
            {
                fixed (byte* p = theirs)
                {
                    Assert.Equal(len, OpenSslBn.BN_bn2binpad(bn, p, len));
                }
            }
            Assert.Equal(Hex.S(theirs), Hex.S(Modp(id).Prime));
        }
        finally
        {
            OpenSslBn.BN_free(bn);
        }
    }

    // ---- MODP arithmetic against an independent implementation (BigInteger.ModPow) ----

    [Theory, MemberData(nameof(ModpGroups))]
    public void Modp_public_value_and_shared_secret_equal_biginteger_modpow(DhGroupId id)
    {
        ModpGroup group = Modp(id);
        BigInteger p = Big(group.Prime);
        using DhKeyPair a = group.GenerateKeyPair();
        using DhKeyPair b = group.GenerateKeyPair();
        // Known exponent, to compare with BigInteger.
        byte[] x = new byte[group.Prime.Length];
        Random.Shared.NextBytes(x);
        x[0] &= 0x7F;
        using DhKeyPair c = group.CreateKeyPair(x);
        Assert.Equal(Hex.S(Bytes(BigInteger.ModPow(2, Big(x), p), group.PublicValueLength)), Hex.S(c.PublicValue));

        byte[] s1 = new byte[group.SharedSecretLength];
        Assert.Equal(DhStatus.Ok, c.ComputeSharedSecret(a.PublicValue, s1));
        Assert.Equal(Hex.S(Bytes(BigInteger.ModPow(Big(a.PublicValue), Big(x), p), group.SharedSecretLength)), Hex.S(s1));

        Assert.Equal(DhStatus.Ok, a.ComputeSharedSecret(b.PublicValue, out SecretBuffer? ab));
        Assert.Equal(DhStatus.Ok, b.ComputeSharedSecret(a.PublicValue, out SecretBuffer? ba));
        using (ab)
        using (ba)
        {
            Assert.Equal(Hex.S(ab!.ReadOnlySpan), Hex.S(ba!.ReadOnlySpan));
            Assert.Equal(group.SharedSecretLength, ab.Length);
        }
    }

    [Theory]
    [InlineData(DhGroupId.Modp768)]
    [InlineData(DhGroupId.Modp2048)]
    public void The_managed_fallback_agrees_with_openssl(DhGroupId id)
    {
        // Used only where libcrypto cannot be loaded; checked here so that path is not dead code.
        ModpGroup group = Modp(id);
        using DhKeyPair peer = group.GenerateKeyPair();
        byte[] x = new byte[32];
        Random.Shared.NextBytes(x);
        byte[] viaOpenSsl = new byte[group.PublicValueLength], viaManaged = new byte[group.PublicValueLength];
        group.ModExp(peer.PublicValue, x, viaOpenSsl);
        group.ModExpManaged(peer.PublicValue, x, viaManaged);
        Assert.Equal(Hex.S(viaOpenSsl), Hex.S(viaManaged));
    }

    [Fact]
    public void Leading_zero_bytes_of_g_xy_are_kept()
    {
        // 2^x with small x has many leading zero octets; the output keeps the prime length.
        ModpGroup group = Modp(DhGroupId.Modp1024);
        using DhKeyPair k = group.CreateKeyPair([0x10]);
        Assert.Equal(128, k.PublicValue.Length);
        Assert.Equal("0000000000010000", Hex.S(k.PublicValue[^8..]));
        Assert.True(k.PublicValue[..^8].IndexOfAnyExcept((byte)0) < 0);
    }

    [Theory]
    [InlineData(DhGroupId.Modp1024, DhExponentPolicy.FullLength, 1023)]
    [InlineData(DhGroupId.Modp2048, DhExponentPolicy.FullLength, 2047)]
    [InlineData(DhGroupId.Modp2048, DhExponentPolicy.TwiceSecurityStrength, 320)]
    [InlineData(DhGroupId.Modp1024, DhExponentPolicy.TwiceSecurityStrength, 256)]
    public void Exponent_length_follows_the_policy(DhGroupId id, DhExponentPolicy policy, int bits)
    {
        ModpGroup group = Modp(id, policy);
        Assert.Equal(bits, group.ExponentBits);
        using DhKeyPair a = group.GenerateKeyPair();
        using DhKeyPair b = Modp(id).GenerateKeyPair();
        Assert.Equal(DhStatus.Ok, a.ComputeSharedSecret(b.PublicValue, out SecretBuffer? s1));
        Assert.Equal(DhStatus.Ok, b.ComputeSharedSecret(a.PublicValue, out SecretBuffer? s2));
        Assert.Equal(Hex.S(s1!.ReadOnlySpan), Hex.S(s2!.ReadOnlySpan));
        s1.Dispose();
        s2.Dispose();
    }

    // ---- hostile MODP public values ----

    public static TheoryData<DhGroupId, string> HostileModpValues()
    {
        var data = new TheoryData<DhGroupId, string>();
        foreach (DhGroupId id in new[] { DhGroupId.Modp768, DhGroupId.Modp1024, DhGroupId.Modp2048, DhGroupId.Modp4096 })
        {
            foreach (string v in new[] { "0", "1", "p-1", "p", "p+1", "2^n-1" })
            {
                data.Add(id, v);
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(HostileModpValues))]
    public void Invalid_modp_values_are_refused_and_change_nothing(DhGroupId id, string which)
    {
        ModpGroup group = Modp(id);
        BigInteger p = Big(group.Prime);
        int len = group.PublicValueLength;
        BigInteger v = which switch
        {
            "0" => 0,
            "1" => 1,
            "p-1" => p - 1,
            "p" => p,
            "p+1" => p + 1,
            _ => BigInteger.Pow(2, len * 8) - 1,
        };
        byte[] y = Bytes(v, len);
        using DhKeyPair k = group.GenerateKeyPair();
        byte[] before = k.PublicValue.ToArray();
        byte[] dest = new byte[group.SharedSecretLength];
        Assert.Equal(DhStatus.InvalidPublicValue, group.ValidatePublicValue(y));
        Assert.Equal(DhStatus.InvalidPublicValue, k.ComputeSharedSecret(y, dest));
        Assert.True(dest.AsSpan().IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(DhStatus.InvalidPublicValue, k.ComputeSharedSecret(y, out SecretBuffer? none));
        Assert.Null(none);
        // The key pair still works.
        using DhKeyPair other = group.GenerateKeyPair();
        Assert.Equal(DhStatus.Ok, k.ComputeSharedSecret(other.PublicValue, dest));
        Assert.Equal(Hex.S(before), Hex.S(k.PublicValue));
        // 2 and p-2 are the edges that are allowed.
        Assert.Equal(DhStatus.Ok, group.ValidatePublicValue(Bytes(2, len)));
        Assert.Equal(DhStatus.Ok, group.ValidatePublicValue(Bytes(p - 2, len)));
    }

    [Theory, MemberData(nameof(AllGroups))]
    public void Wrong_lengths_are_refused(DhGroupId id)
    {
        DhGroup group = DhGroup.Get(id);
        using DhKeyPair k = group.GenerateKeyPair();
        using DhKeyPair other = group.GenerateKeyPair();
        byte[] dest = new byte[group.SharedSecretLength];
        byte[] longer = [0, .. other.PublicValue];
        Assert.Equal(DhStatus.InvalidLength, k.ComputeSharedSecret([], dest));
        Assert.Equal(DhStatus.InvalidLength, k.ComputeSharedSecret(other.PublicValue[1..], dest));
        Assert.Equal(DhStatus.InvalidLength, k.ComputeSharedSecret(longer, dest));
        Assert.Equal(DhStatus.Ok, k.ComputeSharedSecret(other.PublicValue, dest));
    }

    [Fact]
    public void Random_modp_input_never_throws_and_is_accepted_only_in_range()
    {
        ModpGroup group = Modp(DhGroupId.Modp768);
        BigInteger p = Big(group.Prime);
        using DhKeyPair k = group.GenerateKeyPair();
        Gen.Byte.Array[0, 200].Sample(bytes =>
        {
            byte[] dest = new byte[group.SharedSecretLength];
            DhStatus status = k.ComputeSharedSecret(bytes, dest);
            if (bytes.Length != group.PublicValueLength)
            {
                return status == DhStatus.InvalidLength;
            }
            BigInteger y = Big(bytes);
            bool inRange = y > 1 && y < p - 1;
            return status == (inRange ? DhStatus.Ok : DhStatus.InvalidPublicValue);
        }, iter: 300);
    }

    // ---- ECP: RFC 5903 §8 test vectors ----

    public static TheoryData<DhGroupId, string, string, string, string, string> Rfc5903Vectors() => new()
    {
        // §8.1, 256-bit random ECP group: i, g^i (x|y), r, g^r (x|y), g^ir x.
        {
            DhGroupId.Ecp256,
            "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
            "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180" + "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
            "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
            "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63" + "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
            "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"
        },
        // §8.2, 384-bit random ECP group.
        {
            DhGroupId.Ecp384,
            "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194",
            "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F41AA" +
            "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
            "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A7448FC",
            "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571" +
            "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
            "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746"
        },
        // §8.3, 521-bit random ECP group (public values checked through both directions agreeing).
        {
            DhGroupId.Ecp521,
            "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A095AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D4A52",
            "",
            "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E9C677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB151685EB9",
            "",
            "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04D1427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3DDEA"
        },
    };

    [Theory, MemberData(nameof(Rfc5903Vectors))]
    public void Ecp_matches_rfc5903_test_vectors(DhGroupId id, string i, string gi, string r, string gr, string girx)
    {
        var group = (EcpGroup)DhGroup.Get(id);
        using DhKeyPair initiator = group.CreateKeyPair(Hex.B(i));
        using DhKeyPair responder = group.CreateKeyPair(Hex.B(r));
        if (gi.Length > 0)
        {
            Assert.Equal(gi.ToLowerInvariant(), Hex.S(initiator.PublicValue));
            Assert.Equal(gr.ToLowerInvariant(), Hex.S(responder.PublicValue));
        }
        byte[] s1 = new byte[group.SharedSecretLength], s2 = new byte[group.SharedSecretLength];
        Assert.Equal(DhStatus.Ok, initiator.ComputeSharedSecret(responder.PublicValue, s1));
        Assert.Equal(DhStatus.Ok, responder.ComputeSharedSecret(initiator.PublicValue, s2));
        // RFC 5903 §7: the shared secret is the x coordinate only.
        Assert.Equal(girx.ToLowerInvariant(), Hex.S(s1));
        Assert.Equal(girx.ToLowerInvariant(), Hex.S(s2));
    }

    [Theory, MemberData(nameof(EcpGroups))]
    public void Ecp_points_off_the_curve_or_out_of_range_are_refused(DhGroupId id)
    {
        DhGroup group = DhGroup.Get(id);
        using DhKeyPair k = group.GenerateKeyPair();
        using DhKeyPair other = group.GenerateKeyPair();
        int c = group.SharedSecretLength;
        byte[] dest = new byte[c];

        byte[] offCurve = other.PublicValue.ToArray();
        offCurve[^1] ^= 1; // y + 1 (or - 1): not on the curve
        byte[] zeros = new byte[2 * c]; // (0, 0): no encoding of the point at infinity
        byte[] allFf = Enumerable.Repeat((byte)0xFF, 2 * c).ToArray(); // coordinates >= p
        byte[] xTooBig = other.PublicValue.ToArray();
        xTooBig.AsSpan(0, c).Fill(0xFF);

        foreach (byte[] bad in new[] { offCurve, zeros, allFf, xTooBig })
        {
            Assert.Equal(DhStatus.InvalidPublicValue, group.ValidatePublicValue(bad));
            Assert.Equal(DhStatus.InvalidPublicValue, k.ComputeSharedSecret(bad, dest));
            Assert.True(dest.AsSpan().IndexOfAnyExcept((byte)0) < 0);
        }
        Assert.Equal(DhStatus.Ok, k.ComputeSharedSecret(other.PublicValue, dest));
        Assert.Equal(c, group.SharedSecretLength);
        Assert.Equal(2 * c, k.PublicValue.Length);
    }

    [Fact]
    public void Random_ecp_input_never_throws()
    {
        DhGroup group = DhGroup.Get(DhGroupId.Ecp256);
        using DhKeyPair k = group.GenerateKeyPair();
        Gen.Byte.Array[62, 66].Sample(bytes =>
        {
            DhStatus status = k.ComputeSharedSecret(bytes, new byte[32]);
            // A random 64-byte string is on P-256 with negligible probability.
            return bytes.Length == 64 ? status == DhStatus.InvalidPublicValue : status == DhStatus.InvalidLength;
        }, iter: 200);
    }

    [Fact]
    public void Unknown_group_numbers_are_a_false_not_an_exception()
    {
        Assert.False(DhGroup.TryGet(3, out _)); // EC2N, not implemented
        Assert.False(DhGroup.TryGet(0, out _));
        Assert.False(DhGroup.TryGet(-1, out _));
        Assert.False(DhGroup.TryGet(70000, out _));
        Assert.True(DhGroup.TryGet(14, out DhGroup? g));
        Assert.Same(g, DhGroup.Get(DhGroupId.Modp2048));
    }

    [Theory]
    [InlineData(DhGroupId.Modp1024)]
    [InlineData(DhGroupId.Ecp256)]
    public void Groups_are_safe_to_share_between_threads(DhGroupId id)
    {
        DhGroup group = DhGroup.Get(id);
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            using DhKeyPair a = group.GenerateKeyPair();
            using DhKeyPair b = group.GenerateKeyPair();
            byte[] s1 = new byte[group.SharedSecretLength], s2 = new byte[group.SharedSecretLength];
            Assert.Equal(DhStatus.Ok, a.ComputeSharedSecret(b.PublicValue, s1));
            Assert.Equal(DhStatus.Ok, b.ComputeSharedSecret(a.PublicValue, s2));
            Assert.Equal(Hex.S(s1), Hex.S(s2));
        });
    }

    [Fact]
    public void Disposed_key_pairs_refuse_to_compute()
    {
        DhKeyPair k = DhGroup.Get(DhGroupId.Modp1024).GenerateKeyPair();
        using DhKeyPair other = DhGroup.Get(DhGroupId.Modp1024).GenerateKeyPair();
        k.Dispose();
        Assert.Throws<ObjectDisposedException>(() => k.ComputeSharedSecret(other.PublicValue, new byte[128]));
        Assert.True(RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? ModpGroup.UsesOpenSsl : true);
    }
}
