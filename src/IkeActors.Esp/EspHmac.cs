using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace IkeActors.Esp;

/// <summary>
/// HMAC (RFC 2104) under one key, per packet with no allocation. On Linux the inner and outer hash states (the key XOR
/// ipad and the key XOR opad block, one compression each, §2) are computed once, here, and every packet continues copies
/// of them through libcrypto's low-level digest functions (<see cref="Libcrypto"/>): about 3 compressions for a small
/// packet instead of OpenSSL 3's EVP_MAC dispatch. Where those functions are missing, a keyed <see cref="IncrementalHash"/>
/// reset after each packet. The path is chosen once, at creation. Not thread-safe.
/// </summary>
internal abstract class EspHmac : IDisposable
{
    private EspHmac(int hashSize) => HashSize = hashSize;

    /// <summary>The full output length L (RFC 2104 §2).</summary>
    public int HashSize { get; }

    /// <summary>True when per-packet work continues the precomputed libcrypto states.</summary>
    public abstract bool UsesLibcrypto { get; }

    /// <summary>
    /// Writes the leftmost <c>mac.Length</c> bytes (1 to <see cref="HashSize"/>) of HMAC(K, data): RFC 2104 §5 truncation,
    /// as the ESP ICVs are (RFC 2404 §2, RFC 4868 §2.3).
    /// </summary>
    public abstract void Compute(ReadOnlySpan<byte> data, Span<byte> mac);

    /// <summary>Forgets the key (the precomputed states are key-equivalent); <see cref="Compute"/> throws after it.</summary>
    public abstract void Dispose();

    /// <summary>
    /// HMAC over MD5, SHA-1, SHA-256, SHA-384 or SHA-512 with a key of any length; <paramref name="useLibcrypto"/> false
    /// forces the <see cref="IncrementalHash"/> path (tests run both).
    /// </summary>
    public static EspHmac Create(HashAlgorithmName hash, ReadOnlySpan<byte> key, bool useLibcrypto = true)
    {
        int size = HashSizeOf(hash);
        if (useLibcrypto)
        {
            int block = Libcrypto.BlockSize(hash);
            EspHmac? precomputed = hash.Name switch
            {
                "MD5" when Libcrypto.Md5.IsAvailable => new Precomputed<Libcrypto.Md5Ctx>(Libcrypto.Md5, key, block, size),
                "SHA1" when Libcrypto.Sha1.IsAvailable => new Precomputed<Libcrypto.Sha1Ctx>(Libcrypto.Sha1, key, block, size),
                "SHA256" when Libcrypto.Sha256.IsAvailable => new Precomputed<Libcrypto.Sha256Ctx>(Libcrypto.Sha256, key, block, size),
                "SHA384" when Libcrypto.Sha384.IsAvailable => new Precomputed<Libcrypto.Sha512Ctx>(Libcrypto.Sha384, key, block, size),
                "SHA512" when Libcrypto.Sha512.IsAvailable => new Precomputed<Libcrypto.Sha512Ctx>(Libcrypto.Sha512, key, block, size),
                _ => null,
            };
            if (precomputed is not null)
            {
                return precomputed;
            }
        }
        return new Incremental(hash, key, size);
    }

    private static int HashSizeOf(HashAlgorithmName hash) => hash.Name switch
    {
        "MD5" => 16,
        "SHA1" => 20,
        "SHA256" => 32,
        "SHA384" => 48,
        "SHA512" => 64,
        _ => throw new ArgumentException($"no HMAC over {hash.Name} here", nameof(hash)),
    };

    private void CheckLength(Span<byte> mac)
    {
        if (mac.Length == 0 || mac.Length > HashSize)
        {
            throw new ArgumentException($"an HMAC of {HashSize} bytes truncates to 1..{HashSize}, not {mac.Length}", nameof(mac));
        }
    }

