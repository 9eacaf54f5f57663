using System.Buffers.Binary;
using System.Security.Cryptography;

namespace IkeActors.Esp;

/// <summary>
/// One SA's AES-GCM (RFC 4106): the key schedule once (an <see cref="AesGcm"/> per SA), the 4-octet salt from the end
/// of the keying material (§8.1), and per packet the nonce salt | explicit IV (§4), the AAD SPI | sequence number (§5,
/// 32-bit numbers) and a 16-octet ICV (§6). No allocation per packet. Not thread-safe: the SA serialises its packets.
/// </summary>
internal sealed class EspGcmEngine : IDisposable
{
    public const int IvSize = 8, IcvSize = 16, AadSize = 8;
    private readonly AesGcm _gcm;
    private readonly uint _salt;

    public EspGcmEngine(EspCipher cipher, ReadOnlySpan<byte> keyAndSalt)
    {
        if (!cipher.IsAead() || keyAndSalt.Length != cipher.KeySize())
            throw new ArgumentException($"{cipher} needs a {cipher.KeySize()}-byte key and salt, got {keyAndSalt.Length}", nameof(keyAndSalt));
        _gcm = new AesGcm(keyAndSalt[..^EspAlgorithms.GcmSaltSize], IcvSize);
        _salt = BinaryPrimitives.ReadUInt32BigEndian(keyAndSalt[^EspAlgorithms.GcmSaltSize..]);
    }

    /// <summary>Encrypts <paramref name="body"/> in place and writes the ICV (RFC 4106 §3: payload, padding, pad length, next header).</summary>
    public void Seal(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, Span<byte> body, Span<byte> icv)
    {
        Span<byte> nonce = stackalloc byte[12];
        Nonce(iv, nonce);
        _gcm.Encrypt(nonce, body, body, icv, aad);
    }

    /// <summary>Verifies the ICV and decrypts <paramref name="body"/> in place; false (body unspecified) when the ICV does not match.</summary>
    public bool Open(ReadOnlySpan<byte> iv, ReadOnlySpan<byte> aad, Span<byte> body, ReadOnlySpan<byte> icv)
    {
        Span<byte> nonce = stackalloc byte[12];
        Nonce(iv, nonce);
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

    private void Nonce(ReadOnlySpan<byte> iv, Span<byte> nonce)
    {
        BinaryPrimitives.WriteUInt32BigEndian(nonce, _salt);
        iv.CopyTo(nonce[4..]);
    }

    public void Dispose() => _gcm.Dispose();
}
