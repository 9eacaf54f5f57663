using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace IkeActors.Crypto;

/// <summary>Outcome of a phase-1 key derivation.</summary>
public enum Phase1KeyStatus
{
    Ok = 0,
    UnsupportedAlgorithm,
    /// <summary>Key-Length attribute not valid for the cipher (see <see cref="IkeAlgorithms.KeyLength"/>).</summary>
    InvalidKeyLength,
    /// <summary>The derived (3)DES key is weak (RFC 2451 §2.3); the SA must be abandoned.</summary>
    WeakKey,
    /// <summary>An input has an impossible length (empty nonce, cookie not 8 bytes...).</summary>
    InvalidInput,
}

/// <summary>
/// Main Mode / pre-shared key material (RFC 2409 §5 and appendix B): SKEYID, SKEYID_d, SKEYID_a,
/// SKEYID_e, the encryption key Ka and the phase-1 IV. Every buffer is pinned and zeroed on Dispose.
/// </summary>
public sealed class Phase1Keys : IDisposable
{
    private readonly SecretBuffer _skeyid;
    private readonly SecretBuffer _skeyidD;
    private readonly SecretBuffer _skeyidA;
    private readonly SecretBuffer _skeyidE;
    private readonly SecretBuffer _encryptionKey;
    private readonly byte[] _iv;

    private Phase1Keys(IkeHashAlgorithm hash, IkeEncryptionAlgorithm cipher, SecretBuffer skeyid, SecretBuffer d,
        SecretBuffer a, SecretBuffer e, SecretBuffer ka, byte[] iv)
    {
        Hash = hash;
        Cipher = cipher;
        _skeyid = skeyid;
        _skeyidD = d;
        _skeyidA = a;
        _skeyidE = e;
        _encryptionKey = ka;
        _iv = iv;
    }

    public IkeHashAlgorithm Hash { get; }
    public IkeEncryptionAlgorithm Cipher { get; }
    public ReadOnlySpan<byte> Skeyid => _skeyid.ReadOnlySpan;
    public ReadOnlySpan<byte> SkeyidD => _skeyidD.ReadOnlySpan;
    public ReadOnlySpan<byte> SkeyidA => _skeyidA.ReadOnlySpan;
    public ReadOnlySpan<byte> SkeyidE => _skeyidE.ReadOnlySpan;

    /// <summary>Ka: the ISAKMP encryption key (SKEYID_e, expanded per appendix B if too short).</summary>
    public ReadOnlySpan<byte> EncryptionKey => _encryptionKey.ReadOnlySpan;

    /// <summary>The phase-1 IV: hash(g^xi | g^xr) truncated to the block size (appendix B). Not secret.</summary>
    public ReadOnlySpan<byte> Phase1Iv => _iv;

    /// <summary>
    /// Derives all phase-1 keys for authentication with pre-shared keys (RFC 2409 §5).
    /// <paramref name="ni"/> and <paramref name="nr"/> are the nonce payload bodies (Ni_b, Nr_b);
    /// <paramref name="gxi"/>/<paramref name="gxr"/> the initiator's/responder's KE bodies;
    /// <paramref name="keyLengthBits"/> the Key-Length attribute (0 if absent).
    /// </summary>
    public static Phase1KeyStatus TryDerivePreSharedKey(
        IkeHashAlgorithm hash, IkeEncryptionAlgorithm cipher, int keyLengthBits,
        ReadOnlySpan<byte> preSharedKey, ReadOnlySpan<byte> ni, ReadOnlySpan<byte> nr,
        ReadOnlySpan<byte> gxy, ReadOnlySpan<byte> ckyI, ReadOnlySpan<byte> ckyR,
        ReadOnlySpan<byte> gxi, ReadOnlySpan<byte> gxr,
        [NotNullWhen(true)] out Phase1Keys? keys)
    {
        keys = null;
        if (!IkeAlgorithms.IsSupported(hash) || IkeAlgorithms.BlockSize(cipher) == 0)
        {
            return Phase1KeyStatus.UnsupportedAlgorithm;
        }
        int keyLength = IkeAlgorithms.KeyLength(cipher, keyLengthBits);
        if (keyLength == 0)
        {
            return Phase1KeyStatus.InvalidKeyLength;
        }
        // RFC 2409 §5 / RFC 2408 §3.1: cookies are 8 octets; RFC 2409 §5: nonces 8..256 octets.
        if (ckyI.Length != 8 || ckyR.Length != 8 || ni.Length is < 8 or > 256 || nr.Length is < 8 or > 256
            || gxy.IsEmpty || gxi.IsEmpty || gxr.IsEmpty)
        {
            return Phase1KeyStatus.InvalidInput;
        }

        int hl = IkeAlgorithms.HashLength(hash);
        var skeyid = new SecretBuffer(hl);
        var d = new SecretBuffer(hl);
        var a = new SecretBuffer(hl);
        var e = new SecretBuffer(hl);
        var ka = new SecretBuffer(keyLength);
        bool ok = false;
        try
        {
            ComputeSkeyidPreSharedKey(hash, preSharedKey, ni, nr, skeyid.Span);
            ComputeSkeyidD(hash, skeyid.ReadOnlySpan, gxy, ckyI, ckyR, d.Span);
            ComputeSkeyidA(hash, skeyid.ReadOnlySpan, d.ReadOnlySpan, gxy, ckyI, ckyR, a.Span);
            ComputeSkeyidE(hash, skeyid.ReadOnlySpan, a.ReadOnlySpan, gxy, ckyI, ckyR, e.Span);
            ExpandEncryptionKey(hash, e.ReadOnlySpan, ka.Span);
            if (IsWeakKey(cipher, ka.ReadOnlySpan))
            {
                return Phase1KeyStatus.WeakKey;
            }
            byte[] iv = new byte[IkeAlgorithms.BlockSize(cipher)];
            ComputePhase1Iv(hash, gxi, gxr, iv);
            keys = new Phase1Keys(hash, cipher, skeyid, d, a, e, ka, iv);
            ok = true;
            return Phase1KeyStatus.Ok;
        }
        finally
        {
            if (!ok)
            {
                skeyid.Dispose(); d.Dispose(); a.Dispose(); e.Dispose(); ka.Dispose();
            }
        }
    }

