namespace IkeActors.Esp;

/// <summary>The inside of the gateway: whole IP packets in and out (a TUN device, or a test double).</summary>
public interface IPacketDevice : IDisposable
{
    /// <summary>Reads one packet; 0 when nothing arrived within <paramref name="timeoutMilliseconds"/>.</summary>
    int Read(Span<byte> buffer, int timeoutMilliseconds);

    /// <summary>Writes one packet towards the inside hosts.</summary>
    void Write(ReadOnlySpan<byte> packet);
}

/// <summary>
/// An inside device with several queues (a multi-queue TUN device, <see cref="TunQueues"/>): the data plane reads each
/// queue on a thread of its own; writes may go through the device itself (it picks a queue) or any queue.
/// </summary>
public interface IMultiQueuePacketDevice : IPacketDevice
{
    int QueueCount { get; }

    /// <summary>Queue <paramref name="index"/> (0 to <see cref="QueueCount"/> - 1), read by one thread only.</summary>
    IPacketDevice Queue(int index);
}
