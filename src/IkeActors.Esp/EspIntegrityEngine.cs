using System.Security.Cryptography;

namespace IkeActors.Esp;

/// <summary>
/// One SA's HMAC (RFC 2403, 2404, 4868), output truncated to the ICV length. The key's inner and outer hash states are
/// computed once, when the SA is made, and each packet only continues copies of them (<see cref="EspHmac"/>; a keyed
/// <see cref="IncrementalHash"/> where libcrypto's digest functions are missing). No allocation per packet. Not
/// thread-safe: one per SA direction.
/// </summary>
internal sealed class EspIntegrityEngine : IDisposable
{
    private readonly EspHmac? _hmac;

    public EspIntegrityEngine(EspIntegrity integrity, ReadOnlySpan<byte> key) : this(integrity, key, useLibcrypto: true)
    {
    }

    /// <summary><paramref name="useLibcrypto"/> false keeps the <see cref="IncrementalHash"/> path (tests and benchmarks).</summary>
    internal EspIntegrityEngine(EspIntegrity integrity, ReadOnlySpan<byte> key, bool useLibcrypto)
    {
        Integrity = integrity;
        if (key.Length != integrity.KeySize())
        {
            throw new ArgumentException($"{integrity} needs a {integrity.KeySize()}-byte key, got {key.Length}", nameof(key));
        }
        HashAlgorithmName? name = integrity switch
        {
            EspIntegrity.None => null,
            EspIntegrity.HmacMd5_96 => HashAlgorithmName.MD5,
            EspIntegrity.HmacSha1_96 => HashAlgorithmName.SHA1,
            EspIntegrity.HmacSha256_128 => HashAlgorithmName.SHA256,
            EspIntegrity.HmacSha384_192 => HashAlgorithmName.SHA384,
            _ => HashAlgorithmName.SHA512,
        };
        _hmac = name is { } n ? EspHmac.Create(n, key, useLibcrypto) : null;
    }

    public EspIntegrity Integrity { get; }

    public int IcvSize => Integrity.IcvSize();

    /// <summary>The precomputed libcrypto states are in use (false for NULL integrity and on the fallback).</summary>
    internal bool UsesLibcrypto => _hmac?.UsesLibcrypto ?? false;

    /// <summary>Writes the truncated ICV of <paramref name="data"/> (RFC 4303 §3.3.4: ESP header through trailer).</summary>
    public void Compute(ReadOnlySpan<byte> data, Span<byte> icv) => _hmac?.Compute(data, icv[..IcvSize]);

    /// <summary>Recomputes and compares in constant time (RFC 4303 §3.4.4); an ICV of the wrong length is false.</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> receivedIcv)
    {
        if (_hmac is null)
        {
            return receivedIcv.Length == 0;
        }
        if (receivedIcv.Length != IcvSize)
        {
            return false; // the length is public (the SA's transform); nothing to compare
        }
        Span<byte> expected = stackalloc byte[32];
        expected = expected[..IcvSize];
        _hmac.Compute(data, expected);
        return CryptographicOperations.FixedTimeEquals(expected, receivedIcv);
    }

    public void Dispose() => _hmac?.Dispose();
}
