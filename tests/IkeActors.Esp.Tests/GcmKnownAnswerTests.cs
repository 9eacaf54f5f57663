using System.Buffers.Binary;

namespace IkeActors.Esp.Tests;

/// <summary>
/// AES-GCM ESP (RFC 4106) against the test cases of draft-mcgrew-gcm-test-01 §4 (D. McGrew, "Test Cases for the use of
/// GCM and GMAC in IPsec ESP"; the numbers copied from the draft): each gives the key, the nonce (salt | explicit IV),
/// the AAD (SPI | sequence number, or SPI | 64-bit number with ESN), the ESP plaintext (payload, padding, pad length,
/// next header), the ciphertext and the 16-octet ICV. The engine is checked on every case; whole ESP packets built by
/// <see cref="EspSa"/> on the cases with 32-bit numbers and RFC 4303's default padding.
/// </summary>
public sealed class GcmKnownAnswerTests
{
    public sealed record Case(string Key, string Nonce, string Aad, string Plaintext, string Ciphertext, string Icv);

    /// <summary>draft-mcgrew-gcm-test-01 §4, in its order.</summary>
    public static readonly Case[] Cases =
    [
        new("4c80cdefbb5d10da906ac73c3613a634", "2e443b684956ed7e3b244cfe", "000043218765432100000000",
            "45000048699a000080114db7c0a80102c0a801010a9bf15638d301000001000000000000045f736970045f756470037369700963796265726369747902646b000021000101020201",
            "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce61bc17d768fd9732",
            "459018148f6cbe722fd04796562dfdb4"),
        new("feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "0000a5f80000000a",
            "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d001000001000000000000037369700963796265726369747902646b00000100010001",
            "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1",
            "83b70d3aa8bc6ee4c309e9d85a41ad4a"),
        new("abbccddef00112233445566778899aababbccddef00112233445566778899aab", "112233440102030405060708", "4a2cbfe300000002",
            "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee0000000007002400020bf0000020405b40101040201020201",
            "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763748a637985771d347f0545659f14e99def842d8e",
            "b335f4eecfdbf831824b4c4915956c96"),
        new("00000000000000000000000000000000", "000000000000000000000000", "0000000000000001",
            "4500003c99c500008001cb7a40679318010101010800075c020044006162636465666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
            "4688daf2f973a392732909c331d56d60f694abaa414b5e7ff5fdcdfff5e9a284456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5c8c18af3",
            "f821d496eeb096e98ad2b69e4799c71d"),
        new("3de09874b388e6491988d0c3607eae1f", "57690e434e280000a2fca1a3", "42f67e3f1010101010101010",
            "4500003c99c300008001cb7c40679318010101010800085c020043006162636465666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
            "fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b00d1138ec9c35791765acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a",
            "e0d731cc978ecafaeae88f00e80d6e48"),
        new("3de09874b388e6491988d0c3607eae1f", "57690e434e280000a2fca1a3", "42f67e3f1010101010101010",
            "4500001c42a200008001441f406793b6e00000020a00f5ff01020201",
            "fba2ca845e5df9f0f22c3e6e86dd831e1fc65792cd1af9130e1379ed",
            "369f071f35e034be95f112e4e7d05d35"),
        new("feffe9928665731c6d6a8f9467308308feffe9928665731c", "cafebabefacedbaddecaf888", "0000a5f80000000a",
            "45000028a4ad4000400678800a01038f0a010612802306b8cb712602dd6bb03e501016d075680001",
            "a5b1f8066029aea40e598b8122de02420938b3ab33f828e687b8858b5bfbdbd0315b27452144cc77",
            "95457b9652037f5318027b5b4cd7a636"),
        new("abbccddef00112233445566778899aab", "decaf888cafedebaceface74", "000001000000000000000001",
            "4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d500004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec959b6266c04722b14923010101",
            "18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c226f2127b27db35724e7845d68",
            "651f57e65f354f75ff17015769623436"),
        new("abbccddef00112233445566778899aababbccddef00112233445566778899aab", "73616c74616e640169766563", "17405e67156f3126dd0db99b",
            "45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb71260250101f646d540001",
            "f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57ff4d3a31ce673119e",
            "451626c2415771e3b7eebca614c89b35"),
        new("3de09874b388e6491988d0c3607eae1f", "57690e434e280000a2fca1a3", "42f67e3f1010101010101010",
            "45000049333e00007f119182c3fb1d10c2b1d326c02831ce0035cb458003025b000001e0001e8c18d65759d52284a0352c71475c8880391c764d6e5ee0496b325ae270c03899493915010101",
            "fba2cad12fc1f9f00d3cebf305410db83d7784b607323d220f24b0a97d54182800cadb0f68d99ef0e0c0c89ae9bea8884e52d65bc1afd0740f742444747b5b39ab533163aad4550ee5160975",
            "cdb608c5769189609763b8e18caa81e2"),
        new("abbccddef00112233445566778899aababbccddef00112233445566778899aab", "73616c74616e640169766563", "17405e67156f3126dd0db99b",
            "636973636f0172756c657301746865016e6574776501646566696e6501746865746563686e6f6c6f67696573017468617477696c6c01646566696e65746f6d6f72726f7701020201",
            "d4b7ed86a1777f2ea13d6973d324c69e7b43f826fb56831226508bebd2dceb18d0a6df10e5487df074113e14c641024e3e6773d91a62ee429b043a10e3efe6b012a49363412364f8",
            "c0cac587f249e56b11e24f30e44ccc76"),
        new("7d773d00c144c525ac619d18c84a3f47", "d966426743457e9182443bc6", "335467aeffffffff", "01020201", "437f866b",
            "cb3f699fe9b0822bac961c4504bef270"),
        new("abbccddef00112233445566778899aab", "decaf888cafedebaceface74", "000001000000000000000001",
            "746f016265016f72016e6f7401746f0162650001", "29c9fc69a197d038ccdd14e2ddfcaa0543332164",
            "412503524303ed3c6c5f283843af8c3e"),
        new("6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961", "7475726e333021696765746d", "796b6963ffffffffffffffff",
            "45000030da3a00008001df3bc0a80005c0a800010800c6cd020007006162636465666768696a6b6c6d6e6f707172737401020201",
            "f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a864cd3d78ca4ae68a32b42458fb57dbe821dcc63b9",
            "d0937ba2945f669368661a329fb4c053"),
    ];

