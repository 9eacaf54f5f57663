using System.Buffers.Binary;
using CsCheck;

namespace IkeActors.Crypto.Tests;

public class IsakmpCipherTests
{
    private static IsakmpCipher Create(IkeEncryptionAlgorithm alg, int keyLength, IkeHashAlgorithm hash = IkeHashAlgorithm.Sha1, byte seed = 1)
    {
        byte[] key = new byte[keyLength];
        new Random(seed).NextBytes(key);
        byte[] iv = new byte[IkeAlgorithms.BlockSize(alg)];
        new Random(seed + 100).NextBytes(iv);
        Assert.True(IsakmpCipher.TryCreate(alg, key, hash, iv, out IsakmpCipher? cipher));
        return cipher;
    }

    public static TheoryData<IkeEncryptionAlgorithm, int> Ciphers() => new()
    {
        { IkeEncryptionAlgorithm.AesCbc, 16 },
        { IkeEncryptionAlgorithm.AesCbc, 24 },
        { IkeEncryptionAlgorithm.AesCbc, 32 },
        { IkeEncryptionAlgorithm.TripleDesCbc, 24 },
    };

    // NIST SP 800-38A F.2.1 (CBC-AES128.Encrypt), first two blocks.
    [Fact]
    public void Aes_cbc_matches_sp800_38a()
    {
        byte[] key = Hex.B("2b7e151628aed2a6abf7158809cf4f3c");
        byte[] iv = Hex.B("000102030405060708090a0b0c0d0e0f");
        byte[] plain = Hex.B("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        Assert.True(IsakmpCipher.TryCreate(IkeEncryptionAlgorithm.AesCbc, key, IkeHashAlgorithm.Sha1, iv, out IsakmpCipher? c));
        using (c)
        {
            c.Padding = IsakmpPadding.ZeroToBlock; // aligned input, no padding block
            byte[] output = new byte[32];
            Assert.True(c.TryEncrypt(0, plain, output, out int n));
            Assert.Equal(32, n);
            Assert.Equal("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2", Hex.S(output));
            byte[] next = new byte[16];
            c.GetIv(0, next);
            Assert.Equal("5086cb9b507219ee95db113a917678b2", Hex.S(next)); // chained to the last block
        }
    }

    // FIPS 81 appendix C, CBC example: "Now is the time for all ".
    [Fact]
    public void Des_cbc_decrypts_the_fips81_example_and_refuses_to_encrypt()
    {
        Assert.True(IsakmpCipher.TryCreate(IkeEncryptionAlgorithm.DesCbc, Hex.B("0123456789abcdef"), IkeHashAlgorithm.Md5,
            Hex.B("1234567890abcdef"), out IsakmpCipher? c));
        using (c)
        {
            byte[] plain = new byte[24];
            Assert.True(c.TryDecrypt(0, Hex.B("e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6"), plain, out int n));
            Assert.Equal("Now is the time for all ", System.Text.Encoding.ASCII.GetString(plain, 0, n));
            Assert.False(c.TryEncrypt(0, plain, new byte[64], out _));
        }
    }

    [Theory, MemberData(nameof(Ciphers))]
    public void Round_trips_with_iv_chaining_across_phase1_quick_mode_and_informational(IkeEncryptionAlgorithm alg, int keyLength)
    {
        using IsakmpCipher initiator = Create(alg, keyLength);
        using IsakmpCipher responder = Create(alg, keyLength);
        var sequence = Gen.Select(Gen.Byte.Array[1, 300], Gen.Int[0, 3]).List[1, 12];
        sequence.Sample(messages =>
        {
            using IsakmpCipher i = Create(alg, keyLength);
            using IsakmpCipher r = Create(alg, keyLength);
            uint[] mids = [0, 0x64cc39ff, 0xd8029d42, 7];
            bool fromInitiator = true;
            foreach ((byte[] body, int which) in messages)
            {
                uint mid = mids[which];
                (IsakmpCipher sender, IsakmpCipher receiver) = fromInitiator ? (i, r) : (r, i);
                byte[] wire = new byte[sender.GetCiphertextLength(body.Length)];
                if (!sender.TryEncrypt(mid, body, wire, out int n) || n % sender.BlockSize != 0 || n <= body.Length)
                {
                    return false;
                }
                byte[] plain = new byte[n];
                if (!receiver.TryDecrypt(mid, wire.AsSpan(0, n), plain, out int m) || m != n
                    || !plain.AsSpan(0, body.Length).SequenceEqual(body) || plain.AsSpan(body.Length).IndexOfAnyExcept((byte)0) >= 0)
                {
                    return false;
                }
                receiver.AcceptReceived(mid, wire.AsSpan(0, n));
                fromInitiator = !fromInitiator;
            }
            // Both ends agree on every IV afterwards.
            foreach (uint mid in mids)
            {
                byte[] a = new byte[i.BlockSize], b = new byte[i.BlockSize];
                i.GetIv(mid, a);
                r.GetIv(mid, b);
                if (!a.AsSpan().SequenceEqual(b))
                {
                    return false;
                }
            }
            return true;
        }, iter: 100);
        Assert.Equal(0, initiator.Phase2ExchangeCount + responder.Phase2ExchangeCount);
    }

    [Fact]
    public void Phase2_iv_is_hash_of_last_phase1_block_and_message_id()
    {
        using IsakmpCipher c = Create(IkeEncryptionAlgorithm.AesCbc, 32, IkeHashAlgorithm.Sha2_256);
        byte[] wire = new byte[64];
        Assert.True(c.TryEncrypt(0, new byte[40], wire, out int n));
        byte[] lastBlock = wire.AsSpan(n - 16, 16).ToArray();
        byte[] mid = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mid, 0x01020304);
        byte[] expected = System.Security.Cryptography.SHA256.HashData([.. lastBlock, .. mid])[..16];
        byte[] iv = new byte[16];
        c.GetIv(0x01020304, iv);
        Assert.Equal(Hex.S(expected), Hex.S(iv));
        // Once the exchange is forgotten its IV is derived again from phase 1.
        Assert.True(c.TryEncrypt(0x01020304, new byte[10], new byte[16], out _));
        Assert.Equal(1, c.Phase2ExchangeCount);
        c.GetIv(0x01020304, iv);
        Assert.NotEqual(Hex.S(expected), Hex.S(iv));
        c.ForgetMessageId(0x01020304);
        c.GetIv(0x01020304, iv);
        Assert.Equal(Hex.S(expected), Hex.S(iv));
    }

