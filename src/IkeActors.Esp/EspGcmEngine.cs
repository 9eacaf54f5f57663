using System.Buffers.Binary;
using System.Security.Cryptography;

namespace IkeActors.Esp;

/// <summary>
/// One SA's AES-GCM (RFC 4106): the key schedule once, the 4-octet salt from the end of the keying material (§8.1),
/// and per packet the nonce salt | explicit IV (§4), the AAD SPI | sequence number (§5, 32-bit numbers) and a 16-octet
/// ICV (§6). Through libcrypto's EVP interface where it is there (<see cref="EvpGcm"/>: one context per direction used,
/// a forged packet refused without an exception), else .NET's <see cref="AesGcm"/>. No allocation per packet. Not
/// thread-safe: the SA serialises its packets.
/// </summary>
internal sealed class EspGcmEngine : IDisposable
{
    public const int IvSize = 8, IcvSize = 16, AadSize = 8;
    private readonly AesGcm? _gcm;
    private byte[]? _key; // the EVP path's key, for the context of the first direction used (cleared on Dispose)
    private EvpGcm.Context? _seal, _open;
    private readonly uint _salt;

    /// <param name="native">Libcrypto's EVP GCM when available (the default); false: .NET's AesGcm (tests, benchmarks).</param>
    public EspGcmEngine(EspCipher cipher, ReadOnlySpan<byte> keyAndSalt, bool native = true)
    {
        if (!cipher.IsAead() || keyAndSalt.Length != cipher.KeySize())
            throw new ArgumentException($"{cipher} needs a {cipher.KeySize()}-byte key and salt, got {keyAndSalt.Length}", nameof(keyAndSalt));
        var key = keyAndSalt[..^EspAlgorithms.GcmSaltSize];
        if (native && EvpGcm.IsAvailable) _key = key.ToArray();
        else _gcm = new AesGcm(key, IcvSize);
        _salt = BinaryPrimitives.ReadUInt32BigEndian(keyAndSalt[^EspAlgorithms.GcmSaltSize..]);
    }

    /// <summary>Libcrypto's EVP interface does the work (not .NET's AesGcm).</summary>
    public bool IsNative => _gcm is null;

    /// <summary>Encrypts <paramref name="body"/> in place and writes the ICV (RFC 4106 §3: payload, padding, pad length, next header).</summary>
    public void Seal(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, Span<byte> body, Span<byte> icv)
    {
        Span<byte> nonce = stackalloc byte[12];
        Nonce(iv, nonce);
        if (_gcm is not null) _gcm.Encrypt(nonce, body, body, icv, aad);
        else EvpGcm.Seal(_seal ??= NewContext(encrypt: true), nonce, aad, body, icv);
    }

    /// <summary>Verifies the ICV and decrypts <paramref name="body"/> in place; false (the body zeroed) when the ICV does not match.</summary>
    public bool Open(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, Span<byte> body, ReadOnlySpan<byte> icv)
    {
        Span<byte> nonce = stackalloc byte[12];
        Nonce(iv, nonce);
        if (_gcm is null) return EvpGcm.Open(_open ??= NewContext(encrypt: false), nonce, aad, body, icv);
        try
        {
            _gcm.Decrypt(nonce, body, icv, body, aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false; // .NET clears the output on a mismatch
        }
    }

    /// <summary>A direction's context, made the first time the SA uses it (an SA is outbound or inbound: one of the two).</summary>
    private EvpGcm.Context NewContext(bool encrypt)
    {
        ObjectDisposedException.ThrowIf(_key is null, this);
        return EvpGcm.Create(_key, encrypt);
    }

    private void Nonce(ReadOnlySpan<byte> iv, Span<byte> nonce)
    {
        BinaryPrimitives.WriteUInt32BigEndian(nonce, _salt);
        iv.CopyTo(nonce[4..]);
    }

    public void Dispose()
    {
        _gcm?.Dispose();
        _seal?.Dispose();
        _open?.Dispose();
        if (_key is not null) CryptographicOperations.ZeroMemory(_key);
        _key = null;
    }
}
