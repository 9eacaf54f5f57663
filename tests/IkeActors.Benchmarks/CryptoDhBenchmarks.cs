using System.Numerics;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using IkeActors.Crypto;

namespace IkeActors.Benchmarks;

/// <summary>
/// MODP Diffie-Hellman: ours (OpenSSL BN_mod_exp_mont_consttime) against BigInteger.ModPow with
/// the same full-length exponent, in the same run. Run:
/// dotnet run -c Release --project tests/IkeActors.Benchmarks -- --filter '*CryptoDh*'
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class CryptoDhBenchmarks
{
    [Params(DhGroupId.Modp1024, DhGroupId.Modp2048)]
    public DhGroupId Group;

    private ModpGroup _group = null!;
    private DhKeyPair _ours = null!;
    private DhKeyPair _oursShort = null!;
    private byte[] _peer = null!;
    private byte[] _secret = null!;
    private BigInteger _p, _x, _y;

    [GlobalSetup]
    public void Setup()
    {
        _group = (ModpGroup)DhGroup.Get(Group);
        _ours = _group.GenerateKeyPair();
        _oursShort = DhGroup.Get(Group, DhExponentPolicy.TwiceSecurityStrength).GenerateKeyPair();
        using DhKeyPair peer = _group.GenerateKeyPair();
        _peer = peer.PublicValue.ToArray();
        _secret = new byte[_group.SharedSecretLength];
        _p = new BigInteger(_group.Prime, isUnsigned: true, isBigEndian: true);
        byte[] x = new byte[(_group.ExponentBits + 7) / 8];
        RandomNumberGenerator.Fill(x);
        x[0] &= 0x7F; // same length as ours: n-1 bits
        _x = new BigInteger(x, isUnsigned: true, isBigEndian: true);
        _y = new BigInteger(_peer, isUnsigned: true, isBigEndian: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ours.Dispose();
        _oursShort.Dispose();
    }

    [Benchmark(Baseline = true, Description = "BigInteger.ModPow y^x mod p (full exponent)")]
    public BigInteger BigIntegerSharedSecret() => BigInteger.ModPow(_y, _x, _p);

    [Benchmark(Description = "ours: shared secret (validate + y^x, full exponent)")]
    public DhStatus OursSharedSecret() => _ours.ComputeSharedSecret(_peer, _secret);

    [Benchmark(Description = "ours: key pair (random x + g^x, full exponent)")]
    public int OursGenerateKeyPair()
    {
        using DhKeyPair k = _group.GenerateKeyPair();
        return k.PublicValue.Length;
    }

    [Benchmark(Description = "BigInteger.ModPow g^x mod p (full exponent)")]
    public BigInteger BigIntegerPublicValue() => BigInteger.ModPow(2, _x, _p);

    [Benchmark(Description = "ours: shared secret, 2x-strength exponent")]
    public DhStatus OursSharedSecretShortExponent() => _oursShort.ComputeSharedSecret(_peer, _secret);
}

/// <summary>Our DH for every group (key pair + shared secret). --filter '*CryptoDhAllGroups*'</summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class CryptoDhAllGroupsBenchmarks
{
    [Params(DhGroupId.Modp768, DhGroupId.Modp1536, DhGroupId.Modp3072, DhGroupId.Modp4096, DhGroupId.Ecp256, DhGroupId.Ecp384, DhGroupId.Ecp521)]
    public DhGroupId Group;

    private DhGroup _group = null!;
    private DhKeyPair _ours = null!;
    private byte[] _peer = null!;
    private byte[] _secret = null!;

    [GlobalSetup]
    public void Setup()
    {
        _group = DhGroup.Get(Group);
        _ours = _group.GenerateKeyPair();
        using DhKeyPair peer = _group.GenerateKeyPair();
        _peer = peer.PublicValue.ToArray();
        _secret = new byte[_group.SharedSecretLength];
    }

    [GlobalCleanup]
    public void Cleanup() => _ours.Dispose();

    [Benchmark(Description = "ours: shared secret")]
    public DhStatus SharedSecret() => _ours.ComputeSharedSecret(_peer, _secret);

    [Benchmark(Description = "ours: key pair")]
    public int GenerateKeyPair()
    {
        using DhKeyPair k = _group.GenerateKeyPair();
        return k.PublicValue.Length;
    }
}
