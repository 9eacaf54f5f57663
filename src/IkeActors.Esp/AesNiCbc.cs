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

    /// <summary>The packets <see cref="EncryptMany"/> runs side by side.</summary>
    public const int Lanes = 8;

    /// <summary>
    /// Encrypts the bodies of several packets in place, each its own CBC chain from its own IV (RFC 3602 §2.1). One chain
    /// cannot go faster than an AES round's latency times the rounds per block (CBC encryption needs each block's output
    /// for the next); the chains of different packets do not depend on each other, so up to <see cref="Lanes"/> advance
    /// together and the AES unit's pipeline stays full: several packets for little more than the time of one. Lanes
    /// longer than the shortest of their group go on with their remaining blocks from their last ciphertext block (the
    /// chain's next IV), side by side again. Lanes must not overlap each other.
    /// </summary>
    public void EncryptMany(Span<byte> buffer, ReadOnlySpan<CbcLane> lanes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var lane in lanes)
        {
            if (lane.Length < 0 || lane.Length % Block != 0 || lane.IvOffset < 0 || lane.BodyOffset < 0
                || (long)lane.IvOffset + Block > buffer.Length || (long)lane.BodyOffset + lane.Length > buffer.Length)
            {
                throw new ArgumentException($"a CBC lane takes whole {Block}-byte blocks and a {Block}-byte IV inside the buffer");
            }
        }
        EncryptLanes(buffer, lanes);
    }

    private void EncryptLanes(Span<byte> buffer, ReadOnlySpan<CbcLane> lanes)
    {
        Span<CbcLane> group = stackalloc CbcLane[Lanes], rest = stackalloc CbcLane[Lanes];
        while (!lanes.IsEmpty)
        {
            int n = 0, common = int.MaxValue;
            while (n < Lanes && !lanes.IsEmpty)
            {
                var lane = lanes[0];
                lanes = lanes[1..];
                if (lane.Length == 0) continue;
                group[n++] = lane;
                common = Math.Min(common, lane.Length);
            }
            if (n == 0) return;
            if (n == 1)
            {
                var only = group[0];
                Encrypt(buffer.Slice(only.BodyOffset, only.Length), buffer.Slice(only.IvOffset, Block), buffer.Slice(only.BodyOffset, only.Length));
                continue;
            }
            EncryptSideBySide(buffer, group[..n], common);
            int r = 0;
            foreach (var lane in group[..n])
            {
                if (lane.Length > common) rest[r++] = new CbcLane(lane.BodyOffset + common - Block, lane.BodyOffset + common, lane.Length - common);
            }
            if (r > 0) EncryptLanes(buffer, rest[..r]);
        }
    }

    /// <summary>
    /// The first <paramref name="length"/> bytes of 2 to 8 lanes, eight chains in step (a missing lane repeats the first
    /// and is not stored: with eight in flight the rounds are bound by the AES unit's throughput, not its latency).
    /// </summary>
    private void EncryptSideBySide(Span<byte> buffer, ReadOnlySpan<CbcLane> lanes, int length)
    {
        ref byte b = ref MemoryMarshal.GetReference(buffer);
        int n = lanes.Length;
        nuint o0 = (nuint)lanes[0].BodyOffset, o1 = (nuint)lanes[1].BodyOffset;
        nuint o2 = n > 2 ? (nuint)lanes[2].BodyOffset : o0, o3 = n > 3 ? (nuint)lanes[3].BodyOffset : o0;
        nuint o4 = n > 4 ? (nuint)lanes[4].BodyOffset : o0, o5 = n > 5 ? (nuint)lanes[5].BodyOffset : o0;
        nuint o6 = n > 6 ? (nuint)lanes[6].BodyOffset : o0, o7 = n > 7 ? (nuint)lanes[7].BodyOffset : o0;
        Vector128<byte> c0 = Iv(ref b, lanes, 0), c1 = Iv(ref b, lanes, 1), c2 = Iv(ref b, lanes, 2), c3 = Iv(ref b, lanes, 3);
        Vector128<byte> c4 = Iv(ref b, lanes, 4), c5 = Iv(ref b, lanes, 5), c6 = Iv(ref b, lanes, 6), c7 = Iv(ref b, lanes, 7);
        var keys = _encryptKeys;
        int last = _rounds;
        for (nuint at = 0; at < (nuint)length; at += Block)
        {
            var k = keys[0];
            // Every lane's block is read before any is written (a missing lane reads the first's).
            var x0 = Vector128.LoadUnsafe(ref b, o0 + at) ^ c0 ^ k;
            var x1 = Vector128.LoadUnsafe(ref b, o1 + at) ^ c1 ^ k;
            var x2 = Vector128.LoadUnsafe(ref b, o2 + at) ^ c2 ^ k;
            var x3 = Vector128.LoadUnsafe(ref b, o3 + at) ^ c3 ^ k;
            var x4 = Vector128.LoadUnsafe(ref b, o4 + at) ^ c4 ^ k;
            var x5 = Vector128.LoadUnsafe(ref b, o5 + at) ^ c5 ^ k;
            var x6 = Vector128.LoadUnsafe(ref b, o6 + at) ^ c6 ^ k;
            var x7 = Vector128.LoadUnsafe(ref b, o7 + at) ^ c7 ^ k;
            for (int r = 1; r < last; r++)
            {
                k = keys[r];
                x0 = X86Aes.Encrypt(x0, k);
                x1 = X86Aes.Encrypt(x1, k);
                x2 = X86Aes.Encrypt(x2, k);
                x3 = X86Aes.Encrypt(x3, k);
                x4 = X86Aes.Encrypt(x4, k);
                x5 = X86Aes.Encrypt(x5, k);
                x6 = X86Aes.Encrypt(x6, k);
                x7 = X86Aes.Encrypt(x7, k);
            }
            k = keys[last];
            c0 = X86Aes.EncryptLast(x0, k);
            c1 = X86Aes.EncryptLast(x1, k);
            c2 = X86Aes.EncryptLast(x2, k);
            c3 = X86Aes.EncryptLast(x3, k);
            c4 = X86Aes.EncryptLast(x4, k);
            c5 = X86Aes.EncryptLast(x5, k);
            c6 = X86Aes.EncryptLast(x6, k);
            c7 = X86Aes.EncryptLast(x7, k);
            c0.StoreUnsafe(ref b, o0 + at);
            c1.StoreUnsafe(ref b, o1 + at);
            if (n > 2) c2.StoreUnsafe(ref b, o2 + at);
            if (n > 3) c3.StoreUnsafe(ref b, o3 + at);
            if (n > 4) c4.StoreUnsafe(ref b, o4 + at);
            if (n > 5) c5.StoreUnsafe(ref b, o5 + at);
            if (n > 6) c6.StoreUnsafe(ref b, o6 + at);
            if (n > 7) c7.StoreUnsafe(ref b, o7 + at);
        }
    }

    private static Vector128<byte> Iv(ref byte buffer, ReadOnlySpan<CbcLane> lanes, int lane) =>
        Vector128.LoadUnsafe(ref buffer, (nuint)lanes[lane < lanes.Length ? lane : 0].IvOffset);

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

/// <summary>One packet's body for <see cref="AesNiCbc.EncryptMany"/>: its 16-byte IV and its whole blocks, at offsets in one buffer.</summary>
internal readonly record struct CbcLane(int IvOffset, int BodyOffset, int Length);
