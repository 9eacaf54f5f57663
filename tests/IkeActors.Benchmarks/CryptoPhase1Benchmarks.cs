using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using IkeActors.Crypto;

namespace IkeActors.Benchmarks;

/// <summary>
/// Phase-1 key derivation (SKEYID.., Ka, IV), HASH_I and Quick Mode KEYMAT; and the whole
/// cryptographic work of one side of Main Mode with group 14 (key pair, g^xy, derivation).
/// --filter '*CryptoPhase1*'
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class CryptoPhase1Benchmarks
{
    public enum SuiteName { Aes256Sha256Modp2048, TripleDesSha1Modp1024 }

    [Params(SuiteName.Aes256Sha256Modp2048, SuiteName.TripleDesSha1Modp1024)]
    public SuiteName Suite;

    private IkeHashAlgorithm _hash;
    private IkeEncryptionAlgorithm _cipher;
    private int _keyBits;
    private DhGroup _group = null!;
    private byte[] _ni = new byte[32], _nr = new byte[32], _ckyI = new byte[8], _ckyR = new byte[8];
    private byte[] _gxi = null!, _gxr = null!, _gxy = null!, _sai = new byte[52], _id = new byte[8];
    private Phase1Keys _keys = null!;
    private byte[] _out = new byte[64];
    private byte[] _keymat = new byte[64];

    [GlobalSetup]
    public void Setup()
    {
        (_hash, _cipher, _keyBits, DhGroupId g) = Suite == SuiteName.Aes256Sha256Modp2048
            ? (IkeHashAlgorithm.Sha2_256, IkeEncryptionAlgorithm.AesCbc, 256, DhGroupId.Modp2048)
            : (IkeHashAlgorithm.Sha1, IkeEncryptionAlgorithm.TripleDesCbc, 0, DhGroupId.Modp1024);
        _group = DhGroup.Get(g);
        foreach (byte[] b in new[] { _ni, _nr, _ckyI, _ckyR, _sai, _id })
        {
            RandomNumberGenerator.Fill(b);
        }
        using DhKeyPair a = _group.GenerateKeyPair();
        using DhKeyPair b2 = _group.GenerateKeyPair();
        _gxi = a.PublicValue.ToArray();
        _gxr = b2.PublicValue.ToArray();
        _gxy = new byte[_group.SharedSecretLength];
        a.ComputeSharedSecret(_gxr, _gxy);
        Phase1Keys.TryDerivePreSharedKey(_hash, _cipher, _keyBits, "cisco"u8, _ni, _nr, _gxy, _ckyI, _ckyR, _gxi, _gxr, out Phase1Keys? keys);
        _keys = keys!;
    }

    [GlobalCleanup]
    public void Cleanup() => _keys.Dispose();

    [Benchmark(Description = "phase-1 key derivation (SKEYID, _d/_a/_e, Ka, IV)")]
    public Phase1KeyStatus DerivePhase1()
    {
        Phase1KeyStatus s = Phase1Keys.TryDerivePreSharedKey(_hash, _cipher, _keyBits, "cisco"u8, _ni, _nr, _gxy, _ckyI, _ckyR, _gxi, _gxr, out Phase1Keys? keys);
        keys?.Dispose();
        return s;
    }

    [Benchmark(Description = "HASH_I")]
    public int HashI() => IkeHashes.HashI(_hash, _keys.Skeyid, _gxi, _gxr, _ckyI, _ckyR, _sai, _id, _out);

    [Benchmark(Description = "QM KEYMAT 64 bytes, no PFS")]
    public byte Keymat()
    {
        IkeHashes.Keymat(_hash, _keys.SkeyidD, default, 3, _ckyI.AsSpan(0, 4), _ni, _nr, _keymat);
        return _keymat[0];
    }

    [Benchmark(Description = "one side of Main Mode: key pair + g^xy + derivation")]
    public Phase1KeyStatus MainModeCryptoOneSide()
    {
        using DhKeyPair k = _group.GenerateKeyPair();
        Span<byte> gxy = stackalloc byte[_group.SharedSecretLength];
        k.ComputeSharedSecret(_gxr, gxy);
        Phase1KeyStatus s = Phase1Keys.TryDerivePreSharedKey(_hash, _cipher, _keyBits, "cisco"u8, _ni, _nr, gxy, _ckyI, _ckyR, k.PublicValue, _gxr, out Phase1Keys? keys);
        keys?.Dispose();
        CryptographicOperations.ZeroMemory(gxy);
        return s;
    }
}
