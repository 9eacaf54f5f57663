using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace IkeActors.Crypto;

/// <summary>How <see cref="IsakmpCipher.TryEncrypt"/> pads the message body.</summary>
public enum IsakmpPadding
{
    /// <summary>
    /// 1 to block-size zero octets: always at least one, a whole block when the body is already
    /// aligned. This is exactly what strongSwan 5.9 sends (every encrypted message in the captured
    /// runs under tests/data/vectors/ is padded so, and our MM5 re-encryption is byte-identical). Receivers
    /// (strongSwan, Libreswan, the ASA) take payload lengths from the payload chain and ignore
    /// the padding (RFC 2408 §3.1: the header length includes it).
    /// </summary>
    ZeroAtLeastOneOctet = 0,

    /// <summary>Zero octets up to the next block boundary, none if already aligned.</summary>
    ZeroToBlock = 1,

    /// <summary>
    /// RFC 2409 appendix B: zero octets, the last padding octet holding the number of padding
    /// octets before it; there is always at least one padding octet.
    /// </summary>
    Rfc2409CountByte = 2,
}

/// <summary>
/// Encryption of ISAKMP message bodies (everything after the 28-byte header) with CBC and the
/// IKEv1 IV rules of RFC 2409 appendix B:
/// <list type="bullet">
/// <item>phase 1 (message ID 0) starts with the phase-1 IV, hash(g^xi | g^xr);</item>
/// <item>each following message uses the last ciphertext block of the previous one (chaining);</item>
/// <item>a phase-2 exchange (Quick Mode, Informational) with message ID M starts with
///   hash(last phase-1 CBC output block | M), truncated to the block size, and then chains
///   within that exchange.</item>
/// </list>
/// Decryption never changes state: after the message has been authenticated (HASH verified)
/// the caller calls <see cref="AcceptReceived"/>, so a forged or corrupted datagram cannot
/// desynchronise the IV. Every decryption failure is the same <c>false</c>, whatever the cause.
/// Not thread-safe: one instance per IKE SA, used by that SA's single-threaded owner.
/// </summary>
public sealed class IsakmpCipher : IDisposable
{
    private const int MaxBlock = 16;

    private SymmetricAlgorithm? _algorithm;
    private readonly IkeHashAlgorithm _hash;
    private readonly byte[] _phase1Iv;
    private readonly Dictionary<uint, byte[]> _phase2Ivs = [];
    private readonly bool _decryptOnly;

    private IsakmpCipher(SymmetricAlgorithm algorithm, IkeEncryptionAlgorithm cipher, IkeHashAlgorithm hash, ReadOnlySpan<byte> phase1Iv, bool decryptOnly)
    {
        _algorithm = algorithm;
        Cipher = cipher;
        _hash = hash;
        BlockSize = IkeAlgorithms.BlockSize(cipher);
        _phase1Iv = phase1Iv[..BlockSize].ToArray();
        _decryptOnly = decryptOnly;
    }

    public IkeEncryptionAlgorithm Cipher { get; }

    public int BlockSize { get; }

    /// <summary>Padding used by <see cref="TryEncrypt"/>.</summary>
    public IsakmpPadding Padding { get; set; } = IsakmpPadding.ZeroAtLeastOneOctet;