    public static TheoryData<int> AllCases() => new(Enumerable.Range(0, Cases.Length));

    /// <summary>Every case on both paths: libcrypto's EVP interface (true) and .NET's AesGcm (false).</summary>
    public static TheoryData<int, bool> AllCasesBothPaths()
    {
        var data = new TheoryData<int, bool>();
        foreach (var i in Enumerable.Range(0, Cases.Length)) { data.Add(i, true); data.Add(i, false); }
        return data;
    }

    private static EspCipher CipherFor(byte[] key) => key.Length switch { 16 => EspCipher.Aes128Gcm16, 24 => EspCipher.Aes192Gcm16, _ => EspCipher.Aes256Gcm16 };

    /// <summary>KEYMAT as RFC 4106 §8.1 lays it out: the AES key, then the salt (the nonce's first four octets).</summary>
    private static byte[] Keymat(Case c) => [.. Convert.FromHexString(c.Key), .. Convert.FromHexString(c.Nonce)[..4]];

    [Theory]
    [MemberData(nameof(AllCasesBothPaths))]
    public void The_engine_seals_and_opens_every_case(int index, bool native)
    {
        var c = Cases[index];
        var key = Convert.FromHexString(c.Key);
        using var engine = new EspGcmEngine(CipherFor(key), Keymat(c), native);
        Assert.Equal(native, engine.IsNative);
        var iv = Convert.FromHexString(c.Nonce)[4..];
        var aad = Convert.FromHexString(c.Aad);
        var body = Convert.FromHexString(c.Plaintext);
        var icv = new byte[16];
        engine.Seal(iv, aad, body, icv);
        Assert.Equal(c.Ciphertext, Convert.ToHexStringLower(body));
        Assert.Equal(c.Icv, Convert.ToHexStringLower(icv));

        Assert.True(engine.Open(iv, aad, body, icv));
        Assert.Equal(c.Plaintext, Convert.ToHexStringLower(body));
        // One bit of the ICV, the AAD or the ciphertext changed: refused.
        engine.Seal(iv, aad, body, icv);
        icv[15] ^= 1;
        Assert.False(engine.Open(iv, aad, body.ToArray(), icv));
        icv[15] ^= 1;
        aad[^1] ^= 0x80;
        Assert.False(engine.Open(iv, aad, body.ToArray(), icv));
    }