    [Theory, MemberData(nameof(Ciphers))]
    public void Truncated_or_misaligned_ciphertext_is_a_generic_failure_without_state_change(IkeEncryptionAlgorithm alg, int keyLength)
    {
        using IsakmpCipher sender = Create(alg, keyLength);
        using IsakmpCipher receiver = Create(alg, keyLength);
        byte[] body = new byte[50];
        new Random(3).NextBytes(body);
        byte[] wire = new byte[sender.GetCiphertextLength(body.Length)];
        Assert.True(sender.TryEncrypt(0, body, wire, out int n));
        byte[] ivBefore = new byte[receiver.BlockSize], ivAfter = new byte[receiver.BlockSize];
        receiver.GetIv(0, ivBefore);

        byte[] plain = new byte[n];
        Assert.False(receiver.TryDecrypt(0, wire.AsSpan(0, n - 1), plain, out int w1));           // truncated by one byte
        Assert.False(receiver.TryDecrypt(0, wire.AsSpan(0, receiver.BlockSize - 1), plain, out _)); // less than a block
        Assert.False(receiver.TryDecrypt(0, [], plain, out _));                                    // empty
        Assert.False(receiver.TryDecrypt(0, wire.AsSpan(0, n), plain.AsSpan(0, n - 1), out _));    // no room
        Assert.Equal(0, w1);
        Assert.True(plain.AsSpan().IndexOfAnyExcept((byte)0) < 0);
        receiver.AcceptReceived(0, wire.AsSpan(0, n - 1)); // ignored: not whole blocks
        receiver.GetIv(0, ivAfter);
        Assert.Equal(Hex.S(ivBefore), Hex.S(ivAfter));

        // The genuine message still decrypts afterwards.
        Assert.True(receiver.TryDecrypt(0, wire.AsSpan(0, n), plain, out _));
        Assert.Equal(Hex.S(body), Hex.S(plain.AsSpan(0, body.Length)));
    }

    [Theory, MemberData(nameof(Ciphers))]
    public void Tampered_ciphertext_fails_hash_verification_and_the_iv_is_not_advanced(IkeEncryptionAlgorithm alg, int keyLength)
    {
        // CBC has no integrity of its own: a flipped bit is caught by the HASH payload check
        // (RFC 2409 §5.5 HASH(1)), which is why decryption does not commit the IV.
        using IsakmpCipher sender = Create(alg, keyLength);
        using IsakmpCipher receiver = Create(alg, keyLength);
        byte[] skeyidA = Hex.B("000102030405060708090a0b0c0d0e0f10111213");
        const uint mid = 0x11223344;
        byte[] rest = new byte[60];
        new Random(9).NextBytes(rest);
        byte[] hash = new byte[20];
        IkeHashes.QuickModeHash1(IkeHashAlgorithm.Sha1, skeyidA, mid, rest, hash);
        byte[] body = [.. hash, .. rest];
        byte[] wire = new byte[sender.GetCiphertextLength(body.Length)];
        Assert.True(sender.TryEncrypt(mid, body, wire, out int n));

        // Flips anywhere before the last block garble authenticated bytes. (A flip in the last
        // block only garbles padding, which IKEv1 does not authenticate; nor do its peers.)
        Assert.True(n - sender.BlockSize >= body.Length);
        for (int position = 0; position < n - sender.BlockSize; position += 3)
        {
            byte[] tampered = wire[..n];
            tampered[position] ^= 0x40;
            byte[] plain = new byte[n];
            Assert.True(receiver.TryDecrypt(mid, tampered, plain, out _));
            byte[] check = new byte[20];
            IkeHashes.QuickModeHash1(IkeHashAlgorithm.Sha1, skeyidA, mid, plain.AsSpan(20, rest.Length), check);
            Assert.False(IkePrf.FixedTimeEquals(check, plain.AsSpan(0, 20)), $"flip at {position} went unnoticed");
        }
        byte[] good = new byte[n];
        Assert.True(receiver.TryDecrypt(mid, wire.AsSpan(0, n), good, out _));
        byte[] ok = new byte[20];
        IkeHashes.QuickModeHash1(IkeHashAlgorithm.Sha1, skeyidA, mid, good.AsSpan(20, rest.Length), ok);
        Assert.True(IkePrf.FixedTimeEquals(ok, good.AsSpan(0, 20)));
    }

