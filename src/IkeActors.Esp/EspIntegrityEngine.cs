using System.Security.Cryptography;

namespace IkeActors.Esp;

/// <summary>
/// One SA's HMAC (RFC 2403, 2404, 4868): an <see cref="IncrementalHash"/> keyed once and reset after every
/// packet, output truncated to the ICV length. Not thread-safe: one per SA direction.
/// </summary>
internal sealed class EspIntegrityEngine : IDisposable
{
    private readonly IncrementalHash? _hmac;

    public EspIntegrityEngine(EspIntegrity integrity, ReadOnlySpan<byte> key)
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
        _hmac = name is { } n ? IncrementalHash.CreateHMAC(n, key) : null;
    }

    public EspIntegrity Integrity { get; }

    public int IcvSize => Integrity.IcvSize();

    /// <summary>Writes the truncated ICV of <paramref name="data"/> (RFC 4303 §3.3.4: ESP header through trailer).</summary>
    public void Compute(ReadOnlySpan<byte> data, Span<byte> icv)
    {
        if (_hmac is null)
        {
            return;
        }
        Span<byte> full = stackalloc byte[64];
        _hmac.AppendData(data);
        _hmac.TryGetHashAndReset(full, out int written);
        full[..IcvSize].CopyTo(icv);
        CryptographicOperations.ZeroMemory(full[..written]);
    }

    /// <summary>Recomputes and compares in constant time (RFC 4303 §3.4.4).</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> receivedIcv)
    {
        if (_hmac is null)
        {
            return receivedIcv.Length == 0;
        }
        Span<byte> expected = stackalloc byte[32];
        expected = expected[..IcvSize];
        Compute(data, expected);
        return receivedIcv.Length == expected.Length && CryptographicOperations.FixedTimeEquals(expected, receivedIcv);
    }

    public void Dispose() => _hmac?.Dispose();
}
