namespace IkeActors.Esp;

/// <summary>The inside of the gateway: whole IP packets in and out (a TUN device, or a test double).</summary>
public interface IPacketDevice : IDisposable
{
    /// <summary>Reads one packet; 0 when nothing arrived within <paramref name="timeoutMilliseconds"/>.</summary>
    int Read(Span<byte> buffer, int timeoutMilliseconds);

    /// <summary>Writes one packet towards the inside hosts.</summary>
    void Write(ReadOnlySpan<byte> packet);
}
