using IkeActors.Config;
using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>One phase 1 transform as negotiated (RFC 2409 Appendix A attributes).</summary>
public sealed record Phase1Transform(
    OakleyEncryption Encryption, int KeyLengthBits, OakleyHash Hash, OakleyGroup Group,
    OakleyAuthMethod Authentication, int LifetimeSeconds)
{
    public IkeEncryptionAlgorithm CryptoCipher => (IkeEncryptionAlgorithm)(ushort)Encryption;
    public IkeHashAlgorithm CryptoHash => (IkeHashAlgorithm)(ushort)Hash;

    /// <summary>An ISAKMP policy as the transform it is proposed as (RFC 2409 §5, Appendix A).</summary>
    public static Phase1Transform FromPolicy(IsakmpPolicy p) => new(
        p.Encryption switch
        {
            IkeEncryption.Des => OakleyEncryption.DesCbc,
            IkeEncryption.TripleDes => OakleyEncryption.TripleDesCbc,
            _ => OakleyEncryption.AesCbc,
        },
        p.Encryption switch { IkeEncryption.Aes => 128, IkeEncryption.Aes192 => 192, IkeEncryption.Aes256 => 256, _ => 0 },
        p.Hash switch
        {
            IkeHash.Md5 => OakleyHash.Md5,
            IkeHash.Sha => OakleyHash.Sha,
            IkeHash.Sha256 => OakleyHash.Sha2_256,
            IkeHash.Sha384 => OakleyHash.Sha2_384,
            _ => OakleyHash.Sha2_512,
        },
        (OakleyGroup)p.Group,
        p.Authentication == IsakmpAuthentication.PreShare ? OakleyAuthMethod.PreSharedKey : OakleyAuthMethod.RsaSignatures,
        p.LifetimeSeconds);

    public TransformPayload ToTransform(byte number)
    {
        var attributes = new List<DataAttribute>
        {
            DataAttribute.Basic((ushort)OakleyAttribute.EncryptionAlgorithm, (ushort)Encryption),
            DataAttribute.Basic((ushort)OakleyAttribute.HashAlgorithm, (ushort)Hash),
            DataAttribute.Basic((ushort)OakleyAttribute.GroupDescription, (ushort)Group),
            DataAttribute.Basic((ushort)OakleyAttribute.AuthenticationMethod, (ushort)Authentication),
            DataAttribute.Basic((ushort)OakleyAttribute.LifeType, (ushort)LifeType.Seconds),
            DataAttribute.Integer((ushort)OakleyAttribute.LifeDuration, (ulong)LifetimeSeconds),
        };
        if (KeyLengthBits > 0) attributes.Insert(1, DataAttribute.Basic((ushort)OakleyAttribute.KeyLength, (ushort)KeyLengthBits));
        return new TransformPayload { TransformNumber = number, TransformId = (byte)IsakmpTransformId.KeyIke, Attributes = attributes };
    }

    /// <summary>Reads a received phase 1 transform; null when an attribute is missing or unknown (RFC 2409 §5: all of them are mandatory but key length and life).</summary>
    public static Phase1Transform? FromTransform(TransformPayloadView t)
    {
        if (t.TransformId != (byte)IsakmpTransformId.KeyIke) return null;
        OakleyEncryption? enc = null; OakleyHash? hash = null; OakleyGroup? group = null; OakleyAuthMethod? auth = null;
        var keyLength = 0; var lifetime = 86400; var lifeIsSeconds = true;
        foreach (var a in t.Attributes)
        {
            if (!a.TryGetInteger(out var value)) return null;
            switch ((OakleyAttribute)a.Type)
            {
                case OakleyAttribute.EncryptionAlgorithm: enc = (OakleyEncryption)value; break;
                case OakleyAttribute.HashAlgorithm: hash = (OakleyHash)value; break;
                case OakleyAttribute.GroupDescription: group = (OakleyGroup)value; break;
                case OakleyAttribute.AuthenticationMethod: auth = (OakleyAuthMethod)value; break;
                case OakleyAttribute.KeyLength: keyLength = (int)value; break;
                case OakleyAttribute.LifeType: lifeIsSeconds = value == (ulong)LifeType.Seconds; break;
                case OakleyAttribute.LifeDuration: if (lifeIsSeconds) lifetime = (int)Math.Min(value, int.MaxValue); break;
                default: return null; // RFC 2408 §5.4: an attribute we do not understand makes the transform unacceptable
            }
        }
        if (enc is null || hash is null || group is null || auth is null) return null;
        return new Phase1Transform(enc.Value, keyLength, hash.Value, group.Value, auth.Value, lifetime);
    }

    /// <summary>
    /// Whether this gateway can carry the transform out: pre-shared keys only, a DH group the crypto
    /// library has, a hash it implements, and a cipher it can encrypt with (DES-CBC is decrypt-only
    /// there; AES needs a 128/192/256-bit key, RFC 3602 §5). Others are neither offered nor accepted.
    /// </summary>
    public bool IsImplemented =>
        IsPreShared
        && IkeActors.Crypto.DhGroup.TryGet((int)Group, out _)
        && IkeAlgorithms.IsSupported(CryptoHash)
        && Encryption switch
        {
            OakleyEncryption.TripleDesCbc => KeyLengthBits == 0,
            OakleyEncryption.AesCbc => KeyLengthBits is 128 or 192 or 256,
            _ => false,
        };

    /// <summary>
    /// Pre-shared keys, alone or followed by XAUTH (XAUTHInitPreShared, 65001: remote-access clients offer it; the ASA's
    /// `authentication pre-share` policy accepts it, and phase 1 is computed the same way).
    /// </summary>
    public bool IsPreShared => Authentication is OakleyAuthMethod.PreSharedKey or OakleyAuthMethod.XauthInitPreShared;

    /// <summary>ASA policy matching: cipher, key length, hash, group and authentication must agree (PSK and XAUTH-PSK count as one); lifetimes need not.</summary>
    public bool Matches(Phase1Transform other) =>
        Encryption == other.Encryption && KeyLengthBits == other.KeyLengthBits && Hash == other.Hash
        && Group == other.Group && (Authentication == other.Authentication || IsPreShared && other.IsPreShared);
}