    /// <summary>The cases with 32-bit sequence numbers whose trailer is RFC 4303's default padding: the whole packet as the draft gives it.</summary>
    [Theory]
    [InlineData(1)] // AES-128
    [InlineData(6)] // AES-192
    [InlineData(2)] // AES-256
    public void EspSa_builds_the_drafts_packet(int index)
    {
        var c = Cases[index];
        var key = Convert.FromHexString(c.Key);
        var aad = Convert.FromHexString(c.Aad);
        var plaintext = Convert.FromHexString(c.Plaintext);
        int padLength = plaintext[^2];
        var inner = plaintext[..^(2 + padLength)];
        var spi = BinaryPrimitives.ReadUInt32BigEndian(aad);
        var seq = BinaryPrimitives.ReadUInt32BigEndian(aad.AsSpan(4));
        using var sa = new EspSa(spi, EspDirection.Outbound, CipherFor(key), Keymat(c), EspIntegrity.None, []);
        sa.SetLastSequenceNumber(seq - 1);
        var iv = Convert.FromHexString(c.Nonce)[4..];
        sa.IvOverride = d => iv.CopyTo(d);
        var packet = new byte[sa.PacketSize(inner.Length)];
        Assert.Equal(EspEncapStatus.Ok, sa.TryEncapsulate(inner, packet, out var written, nextHeader: plaintext[^1]));
        Assert.Equal(c.Aad + Convert.ToHexStringLower(iv) + c.Ciphertext + c.Icv, Convert.ToHexStringLower(packet.AsSpan(0, written)));
    }

    [Theory]
    [InlineData(EspCipher.Aes128Gcm16)]
    [InlineData(EspCipher.Aes192Gcm16)]
    [InlineData(EspCipher.Aes256Gcm16)]
    public void Packets_go_through_with_the_sequence_number_as_iv_and_a_forged_one_changes_nothing(EspCipher cipher)
    {
        var key = Enumerable.Range(1, cipher.KeySize()).Select(i => (byte)i).ToArray();
        using var outbound = new EspSa(0x1234, EspDirection.Outbound, cipher, key, EspIntegrity.None, []);
        using var inbound = new EspSa(0x1234, EspDirection.Inbound, cipher, key, EspIntegrity.None, []);
        var inner = new byte[61];
        inner[0] = 0x45;
        for (var n = 1; n <= 3; n++)
        {
            var packet = new byte[outbound.PacketSize(inner.Length)];
            Assert.Equal(EspEncapStatus.Ok, outbound.TryEncapsulate(inner, packet, out var written));
            Assert.Equal(8 + 8 + 64 + 16, written); // header, IV, 61 + 2 padded to 4, ICV (RFC 4106 §3.2, §6)
            Assert.Equal((ulong)n, BinaryPrimitives.ReadUInt64BigEndian(packet.AsSpan(8))); // RFC 4106 §3.1: a counter
            var forged = packet.ToArray();
            forged[20] ^= 1;
            Assert.Equal(EspDecapStatus.IcvFailure, inbound.TryDecapsulate(forged, out _, out _));
            Assert.Equal((uint)(n - 1), inbound.ReplayWindow.Top);
            Assert.Equal(EspDecapStatus.Ok, inbound.TryDecapsulate(packet, out var range, out var next));
            Assert.Equal(EspSa.NextHeaderIPv4, next);
            Assert.Equal(inner, packet[range]);
        }
        Assert.Equal(3L, inbound.Counters.Decaps);
        Assert.Equal(3L, inbound.Counters.VerifyFailed);
    }

