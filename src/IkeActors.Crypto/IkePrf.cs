using System.Buffers;
using System.Security.Cryptography;

namespace IkeActors.Crypto;

/// <summary>
/// The IKEv1 pseudo-random function and hash. RFC 2409 §4: "the HMAC version of the negotiated
/// hash algorithm is used as the pseudo-random function". The plain hash is used for the
/// phase-1 IV and the phase-2 IVs (appendix B) and for NAT-D (RFC 3947 §3.2).
/// All methods are allocation-free: multi-part inputs are concatenated on the stack (or in a
/// pooled buffer for large inputs, zeroed before it is returned because it may hold g^xy).
/// </summary>
public static class IkePrf
{
    private const int StackLimit = 1024;

    /// <summary>prf(key, data) into <paramref name="destination"/>; returns the number of bytes written.</summary>
    public static int Prf(IkeHashAlgorithm hash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination) => hash switch
    {
        IkeHashAlgorithm.Md5 => HMACMD5.HashData(key, data, destination),
        IkeHashAlgorithm.Sha1 => HMACSHA1.HashData(key, data, destination),
        IkeHashAlgorithm.Sha2_256 => HMACSHA256.HashData(key, data, destination),
        IkeHashAlgorithm.Sha2_384 => HMACSHA384.HashData(key, data, destination),
        IkeHashAlgorithm.Sha2_512 => HMACSHA512.HashData(key, data, destination),
        _ => throw new ArgumentOutOfRangeException(nameof(hash), hash, "unsupported IKE hash algorithm"),
    };

    /// <summary>hash(data) into <paramref name="destination"/>; returns the number of bytes written.</summary>
    public static int Hash(IkeHashAlgorithm hash, ReadOnlySpan<byte> data, Span<byte> destination) => hash switch
    {
        IkeHashAlgorithm.Md5 => MD5.HashData(data, destination),
        IkeHashAlgorithm.Sha1 => SHA1.HashData(data, destination),
        IkeHashAlgorithm.Sha2_256 => SHA256.HashData(data, destination),
        IkeHashAlgorithm.Sha2_384 => SHA384.HashData(data, destination),
        IkeHashAlgorithm.Sha2_512 => SHA512.HashData(data, destination),
        _ => throw new ArgumentOutOfRangeException(nameof(hash), hash, "unsupported IKE hash algorithm"),
    };

    /// <summary>prf(key, p0 | p1 | ... | p6); empty parts are skipped.</summary>
    public static int Prf(IkeHashAlgorithm hash, ReadOnlySpan<byte> key, Span<byte> destination,
        ReadOnlySpan<byte> p0, ReadOnlySpan<byte> p1, ReadOnlySpan<byte> p2 = default, ReadOnlySpan<byte> p3 = default,
        ReadOnlySpan<byte> p4 = default, ReadOnlySpan<byte> p5 = default, ReadOnlySpan<byte> p6 = default)
    {
        int length = p0.Length + p1.Length + p2.Length + p3.Length + p4.Length + p5.Length + p6.Length;
        byte[]? rented = null;
        Span<byte> buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        buffer = buffer[..length];
        try
        {
            Concat(buffer, p0, p1, p2, p3, p4, p5, p6);
            return Prf(hash, key, buffer, destination);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer);
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>hash(p0 | p1 | ... | p3); empty parts are skipped.</summary>
    public static int Hash(IkeHashAlgorithm hash, Span<byte> destination,
        ReadOnlySpan<byte> p0, ReadOnlySpan<byte> p1, ReadOnlySpan<byte> p2 = default, ReadOnlySpan<byte> p3 = default)
    {
        int length = p0.Length + p1.Length + p2.Length + p3.Length;
        byte[]? rented = null;
        Span<byte> buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        buffer = buffer[..length];
        try
        {
            Concat(buffer, p0, p1, p2, p3, default, default, default);
            return Hash(hash, buffer, destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static void Concat(Span<byte> buffer, ReadOnlySpan<byte> p0, ReadOnlySpan<byte> p1, ReadOnlySpan<byte> p2,
        ReadOnlySpan<byte> p3, ReadOnlySpan<byte> p4, ReadOnlySpan<byte> p5, ReadOnlySpan<byte> p6)
    {
        int o = 0;
        p0.CopyTo(buffer[o..]); o += p0.Length;
        p1.CopyTo(buffer[o..]); o += p1.Length;
        p2.CopyTo(buffer[o..]); o += p2.Length;
        p3.CopyTo(buffer[o..]); o += p3.Length;
        p4.CopyTo(buffer[o..]); o += p4.Length;
        p5.CopyTo(buffer[o..]); o += p5.Length;
        p6.CopyTo(buffer[o..]);
    }

    /// <summary>Constant-time comparison of a computed HASH/MAC with a received one (length leaks, contents do not).</summary>
    public static bool FixedTimeEquals(ReadOnlySpan<byte> computed, ReadOnlySpan<byte> received) =>
        CryptographicOperations.FixedTimeEquals(computed, received);
}