/// <summary>One ESP transform of a Quick Mode proposal (RFC 2407 §4.4.4, §4.5).</summary>
public sealed record IpsecTransform(
    EspTransformId Cipher, int KeyLengthBits, IpsecAuthAlgorithm Integrity, EncapsulationMode Mode,
    int LifetimeSeconds, long? LifetimeKilobytes, OakleyGroup? PfsGroup)
{
    public static IpsecTransform FromTransformSet(TransformSet set, IpsecSaLifetime lifetime, int? pfsGroup) => new(
        set.Encryption switch
        {
            EspEncryption.Des => EspTransformId.Des,
            EspEncryption.TripleDes => EspTransformId.TripleDes,
            EspEncryption.Null => EspTransformId.Null,
            EspEncryption.AesGcm or EspEncryption.AesGcm192 or EspEncryption.AesGcm256 => EspTransformId.AesGcm16, // RFC 4106 §8.1
            _ => EspTransformId.Aes,
        },
        set.Encryption switch
        {
            EspEncryption.Aes or EspEncryption.AesGcm => 128,
            EspEncryption.Aes192 or EspEncryption.AesGcm192 => 192,
            EspEncryption.Aes256 or EspEncryption.AesGcm256 => 256,
            _ => 0,
        },
        set.Integrity switch
        {
            EspAuthentication.Md5Hmac => IpsecAuthAlgorithm.HmacMd5,
            EspAuthentication.ShaHmac => IpsecAuthAlgorithm.HmacSha,
            EspAuthentication.Sha256Hmac => IpsecAuthAlgorithm.HmacSha2_256,
            EspAuthentication.Sha384Hmac => IpsecAuthAlgorithm.HmacSha2_384,
            EspAuthentication.Sha512Hmac => IpsecAuthAlgorithm.HmacSha2_512,
            _ => 0,
        },
        set.Mode == IpsecMode.Transport ? EncapsulationMode.Transport : EncapsulationMode.Tunnel,
        lifetime.Seconds, lifetime.Kilobytes, pfsGroup is { } g ? (OakleyGroup)g : null);

    public TransformPayload ToTransform(byte number)
    {
        var a = new List<DataAttribute>
        {
            DataAttribute.Basic((ushort)IpsecAttribute.EncapsulationMode, (ushort)Mode),
            DataAttribute.Basic((ushort)IpsecAttribute.SaLifeType, (ushort)LifeType.Seconds),
            DataAttribute.Integer((ushort)IpsecAttribute.SaLifeDuration, (ulong)LifetimeSeconds),
        };
        if (LifetimeKilobytes is { } kb)
        {
            a.Add(DataAttribute.Basic((ushort)IpsecAttribute.SaLifeType, (ushort)LifeType.Kilobytes));
            a.Add(DataAttribute.Integer((ushort)IpsecAttribute.SaLifeDuration, (ulong)kb));
        }
        if (Integrity != 0) a.Add(DataAttribute.Basic((ushort)IpsecAttribute.AuthenticationAlgorithm, (ushort)Integrity));
        if (KeyLengthBits > 0) a.Add(DataAttribute.Basic((ushort)IpsecAttribute.KeyLength, (ushort)KeyLengthBits));
        if (PfsGroup is { } g) a.Add(DataAttribute.Basic((ushort)IpsecAttribute.GroupDescription, (ushort)g));
        return new TransformPayload { TransformNumber = number, TransformId = (byte)Cipher, Attributes = a };
    }

    /// <summary>Reads a received ESP transform; null when it uses an attribute we do not implement.</summary>
    public static IpsecTransform? FromTransform(TransformPayloadView t)
    {
        var mode = EncapsulationMode.Tunnel;
        var keyLength = 0;
        IpsecAuthAlgorithm integrity = 0;
        OakleyGroup? pfs = null;
        var seconds = 28800; // RFC 2407 §4.5: 8 hours when no lifetime is proposed
        long? kilobytes = null;
        var lifeType = LifeType.Seconds;
        foreach (var a in t.Attributes)
        {
            if (!a.TryGetInteger(out var value)) return null;
            switch ((IpsecAttribute)a.Type)
            {
                case IpsecAttribute.EncapsulationMode: mode = (EncapsulationMode)value; break;
                case IpsecAttribute.KeyLength: keyLength = (int)value; break;
                case IpsecAttribute.AuthenticationAlgorithm: integrity = (IpsecAuthAlgorithm)value; break;
                case IpsecAttribute.GroupDescription: pfs = (OakleyGroup)value; break;
                case IpsecAttribute.SaLifeType: lifeType = (LifeType)value; break;
                case IpsecAttribute.SaLifeDuration:
                    if (lifeType == LifeType.Seconds) seconds = (int)Math.Min(value, int.MaxValue);
                    else kilobytes = (long)Math.Min(value, long.MaxValue);
                    break;
                default: return null;
            }
        }
        return new IpsecTransform((EspTransformId)t.TransformId, keyLength, integrity, mode, seconds, kilobytes, pfs);
    }

    /// <summary>Transform-set matching: cipher, key length, integrity, mode and PFS group agree; lifetimes are settled separately.</summary>
    public bool Matches(IpsecTransform other) =>
        Cipher == other.Cipher && KeyLengthBits == other.KeyLengthBits && Integrity == other.Integrity
        && Mode == other.Mode && PfsGroup == other.PfsGroup;

    /// <summary>ESP in UDP (RFC 3948): the UDP-Encapsulated modes of RFC 3947 §5.1 or of its drafts.</summary>
    public bool IsUdpEncapsulated => Mode is EncapsulationMode.UdpEncapsulatedTunnel or EncapsulationMode.UdpEncapsulatedTransport
        or EncapsulationMode.UdpEncapsulatedTunnelDraft or EncapsulationMode.UdpEncapsulatedTransportDraft;

    /// <summary>Bytes of encryption key (ESP_AES: key length attribute; 3DES 24; DES 8; ESP_AES_GCM_16: the key and its 4-octet salt, RFC 4106 §8.1).</summary>
    public int EncryptionKeyBytes => Cipher switch
    {
        EspTransformId.Aes => KeyLengthBits / 8,
        EspTransformId.AesGcm16 => KeyLengthBits / 8 + 4,
        EspTransformId.TripleDes => 24,
        EspTransformId.Des => 8,
        _ => 0,
    };

    /// <summary>Bytes of integrity key (RFC 2404 SHA1 20, RFC 2403 MD5 16, RFC 4868 SHA2 32/48/64).</summary>
    public int IntegrityKeyBytes => Integrity switch
    {
        IpsecAuthAlgorithm.HmacMd5 => 16,
        IpsecAuthAlgorithm.HmacSha => 20,
        IpsecAuthAlgorithm.HmacSha2_256 => 32,
        IpsecAuthAlgorithm.HmacSha2_384 => 48,
        IpsecAuthAlgorithm.HmacSha2_512 => 64,
        _ => 0,
    };

    /// <summary>The ASA's transform text ("esp-aes esp-sha-hmac").</summary>
    public string AsaText
    {
        get
        {
            var enc = Cipher switch
            {
                EspTransformId.Aes => KeyLengthBits switch { 192 => "esp-aes-192", 256 => "esp-aes-256", _ => "esp-aes" },
                EspTransformId.AesGcm16 => KeyLengthBits switch { 192 => "esp-aes-192-gcm", 256 => "esp-aes-256-gcm", _ => "esp-aes-gcm" },
                EspTransformId.TripleDes => "esp-3des",
                EspTransformId.Des => "esp-des",
                _ => "esp-null",
            };
            if (Cipher == EspTransformId.AesGcm16 && Integrity == 0) return enc; // no integrity transform with GCM
            var integ = Integrity switch
            {
                IpsecAuthAlgorithm.HmacMd5 => " esp-md5-hmac",
                IpsecAuthAlgorithm.HmacSha => " esp-sha-hmac",
                IpsecAuthAlgorithm.HmacSha2_256 => " esp-sha256-hmac",
                IpsecAuthAlgorithm.HmacSha2_384 => " esp-sha384-hmac",
                IpsecAuthAlgorithm.HmacSha2_512 => " esp-sha512-hmac",
                _ => " esp-none",
            };
            return enc + integ;
        }
    }
}
