using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;

namespace IkeActors.Esp;

/// <summary>
/// AES-CBC (RFC 3602) on the CPU's AES instructions, for ESP's small packets: the key schedule once per SA (FIPS-197
/// §5.2, and the equivalent inverse cipher's round keys, §5.3.5), then per packet only the rounds, with no call into
/// OpenSSL (whose fixed cost per call is most of a small packet's CBC). Decryption runs four blocks at a time, as CBC
/// decryption allows. Where the instructions are missing (<see cref="IsSupported"/>) the caller keeps the
/// ICryptoTransform path. Not thread-safe: one per SA direction.
/// </summary>
internal sealed class AesNiCbc : IDisposable
{
    private const int Block = 16;
    private readonly Vector128<byte>[] _encryptKeys, _decryptKeys; // key-equivalent: zeroed by Dispose
    private readonly int _rounds;
    private bool _disposed;

    public static bool IsSupported => X86Aes.IsSupported;

    public AesNiCbc(ReadOnlySpan<byte> key)
    {
        if (!IsSupported) throw new PlatformNotSupportedException("no AES instructions on this CPU");
        if (key.Length is not (16 or 24 or 32)) throw new ArgumentException($"an AES key is 16, 24 or 32 bytes, not {key.Length}", nameof(key));
        int nk = key.Length / 4;
        _rounds = nk + 6; // FIPS-197 §5: Nr = 10, 12, 14
        _encryptKeys = new Vector128<byte>[_rounds + 1];
        _decryptKeys = new Vector128<byte>[_rounds + 1];
        ExpandKey(key, nk, _rounds, _encryptKeys);
        // §5.3.5: the equivalent inverse cipher uses the round keys in reverse, InvMixColumns applied to all but the ends.
        _decryptKeys[0] = _encryptKeys[_rounds];
        for (int i = 1; i < _rounds; i++)
        {
            _decryptKeys[i] = X86Aes.InverseMixColumns(_encryptKeys[_rounds - i]);
        }
        _decryptKeys[_rounds] = _encryptKeys[0];
    }

    /// <summary>FIPS-197 §5.2 KeyExpansion, words kept little-endian (byte 0 lowest), SubWord from AESKEYGENASSIST.</summary>
    private static void ExpandKey(ReadOnlySpan<byte> key, int nk, int rounds, Vector128<byte>[] roundKeys)
    {
        Span<uint> w = stackalloc uint[4 * (15)];
        w = w[..(4 * (rounds + 1))];
        try
        {
            MemoryMarshal.Cast<byte, uint>(key).CopyTo(w); // w[i] = key[4i..4i+3], as the host (little-endian) reads it
            uint rcon = 1;
            for (int i = nk; i < w.Length; i++)
            {
                uint temp = w[i - 1];
                if (i % nk == 0)
                {
                    temp = SubWord(RotateRight(temp, 8)) ^ rcon; // SubWord(RotWord(temp)) xor Rcon[i/Nk]
                    rcon = rcon << 1 ^ (rcon >= 0x80 ? 0x11bu : 0); // x^(i/Nk) in GF(2^8)
                }
                else if (nk > 6 && i % nk == 4)
                {
                    temp = SubWord(temp);
                }
                w[i] = w[i - nk] ^ temp;
            }
            for (int r = 0; r <= rounds; r++)
            {
                roundKeys[r] = Vector128.Create(w[4 * r], w[4 * r + 1], w[4 * r + 2], w[4 * r + 3]).AsByte();
            }
        }
        finally
        {
            w.Clear();
        }
    }

    private static uint RotateRight(uint value, int bits) => value >> bits | value << (32 - bits);

    /// <summary>The S-box on each byte of a word: AESKEYGENASSIST's lowest word is SubWord of its second input word.</summary>
    private static uint SubWord(uint word) => X86Aes.KeygenAssist(Vector128.Create(0, word, 0, 0).AsByte(), 0).AsUInt32().ToScalar();

