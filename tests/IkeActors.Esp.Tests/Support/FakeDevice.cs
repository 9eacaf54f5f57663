using System.Collections.Concurrent;

namespace IkeActors.Esp.Tests.Support;

/// <summary>An inside device in memory: what the data plane wrote, and packets to hand it.</summary>
internal sealed class FakeDevice : IPacketDevice
{
    public ConcurrentQueue<byte[]> Written { get; } = new();
    public BlockingCollection<byte[]> ToRead { get; } = new();

    public int Read(Span<byte> buffer, int timeoutMilliseconds)
    {
        if (!ToRead.TryTake(out var p, timeoutMilliseconds)) return 0;
        p.CopyTo(buffer);
        return p.Length;
    }

    public void Write(ReadOnlySpan<byte> packet) => Written.Enqueue(packet.ToArray());

    public void Dispose() => ToRead.Dispose();
}
