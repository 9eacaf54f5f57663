using System.Security.Cryptography;

namespace IkeActors.Crypto;

/// <summary>
/// Holds secret bytes (a key, SKEYID, g^xy, a DH private value) in pinned memory, so the GC never leaves copies behind,
/// and zeroes them on <see cref="Dispose"/> (or, for a buffer nobody disposed, when it is collected). Never logged:
/// ToString shows only the length.
/// </summary>
/// <remarks>
/// Small secrets are slices of pinned slabs (<see cref="SecretSlabs"/>), not a pinned array each: every pinned array is
/// allocated on the pinned object heap from one free list behind one lock, and a hub that had made 70,000 tunnels spent
/// most of its CPU there (63 of its 70 busy threads inside GC.AllocateArray(pinned) in a stack dump, its setup rate down
/// from 250 to 40 a second).
/// </remarks>
public sealed class SecretBuffer : IDisposable
{
    private byte[]? _memory;
    private readonly int _offset;
    private readonly int _length;
    private readonly int _sizeClass;

    /// <summary>A zero-filled secret of the given length.</summary>
    public SecretBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        (_memory, _offset, _sizeClass) = SecretSlabs.Rent(length);
        _length = length;
    }

    /// <summary>A copy of <paramref name="source"/>; the caller still owns (and should zero) the source.</summary>
    public SecretBuffer(ReadOnlySpan<byte> source) : this(source.Length) => source.CopyTo(Span);

    public int Length => _length;

    public bool IsDisposed => _memory is null;

    /// <summary>The secret. Throws after Dispose (a programming error, never caused by peer input).</summary>
    public Span<byte> Span => Memory.AsSpan(_offset, _length);

    public ReadOnlySpan<byte> ReadOnlySpan => Span;

    private byte[] Memory => _memory ?? throw new ObjectDisposedException(nameof(SecretBuffer));

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    /// <summary>Not disposed: the bytes are zeroed and the slice reused all the same.</summary>
    ~SecretBuffer() => Release();

    private void Release()
    {
        var memory = Interlocked.Exchange(ref _memory, null);
        if (memory is null) return;
        CryptographicOperations.ZeroMemory(memory.AsSpan(_offset, _length));
        SecretSlabs.Return(memory, _offset, _sizeClass);
    }

    public override string ToString() => _memory is null ? "SecretBuffer(disposed)" : $"SecretBuffer({_length} bytes)";
}

/// <summary>
/// Pinned memory for <see cref="SecretBuffer"/>: size classes of 32 to 1,024 bytes cut from 64 KB pinned slabs, a free
/// list per class; a larger secret gets a pinned array of its own. Slices come back zeroed (by the buffer) and are reused;
/// slabs are kept (the memory of the peak number of secrets).
/// </summary>
internal static class SecretSlabs
{
    private const int SlabBytes = 64 * 1024;
    private static readonly int[] ClassBytes = [32, 64, 128, 256, 512, 1024];
    private static readonly SizeClass[] Classes = ClassBytes.Select(b => new SizeClass(b)).ToArray();

    /// <summary>Memory for <paramref name="length"/> bytes, zeroed: the array, the offset, the size class (-1: its own array).</summary>
    public static (byte[] Memory, int Offset, int SizeClass) Rent(int length)
    {
        for (var c = 0; c < Classes.Length; c++)
            if (length <= ClassBytes[c])
            {
                var (memory, offset) = Classes[c].Rent();
                return (memory, offset, c);
            }
        return (GC.AllocateArray<byte>(length, pinned: true), 0, -1);
    }

    /// <summary>A slice back (already zeroed).</summary>
    public static void Return(byte[] memory, int offset, int sizeClass)
    {
        if (sizeClass >= 0) Classes[sizeClass].Return(memory, offset);
    }

    /// <summary>Slices in use and slabs made, for tests.</summary>
    internal static (int InUse, int Slabs) Usage(int length)
    {
        var c = Array.FindIndex(ClassBytes, b => length <= b);
        return c < 0 ? (0, 0) : Classes[c].Usage;
    }

    private sealed class SizeClass(int bytes)
    {
        private readonly Lock _lock = new();
        private readonly Stack<(byte[], int)> _free = new();
        private int _slabs, _inUse;

        public (int InUse, int Slabs) Usage { get { lock (_lock) return (_inUse, _slabs); } }

        public (byte[] Memory, int Offset) Rent()
        {
            lock (_lock)
            {
                if (_free.Count == 0)
                {
                    var slab = GC.AllocateArray<byte>(SlabBytes, pinned: true);
                    for (var at = SlabBytes - bytes; at >= 0; at -= bytes) _free.Push((slab, at));
                    _slabs++;
                }
                _inUse++;
                return _free.Pop();
            }
        }

        public void Return(byte[] memory, int offset)
        {
            lock (_lock)
            {
                _inUse--;
                _free.Push((memory, offset));
            }
        }
    }
}