    /// <summary>
    /// Rebuilds the keys of an existing IKE SA from material exported earlier through the public
    /// spans (<see cref="Skeyid"/>, <see cref="SkeyidD"/>, <see cref="SkeyidA"/>, <see cref="SkeyidE"/>,
    /// <see cref="EncryptionKey"/>), e.g. from a persisted snapshot of the SA when it moves to
    /// another host. No pre-shared key or g^xy is needed; nothing is derived except the phase-1
    /// IV, which is recomputed from <paramref name="gxi"/>/<paramref name="gxr"/> (appendix B).
    /// Validates what it can: SKEYID, SKEYID_d/a/e must be the hash length, Ka the cipher's key
    /// length for <paramref name="keyLengthBits"/>, a (3)DES Ka must not be weak (RFC 2451 §2.3).
    /// The inputs are copied into pinned buffers; the caller zeroes its own copies.
    /// </summary>
    public static Phase1KeyStatus TryFromMaterial(
        IkeHashAlgorithm hash, IkeEncryptionAlgorithm cipher, int keyLengthBits,
        ReadOnlySpan<byte> skeyid, ReadOnlySpan<byte> skeyidD, ReadOnlySpan<byte> skeyidA, ReadOnlySpan<byte> skeyidE,
        ReadOnlySpan<byte> encryptionKey, ReadOnlySpan<byte> gxi, ReadOnlySpan<byte> gxr,
        [NotNullWhen(true)] out Phase1Keys? keys)
    {
        keys = null;
        if (!IkeAlgorithms.IsSupported(hash) || IkeAlgorithms.BlockSize(cipher) == 0)
        {
            return Phase1KeyStatus.UnsupportedAlgorithm;
        }
        int keyLength = IkeAlgorithms.KeyLength(cipher, keyLengthBits);
        if (keyLength == 0 || encryptionKey.Length != keyLength)
        {
            return Phase1KeyStatus.InvalidKeyLength;
        }
        int hl = IkeAlgorithms.HashLength(hash);
        if (skeyid.Length != hl || skeyidD.Length != hl || skeyidA.Length != hl || skeyidE.Length != hl || gxi.IsEmpty || gxr.IsEmpty)
        {
            return Phase1KeyStatus.InvalidInput;
        }
        if (IsWeakKey(cipher, encryptionKey))
        {
            return Phase1KeyStatus.WeakKey;
        }
        byte[] iv = new byte[IkeAlgorithms.BlockSize(cipher)];
        ComputePhase1Iv(hash, gxi, gxr, iv);
        keys = new Phase1Keys(hash, cipher, new SecretBuffer(skeyid), new SecretBuffer(skeyidD), new SecretBuffer(skeyidA),
            new SecretBuffer(skeyidE), new SecretBuffer(encryptionKey), iv);
        return Phase1KeyStatus.Ok;
    }

    /// <summary>RFC 2409 §5: for pre-shared keys, SKEYID = prf(pre-shared-key, Ni_b | Nr_b).</summary>
    public static void ComputeSkeyidPreSharedKey(IkeHashAlgorithm hash, ReadOnlySpan<byte> preSharedKey,
        ReadOnlySpan<byte> ni, ReadOnlySpan<byte> nr, Span<byte> destination) =>
        IkePrf.Prf(hash, preSharedKey, destination, ni, nr);

    private static ReadOnlySpan<byte> Zero => [0];
    private static ReadOnlySpan<byte> One => [1];
    private static ReadOnlySpan<byte> Two => [2];

