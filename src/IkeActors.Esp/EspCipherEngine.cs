using System.Security.Cryptography;

namespace IkeActors.Esp;

/// <summary>
/// One SA's CBC cipher (RFC 2451, RFC 3602): the transform is created once with the key and reused
/// for every packet with that packet's explicit IV. Not thread-safe: one per SA direction.
/// </summary>
internal sealed class EspCipherEngine : IDisposable
{
    private readonly SymmetricAlgorithm? _algorithm;

    public EspCipherEngine(EspCipher cipher, ReadOnlySpan<byte> key)
    {
        Cipher = cipher;
        if (key.Length != cipher.KeySize())
        {
            throw new ArgumentException($"{cipher} needs a {cipher.KeySize()}-byte key, got {key.Length}", nameof(key));
        }
        _algorithm = cipher switch
        {
            EspCipher.Null => null,
            EspCipher.DesCbc => DES.Create(),
            EspCipher.TripleDesCbc => TripleDES.Create(),
            _ => Aes.Create(),
        };
        if (_algorithm is not null)
        {
            // The setter copies the key into the implementation; our temporary copy is zeroed at once.
            byte[] k = key.ToArray();
            try
            {
                _algorithm.Key = k;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(k);
            }
        }
    }

    public EspCipher Cipher { get; }

    /// <summary>Encrypts whole blocks (the caller has padded, RFC 4303 §2.4); source and destination may be the same span.</summary>
    public void Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> iv, Span<byte> destination)
    {
        if (_algorithm is null)
        {
            plaintext.CopyTo(destination);
            return;
        }
        _algorithm.EncryptCbc(plaintext, iv, destination, PaddingMode.None);
    }

    /// <summary>Decrypts whole blocks; source and destination may be the same span.</summary>
    public void Decrypt(ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> iv, Span<byte> destination)
    {
        if (_algorithm is null)
        {
            ciphertext.CopyTo(destination);
            return;
        }
        _algorithm.DecryptCbc(ciphertext, iv, destination, PaddingMode.None);
    }

    public void Dispose() => _algorithm?.Dispose();
}
