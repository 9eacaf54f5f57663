namespace IkeActors.Esp;

/// <summary>ESP encryption transforms (RFC 4303 §3.2; CBC ciphers per RFC 2451 / RFC 3602).</summary>
public enum EspCipher
{
    /// <summary>ESP_NULL (RFC 2410): no confidentiality, 4-byte alignment only.</summary>
    Null,
    /// <summary>DES-CBC (RFC 2405), kept for old peers.</summary>
    DesCbc,
    /// <summary>3DES-CBC (RFC 2451), the ASA's esp-3des.</summary>
    TripleDesCbc,
    /// <summary>AES-CBC 128 (RFC 3602), esp-aes.</summary>
    Aes128Cbc,
    /// <summary>AES-CBC 192 (RFC 3602), esp-aes-192.</summary>
    Aes192Cbc,
    /// <summary>AES-CBC 256 (RFC 3602), esp-aes-256.</summary>
    Aes256Cbc,
    /// <summary>AES-GCM 128 with a 16-octet ICV (RFC 4106, ESP_AES_GCM_16), esp-aes-gcm: encryption and integrity in one.</summary>
    Aes128Gcm16,
    /// <summary>AES-GCM 192, 16-octet ICV (RFC 4106), esp-aes-192-gcm.</summary>
    Aes192Gcm16,
    /// <summary>AES-GCM 256, 16-octet ICV (RFC 4106), esp-aes-256-gcm.</summary>
    Aes256Gcm16,
}

/// <summary>ESP integrity transforms: HMACs truncated to the ICV length.</summary>
public enum EspIntegrity
{
    /// <summary>No ICV (only with a cipher; RFC 4303 §3.2 discourages it).</summary>
    None,
    /// <summary>HMAC-MD5-96 (RFC 2403), esp-md5-hmac.</summary>
    HmacMd5_96,
    /// <summary>HMAC-SHA1-96 (RFC 2404), esp-sha-hmac.</summary>
    HmacSha1_96,
    /// <summary>HMAC-SHA-256-128 (RFC 4868), esp-sha256-hmac.</summary>
    HmacSha256_128,
    /// <summary>HMAC-SHA-384-192 (RFC 4868), esp-sha384-hmac.</summary>
    HmacSha384_192,
    /// <summary>HMAC-SHA-512-256 (RFC 4868), esp-sha512-hmac.</summary>
    HmacSha512_256,
}

/// <summary>Sizes of each transform: key, block (padding alignment), explicit IV, ICV.</summary>
public static class EspAlgorithms
{
    public static int KeySize(this EspCipher c) => c switch
    {
        EspCipher.Null => 0,
        EspCipher.DesCbc => 8,
        EspCipher.TripleDesCbc => 24,
        EspCipher.Aes128Cbc => 16,
        EspCipher.Aes192Cbc => 24,
        EspCipher.Aes256Cbc => 32,
        // RFC 4106 §8.1: KEYMAT gives the AES key and then the 4-octet salt.
        EspCipher.Aes128Gcm16 => 16 + GcmSaltSize,
        EspCipher.Aes192Gcm16 => 24 + GcmSaltSize,
        EspCipher.Aes256Gcm16 => 32 + GcmSaltSize,
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };

    /// <summary>RFC 4106 §4: the nonce's implicit part, from the keying material.</summary>
    public const int GcmSaltSize = 4;

    /// <summary>A combined-mode transform (RFC 4303 §3.2.3): its own ICV, no separate integrity algorithm.</summary>
    public static bool IsAead(this EspCipher c) => c is EspCipher.Aes128Gcm16 or EspCipher.Aes192Gcm16 or EspCipher.Aes256Gcm16;

    /// <summary>The ICV a combined-mode transform appends (RFC 4106 §6: 16 octets for ESP_AES_GCM_16); 0 otherwise.</summary>
    public static int AeadIcvSize(this EspCipher c) => c.IsAead() ? 16 : 0;

    /// <summary>The padding alignment: the cipher's block; NULL and GCM pad to 4 (RFC 4303 §2.4, RFC 4106 §3.2).</summary>
    public static int BlockSize(this EspCipher c) => c switch
    {
        EspCipher.Null => 4,
        EspCipher.DesCbc or EspCipher.TripleDesCbc => 8,
        _ when c.IsAead() => 4,
        _ => 16,
    };

    /// <summary>Explicit IV carried in every packet (RFC 2451 §3, RFC 3602 §3: one cipher block; RFC 4106 §3.1: 8 octets); none for NULL.</summary>
    public static int IvSize(this EspCipher c) => c switch
    {
        EspCipher.Null => 0,
        _ when c.IsAead() => 8,
        _ => c.BlockSize(),
    };

    public static int KeySize(this EspIntegrity i) => i switch
    {
        EspIntegrity.None => 0,
        EspIntegrity.HmacMd5_96 => 16,       // RFC 2403 §3
        EspIntegrity.HmacSha1_96 => 20,      // RFC 2404 §3
        EspIntegrity.HmacSha256_128 => 32,   // RFC 4868 §2.1.1
        EspIntegrity.HmacSha384_192 => 48,
        EspIntegrity.HmacSha512_256 => 64,
        _ => throw new ArgumentOutOfRangeException(nameof(i)),
    };

    /// <summary>Truncated ICV length (the "-96", "-128" ... of the names).</summary>
    public static int IcvSize(this EspIntegrity i) => i switch
    {
        EspIntegrity.None => 0,
        EspIntegrity.HmacMd5_96 or EspIntegrity.HmacSha1_96 => 12,
        EspIntegrity.HmacSha256_128 => 16,
        EspIntegrity.HmacSha384_192 => 24,
        EspIntegrity.HmacSha512_256 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(i)),
    };

    /// <summary>Full HMAC output length before truncation.</summary>
    internal static int HashSize(this EspIntegrity i) => i switch
    {
        EspIntegrity.None => 0,
        EspIntegrity.HmacMd5_96 => 16,
        EspIntegrity.HmacSha1_96 => 20,
        EspIntegrity.HmacSha256_128 => 32,
        EspIntegrity.HmacSha384_192 => 48,
        EspIntegrity.HmacSha512_256 => 64,
        _ => throw new ArgumentOutOfRangeException(nameof(i)),
    };

    /// <summary>Largest ESP overhead for a transform pair: SPI+Seq 8, IV, max padding (block-1), pad length and next header 2, ICV.</summary>
    public static int MaxOverhead(EspCipher c, EspIntegrity i) => 8 + c.IvSize() + (c.BlockSize() - 1) + 2 + i.IcvSize() + c.AeadIcvSize();
}