    /// <summary>
    /// Creates the cipher state of an IKE SA. Fails (false, no exception) for an unsupported cipher
    /// or hash, a key of the wrong length, a weak (3)DES key, or an IV shorter than the block.
    /// DES-CBC is decrypt-only (diagnostics of legacy peers).
    /// </summary>
    public static bool TryCreate(IkeEncryptionAlgorithm cipher, ReadOnlySpan<byte> key, IkeHashAlgorithm hash,
        ReadOnlySpan<byte> phase1Iv, [NotNullWhen(true)] out IsakmpCipher? result)
    {
        result = null;
        int block = IkeAlgorithms.BlockSize(cipher);
        if (block == 0 || !IkeAlgorithms.IsSupported(hash) || phase1Iv.Length < block)
        {
            return false;
        }
        bool keyLengthOk = cipher switch
        {
            IkeEncryptionAlgorithm.AesCbc => key.Length is 16 or 24 or 32,
            IkeEncryptionAlgorithm.TripleDesCbc => key.Length == 24,
            IkeEncryptionAlgorithm.DesCbc => key.Length == 8,
            _ => false,
        };
        if (!keyLengthOk || Phase1Keys.IsWeakKey(cipher, key))
        {
            return false;
        }
        SymmetricAlgorithm algorithm = cipher switch
        {
            IkeEncryptionAlgorithm.AesCbc => Aes.Create(),
            IkeEncryptionAlgorithm.TripleDesCbc => TripleDES.Create(),
            _ => DES.Create(),
        };
        byte[] keyCopy = key.ToArray();
        try
        {
            algorithm.Key = keyCopy; // copied again inside; SymmetricAlgorithm.Dispose clears that copy
        }
        catch (CryptographicException)
        {
            algorithm.Dispose();
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyCopy);
        }
        result = new IsakmpCipher(algorithm, cipher, hash, phase1Iv, cipher == IkeEncryptionAlgorithm.DesCbc);
        return true;
    }

    /// <summary>The cipher for derived phase-1 keys (Ka and the phase-1 IV).</summary>
    public static bool TryCreate(Phase1Keys keys, [NotNullWhen(true)] out IsakmpCipher? result) =>
        TryCreate(keys.Cipher, keys.EncryptionKey, keys.Hash, keys.Phase1Iv, out result);

    /// <summary>Length of the encrypted body for a plaintext body of the given length.</summary>
    public int GetCiphertextLength(int plaintextLength) => Padding switch
    {
        IsakmpPadding.ZeroToBlock => (plaintextLength + BlockSize - 1) / BlockSize * BlockSize,
        _ => (plaintextLength / BlockSize + 1) * BlockSize,
    };

    /// <summary>
    /// The IV the next message with <paramref name="messageId"/> is encrypted or decrypted with.
    /// Message ID 0 is phase 1; any other ID is a phase-2 exchange (RFC 2409 appendix B).
    /// </summary>
    public void GetIv(uint messageId, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_algorithm is null, this);
        if (messageId == 0)
        {
            _phase1Iv.CopyTo(destination);
        }
        else if (_phase2Ivs.TryGetValue(messageId, out byte[]? iv))
        {
            iv.CopyTo(destination);
        }
        else
        {
            DerivePhase2Iv(messageId, destination);
        }
    }

    /// <summary>RFC 2409 appendix B: IV(M-ID) = hash(last phase-1 CBC output block | M-ID), truncated.</summary>
    private void DerivePhase2Iv(uint messageId, Span<byte> destination)
    {
        Span<byte> mid = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mid, messageId);
        Span<byte> digest = stackalloc byte[64];
        IkePrf.Hash(_hash, digest, _phase1Iv, mid);
        digest[..BlockSize].CopyTo(destination);
    }

    /// <summary>
    /// Pads and encrypts a message body with the current IV for <paramref name="messageId"/>, then
    /// advances that IV to the last ciphertext block. False (nothing written, no state change) if
    /// <paramref name="destination"/> is too small or the cipher is DES (decrypt-only).
    /// </summary>
    public bool TryEncrypt(uint messageId, ReadOnlySpan<byte> plaintext, Span<byte> destination, out int written)
    {
        SymmetricAlgorithm algorithm = _algorithm ?? throw new ObjectDisposedException(nameof(IsakmpCipher));
        written = 0;
        int length = GetCiphertextLength(plaintext.Length);
        if (_decryptOnly || destination.Length < length)
        {
            return false;
        }
        Span<byte> iv = stackalloc byte[MaxBlock];
        iv = iv[..BlockSize];
        GetIv(messageId, iv);

        // Padding goes into the destination first, then encrypt in place.
        plaintext.CopyTo(destination);
        Span<byte> pad = destination[plaintext.Length..length];
        pad.Clear();
        if (Padding == IsakmpPadding.Rfc2409CountByte)
        {
            pad[^1] = (byte)(pad.Length - 1); // RFC 2409 appendix B
        }
        int n = algorithm.EncryptCbc(destination[..length], iv, destination, PaddingMode.None);
        SetIv(messageId, destination[(n - BlockSize)..n]);
        written = n;
        return true;
    }

    /// <summary>
    /// Decrypts a message body with the current IV for <paramref name="messageId"/> into
    /// <paramref name="destination"/> (padding included; the payload chain says where it ends).
    /// Does not change the IV state: call <see cref="AcceptReceived"/> once the message is
    /// authenticated. Returns false, with nothing written, for every kind of bad input (empty,
    /// not a whole number of blocks, destination too small) without telling which.
    /// </summary>
    public bool TryDecrypt(uint messageId, ReadOnlySpan<byte> ciphertext, Span<byte> destination, out int written)
    {
        SymmetricAlgorithm algorithm = _algorithm ?? throw new ObjectDisposedException(nameof(IsakmpCipher));
        written = 0;
        if (ciphertext.IsEmpty || ciphertext.Length % BlockSize != 0 || destination.Length < ciphertext.Length)
        {
            return false;
        }
        Span<byte> iv = stackalloc byte[MaxBlock];
        iv = iv[..BlockSize];
        GetIv(messageId, iv);
        if (!algorithm.TryDecryptCbc(ciphertext, iv, destination, out written, PaddingMode.None))
        {
            destination[..ciphertext.Length].Clear();
            written = 0;
            return false;
        }
        return true;
    }

    /// <summary>
    /// Checks the padding of a decrypted body whose payload chain is <paramref name="payloadChainLength"/>
    /// bytes long: the chain must fit and at most 255 padding octets may follow (any padding content is
    /// accepted, since peers differ: zeros, RFC 2409 appendix B count byte, random). Same generic false
    /// for every failure.
    /// </summary>
    public static bool IsPaddingAcceptable(int decryptedLength, int payloadChainLength) =>
        payloadChainLength > 0 && payloadChainLength <= decryptedLength && decryptedLength - payloadChainLength <= 255;

    /// <summary>
    /// Commits a received, authenticated message: the IV for its exchange becomes its last
    /// ciphertext block (RFC 2409 appendix B). Ignores input that is not whole blocks.
    /// </summary>
    public void AcceptReceived(uint messageId, ReadOnlySpan<byte> ciphertext)
    {
        ObjectDisposedException.ThrowIf(_algorithm is null, this);
        if (ciphertext.IsEmpty || ciphertext.Length % BlockSize != 0)
        {
            return;
        }
        SetIv(messageId, ciphertext[^BlockSize..]);
    }

    /// <summary>Drops the IV state of a finished or abandoned phase-2 exchange.</summary>
    public void ForgetMessageId(uint messageId) => _phase2Ivs.Remove(messageId);

    /// <summary>Number of phase-2 exchanges with IV state (for limits and tests).</summary>
    public int Phase2ExchangeCount => _phase2Ivs.Count;

    /// <summary>
    /// A copy of the IV state, for persisting an IKE SA (with its keys) and continuing it elsewhere:
    /// the current phase-1 IV (the last CBC block of phase 1) and the current IV of every phase-2
    /// exchange that has one. IVs are not secret (RFC 2409 appendix B), but they are only useful
    /// together with the key, so store them with the same care.
    /// </summary>
    public IsakmpIvState ExportIvs()
    {
        ObjectDisposedException.ThrowIf(_algorithm is null, this);
        return new IsakmpIvState(_phase1Iv.ToArray(), _phase2Ivs.OrderBy(kv => kv.Key).Select(kv => new KeyValuePair<uint, byte[]>(kv.Key, kv.Value.ToArray())).ToList());
    }

    /// <summary>
    /// Replaces the IV state with one exported by <see cref="ExportIvs"/> (on a cipher created for
    /// the same keys). All or nothing: false, with no change, if an IV is not exactly one block,
    /// a phase-2 entry has message ID 0, or a message ID repeats.
    /// </summary>
    public bool TryImportIvs(IsakmpIvState state)
    {
        ObjectDisposedException.ThrowIf(_algorithm is null, this);
        ArgumentNullException.ThrowIfNull(state);
        if (state.Phase1Iv is null || state.Phase1Iv.Length != BlockSize || state.Phase2Ivs is null)
        {
            return false;
        }
        var seen = new HashSet<uint>();
        foreach (var (messageId, iv) in state.Phase2Ivs)
        {
            if (messageId == 0 || iv is null || iv.Length != BlockSize || !seen.Add(messageId))
            {
                return false;
            }
        }
        state.Phase1Iv.CopyTo(_phase1Iv, 0);
        _phase2Ivs.Clear();
        foreach (var (messageId, iv) in state.Phase2Ivs)
        {
            _phase2Ivs[messageId] = iv.ToArray();
        }
        return true;
    }

    private void SetIv(uint messageId, ReadOnlySpan<byte> lastBlock)
    {
        if (messageId == 0)
        {
            lastBlock.CopyTo(_phase1Iv);
        }
        else
        {
            if (!_phase2Ivs.TryGetValue(messageId, out byte[]? iv))
            {
                iv = new byte[BlockSize];
                _phase2Ivs[messageId] = iv;
            }
            lastBlock.CopyTo(iv);
        }
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _algorithm, null)?.Dispose();
        _phase2Ivs.Clear();
    }
}

/// <summary>
/// The IV state of an <see cref="IsakmpCipher"/> (<see cref="IsakmpCipher.ExportIvs"/>): the current
/// phase-1 IV and the current IV of each live phase-2 exchange, by message ID.
/// </summary>
public sealed record IsakmpIvState(byte[] Phase1Iv, IReadOnlyList<KeyValuePair<uint, byte[]>> Phase2Ivs)
{
    public override string ToString() => $"IsakmpIvState({Phase2Ivs?.Count ?? 0} phase-2 exchanges)";
}
