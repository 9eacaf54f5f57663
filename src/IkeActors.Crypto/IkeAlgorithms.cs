namespace IkeActors.Crypto;

/// <summary>
/// IKEv1 "Hash Algorithm" attribute values (RFC 2409 appendix A, class 2; the SHA2 values 4-6 are
/// from the IANA "IPSEC IKE" registry). The PRF is the HMAC of this hash (RFC 2409 §4).
/// </summary>
public enum IkeHashAlgorithm : ushort
{
    Md5 = 1,
    Sha1 = 2,
    Sha2_256 = 4,
    Sha2_384 = 5,
    Sha2_512 = 6,
}

/// <summary>IKEv1 "Encryption Algorithm" attribute values (RFC 2409 appendix A, class 1; AES-CBC = 7 from RFC 3602 §5.1).</summary>
public enum IkeEncryptionAlgorithm : ushort
{
    /// <summary>DES-CBC: decrypt only, for diagnosing old peers (RFC 2409 appendix A).</summary>
    DesCbc = 1,
    TripleDesCbc = 5,
    AesCbc = 7,
}

/// <summary>Sizes of the algorithms above.</summary>
public static class IkeAlgorithms
{
    /// <summary>True for the hash attribute values this library implements.</summary>
    public static bool IsSupported(IkeHashAlgorithm hash) =>
        hash is IkeHashAlgorithm.Md5 or IkeHashAlgorithm.Sha1 or IkeHashAlgorithm.Sha2_256
            or IkeHashAlgorithm.Sha2_384 or IkeHashAlgorithm.Sha2_512;

    /// <summary>Output length in bytes of the hash and of its HMAC (the PRF), 0 if unsupported.</summary>
    public static int HashLength(IkeHashAlgorithm hash) => hash switch
    {
        IkeHashAlgorithm.Md5 => 16,
        IkeHashAlgorithm.Sha1 => 20,
        IkeHashAlgorithm.Sha2_256 => 32,
        IkeHashAlgorithm.Sha2_384 => 48,
        IkeHashAlgorithm.Sha2_512 => 64,
        _ => 0,
    };

    /// <summary>Cipher block size in bytes, 0 if unsupported.</summary>
    public static int BlockSize(IkeEncryptionAlgorithm cipher) => cipher switch
    {
        IkeEncryptionAlgorithm.DesCbc => 8,
        IkeEncryptionAlgorithm.TripleDesCbc => 8,
        IkeEncryptionAlgorithm.AesCbc => 16,
        _ => 0,
    };

    /// <summary>
    /// Key length in bytes for a cipher and its Key-Length attribute (bits; 0 = attribute absent).
    /// DES and 3DES have fixed lengths and must not carry the attribute (RFC 2409 appendix A:
    /// "Key Length ... MUST NOT be used to specify the key length for ciphers with fixed key size").
    /// AES takes 128, 192 or 256 (RFC 3602 §5). Returns 0 when the combination is invalid;
    /// the caller decides what an absent AES key length means (it is not guessed here).
    /// </summary>
    public static int KeyLength(IkeEncryptionAlgorithm cipher, int keyLengthBits) => cipher switch
    {
        IkeEncryptionAlgorithm.DesCbc when keyLengthBits is 0 or 64 => 8,
        IkeEncryptionAlgorithm.TripleDesCbc when keyLengthBits is 0 or 192 => 24,
        IkeEncryptionAlgorithm.AesCbc when keyLengthBits is 128 or 192 or 256 => keyLengthBits / 8,
        _ => 0,
    };
}
