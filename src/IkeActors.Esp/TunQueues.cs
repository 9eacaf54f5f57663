using System.Buffers.Binary;

namespace IkeActors.Esp;

/// <summary>
/// A TUN interface with several queues (IFF_MULTI_QUEUE): the device opened once per queue under the same name, each
/// descriptor its own queue, read by its own inside pump (<see cref="EspDataPlane.Start"/>). The kernel puts each flow's
/// packets on one queue: the queue a packet of the flow was last written to (for 3 s), else one picked by its own hash of
/// the flow. A write here goes to the queue the flow's packets were last read from (remembered per flow, both directions
/// alike), so the kernel's choice stands and a connection's packets both ways stay with one pump; a flow not read yet
/// goes to the queue of <see cref="QueueOf"/>, which the kernel then keeps for it. One queue is the plain device (no
/// IFF_MULTI_QUEUE), as <see cref="TunDevice.Open(string, bool)"/> makes it. Offloads (IFF_VNET_HDR, TUNSETOFFLOAD) are
/// set on every queue.
/// </summary>
public sealed class TunQueues : IMultiQueuePacketDevice, IVirtioPacketDevice
{
    /// <summary>The kernel's limit on queues of one TUN device (MAX_TAP_QUEUES in drivers/net/tun.c).</summary>
    public const int KernelMaxQueues = 256;

    private readonly TunDevice[] _queues;
    private readonly IPacketDevice[] _readers;

    /// <summary>
    /// The queue a flow was last read from, by the low bits of its <see cref="FlowHash"/>: the hash's low 24 bits, then
    /// queue + 1 (0: none). Another flow in the slot is told by the hash; racy by design, as a stale entry only picks
    /// another queue.
    /// </summary>
    private readonly uint[] _readFrom = new uint[FlowSlots];

    private const uint FlowSlots = 4096;

    private TunQueues(TunDevice[] queues, int requested)
    {
        _queues = queues;
        _readers = queues.Length == 1 ? [queues[0]] : [.. queues.Select((q, i) => (IPacketDevice)new LearningQueue(this, q, i))];
        Requested = requested;
    }

    /// <summary>The interface name the kernel gave (e.g. "ike0" for "ike%d"); every queue has it.</summary>
    public string Name => _queues[0].Name;

    public bool VirtioHeader => _queues[0].VirtioHeader;

    /// <summary>Every queue took UDP segmentation offload (the kernel sets it for the interface).</summary>
    public bool UdpSegmentation => _queues.All(q => q.UdpSegmentation);

    /// <summary>Queues open (at most <see cref="Requested"/>: fewer when the kernel refused some).</summary>
    public int QueueCount => _queues.Length;

    /// <summary>Queues asked for.</summary>
    public int Requested { get; }

    /// <summary>Queue <paramref name="index"/>: reading it also notes which queue each flow comes from.</summary>
    public IPacketDevice Queue(int index) => _readers[index];

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

    public void Write(ReadOnlySpan<byte> packet) => _queues[WriteQueue(packet)].Write(packet);

    public void Write(in VirtioNetHeader header, ReadOnlySpan<byte> packet) => _queues[WriteQueue(packet)].Write(header, packet);

    private int WriteQueue(ReadOnlySpan<byte> packet)
    {
        if (_queues.Length == 1) return 0;
        if (FlowHash(packet, out var hash))
        {
            var entry = Volatile.Read(ref _readFrom[hash % FlowSlots]);
            var queue = (int)(entry & 0xFF) - 1;
            if (entry >> 8 == (hash & 0xFFFFFF) && queue >= 0 && queue < _queues.Length) return queue;
        }
        return QueueOf(packet, _queues.Length);
    }

    private void ReadFrom(ReadOnlySpan<byte> packet, int queue)
    {
        if (!FlowHash(packet, out var hash)) return;
        var entry = hash << 8 | (uint)(queue + 1);
        ref var slot = ref _readFrom[hash % FlowSlots];
        if (slot != entry) Volatile.Write(ref slot, entry);
    }

    /// <summary>A queue that remembers which flows it read (the packet after the virtio-net header when there is one).</summary>
    private sealed class LearningQueue(TunQueues owner, TunDevice device, int index) : IPacketDevice
    {
        public int Read(Span<byte> buffer, int timeoutMilliseconds)
        {
            var n = device.Read(buffer, timeoutMilliseconds);
            if (n > 0) owner.ReadFrom(buffer[(device.VirtioHeader ? Math.Min(n, VirtioNetHeader.Size) : 0)..n], index);
            return n;
        }

        public void Write(ReadOnlySpan<byte> packet) => device.Write(packet);

        public void Dispose() => device.Dispose();
    }

    /// <summary>
    /// A hash of an IPv4 flow, the same for both directions (addresses and ports each taken in order of size); false for
    /// anything else.
    /// </summary>
    internal static bool FlowHash(ReadOnlySpan<byte> packet, out uint hash)
    {
        hash = 0;
        if (packet.Length < 20 || packet[0] >> 4 != 4) return false;
        var a = BinaryPrimitives.ReadUInt32BigEndian(packet[12..]);
        var b = BinaryPrimitives.ReadUInt32BigEndian(packet[16..]);
        uint ports = 0;
        var headerLength = (packet[0] & 0x0F) * 4;
        var protocol = packet[9];
        if ((protocol == 6 || protocol == 17) && (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x1FFF) == 0 && packet.Length >= headerLength + 4)
        {
            uint p = BinaryPrimitives.ReadUInt16BigEndian(packet[headerLength..]), q = BinaryPrimitives.ReadUInt16BigEndian(packet[(headerLength + 2)..]);
            ports = Math.Min(p, q) << 16 | Math.Max(p, q);
        }
        var h = Math.Min(a, b) * 0x9E3779B1u ^ Math.Max(a, b);
        h = (h ^ (h >> 15)) * 0x85EBCA77u ^ ports ^ protocol;
        h = (h ^ (h >> 13)) * 0xC2B2AE35u;
        hash = h ^ (h >> 16);
        return true;
    }

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