    /// <summary>
    /// Encrypts whole blocks with the given IV (RFC 3602 §2.1: C1 = E(P1 xor IV), Ci = E(Pi xor Ci-1)); source and destination
    /// may be the same span.
    /// </summary>
    public void Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> iv, Span<byte> destination)
    {
        Check(plaintext.Length, iv.Length, destination.Length);
        ref byte src = ref MemoryMarshal.GetReference(plaintext);
        ref byte dst = ref MemoryMarshal.GetReference(destination);
        var keys = _encryptKeys;
        int last = _rounds;
        Vector128<byte> chain = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(iv));
        for (nuint offset = 0; offset < (nuint)plaintext.Length; offset += Block)
        {
            var x = Vector128.LoadUnsafe(ref src, offset) ^ chain ^ keys[0];
            for (int r = 1; r < last; r++)
            {
                x = X86Aes.Encrypt(x, keys[r]);
            }
            chain = X86Aes.EncryptLast(x, keys[last]);
            chain.StoreUnsafe(ref dst, offset);
        }
    }

    /// <summary>Decrypts whole blocks (Pi = D(Ci) xor Ci-1, C0 = IV), four at a time; source and destination may be the same span.</summary>
    public void Decrypt(ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> iv, Span<byte> destination)
    {
        Check(ciphertext.Length, iv.Length, destination.Length);
        ref byte src = ref MemoryMarshal.GetReference(ciphertext);
        ref byte dst = ref MemoryMarshal.GetReference(destination);
        var keys = _decryptKeys;
        int last = _rounds;
        nuint length = (nuint)ciphertext.Length, offset = 0;
        Vector128<byte> previous = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(iv));
        for (; offset + 4 * Block <= length; offset += 4 * Block)
        {
            // Every block read before any is written: in place works.
            var c0 = Vector128.LoadUnsafe(ref src, offset);
            var c1 = Vector128.LoadUnsafe(ref src, offset + Block);
            var c2 = Vector128.LoadUnsafe(ref src, offset + 2 * Block);
            var c3 = Vector128.LoadUnsafe(ref src, offset + 3 * Block);
            Vector128<byte> k = keys[0], x0 = c0 ^ k, x1 = c1 ^ k, x2 = c2 ^ k, x3 = c3 ^ k;
            for (int r = 1; r < last; r++)
            {
                k = keys[r];
                x0 = X86Aes.Decrypt(x0, k);
                x1 = X86Aes.Decrypt(x1, k);
                x2 = X86Aes.Decrypt(x2, k);
                x3 = X86Aes.Decrypt(x3, k);
            }
            k = keys[last];
            (X86Aes.DecryptLast(x0, k) ^ previous).StoreUnsafe(ref dst, offset);
            (X86Aes.DecryptLast(x1, k) ^ c0).StoreUnsafe(ref dst, offset + Block);
            (X86Aes.DecryptLast(x2, k) ^ c1).StoreUnsafe(ref dst, offset + 2 * Block);
            (X86Aes.DecryptLast(x3, k) ^ c2).StoreUnsafe(ref dst, offset + 3 * Block);
            previous = c3;
        }
        for (; offset < length; offset += Block)
        {
            var c = Vector128.LoadUnsafe(ref src, offset);
            var x = c ^ keys[0];
            for (int r = 1; r < last; r++)
            {
                x = X86Aes.Decrypt(x, keys[r]);
            }
            (X86Aes.DecryptLast(x, keys[last]) ^ previous).StoreUnsafe(ref dst, offset);
            previous = c;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Check(int length, int ivLength, int destinationLength)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (length % Block != 0 || ivLength < Block || destinationLength < length)
        {
            throw new ArgumentException($"CBC takes whole {Block}-byte blocks, a {Block}-byte IV and room for the output");
        }
    }

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(_encryptKeys.AsSpan()));
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(_decryptKeys.AsSpan()));
    }
}