    [Fact]
    public void Gcm_with_a_separate_integrity_algorithm_or_a_short_key_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new EspSa(1, EspDirection.Outbound, EspCipher.Aes128Gcm16, new byte[20], EspIntegrity.HmacSha1_96, new byte[20]));
        Assert.Throws<ArgumentException>(() => new EspSa(1, EspDirection.Outbound, EspCipher.Aes128Gcm16, new byte[16], EspIntegrity.None, []));
    }

    [Fact]
    public void Libcrypto_gcm_is_found_on_this_host()
    {
        // Debian's libssl3 has it; without it every test on the native path above would silently be the fallback's.
        Assert.True(EvpGcm.IsAvailable);
        using var engine = new EspGcmEngine(EspCipher.Aes256Gcm16, new byte[36]);
        Assert.True(engine.IsNative);
    }

    /// <summary>Random keys, lengths and AADs: what one path seals the other opens, and a flipped bit anywhere is refused by both.</summary>
    [Fact]
    public void Both_paths_agree_on_random_packets()
    {
        var random = new Random(4106);
        foreach (var cipher in new[] { EspCipher.Aes128Gcm16, EspCipher.Aes192Gcm16, EspCipher.Aes256Gcm16 })
        {
            var keymat = new byte[cipher.KeySize()];
            random.NextBytes(keymat);
            using var native = new EspGcmEngine(cipher, keymat, native: true);
            using var dotnet = new EspGcmEngine(cipher, keymat, native: false);
            for (var n = 0; n < 200; n++)
            {
                var iv = new byte[8];
                var aad = new byte[8];
                var body = new byte[random.Next(1, 1500)];
                random.NextBytes(iv);
                random.NextBytes(aad);
                random.NextBytes(body);
                var (a, b) = n % 2 == 0 ? (native, dotnet) : (dotnet, native);
                var sealedBody = body.ToArray();
                var icv = new byte[16];
                a.Seal(iv, aad, sealedBody, icv);
                var opened = sealedBody.ToArray();
                Assert.True(b.Open(iv, aad, opened, icv));
                Assert.Equal(body, opened);
                var forged = sealedBody.ToArray();
                forged[random.Next(forged.Length)] ^= (byte)(1 << random.Next(8));
                Assert.False(native.Open(iv, aad, forged.ToArray(), icv));
                Assert.False(dotnet.Open(iv, aad, forged, icv));
            }
        }
    }

    /// <summary>
    /// A flood of forged ESP on a live SPI: each refused without an exception (.NET's AesGcm throws one per forgery, tens
    /// of microseconds each), the decrypted bytes zeroed, nothing allocated, and the genuine packet after them still opens.
    /// </summary>
    [Fact]
    public void Forged_packets_are_refused_without_an_exception_or_an_allocation()
    {
        var keymat = Enumerable.Range(1, 20).Select(i => (byte)i).ToArray();
        using var engine = new EspGcmEngine(EspCipher.Aes128Gcm16, keymat);
        var iv = new byte[8];
        var aad = new byte[8];
        var body = new byte[1400];
        var icv = new byte[16];
        engine.Seal(iv, aad, body, icv);
        var forgedIcv = icv.ToArray();
        forgedIcv[0] ^= 1;
        var scratch = new byte[body.Length];
        engine.Open(iv, aad, scratch, forgedIcv); // the first call makes the direction's context
        var exceptions = 0;
        void Count(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e) => Interlocked.Increment(ref exceptions);
        AppDomain.CurrentDomain.FirstChanceException += Count;
        long allocated;
        try
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var n = 0; n < 1000; n++)
            {
                body.CopyTo(scratch, 0);
                if (engine.Open(iv, aad, scratch, forgedIcv)) Assert.Fail("a forged ICV was accepted");
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }
        Assert.Equal(0, exceptions);
        Assert.Equal(0, allocated);
        Assert.DoesNotContain(scratch, b => b != 0);
        body.CopyTo(scratch, 0);
        Assert.True(engine.Open(iv, aad, scratch, icv));
        Assert.Equal(new byte[1400], scratch);
    }

    [Fact]
    public void A_disposed_engine_refuses_with_an_exception_and_never_reaches_the_freed_context()
    {
        var engine = new EspGcmEngine(EspCipher.Aes128Gcm16, new byte[20]);
        var body = new byte[32];
        var icv = new byte[16];
        engine.Seal(new byte[8], new byte[8], body, icv);
        Assert.True(engine.Open(new byte[8], new byte[8], body, icv));
        engine.Dispose();
        Assert.Throws<ObjectDisposedException>(() => engine.Seal(new byte[8], new byte[8], new byte[32], new byte[16]));
        Assert.Throws<ObjectDisposedException>(() => engine.Open(new byte[8], new byte[8], new byte[32], new byte[16]));
        engine.Dispose(); // twice: nothing
    }
}