    /// <summary>RFC 2409 §5: SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0).</summary>
    public static void ComputeSkeyidD(IkeHashAlgorithm hash, ReadOnlySpan<byte> skeyid, ReadOnlySpan<byte> gxy,
        ReadOnlySpan<byte> ckyI, ReadOnlySpan<byte> ckyR, Span<byte> destination) =>
        IkePrf.Prf(hash, skeyid, destination, gxy, ckyI, ckyR, Zero);

    /// <summary>RFC 2409 §5: SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1).</summary>
    public static void ComputeSkeyidA(IkeHashAlgorithm hash, ReadOnlySpan<byte> skeyid, ReadOnlySpan<byte> skeyidD,
        ReadOnlySpan<byte> gxy, ReadOnlySpan<byte> ckyI, ReadOnlySpan<byte> ckyR, Span<byte> destination) =>
        IkePrf.Prf(hash, skeyid, destination, skeyidD, gxy, ckyI, ckyR, One);

    /// <summary>RFC 2409 §5: SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2).</summary>
    public static void ComputeSkeyidE(IkeHashAlgorithm hash, ReadOnlySpan<byte> skeyid, ReadOnlySpan<byte> skeyidA,
        ReadOnlySpan<byte> gxy, ReadOnlySpan<byte> ckyI, ReadOnlySpan<byte> ckyR, Span<byte> destination) =>
        IkePrf.Prf(hash, skeyid, destination, skeyidA, gxy, ckyI, ckyR, Two);

    /// <summary>
    /// RFC 2409 appendix B: Ka is the first bits of SKEYID_e; if SKEYID_e is too short,
    /// Ka = K1 | K2 | K3 ... with K1 = prf(SKEYID_e, 0) (one zero octet) and Kn = prf(SKEYID_e, Kn-1),
    /// truncated to the key length (<paramref name="destination"/>.Length).
    /// </summary>
    public static void ExpandEncryptionKey(IkeHashAlgorithm hash, ReadOnlySpan<byte> skeyidE, Span<byte> destination)
    {
        if (skeyidE.Length >= destination.Length)
        {
            skeyidE[..destination.Length].CopyTo(destination);
            return;
        }
        int hl = IkeAlgorithms.HashLength(hash);
        Span<byte> block = stackalloc byte[64];
        block = block[..hl];
        Span<byte> previous = stackalloc byte[64];
        try
        {
            IkePrf.Prf(hash, skeyidE, Zero, block);
            int written = 0;
            while (true)
            {
                int n = Math.Min(hl, destination.Length - written);
                block[..n].CopyTo(destination[written..]);
                written += n;
                if (written == destination.Length)
                {
                    break;
                }
                block.CopyTo(previous);
                IkePrf.Prf(hash, skeyidE, previous[..hl], block);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(block);
            CryptographicOperations.ZeroMemory(previous);
        }
    }

    /// <summary>RFC 2409 appendix B: phase-1 IV = hash(g^xi | g^xr), truncated to the cipher block size.</summary>
    public static void ComputePhase1Iv(IkeHashAlgorithm hash, ReadOnlySpan<byte> gxi, ReadOnlySpan<byte> gxr, Span<byte> destination)
    {
        Span<byte> digest = stackalloc byte[64];
        int n = IkePrf.Hash(hash, digest, gxi, gxr);
        digest[..Math.Min(n, destination.Length)].CopyTo(destination);
    }

    /// <summary>
    /// RFC 2451 §2.3 (weak keys): a DES key, or any of the three 3DES subkeys, that is one of the DES
    /// weak or semi-weak keys is refused; so is a 3DES key with K1 = K2 or K2 = K3 (it degenerates to
    /// single DES; .NET refuses such keys too).
    /// </summary>
    public static bool IsWeakKey(IkeEncryptionAlgorithm cipher, ReadOnlySpan<byte> key)
    {
        switch (cipher)
        {
            case IkeEncryptionAlgorithm.DesCbc:
                return key.Length != 8 || IsWeakDesKey(key);
            case IkeEncryptionAlgorithm.TripleDesCbc:
                if (key.Length != 24)
                {
                    return true;
                }
                return IsWeakDesKey(key[..8]) || IsWeakDesKey(key[8..16]) || IsWeakDesKey(key[16..])
                    || ParityInsensitiveEquals(key[..8], key[8..16]) || ParityInsensitiveEquals(key[8..16], key[16..]);
            default:
                return false;
        }
    }

    private static bool ParityInsensitiveEquals(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        for (int i = 0; i < 8; i++)
        {
            if ((a[i] & 0xFE) != (b[i] & 0xFE))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsWeakDesKey(ReadOnlySpan<byte> key)
    {
        byte[] copy = key.ToArray();
        try
        {
            return DES.IsWeakKey(copy) || DES.IsSemiWeakKey(copy);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }
    }

    public void Dispose()
    {
        _skeyid.Dispose();
        _skeyidD.Dispose();
        _skeyidA.Dispose();
        _skeyidE.Dispose();
        _encryptionKey.Dispose();
    }

    public override string ToString() => $"Phase1Keys({Hash}, {Cipher}, {_encryptionKey.Length * 8}-bit key)";
}
