using System.Security.Cryptography;

namespace IkeActors.Crypto;

/// <summary>
/// Holds secret bytes (a key, SKEYID, g^xy, a DH private value) in a pinned array, so the GC
/// never leaves copies behind, and zeroes them on <see cref="Dispose"/>. Never logged: ToString
/// shows only the length.
/// </summary>
public sealed class SecretBuffer : IDisposable
{
    private byte[]? _bytes;

    /// <summary>A zero-filled secret of the given length.</summary>
    public SecretBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _bytes = GC.AllocateArray<byte>(length, pinned: true);
    }

    /// <summary>A copy of <paramref name="source"/>; the caller still owns (and should zero) the source.</summary>
    public SecretBuffer(ReadOnlySpan<byte> source) : this(source.Length) => source.CopyTo(_bytes);

    public int Length => Bytes.Length;

    public bool IsDisposed => _bytes is null;

    /// <summary>The secret. Throws after Dispose (a programming error, never caused by peer input).</summary>
    public Span<byte> Span => Bytes;

    public ReadOnlySpan<byte> ReadOnlySpan => Bytes;

    private byte[] Bytes => _bytes ?? throw new ObjectDisposedException(nameof(SecretBuffer));

    public void Dispose()
    {
        byte[]? b = Interlocked.Exchange(ref _bytes, null);
        if (b is not null)
        {
            CryptographicOperations.ZeroMemory(b);
        }
    }

    public override string ToString() => _bytes is null ? "SecretBuffer(disposed)" : $"SecretBuffer({_bytes.Length} bytes)";
}