    [Fact]
    public void Padding_modes_produce_the_documented_lengths_and_bytes()
    {
        using IsakmpCipher c = Create(IkeEncryptionAlgorithm.AesCbc, 16);
        using IsakmpCipher d = Create(IkeEncryptionAlgorithm.AesCbc, 16);
        Assert.Equal(16, c.GetCiphertextLength(15));
        Assert.Equal(32, c.GetCiphertextLength(16)); // default: always at least one octet (strongSwan)
        c.Padding = IsakmpPadding.ZeroToBlock;
        Assert.Equal(16, c.GetCiphertextLength(16));
        Assert.Equal(32, c.GetCiphertextLength(17));
        c.Padding = IsakmpPadding.Rfc2409CountByte;
        d.Padding = IsakmpPadding.Rfc2409CountByte;
        Assert.Equal(32, c.GetCiphertextLength(16));
        byte[] wire = new byte[16];
        Assert.True(c.TryEncrypt(0, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, wire, out int n));
        byte[] plain = new byte[16];
        Assert.True(d.TryDecrypt(0, wire.AsSpan(0, n), plain, out _));
        Assert.Equal("0102030405060708090a000000000005", Hex.S(plain)); // 5 zeros, then the count 5
        Assert.False(c.TryEncrypt(0, new byte[20], new byte[16], out _)); // destination too small
    }

    [Theory]
    [InlineData(100, 100, true)]
    [InlineData(100, 90, true)]
    [InlineData(300, 45, true)]
    [InlineData(100, 101, false)]  // payload chain claims more than was decrypted
    [InlineData(400, 100, false)]  // more than 255 octets of padding
    [InlineData(100, 0, false)]
    public void Padding_acceptance(int decrypted, int chain, bool ok) =>
        Assert.Equal(ok, IsakmpCipher.IsPaddingAcceptable(decrypted, chain));

    [Fact]
    public void Creation_refuses_bad_parameters_without_throwing()
    {
        byte[] iv = new byte[16];
        Assert.False(IsakmpCipher.TryCreate(IkeEncryptionAlgorithm.AesCbc, new byte[20], IkeHashAlgorithm.Sha1, iv, out _));
        Assert.False(IsakmpCipher.TryCreate(IkeEncryptionAlgorithm.AesCbc, new byte[16], IkeHashAlgorithm.Sha1, iv.AsSpan(0, 8), out _));
        Assert.False(IsakmpCipher.TryCreate(IkeEncryptionAlgorithm.TripleDesCbc, new byte[16], IkeHashAlgorithm.Sha1, iv, out _));
        Assert.False(IsakmpCipher.TryCreate((IkeEncryptionAlgorithm)4, new byte[16], IkeHashAlgorithm.Sha1, iv, out _));
        Assert.False(IsakmpCipher.TryCreate(IkeEncryptionAlgorithm.AesCbc, new byte[16], (IkeHashAlgorithm)3, iv, out _));
        Assert.False(IsakmpCipher.TryCreate(IkeEncryptionAlgorithm.TripleDesCbc, new byte[24], IkeHashAlgorithm.Sha1, iv, out _)); // all-zero = weak
    }

    [Fact]
    public void Random_garbage_never_throws()
    {
        using IsakmpCipher c = Create(IkeEncryptionAlgorithm.TripleDesCbc, 24);
        Gen.Select(Gen.Byte.Array[0, 100], Gen.UInt).Sample((bytes, mid) =>
        {
            byte[] dest = new byte[128];
            bool ok = c.TryDecrypt(mid, bytes, dest, out int n);
            return ok == (bytes.Length > 0 && bytes.Length % 8 == 0) && (ok ? n == bytes.Length : n == 0);
        }, iter: 300);
        Assert.Equal(0, c.Phase2ExchangeCount); // decryption alone creates no state
    }
}