    /// <summary>
    /// The precomputed states in libcrypto's own structs (<typeparamref name="TCtx"/>), continued per packet: copy the inner
    /// state, hash the data, finish; copy the outer state, hash the inner digest, finish.
    /// </summary>
    internal sealed unsafe class Precomputed<TCtx> : EspHmac where TCtx : unmanaged
    {
        private readonly Libcrypto.Digest _digest;
        private TCtx _inner, _outer; // key-equivalent: zeroed by Dispose
        private bool _disposed;

        public Precomputed(Libcrypto.Digest digest, ReadOnlySpan<byte> key, int blockSize, int hashSize) : base(hashSize)
        {
            _digest = digest;
            byte* pad = stackalloc byte[128];
            TCtx inner = default, outer = default;
            try
            {
                new Span<byte>(pad, blockSize).Clear(); // RFC 2104 §2 (1): a shorter key is zero-filled to B bytes
                if (key.Length > blockSize)
                {
                    // RFC 2104 §2: a key longer than B is hashed first, K = H(K).
                    fixed (byte* k = key)
                    {
                        digest.Init(&inner);
                        digest.Update(&inner, k, (nuint)key.Length);
                        digest.Final(pad, &inner);
                    }
                }
                else
                {
                    key.CopyTo(new Span<byte>(pad, blockSize));
                }
                // §2 (2): K XOR ipad, the inner hash's first block; (5): K XOR opad, the outer hash's.
                for (int i = 0; i < blockSize; i++) pad[i] ^= 0x36;
                digest.Init(&inner);
                digest.Update(&inner, pad, (nuint)blockSize);
                for (int i = 0; i < blockSize; i++) pad[i] ^= 0x36 ^ 0x5c;
                digest.Init(&outer);
                digest.Update(&outer, pad, (nuint)blockSize);
                _inner = inner;
                _outer = outer;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(new Span<byte>(pad, 128));
                Libcrypto.Zero(ref inner);
                Libcrypto.Zero(ref outer);
            }
        }

        public override bool UsesLibcrypto => true;

        [SkipLocalsInit]
        public override void Compute(ReadOnlySpan<byte> data, Span<byte> mac)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CheckLength(mac);
            byte* digest = stackalloc byte[64];
            TCtx ctx = _inner; // H(K XOR ipad, data): the key block is already in the state (§2 steps 3-4)
            if (!data.IsEmpty)
            {
                fixed (byte* p = data)
                {
                    _digest.Update(&ctx, p, (nuint)data.Length);
                }
            }
            _digest.Final(digest, &ctx);
            ctx = _outer; // H(K XOR opad, inner digest) (§2 steps 6-7)
            _digest.Update(&ctx, digest, (nuint)HashSize);
            _digest.Final(digest, &ctx);
            new ReadOnlySpan<byte>(digest, mac.Length).CopyTo(mac);
            CryptographicOperations.ZeroMemory(new Span<byte>(digest, HashSize));
            Libcrypto.Zero(ref ctx);
        }

        public override void Dispose()
        {
            _disposed = true;
            Libcrypto.Zero(ref _inner);
            Libcrypto.Zero(ref _outer);
        }
    }

    /// <summary>The fallback: .NET's keyed HMAC, reset after every packet (what every SA used before).</summary>
    internal sealed class Incremental : EspHmac
    {
        private readonly IncrementalHash _hmac;

        public Incremental(HashAlgorithmName hash, ReadOnlySpan<byte> key, int hashSize) : base(hashSize) =>
            _hmac = IncrementalHash.CreateHMAC(hash, key);

        public override bool UsesLibcrypto => false;

        public override void Compute(ReadOnlySpan<byte> data, Span<byte> mac)
        {
            CheckLength(mac);
            Span<byte> full = stackalloc byte[64];
            _hmac.AppendData(data);
            _hmac.TryGetHashAndReset(full, out int written);
            full[..mac.Length].CopyTo(mac);
            CryptographicOperations.ZeroMemory(full[..written]);
        }

        public override void Dispose() => _hmac.Dispose();
    }
}
