using System.Buffers;
using System.Security.Cryptography;

namespace IkeActors.Esp;

/// <summary>
/// One SA's CBC cipher (RFC 2451, RFC 3602). The key schedule is done once: one CBC encryptor and one
/// decryptor transform live as long as the SA and are never finalised, so OpenSSL keeps chaining from the
/// last block of the previous packet. Each packet has its own explicit IV, so the first block is corrected
/// for the chaining value the transform will use (C_prev): encrypt feeds P1 ^ IV ^ C_prev (the transform
/// XORs C_prev back in); decrypt XORs C_prev ^ IV into its first output block. This costs one native call
/// per packet and no allocation, where the one-shot EncryptCbc re-keys and allocates on every call.
/// AES on a CPU with AES instructions goes through <see cref="AesNiCbc"/> instead: the key schedule once and no native
/// call per packet, whose fixed cost was most of a small packet's CBC. Not thread-safe: the SA serialises its packets.
/// </summary>
internal sealed class EspCipherEngine : IDisposable
{
    private readonly AesNiCbc? _aesNi;
    private readonly SymmetricAlgorithm? _algorithm;
    private readonly ICryptoTransform? _encryptor, _decryptor;
    private readonly byte[] _encryptChain = [], _decryptChain = [];
    private readonly int _block;

    public EspCipherEngine(EspCipher cipher, ReadOnlySpan<byte> key) : this(cipher, key, useAesNi: true)
    {
    }

    /// <summary><paramref name="useAesNi"/> false keeps AES on the ICryptoTransform path (tests and benchmarks).</summary>
    internal EspCipherEngine(EspCipher cipher, ReadOnlySpan<byte> key, bool useAesNi)
    {
        Cipher = cipher;
        if (key.Length != cipher.KeySize())
        {
            throw new ArgumentException($"{cipher} needs a {cipher.KeySize()}-byte key, got {key.Length}", nameof(key));
        }
        _block = cipher.BlockSize();
        if (useAesNi && cipher is (EspCipher.Aes128Cbc or EspCipher.Aes192Cbc or EspCipher.Aes256Cbc) && AesNiCbc.IsSupported)
        {
            _aesNi = new AesNiCbc(key);
            return;
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
            _algorithm.Mode = CipherMode.CBC;
            _algorithm.Padding = PaddingMode.None;
            _algorithm.IV = new byte[_block];          // the chaining value before the first packet
            _encryptor = _algorithm.CreateEncryptor();
            _decryptor = _algorithm.CreateDecryptor();
            _encryptChain = new byte[_block];
            _decryptChain = new byte[_block];
        }
    }

    public EspCipher Cipher { get; }

    /// <summary>AES runs on the CPU's AES instructions (<see cref="AesNiCbc"/>).</summary>
    internal bool UsesAesNi => _aesNi is not null;

    /// <summary>Encrypts whole blocks (the caller has padded, RFC 4303 §2.4); source and destination may be the same span.</summary>
    public void Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> iv, Span<byte> destination)
    {
        if (_aesNi is not null)
        {
            _aesNi.Encrypt(plaintext, iv, destination);
            return;
        }
        if (_encryptor is null)
        {
            plaintext.CopyTo(destination);
            return;
        }
        int n = plaintext.Length;
        if (n == 0)
        {
            return; // no block, and no chaining value to carry
        }
        byte[] input = ArrayPool<byte>.Shared.Rent(n), output = ArrayPool<byte>.Shared.Rent(n);
        try
        {
            plaintext.CopyTo(input);
            for (int i = 0; i < _block; i++)
            {
                input[i] ^= (byte)(iv[i] ^ _encryptChain[i]);
            }
            _encryptor.TransformBlock(input, 0, n, output, 0);
            output.AsSpan(n - _block, _block).CopyTo(_encryptChain);
            output.AsSpan(0, n).CopyTo(destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    /// <summary>
    /// Several packets' bodies at once, in place (<see cref="AesNiCbc.EncryptMany"/>): only on the AES instructions
    /// (<see cref="UsesAesNi"/>); the other ciphers encrypt one packet at a time.
    /// </summary>
    public void EncryptMany(Span<byte> buffer, ReadOnlySpan<CbcLane> lanes)
    {
        if (_aesNi is null) throw new InvalidOperationException("only AES on the AES instructions encrypts several packets at once");
        _aesNi.EncryptMany(buffer, lanes);
    }

    /// <summary>Decrypts whole blocks; source and destination may be the same span.</summary>
    public void Decrypt(ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> iv, Span<byte> destination)
    {
        if (_aesNi is not null)
        {
            _aesNi.Decrypt(ciphertext, iv, destination);
            return;
        }
        if (_decryptor is null)
        {
            ciphertext.CopyTo(destination);
            return;
        }
        int n = ciphertext.Length;
        if (n == 0)
        {
            return; // no block, and no chaining value to carry
        }
        byte[] input = ArrayPool<byte>.Shared.Rent(n), output = ArrayPool<byte>.Shared.Rent(n);
        try
        {
            ciphertext.CopyTo(input);
            _decryptor.TransformBlock(input, 0, n, output, 0);
            for (int i = 0; i < _block; i++)
            {
                output[i] ^= (byte)(iv[i] ^ _decryptChain[i]);
            }
            input.AsSpan(n - _block, _block).CopyTo(_decryptChain);
            output.AsSpan(0, n).CopyTo(destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    public void Dispose()
    {
        _aesNi?.Dispose();
        _encryptor?.Dispose();
        _decryptor?.Dispose();
        _algorithm?.Dispose();
    }
}
