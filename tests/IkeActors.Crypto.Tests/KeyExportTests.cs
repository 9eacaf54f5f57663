namespace IkeActors.Crypto.Tests;

/// <summary>
/// Phase1Keys.TryFromMaterial and IsakmpCipher.ExportIvs/TryImportIvs: an IKE SA's keys and IV
/// state, exported mid-stream and rebuilt, continue exactly where the original left off.
/// </summary>
public class KeyExportTests
{
    private static readonly byte[] N = Enumerable.Range(1, 20).Select(i => (byte)i).ToArray();
    private static readonly byte[] G = Enumerable.Range(30, 128).Select(i => (byte)i).ToArray();
    private static readonly byte[] Gr = Enumerable.Range(90, 128).Select(i => (byte)i).ToArray();
    private static readonly byte[] C = [1, 2, 3, 4, 5, 6, 7, 8];

    private static Phase1Keys Derive(IkeEncryptionAlgorithm cipher, int bits)
    {
        Assert.Equal(Phase1KeyStatus.Ok, Phase1Keys.TryDerivePreSharedKey(IkeHashAlgorithm.Sha1, cipher, bits, "cisco"u8, N, N, G, C, C, G, Gr, out Phase1Keys? keys));
        return keys!;
    }

    [Theory]
    [InlineData(IkeEncryptionAlgorithm.AesCbc, 128)]
    [InlineData(IkeEncryptionAlgorithm.AesCbc, 256)]
    [InlineData(IkeEncryptionAlgorithm.TripleDesCbc, 0)]
    public void Exported_keys_and_ivs_continue_the_same_cbc_chains(IkeEncryptionAlgorithm alg, int bits)
    {
        using Phase1Keys keys = Derive(alg, bits);
        Assert.True(IsakmpCipher.TryCreate(keys, out IsakmpCipher? original));
        using (original)
        {
            byte[] buffer = new byte[256];
            byte[] plain = Enumerable.Range(0, 61).Select(i => (byte)i).ToArray();
            Assert.True(original.TryEncrypt(0, plain, buffer, out _));          // phase 1 chain moves
            Assert.True(original.TryEncrypt(0x1234, plain, buffer, out _));     // a Quick Mode
            Assert.True(original.TryEncrypt(0x5678, plain, buffer, out _));     // another

            Assert.Equal(Phase1KeyStatus.Ok, Phase1Keys.TryFromMaterial(keys.Hash, keys.Cipher, bits, keys.Skeyid, keys.SkeyidD, keys.SkeyidA,
                keys.SkeyidE, keys.EncryptionKey, G, Gr, out Phase1Keys? restoredKeys));
            using (restoredKeys)
            {
                Assert.Equal(Hex.S(keys.SkeyidA), Hex.S(restoredKeys!.SkeyidA));
                Assert.Equal(Hex.S(keys.Phase1Iv), Hex.S(restoredKeys.Phase1Iv));
                Assert.True(IsakmpCipher.TryCreate(restoredKeys, out IsakmpCipher? restored));
                using (restored)
                {
                    IsakmpIvState state = original.ExportIvs();
                    Assert.Equal(2, state.Phase2Ivs.Count);
                    Assert.DoesNotContain(Hex.S(state.Phase1Iv), state.ToString(), StringComparison.Ordinal);
                    // Without the import the chains differ (the test can fail).
                    byte[] a = new byte[256], b = new byte[256];
                    Assert.True(original.TryEncrypt(0x1234, plain, a, out int na));
                    Assert.True(restored.TryEncrypt(0x1234, plain, b, out int nb));
                    Assert.NotEqual(Hex.S(a.AsSpan(0, na)), Hex.S(b.AsSpan(0, nb)));

                    Assert.True(restored.TryImportIvs(original.ExportIvs()));
                    foreach (uint id in new uint[] { 0, 0x1234, 0x5678, 0x9abc })
                    {
                        Assert.True(original.TryEncrypt(id, plain, a, out na));
                        Assert.True(restored.TryEncrypt(id, plain, b, out nb));
                        Assert.Equal(Hex.S(a.AsSpan(0, na)), Hex.S(b.AsSpan(0, nb)));
                    }
                }
            }
        }
    }

    [Fact]
    public void Material_of_the_wrong_shape_is_refused()
    {
        using Phase1Keys keys = Derive(IkeEncryptionAlgorithm.AesCbc, 128);
        byte[] h = keys.Skeyid.ToArray();
        byte[] ka = keys.EncryptionKey.ToArray();
        Assert.Equal(Phase1KeyStatus.InvalidKeyLength, Phase1Keys.TryFromMaterial(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.AesCbc, 128, h, h, h, h, ka[..15], G, Gr, out _));
        Assert.Equal(Phase1KeyStatus.InvalidKeyLength, Phase1Keys.TryFromMaterial(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.AesCbc, 256, h, h, h, h, ka, G, Gr, out _));
        Assert.Equal(Phase1KeyStatus.InvalidInput, Phase1Keys.TryFromMaterial(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.AesCbc, 128, h[..19], h, h, h, ka, G, Gr, out _));
        Assert.Equal(Phase1KeyStatus.InvalidInput, Phase1Keys.TryFromMaterial(IkeHashAlgorithm.Sha2_256, IkeEncryptionAlgorithm.AesCbc, 128, h, h, h, h, ka, G, Gr, out _));
        Assert.Equal(Phase1KeyStatus.InvalidInput, Phase1Keys.TryFromMaterial(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.AesCbc, 128, h, h, h, h, ka, [], Gr, out _));
        Assert.Equal(Phase1KeyStatus.UnsupportedAlgorithm, Phase1Keys.TryFromMaterial((IkeHashAlgorithm)3, IkeEncryptionAlgorithm.AesCbc, 128, h, h, h, h, ka, G, Gr, out _));
        byte[] weak = [.. Hex.B("0101010101010101"), .. Hex.B("0101010101010101"), .. Hex.B("0101010101010101")];
        Assert.Equal(Phase1KeyStatus.WeakKey, Phase1Keys.TryFromMaterial(IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.TripleDesCbc, 0, h, h, h, h, weak, G, Gr, out _));
    }

    [Fact]
    public void Iv_state_of_the_wrong_shape_is_refused_without_change()
    {
        using Phase1Keys keys = Derive(IkeEncryptionAlgorithm.AesCbc, 128);
        Assert.True(IsakmpCipher.TryCreate(keys, out IsakmpCipher? cipher));
        using (cipher)
        {
            byte[] before = new byte[16];
            cipher.GetIv(0, before);
            byte[] block = new byte[16];
            Assert.False(cipher.TryImportIvs(new IsakmpIvState(new byte[8], [])));
            Assert.False(cipher.TryImportIvs(new IsakmpIvState(block, [new(0, block)])));
            Assert.False(cipher.TryImportIvs(new IsakmpIvState(block, [new(7, new byte[15])])));
            Assert.False(cipher.TryImportIvs(new IsakmpIvState(block, [new(7, block), new(7, block)])));
            byte[] after = new byte[16];
            cipher.GetIv(0, after);
            Assert.Equal(Hex.S(before), Hex.S(after));
            Assert.Equal(0, cipher.Phase2ExchangeCount);
        }
    }
}
