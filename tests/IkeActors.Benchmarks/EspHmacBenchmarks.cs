using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;
using IkeActors.Esp;

namespace IkeActors.Benchmarks;

/// <summary>
/// One ESP ICV per packet (issue 17's fixed per-packet cost): the keyed IncrementalHash reset after every packet (before)
/// against the inner and outer states computed once per SA and continued through libcrypto's digest functions (after).
/// The data is what the ICV covers: ESP header through trailer. --filter '*EspHmacBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[ShortRunJob(RuntimeMoniker.Net10_0)]
public class EspHmacBenchmarks
{
    [Params(EspIntegrity.HmacSha1_96, EspIntegrity.HmacSha256_128)]
    public EspIntegrity Integrity;

    [Params(64, 1400)]
    public int Length;

    private EspIntegrityEngine _incremental = null!, _precomputed = null!;
    private byte[] _data = null!, _icv = null!;

    [GlobalSetup]
    public void Setup()
    {
        var key = RandomNumberGenerator.GetBytes(Integrity.KeySize());
        _incremental = new EspIntegrityEngine(Integrity, key, useLibcrypto: false);
        _precomputed = new EspIntegrityEngine(Integrity, key, useLibcrypto: true);
        if (!_precomputed.UsesLibcrypto) throw new InvalidOperationException("libcrypto's digest functions were not found");
        _data = RandomNumberGenerator.GetBytes(Length);
        _icv = new byte[Integrity.IcvSize()];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _incremental.Dispose();
        _precomputed.Dispose();
    }

    [Benchmark(Baseline = true, Description = "IncrementalHash (before)")]
    public byte IncrementalHash()
    {
        _incremental.Compute(_data, _icv);
        return _icv[0];
    }

    [Benchmark(Description = "precomputed states, libcrypto (after)")]
    public byte Precomputed()
    {
        _precomputed.Compute(_data, _icv);
        return _icv[0];
    }
}

/// <summary>
/// A whole ESP round trip, AES-128-CBC + HMAC-SHA1-96: encapsulate an inner packet and decapsulate it (replay check,
/// ICV verify, CBC, trailer checks) on the peer SA. Engines: <c>Before</c> (HMAC on IncrementalHash, CBC through the
/// ICryptoTransform), <c>Hmac</c> (the precomputed HMAC states), <c>HmacAesNi</c> (and CBC on the AES instructions).
/// --filter '*EspRoundTripBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[ShortRunJob(RuntimeMoniker.Net10_0)]
public class EspRoundTripBenchmarks
{
    public enum Engine { Before, Hmac, HmacAesNi }

    [Params(64, 1400)]
    public int PacketLength;

    [Params(Engine.Before, Engine.Hmac, Engine.HmacAesNi)]
    public Engine Engines;

    private EspSa _outbound = null!, _inbound = null!;
    private byte[] _inner = null!, _packet = null!;

    [GlobalSetup]
    public void Setup()
    {
        var ek = RandomNumberGenerator.GetBytes(16);
        var ak = RandomNumberGenerator.GetBytes(20);
        bool hmac = Engines != Engine.Before, aesNi = Engines == Engine.HmacAesNi;
        _outbound = new EspSa(0x1001, EspDirection.Outbound, EspCipher.Aes128Cbc, ek, EspIntegrity.HmacSha1_96, ak, default, hmac, aesNi);
        _inbound = new EspSa(0x1001, EspDirection.Inbound, EspCipher.Aes128Cbc, ek, EspIntegrity.HmacSha1_96, ak, default, hmac, aesNi);
        _inner = new byte[PacketLength];
        _inner[0] = 0x45;
        _inner[9] = 17;
        new byte[] { 192, 168, 1, 1, 192, 168, 2, 1 }.CopyTo(_inner, 12);
        _packet = new byte[_outbound.MaxPacketSize(PacketLength)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _outbound.Dispose();
        _inbound.Dispose();
    }

    [Benchmark(Description = "encapsulate + decapsulate (AES-128-CBC, HMAC-SHA1-96)")]
    public EspDecapStatus RoundTrip()
    {
        int n = _outbound.Encapsulate(_inner, _packet);
        return _inbound.TryDecapsulate(_packet.AsSpan(0, n), out _, out _); // each packet a new sequence number: the window moves on
    }
}

/// <summary>
/// The cipher side alone, per packet body (issue 17): AES-128-CBC (<c>EspCipherEngine</c>, the body padded to the
/// block: 64 and 1408 bytes) through the SA's long-lived ICryptoTransforms or on the AES instructions (<c>AesNi</c>).
/// --filter '*EspCbcEngineBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[ShortRunJob(RuntimeMoniker.Net10_0)]
public class EspCbcEngineBenchmarks
{
    [Params(64, 1400)]
    public int Length;

