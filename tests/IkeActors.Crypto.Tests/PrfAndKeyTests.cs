namespace IkeActors.Crypto.Tests;

public class PrfAndKeyTests
{
    // RFC 2202 §2/§3 and RFC 4231 §4.3, test case 2: key "Jefe", data "what do ya want for nothing?".
    [Theory]
    [InlineData(IkeHashAlgorithm.Md5, "750c783e6ab0b503eaa86e310a5db738")]
    [InlineData(IkeHashAlgorithm.Sha1, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")]
    [InlineData(IkeHashAlgorithm.Sha2_256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")]
    [InlineData(IkeHashAlgorithm.Sha2_384, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649")]
    [InlineData(IkeHashAlgorithm.Sha2_512, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")]
    public void Prf_is_the_hmac_of_the_negotiated_hash(IkeHashAlgorithm hash, string expected)
    {
        byte[] output = new byte[IkeAlgorithms.HashLength(hash)];
        Assert.Equal(output.Length, IkePrf.Prf(hash, "Jefe"u8, "what do ya want for nothing?"u8, output));
        Assert.Equal(expected, Hex.S(output));
        // The multi-part form is the same prf over the concatenation.
        Array.Clear(output);
        IkePrf.Prf(hash, "Jefe"u8, output, "what do ya "u8, "want for "u8, "nothing?"u8);
        Assert.Equal(expected, Hex.S(output));
    }

    [Fact]
    public void Multi_part_prf_over_large_inputs_uses_the_pooled_buffer_correctly()
    {
        byte[] big = new byte[5000];
        new Random(7).NextBytes(big);
        byte[] a = new byte[32], b = new byte[32];
        IkePrf.Prf(IkeHashAlgorithm.Sha2_256, "k"u8, big, a);
        IkePrf.Prf(IkeHashAlgorithm.Sha2_256, "k"u8, b, big.AsSpan(0, 1000), big.AsSpan(1000, 3000), big.AsSpan(4000));
        Assert.Equal(Hex.S(a), Hex.S(b));
    }

    [Fact]
    public void Appendix_b_expansion_is_k1_k2_with_k1_prf_of_a_zero_octet()
    {
        // Independent re-statement of RFC 2409 appendix B with .NET's HMAC directly.
        byte[] skeyidE = Hex.B("00112233445566778899aabbccddeeff");
        byte[] k1 = System.Security.Cryptography.HMACMD5.HashData(skeyidE, new byte[] { 0 });
        byte[] k2 = System.Security.Cryptography.HMACMD5.HashData(skeyidE, k1);
        byte[] ka = new byte[24];
        Phase1Keys.ExpandEncryptionKey(IkeHashAlgorithm.Md5, skeyidE, ka);
        Assert.Equal(Hex.S([.. k1, .. k2.AsSpan(0, 8)]), Hex.S(ka));
        // Long enough SKEYID_e: simply truncated.
        byte[] shortKa = new byte[8];
        Phase1Keys.ExpandEncryptionKey(IkeHashAlgorithm.Md5, skeyidE, shortKa);
        Assert.Equal("0011223344556677", Hex.S(shortKa));
    }

    [Fact]
    public void Keymat_expansion_chains_k1_into_k2()
    {
        byte[] d = Hex.B("0102030405060708090a0b0c0d0e0f1011121314");
        byte[] spi = Hex.B("aabbccdd"), ni = Hex.B("1111111111111111"), nr = Hex.B("2222222222222222"), pfs = Hex.B("33333333");
        byte[] seed = [.. pfs, 3, .. spi, .. ni, .. nr];
        byte[] k1 = System.Security.Cryptography.HMACSHA1.HashData(d, seed);
        byte[] k2 = System.Security.Cryptography.HMACSHA1.HashData(d, (byte[])[.. k1, .. seed]);
        byte[] keymat = new byte[36];
        IkeHashes.Keymat(IkeHashAlgorithm.Sha1, d, pfs, 3, spi, ni, nr, keymat);
        Assert.Equal(Hex.S([.. k1, .. k2.AsSpan(0, 16)]), Hex.S(keymat));
    }

    [Theory]
    [InlineData(IkeEncryptionAlgorithm.AesCbc, 0, 0)]
    [InlineData(IkeEncryptionAlgorithm.AesCbc, 64, 0)]
    [InlineData(IkeEncryptionAlgorithm.AesCbc, 128, 16)]
    [InlineData(IkeEncryptionAlgorithm.AesCbc, 192, 24)]
    [InlineData(IkeEncryptionAlgorithm.AesCbc, 256, 32)]
    [InlineData(IkeEncryptionAlgorithm.TripleDesCbc, 0, 24)]
    [InlineData(IkeEncryptionAlgorithm.TripleDesCbc, 128, 0)]
    [InlineData(IkeEncryptionAlgorithm.DesCbc, 0, 8)]
    [InlineData((IkeEncryptionAlgorithm)3, 0, 0)]
    public void Key_lengths_follow_the_key_length_attribute(IkeEncryptionAlgorithm cipher, int bits, int expectedBytes) =>
        Assert.Equal(expectedBytes, IkeAlgorithms.KeyLength(cipher, bits));

    [Fact]
    public void Bad_parameters_give_a_status_not_an_exception()
    {
        byte[] n = new byte[16], g = new byte[128], c = new byte[8];
        Assert.Equal(Phase1KeyStatus.InvalidKeyLength, Phase1Keys.TryDerivePreSharedKey(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.AesCbc, 0, "k"u8, n, n, g, c, c, g, g, out _));
        Assert.Equal(Phase1KeyStatus.UnsupportedAlgorithm, Phase1Keys.TryDerivePreSharedKey((IkeHashAlgorithm)3, IkeEncryptionAlgorithm.AesCbc, 128, "k"u8, n, n, g, c, c, g, g, out _));
        Assert.Equal(Phase1KeyStatus.UnsupportedAlgorithm, Phase1Keys.TryDerivePreSharedKey(IkeHashAlgorithm.Sha1, (IkeEncryptionAlgorithm)2, 0, "k"u8, n, n, g, c, c, g, g, out _));
        Assert.Equal(Phase1KeyStatus.InvalidInput, Phase1Keys.TryDerivePreSharedKey(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.AesCbc, 128, "k"u8, n, n, g, c.AsSpan(0, 7), c, g, g, out _));
        Assert.Equal(Phase1KeyStatus.InvalidInput, Phase1Keys.TryDerivePreSharedKey(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.AesCbc, 128, "k"u8, n.AsSpan(0, 4), n, g, c, c, g, g, out _));
        Assert.Equal(Phase1KeyStatus.InvalidInput, Phase1Keys.TryDerivePreSharedKey(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.AesCbc, 128, "k"u8, n, n, [], c, c, g, g, out _));
    }

    // DES weak and semi-weak keys (FIPS 74), refused for DES and inside 3DES (RFC 2451 §2.3).
    [Theory]
    [InlineData("0101010101010101")]
    [InlineData("fefefefefefefefe")]
    [InlineData("1f1f1f1f0e0e0e0e")]
    [InlineData("01fe01fe01fe01fe")]
    public void Weak_des_keys_are_refused(string weak)
    {
        string strong1 = "0123456789abcdef", strong2 = "23456789abcdef01";
        Assert.True(Phase1Keys.IsWeakKey(IkeEncryptionAlgorithm.DesCbc, Hex.B(weak)));
        Assert.True(Phase1Keys.IsWeakKey(IkeEncryptionAlgorithm.TripleDesCbc, Hex.B(weak + strong1 + strong2)));
        Assert.True(Phase1Keys.IsWeakKey(IkeEncryptionAlgorithm.TripleDesCbc, Hex.B(strong1 + strong2 + weak)));
        Assert.False(IsakmpCipher.TryCreate(IkeEncryptionAlgorithm.TripleDesCbc, Hex.B(strong1 + weak + strong2), IkeHashAlgorithm.Sha1, new byte[8], out _));
    }

    [Fact]
    public void Triple_des_keys_degenerating_to_single_des_are_refused()
    {
        string k1 = "0123456789abcdef", k2 = "23456789abcdef01", k3 = "456789abcdef0123";
        Assert.False(Phase1Keys.IsWeakKey(IkeEncryptionAlgorithm.TripleDesCbc, Hex.B(k1 + k2 + k3)));
        Assert.True(Phase1Keys.IsWeakKey(IkeEncryptionAlgorithm.TripleDesCbc, Hex.B(k1 + k1 + k3)));
        Assert.True(Phase1Keys.IsWeakKey(IkeEncryptionAlgorithm.TripleDesCbc, Hex.B(k1 + k2 + k2)));
        // Parity bits do not make keys different.
        Assert.True(Phase1Keys.IsWeakKey(IkeEncryptionAlgorithm.TripleDesCbc, Hex.B(k1 + "0022446688aaccee" + k3)));
        Assert.False(Phase1Keys.IsWeakKey(IkeEncryptionAlgorithm.AesCbc, new byte[16]));
    }

    [Fact]
    public void Secret_buffers_are_zeroed_when_disposed()
    {
        var secret = new SecretBuffer(Hex.B("0102030405"));
        Span<byte> view = secret.Span; // a view of the pinned array
        secret.Dispose();
        Assert.True(view.IndexOfAnyExcept((byte)0) < 0);
        Assert.Throws<ObjectDisposedException>(() => secret.ReadOnlySpan.Length);
        Assert.DoesNotContain("01", secret.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Phase1_keys_zero_their_buffers_on_dispose()
    {
        byte[] n = new byte[16], g = new byte[128], c = new byte[8];
        g[5] = 1;
        Assert.Equal(Phase1KeyStatus.Ok, Phase1Keys.TryDerivePreSharedKey(IkeHashAlgorithm.Sha2_256, IkeEncryptionAlgorithm.AesCbc, 256, "k"u8, n, n, g, c, c, g, g, out Phase1Keys? keys));
        Assert.NotNull(keys);
        Assert.DoesNotContain(Hex.S(keys.EncryptionKey), keys.ToString(), StringComparison.Ordinal);
        keys.Dispose();
        Assert.Throws<ObjectDisposedException>(() => keys.SkeyidD.Length);
    }
}
