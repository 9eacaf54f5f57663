using System.Security.Cryptography;

namespace IkeActors.Crypto;

/// <summary>
/// ECP groups 19, 20, 21 (RFC 5903: NIST P-256, P-384, P-521) on .NET's ECDiffieHellman
/// (OpenSSL underneath on Linux).
/// RFC 5903 §7: the KE payload carries X | Y, each padded to the field size; the shared secret
/// is only the x coordinate of the common point (RFC 5903 §9 explains the change from RFC 4753).
/// </summary>
public sealed class EcpGroup : DhGroup
{
    private readonly ECCurve _curve;
    private readonly int _coordinateLength;
    private readonly Lazy<byte[]> _fieldPrime;

    internal EcpGroup(DhGroupId id, ECCurve curve, int coordinateLength)
        : base(id, 2 * coordinateLength, coordinateLength)
    {
        _curve = curve;
        _coordinateLength = coordinateLength;
        _fieldPrime = new Lazy<byte[]>(() =>
        {
            using ECDiffieHellman probe = ECDiffieHellman.Create(curve);
            byte[] prime = probe.ExportExplicitParameters(false).Curve.Prime!;
            return Pad(prime, coordinateLength);
        });
    }

    public override DhKeyPair GenerateKeyPair() => new EcpKeyPair(this, ECDiffieHellman.Create(_curve));

    /// <summary>A key pair from a known private scalar (tests and known-answer checks only).</summary>
    internal DhKeyPair CreateKeyPair(ReadOnlySpan<byte> privateScalar)
    {
        var parameters = new ECParameters { Curve = _curve, D = privateScalar.ToArray() };
        try
        {
            return new EcpKeyPair(this, ECDiffieHellman.Create(parameters));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(parameters.D);
        }
    }

    /// <summary>
    /// Length must be exactly 2 x field size (RFC 5903 §7); each coordinate must be below the field
    /// prime and the point must be on the curve (checked by OpenSSL on import; the point at
    /// infinity has no X | Y encoding and 0|0 is not on these curves).
    /// </summary>
    public override DhStatus ValidatePublicValue(ReadOnlySpan<byte> peerPublicValue)
    {
        using ECDiffieHellman? peer = ImportPeer(peerPublicValue, out DhStatus status);
        return status;
    }

    private ECDiffieHellman? ImportPeer(ReadOnlySpan<byte> peerPublicValue, out DhStatus status)
    {
        if (peerPublicValue.Length != PublicValueLength)
        {
            status = DhStatus.InvalidLength;
            return null;
        }
        ReadOnlySpan<byte> x = peerPublicValue[.._coordinateLength];
        ReadOnlySpan<byte> y = peerPublicValue[_coordinateLength..];
        byte[] p = _fieldPrime.Value;
        if (x.SequenceCompareTo(p) >= 0 || y.SequenceCompareTo(p) >= 0)
        {
            status = DhStatus.InvalidPublicValue;
            return null;
        }
        var parameters = new ECParameters
        {
            Curve = _curve,
            Q = new ECPoint { X = x.ToArray(), Y = y.ToArray() },
        };
        try
        {
            ECDiffieHellman peer = ECDiffieHellman.Create(parameters);
            status = DhStatus.Ok;
            return peer;
        }
        catch (CryptographicException)
        {
            // Not on the curve (EC_KEY_check_key in OpenSSL).
            status = DhStatus.InvalidPublicValue;
            return null;
        }
    }

    private static byte[] Pad(byte[] value, int length)
    {
        if (value.Length == length)
        {
            return value;
        }
        var padded = new byte[length];
        value.CopyTo(padded, length - value.Length);
        return padded;
    }

    private sealed class EcpKeyPair : DhKeyPair
    {
        private readonly EcpGroup _group;
        private ECDiffieHellman? _key;
        private readonly byte[] _publicValue;

        public EcpKeyPair(EcpGroup group, ECDiffieHellman key) : base(group)
        {
            _group = group;
            _key = key;
            ECParameters q = key.ExportParameters(false);
            _publicValue = new byte[group.PublicValueLength];
            Pad(q.Q.X!, group._coordinateLength).CopyTo(_publicValue, 0);
            Pad(q.Q.Y!, group._coordinateLength).CopyTo(_publicValue, group._coordinateLength);
        }

        public override ReadOnlySpan<byte> PublicValue => _publicValue;

        public override DhStatus ComputeSharedSecret(ReadOnlySpan<byte> peerPublicValue, Span<byte> destination)
        {
            ECDiffieHellman key = _key ?? throw new ObjectDisposedException(nameof(DhKeyPair));
            if (destination.Length < _group.SharedSecretLength)
            {
                throw new ArgumentException("destination shorter than the shared secret", nameof(destination));
            }
            using ECDiffieHellman? peer = _group.ImportPeer(peerPublicValue, out DhStatus status);
            if (peer is null)
            {
                return status;
            }
            byte[] secret;
            try
            {
                using ECDiffieHellmanPublicKey peerKey = peer.PublicKey;
                // Raw agreement = x coordinate of the common point (RFC 5903 §7).
                secret = key.DeriveRawSecretAgreement(peerKey);
            }
            catch (CryptographicException)
            {
                return DhStatus.InvalidPublicValue;
            }
            try
            {
                destination[..(_group.SharedSecretLength - secret.Length)].Clear();
                secret.CopyTo(destination[(_group.SharedSecretLength - secret.Length)..]);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
            return DhStatus.Ok;
        }

        public override void Dispose() => Interlocked.Exchange(ref _key, null)?.Dispose();
    }
}