    [Params(false, true)]
    public bool AesNi;

    private EspCipherEngine _cbc = null!;
    private byte[] _body = null!, _iv = null!;

    [GlobalSetup]
    public void Setup()
    {
        _cbc = new EspCipherEngine(EspCipher.Aes128Cbc, RandomNumberGenerator.GetBytes(16), AesNi);
        if (_cbc.UsesAesNi != AesNi) throw new InvalidOperationException("no AES instructions on this CPU");
        _body = RandomNumberGenerator.GetBytes((Length + 15) / 16 * 16);
        _iv = RandomNumberGenerator.GetBytes(16);
    }

    [GlobalCleanup]
    public void Cleanup() => _cbc.Dispose();

    [Benchmark(Description = "AES-128-CBC encrypt (in place)")]
    public byte Encrypt()
    {
        _cbc.Encrypt(_body, _iv, _body);
        return _body[0];
    }

    [Benchmark(Description = "AES-128-CBC decrypt (in place)")]
    public byte Decrypt()
    {
        _cbc.Decrypt(_body, _iv, _body);
        return _body[0];
    }

    /// <summary>A batch's eight packets, each its own IV and chain: side by side on the AES instructions, one after the other on the transform.</summary>
    [Benchmark(Description = "AES-128-CBC encrypt, 8 packets of a batch (per packet)", OperationsPerInvoke = 8)]
    public byte EncryptBatchOfEight()
    {
        var lanes = _lanes ??= Enumerable.Range(0, 8).Select(i => new CbcLane(i * (16 + _body.Length), i * (16 + _body.Length) + 16, _body.Length)).ToArray();
        var batch = _batch ??= RandomNumberGenerator.GetBytes(8 * (16 + _body.Length));
        if (AesNi) _cbc.EncryptMany(batch, lanes);
        else foreach (var l in lanes) _cbc.Encrypt(batch.AsSpan(l.BodyOffset, l.Length), batch.AsSpan(l.IvOffset, 16), batch.AsSpan(l.BodyOffset, l.Length));
        return batch[0];
    }

    private CbcLane[]? _lanes;
    private byte[]? _batch;
}

/// <summary>
/// AES-128-GCM alone, per packet body (issue 17): <c>EspGcmEngine</c> through libcrypto's EVP interface (Native) and
/// through .NET's <c>AesGcm</c>, one per SA, at 64 and 1400 bytes; and a forged packet's refusal (AesGcm throws for it).
/// --filter '*EspGcmEngineBenchmarks*'
/// </summary>
[MemoryDiagnoser]
[ShortRunJob(RuntimeMoniker.Net10_0)]
public class EspGcmEngineBenchmarks
{
    [Params(64, 1400)]
    public int Length;

    [Params(true, false)]
    public bool Native;

    private EspGcmEngine _gcm = null!;
    private byte[] _body = null!, _sealed = null!, _scratch = null!, _iv = null!, _aad = null!, _icv = null!, _tag = null!, _forgedTag = null!;

    [GlobalSetup]
    public void Setup()
    {
        _gcm = new EspGcmEngine(EspCipher.Aes128Gcm16, RandomNumberGenerator.GetBytes(20), Native);
        _body = RandomNumberGenerator.GetBytes(Length);
        _iv = RandomNumberGenerator.GetBytes(EspGcmEngine.IvSize);
        _aad = RandomNumberGenerator.GetBytes(EspGcmEngine.AadSize);
        _icv = new byte[EspGcmEngine.IcvSize];
        _tag = new byte[EspGcmEngine.IcvSize];
        _sealed = (byte[])_body.Clone();
        _gcm.Seal(_iv, _aad, _sealed, _tag);
        _forgedTag = (byte[])_tag.Clone();
        _forgedTag[0] ^= 1;
        _scratch = new byte[Length];
    }

    [GlobalCleanup]
    public void Cleanup() => _gcm.Dispose();

    [Benchmark(Description = "AES-128-GCM seal (in place)")]
    public byte Seal()
    {
        _gcm.Seal(_iv, _aad, _body, _icv);
        return _icv[0];
    }

    [Benchmark(Description = "AES-128-GCM open (copy + verify + decrypt)")]
    public bool Open()
    {
        _sealed.CopyTo(_scratch, 0);
        return _gcm.Open(_iv, _aad, _scratch, _tag);
    }

    [Benchmark(Description = "AES-128-GCM open of a forged packet (refused)")]
    public bool OpenForged()
    {
        _sealed.CopyTo(_scratch, 0);
        return _gcm.Open(_iv, _aad, _scratch, _forgedTag);
    }
}
