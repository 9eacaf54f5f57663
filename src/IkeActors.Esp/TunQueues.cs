using System.Buffers.Binary;

namespace IkeActors.Esp;

/// <summary>
/// A TUN interface with several queues (IFF_MULTI_QUEUE): the device opened once per queue under the same name, each
/// descriptor its own queue, read by its own inside pump (<see cref="EspDataPlane.Start"/>). The kernel puts each flow's
/// packets on one queue: the queue a packet of the flow was last written to, else one picked by the flow's hash. Writes
/// here pick the queue by the inner packet's flow (<see cref="QueueOf"/>), so a connection's packets both ways stay with
/// one pump. One queue is the plain device (no IFF_MULTI_QUEUE), as <see cref="TunDevice.Open(string, bool)"/> makes it.
/// Offloads (IFF_VNET_HDR, TUNSETOFFLOAD) are set on every queue.
/// </summary>
public sealed class TunQueues : IMultiQueuePacketDevice, IVirtioPacketDevice
{
    /// <summary>The kernel's limit on queues of one TUN device (MAX_TAP_QUEUES in drivers/net/tun.c).</summary>
    public const int KernelMaxQueues = 256;

    private readonly TunDevice[] _queues;

    private TunQueues(TunDevice[] queues, int requested)
    {
        _queues = queues;
        Requested = requested;
    }

    /// <summary>The interface name the kernel gave (e.g. "ike0" for "ike%d"); every queue has it.</summary>
    public string Name => _queues[0].Name;

    public bool VirtioHeader => _queues[0].VirtioHeader;

    /// <summary>Queues open (at most <see cref="Requested"/>: fewer when the kernel refused some).</summary>
    public int QueueCount => _queues.Length;

    /// <summary>Queues asked for.</summary>
    public int Requested { get; }

    public IPacketDevice Queue(int index) => _queues[index];

    /// <summary>
    /// Creates the interface with <paramref name="queues"/> queues. When the kernel refuses multi-queue for the first,
    /// one plain queue; when it refuses a later one (more than <see cref="KernelMaxQueues"/>, out of descriptors), the
    /// queues opened so far. Either way <paramref name="warn"/> is told; only a device that cannot be opened at all throws.
    /// </summary>
    public static TunQueues Open(string name, int queues, bool offloads = false, Action<string>? warn = null) =>
        Open(name, queues, offloads, warn, static (n, o, multi) => TunDevice.Open(n, o, multi));

    /// <summary>As the public one, with the call that opens one queue (name, offloads, multi-queue) given: tests make it fail.</summary>
    internal static TunQueues Open(string name, int queues, bool offloads, Action<string>? warn, Func<string, bool, bool, TunDevice> openQueue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        if (queues == 1) return new([openQueue(name, offloads, false)], 1);
        TunDevice first;
        try
        {
            first = openQueue(name, offloads, true);
        }
        catch (IOException e)
        {
            var single = openQueue(name, offloads, false); // a kernel without IFF_MULTI_QUEUE, or a single-queue device of that name
            warn?.Invoke($"TUN {single.Name}: {queues} queues asked, multi-queue refused ({e.Message}): 1 queue, 1 inside pump");
            return new([single], queues);
        }
        var opened = new List<TunDevice>(queues) { first };
        while (opened.Count < queues)
        {
            try
            {
                opened.Add(openQueue(first.Name, offloads, true));
            }
            catch (IOException e)
            {
                warn?.Invoke($"TUN {first.Name}: {queues} queues asked, queue {opened.Count + 1} refused ({e.Message}): {opened.Count} queues, {opened.Count} inside pumps");
                break;
            }
        }
        return new([.. opened], queues);
    }

    /// <summary>Reads queue 0 only: a reader of the whole device reads <see cref="Queue"/> each on its thread.</summary>
    public int Read(Span<byte> buffer, int timeoutMilliseconds) => _queues[0].Read(buffer, timeoutMilliseconds);

    public void Write(ReadOnlySpan<byte> packet) => _queues[QueueOf(packet, _queues.Length)].Write(packet);

    public void Write(in VirtioNetHeader header, ReadOnlySpan<byte> packet) => _queues[QueueOf(packet, _queues.Length)].Write(header, packet);

    /// <summary>
    /// The queue for an IPv4 packet: a hash of its addresses, protocol and (TCP, UDP, first fragment or whole) ports, so
    /// every packet of a connection in one direction goes to one queue; the kernel then puts the connection's packets the
    /// other way on that queue too (it remembers the queue a flow was last written to). Anything else: queue 0.
    /// </summary>
    public static int QueueOf(ReadOnlySpan<byte> packet, int queues)
    {
        if (queues <= 1 || packet.Length < 20 || packet[0] >> 4 != 4) return 0;
        var protocol = packet[9];
        uint h = BinaryPrimitives.ReadUInt32BigEndian(packet[12..]) * 0x9E3779B1u;
        h ^= BinaryPrimitives.ReadUInt32BigEndian(packet[16..]);
        h = (h ^ (h >> 15)) * 0x85EBCA77u ^ protocol;
        var headerLength = (packet[0] & 0x0F) * 4;
        var firstFragment = (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x1FFF) == 0;
        if ((protocol == 6 || protocol == 17) && firstFragment && packet.Length >= headerLength + 4)
        {
            h = (h ^ (h >> 13)) * 0xC2B2AE35u ^ BinaryPrimitives.ReadUInt32BigEndian(packet[headerLength..]);
        }
        h = (h ^ (h >> 16)) * 0x7FEB352Du;
        h ^= h >> 15;
        return (int)((ulong)h * (uint)queues >> 32);
    }

    public void Dispose()
    {
        foreach (var q in _queues) q.Dispose(); // the kernel removes the device with its last queue
    }
}
