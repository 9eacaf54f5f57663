using System.Runtime.CompilerServices;
using IkeActors.Crypto;

namespace IkeActors.Crypto.Tests;

/// <summary>
/// Secrets live in slices of pinned slabs (SecretSlabs): two live secrets never share a byte, a disposed one is zeroed
/// before its slice serves another, and one nobody disposed is zeroed and given back when collected.
/// </summary>
[Collection(nameof(SecretSlabsAlone))]
public class SecretBufferTests
{
    [Fact]
    public void Live_secrets_never_share_bytes_and_start_zeroed()
    {
        var buffers = Enumerable.Range(1, 300).Select(i => new SecretBuffer(20 + i % 40)).ToList();
        Assert.All(buffers, b => Assert.All(b.ReadOnlySpan.ToArray(), x => Assert.Equal(0, x)));
        for (var i = 0; i < buffers.Count; i++) buffers[i].Span.Fill((byte)(i + 1));

        for (var i = 0; i < buffers.Count; i++) Assert.All(buffers[i].ReadOnlySpan.ToArray(), x => Assert.Equal((byte)(i + 1), x));
        foreach (var b in buffers) b.Dispose();
    }

    [Fact]
    public void A_disposed_secret_is_zeroed_and_its_slice_serves_the_next_one_zeroed()
    {
        var secret = new SecretBuffer(32);
        var bytes = secret.Span;
        bytes.Fill(0xA5);

        secret.Dispose();

        Assert.All(bytes.ToArray(), x => Assert.Equal(0, x));
        Assert.Throws<ObjectDisposedException>(() => secret.Span.Length);
        Assert.Equal("SecretBuffer(disposed)", secret.ToString());
        using var next = new SecretBuffer(32);
        Assert.All(next.ReadOnlySpan.ToArray(), x => Assert.Equal(0, x));
        secret.Dispose(); // twice: nothing
    }

    [Fact]
    public void Secrets_larger_than_the_biggest_class_get_their_own_pinned_memory()
    {
        using var big = new SecretBuffer(new byte[4096].Select((_, i) => (byte)i).ToArray());
        Assert.Equal(4096, big.Length);
        Assert.Equal(255, big.ReadOnlySpan[255]);
        Assert.Equal("SecretBuffer(4096 bytes)", big.ToString());
    }

    [Fact]
    public void A_secret_nobody_disposed_is_given_back_when_collected()
    {
        // 700 bytes: the 1,024-byte class (no other test runs meanwhile: SecretSlabsAlone).
        var before = SecretSlabs.Usage(700).InUse;
        Abandon();
        Assert.Equal(before + 50, SecretSlabs.Usage(700).InUse);

        GC.Collect();
        GC.WaitForPendingFinalizers();

        Assert.Equal(before, SecretSlabs.Usage(700).InUse);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Abandon()
    {
        for (var i = 0; i < 50; i++) new SecretBuffer(700).Span.Fill(1);
    }

    [Fact]
    public async Task Threads_renting_and_returning_at_once_never_get_the_same_slice()
    {
        var clashes = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var n = 0; n < 5_000; n++)
            {
                using var s = new SecretBuffer(48);
                s.Span.Fill((byte)(t + 1));
                Thread.Yield();
                foreach (var x in s.ReadOnlySpan) if (x != t + 1) { Interlocked.Increment(ref clashes); break; }
            }
        })));
        Assert.Equal(0, clashes);
    }
}

/// <summary>Counts of the slabs' slices are only meaningful when no other test rents meanwhile.</summary>
[CollectionDefinition(nameof(SecretSlabsAlone), DisableParallelization = true)]
public sealed class SecretSlabsAlone;
