using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace IkeActors.Crypto;

/// <summary>IKE "Group Description" attribute values (RFC 2409 §6 and appendix A, RFC 3526, RFC 5903 §5).</summary>
public enum DhGroupId : ushort
{
    Modp768 = 1,
    Modp1024 = 2,
    Modp1536 = 5,
    Modp2048 = 14,
    Modp3072 = 15,
    Modp4096 = 16,
    Ecp256 = 19,
    Ecp384 = 20,
    Ecp521 = 21,
}

/// <summary>Outcome of processing a peer's public value. Peer input never throws.</summary>
public enum DhStatus
{
    Ok = 0,
    /// <summary>The KE payload body is not exactly the group's public value length (RFC 2409 §5, RFC 5903 §7).</summary>
    InvalidLength,
    /// <summary>MODP: not 1 &lt; y &lt; p-1. ECP: a coordinate &gt;= p, or the point is not on the curve.</summary>
    InvalidPublicValue,
}

/// <summary>
/// How long the private exponent of a MODP group is.
/// <see cref="FullLength"/> (the default) draws x uniformly below 2^(n-1) for an n-bit prime,
/// as strongSwan does by default (strongswan.conf charon.dh_exponent_ansi_x9_42 = yes, "ANSI X9.42
/// exponent size"): it makes no assumption about short-exponent attacks and is the conservative
/// choice; with OpenSSL's exponentiation it is fast enough: measured 3.3 ms per group-14 shared
/// secret, 0.5 ms for group 2 (CryptoDhBenchmarks).
/// <see cref="TwiceSecurityStrength"/> uses the exponent sizes of RFC 3526 §8 ("Strength Estimate 2"
/// column: twice the estimated strength; 256 bits for groups 1 and 2), which RFC 3526 §8 and
/// strongSwan's non-X9.42 setting consider sufficient for these safe primes, and is 5-9x faster
/// (measured 0.37 ms for group 14, 0.10 ms for group 2).
/// ECP groups ignore this (the private key is a full-size scalar).
/// </summary>
public enum DhExponentPolicy
{
    FullLength = 0,
    TwiceSecurityStrength = 1,
}

/// <summary>A Diffie-Hellman group: MODP (RFC 2409 §6, RFC 3526) or ECP (RFC 5903).</summary>
public abstract class DhGroup
{
    private static readonly Dictionary<(DhGroupId, DhExponentPolicy), DhGroup> Cache = [];
    private static readonly Lock CacheLock = new();

    private protected DhGroup(DhGroupId id, int publicValueLength, int sharedSecretLength)
    {
        Id = id;
        PublicValueLength = publicValueLength;
        SharedSecretLength = sharedSecretLength;
    }

    public DhGroupId Id { get; }

    /// <summary>Length in bytes of the KE payload body for this group.</summary>
    public int PublicValueLength { get; }

    /// <summary>Length in bytes of g^xy as used in SKEYID_d/KEYMAT (MODP: prime length, ECP: the x coordinate).</summary>
    public int SharedSecretLength { get; }

    public bool IsEllipticCurve => Id is DhGroupId.Ecp256 or DhGroupId.Ecp384 or DhGroupId.Ecp521;

    /// <summary>Looks up a group by its attribute value; false (no exception) for values we do not implement.</summary>
    public static bool TryGet(int groupDescription, [NotNullWhen(true)] out DhGroup? group,
        DhExponentPolicy policy = DhExponentPolicy.FullLength)
    {
        group = null;
        if (groupDescription is < 0 or > ushort.MaxValue || !Enum.IsDefined((DhGroupId)groupDescription))
        {
            return false;
        }
        var id = (DhGroupId)groupDescription;
        if (id is DhGroupId.Ecp256 or DhGroupId.Ecp384 or DhGroupId.Ecp521)
        {
            policy = DhExponentPolicy.FullLength;
        }
        lock (CacheLock)
        {
            if (!Cache.TryGetValue((id, policy), out group))
            {
                group = Create(id, policy);
                Cache[(id, policy)] = group;
            }
        }
        return true;
    }

    /// <summary>The group for a defined <see cref="DhGroupId"/>.</summary>
    public static DhGroup Get(DhGroupId id, DhExponentPolicy policy = DhExponentPolicy.FullLength) =>
        TryGet((int)id, out DhGroup? group, policy) ? group : throw new ArgumentOutOfRangeException(nameof(id), id, "unknown DH group");

    private static DhGroup Create(DhGroupId id, DhExponentPolicy policy) => id switch
    {
        // RFC 3526 §8 "Strength Estimate 2" exponent sizes; groups 1 and 2 are not in that table: 256 bits.
        DhGroupId.Modp768 => new ModpGroup(id, ModpPrimes.Modp768, 256, policy),
        DhGroupId.Modp1024 => new ModpGroup(id, ModpPrimes.Modp1024, 256, policy),
        DhGroupId.Modp1536 => new ModpGroup(id, ModpPrimes.Modp1536, 240, policy),
        DhGroupId.Modp2048 => new ModpGroup(id, ModpPrimes.Modp2048, 320, policy),
        DhGroupId.Modp3072 => new ModpGroup(id, ModpPrimes.Modp3072, 420, policy),
        DhGroupId.Modp4096 => new ModpGroup(id, ModpPrimes.Modp4096, 480, policy),
        DhGroupId.Ecp256 => new EcpGroup(id, ECCurve.NamedCurves.nistP256, 32),
        DhGroupId.Ecp384 => new EcpGroup(id, ECCurve.NamedCurves.nistP384, 48),
        DhGroupId.Ecp521 => new EcpGroup(id, ECCurve.NamedCurves.nistP521, 66),
        _ => throw new ArgumentOutOfRangeException(nameof(id)),
    };

    /// <summary>A fresh ephemeral key pair (private part kept in zeroed-on-dispose memory).</summary>
    public abstract DhKeyPair GenerateKeyPair();

    /// <summary>Checks a peer's KE payload body without using a private key.</summary>
    public abstract DhStatus ValidatePublicValue(ReadOnlySpan<byte> peerPublicValue);

    public override string ToString() => $"DH group {(int)Id} ({Id})";
}

/// <summary>An ephemeral DH key pair. Dispose it as soon as the shared secret is computed.</summary>
public abstract class DhKeyPair : IDisposable
{
    private protected DhKeyPair(DhGroup group) => Group = group;

    public DhGroup Group { get; }

    /// <summary>Our public value as sent in the KE payload (g^x padded to the prime length, or X|Y).</summary>
    public abstract ReadOnlySpan<byte> PublicValue { get; }

    /// <summary>
    /// Validates the peer's public value and, if valid, writes g^xy (exactly
    /// <see cref="DhGroup.SharedSecretLength"/> bytes) to <paramref name="destination"/>.
    /// On any status other than Ok nothing is written and no state changes.
    /// </summary>
    public abstract DhStatus ComputeSharedSecret(ReadOnlySpan<byte> peerPublicValue, Span<byte> destination);

    /// <summary>As above, into a new <see cref="SecretBuffer"/> (null unless Ok).</summary>
    public DhStatus ComputeSharedSecret(ReadOnlySpan<byte> peerPublicValue, out SecretBuffer? sharedSecret)
    {
        var buffer = new SecretBuffer(Group.SharedSecretLength);
        DhStatus status = ComputeSharedSecret(peerPublicValue, buffer.Span);
        if (status != DhStatus.Ok)
        {
            buffer.Dispose();
            sharedSecret = null;
            return status;
        }
        sharedSecret = buffer;
        return status;
    }

    public abstract void Dispose();
}
