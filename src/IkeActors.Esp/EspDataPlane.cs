using System.Buffers;
using System.Buffers.Binary;
using System.Net;

namespace IkeActors.Esp;

/// <summary>Sends an ESP packet (raw) or a UDP/4500 payload (NAT-T) to a pair's peer.</summary>
public delegate void EspSend(ReadOnlySpan<byte> packet, EspSaPair pair);

/// <summary>Sends equal-size UDP/4500 payloads (the last may be shorter) in one call: UDP GSO (<see cref="BatchSend.SendUdpSegments"/>).</summary>
public delegate void EspSendUdpSegments(ReadOnlySpan<byte> datagrams, int segmentSize, EspSaPair pair);

/// <summary>Sends several raw ESP packets (lengths in order) in one call: sendmmsg (<see cref="BatchSend.SendMany"/>).</summary>
public delegate void EspSendBatch(ReadOnlySpan<byte> packets, ReadOnlySpan<int> lengths, EspSaPair pair);

/// <summary>What became of an inside packet.</summary>
public enum EspOutboundResult
{
    Sent,
    /// <summary>Not an IPv4 packet: dropped.</summary>
    NotIPv4,
    /// <summary>No SA and no policy asks for one: dropped (#pkts no sa (send)).</summary>
    NoSa,
    /// <summary>No SA yet, policy says protect: queued while the SA is negotiated.</summary>
    Queued,
    /// <summary>No SA yet and the flow's queue is full: dropped.</summary>
    QueueFull,
    /// <summary>The SA refused (lifetime, sequence space, deleted) or the socket failed: counted as a send error.</summary>
    SendFailed,
    /// <summary>No SA here: handed to the node that carries the peer now (<see cref="EspDataPlane.HandOver"/>).</summary>
    HandedOver,
    /// <summary>Too big for the tunnel with DF set: refused, ICMP "fragmentation needed" sent inside (#PMTUs sent).</summary>
    FragmentationNeeded,
}

/// <summary>What became of an outside ESP packet.</summary>
public enum EspInboundResult
{
    Delivered,
    /// <summary>A dummy packet (next header 59): authentic, nothing to deliver.</summary>
    Dummy,
    /// <summary>Not an ESP packet at all (short, bad outer header).</summary>
    Malformed,
    /// <summary>No SA with this SPI (#pkts invalid sa (rcv)).</summary>
    UnknownSpi,
    /// <summary>The SA refused it: see the SA's counters for the reason.</summary>
    DecapFailed,
    /// <summary>Authentic, but the inner packet is outside the SA's selectors (RFC 4301 §5.2): dropped.</summary>
    SelectorMismatch,
}

/// <summary>Timers and bounds of the data plane.</summary>
public sealed record EspDataPlaneOptions
{
    /// <summary>NAT keepalive period towards UDP-encapsulated peers (RFC 3948 §2.3; the ASA's default is 20 s).</summary>
    public TimeSpan NatKeepaliveInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Packets held per flow while its SA is negotiated.</summary>
    public int AcquireQueuePerFlow { get; init; } = 32;

    /// <summary>Flows held at once.</summary>
    public int AcquireQueueFlows { get; init; } = 256;

    /// <summary>How long a held packet may wait.</summary>
    public TimeSpan AcquireHoldTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>At most one acquire per flow in this interval.</summary>
    public TimeSpan AcquireInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest inside packet read from the TUN device.</summary>
    public int MaxInnerPacket { get; init; } = 65535;

    /// <summary>The outside interface's MTU (the ASA's `mtu outside N`, 1500 by default): no ESP packet sent is larger.</summary>
    public int OutsideMtu { get; init; } = 1500;

    /// <summary>`crypto ipsec df-bit … outside`: clear-df lets a packet with DF set be fragmented rather than refused.</summary>
    public DfBitPolicy DfBit { get; init; } = DfBitPolicy.CopyDf;

    /// <summary>`crypto ipsec fragmentation before-encryption` (the ASA's default) or after-encryption (false: the ESP packet is fragmented).</summary>
    public bool FragmentBeforeEncryption { get; init; } = true;

    /// <summary>The source of the ICMP "fragmentation needed" written inside (the inside interface's address); 0: none is sent, and a packet with DF is fragmented.</summary>
    public uint IcmpSource { get; init; }

    /// <summary>ICMP errors written inside per second at most (the ASA rate-limits its unreachables likewise).</summary>
    public int IcmpPerSecond { get; init; } = 100;
}

/// <summary>
/// The userspace ESP data plane (tunnel mode): inside packets from the TUN device are matched to an
/// outbound SA, encapsulated and sent raw (IP protocol 50) or in UDP/4500 through the caller's socket;
/// outside ESP is looked up by SPI, decapsulated, checked against the SA's selectors and written to the
/// TUN device. Packets with no SA that a policy protects raise an acquire and wait in a bounded queue.
/// Any number of threads may run it: one inside pump per queue of the device, one per raw socket, the NAT-T socket's;
/// an SA's outbound packets leave in the order of their numbers whichever pump sends them (<see cref="EspSa.SendOrder"/>).
/// </summary>
public sealed class EspDataPlane : IDisposable
{
    private readonly EspSaDatabase _sad;
    private readonly IPacketDevice _inside;
    private readonly EspDataPlaneOptions _options;
    private readonly TimeProvider _time;
    private readonly AcquireQueue _acquire;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Thread> _threads = [];
    private ITimer? _keepaliveTimer;
    private long _noSa, _invalidSpi, _malformed, _queueDrops, _acquires, _keepalivesSent;

    public EspDataPlane(EspSaDatabase sad, IPacketDevice inside, EspDataPlaneOptions? options = null, TimeProvider? time = null)
    {
        _sad = sad;
        _inside = inside;
        _options = options ?? new EspDataPlaneOptions();
        _time = time ?? TimeProvider.System;
        _acquire = new AcquireQueue(_time, _options.AcquireQueuePerFlow, _options.AcquireQueueFlows, _options.AcquireHoldTime, _options.AcquireInterval);
        _sad.PairAdded += OnPairAdded;
        _virtio = inside is IVirtioPacketDevice { VirtioHeader: true } v ? v : null;
    }

    /// <summary>The inside device when it takes virtio-net headers (a TUN device with offloads): super-packets both ways.</summary>
    private readonly IVirtioPacketDevice? _virtio;

    /// <summary>
    /// Packets queued during the negotiation go out once the pair may carry them: at once, or when a pair this
    /// side initiated becomes preferred (<see cref="EspSaPair.OutboundPreferredFromTick"/>: a responder that
    /// installs its inbound SA only on QM3 drops ESP that overtakes QM3).
    /// </summary>
    private void OnPairAdded(EspSaPair pair)
    {
        var wait = pair.OutboundPreferredFromTick - Environment.TickCount64;
        if (wait <= 0)
        {
            FlushQueued(pair);
            return;
        }
        ITimer? timer = null;
        timer = _time.CreateTimer(_ =>
        {
            FlushQueued(pair);
            timer?.Dispose();
        }, null, TimeSpan.FromMilliseconds(wait), Timeout.InfiniteTimeSpan);
    }

    /// <summary>Sends ESP as IP protocol 50 (e.g. <see cref="RawEspSocket.Send(ReadOnlySpan{byte}, EspSaPair)"/>).</summary>
    public EspSend? RawSend { get; set; }

    /// <summary>Sends a UDP/4500 payload from the gateway's NAT-T socket (which it shares with IKE).</summary>
    public EspSend? UdpSend { get; set; }

    /// <summary>The segments of one TCP super-packet from the TUN device, ESP in UDP: one UDP GSO call (null: one by one).</summary>
    public EspSendUdpSegments? UdpSendSegments { get; set; }

    /// <summary>The segments of one TCP super-packet from the TUN device, raw ESP: one sendmmsg (null: one by one).</summary>
    public EspSendBatch? RawSendBatch { get; set; }

    /// <summary>Whether a flow without an SA is one the crypto maps protect (so it should start negotiation).</summary>
    public Func<FlowKey, bool>? AcquirePolicy { get; set; }

    /// <summary>The "key acquire" for a flow: start Quick Mode for it. At most once per flow per <see cref="EspDataPlaneOptions.AcquireInterval"/>.</summary>
    public event Action<FlowKey>? Acquire;

    /// <summary>An authentic UDP-encapsulated packet came from another address or port than the pair's peer (a NAT rebinding).</summary>
    public event Action<EspSaPair, IPEndPoint>? PeerEndpointChanged;

    /// <summary>
    /// An ESP packet whose SPI no pair here has (it is also counted): the SPI, the outer source address (host order),
    /// its UDP port (0 for raw ESP) and the packet from the SPI on, valid only during the call (copy what you keep).
    /// In a cluster the peer may be carried by another node, or by one that died (docs/cluster.md): the carrier
    /// service claims it. Raised on the receiving thread, for every such packet: the handler rate-limits.
    /// </summary>
    public event UnknownSpiHandler? UnknownSpi;

    public delegate void UnknownSpiHandler(uint spi, uint source, int udpPort, ReadOnlySpan<byte> esp);

    /// <summary>
    /// Asked first for an inside packet no SA here covers (a cluster: the peer was just handed to another node, which
    /// takes it); true when it took the packet, which then is neither acquired for nor counted as dropped.
    /// </summary>
    public HandOverHandler? HandOver { get; set; }

    public delegate bool HandOverHandler(FlowKey flow, ReadOnlySpan<byte> innerPacket);

    public long NoSaDrops => Interlocked.Read(ref _noSa);
    public long InvalidSpiDrops => Interlocked.Read(ref _invalidSpi);
    public long MalformedDrops => Interlocked.Read(ref _malformed);
    /// <summary>Packets dropped by the acquire queue: flow queue full, too many flows, or held too long.</summary>
    public long AcquireQueueDrops => Interlocked.Read(ref _queueDrops) + _acquire.Expired;
    public long AcquiresRaised => Interlocked.Read(ref _acquires);
    public long NatKeepalivesSent => Interlocked.Read(ref _keepalivesSent);
    /// <summary>TCP and UDP super-packets the TUN device handed over (offloads on), and the batched system calls that sent their segments.</summary>
    public long SuperPackets => Interlocked.Read(ref _superPackets);
    public long BatchedSends => Interlocked.Read(ref _batchedSends);
    public int QueuedPackets => _acquire.PacketCount;

    /// <summary>One inside packet: SPD lookup, encapsulation, send (or acquire and queue).</summary>
    public EspOutboundResult ProcessOutbound(ReadOnlySpan<byte> innerPacket)
    {
        if (!InnerPacket.TryReadIPv4Flow(innerPacket, out var flow))
        {
            Interlocked.Increment(ref _malformed);
            return EspOutboundResult.NotIPv4;
        }
        if (_sad.TryGetOutbound(flow, out var pair))
        {
            return Send(innerPacket, pair);
        }
        if (HandOver is { } handOver && handOver(flow, innerPacket)) return EspOutboundResult.HandedOver;
        if (AcquirePolicy is not { } policy || !policy(flow))
        {
            Interlocked.Increment(ref _noSa);
            return EspOutboundResult.NoSa;
        }
        var (queued, acquire) = _acquire.Enqueue(flow, innerPacket);
        if (acquire)
        {
            Interlocked.Increment(ref _acquires);
            Acquire?.Invoke(flow);
        }
        if (!queued)
        {
            Interlocked.Increment(ref _queueDrops);
            return EspOutboundResult.QueueFull;
        }
        // The SA may have been installed between the lookup and the enqueue.
        if (_sad.TryGetOutbound(flow, out pair)) FlushQueued(pair);
        return EspOutboundResult.Queued;
    }

    private EspOutboundResult Send(ReadOnlySpan<byte> innerPacket, EspSaPair pair)
    {
        var sa = pair.Outbound;
        var maxInner = PathMtu.MaxInnerLength(sa, _options.OutsideMtu, pair.UdpEncapsulated);
        return innerPacket.Length <= maxInner ? Encapsulate(innerPacket, pair) : TooBig(innerPacket, pair, maxInner);
    }

    /// <summary>
    /// An inside packet bigger than the tunnel carries within the outside MTU, as the ASA treats it: with DF set (and not
    /// df-bit clear-df) refused with ICMP "fragmentation needed" announcing the tunnel's MTU (RFC 1191), so the sender's
    /// path MTU discovery adapts; otherwise fragmented before encryption, each fragment its own ESP packet (the peer's
    /// inside host reassembles); with fragmentation after-encryption sent whole (the kernel fragments the ESP packet).
    /// </summary>
    private EspOutboundResult TooBig(ReadOnlySpan<byte> innerPacket, EspSaPair pair, int maxInner)
    {
        var counters = pair.Outbound.Counters;
        // Without an address to send ICMP from, refusing would lose the packet without a word (a black hole for TCP): fragmented.
        if (PathMtu.DontFragmentSet(innerPacket) && _options.DfBit != DfBitPolicy.ClearDf && _options.IcmpSource != 0)
        {
            if (PathMtu.MayAnswerWithIcmp(innerPacket) && TakeIcmpToken())
            {
                Span<byte> icmp = stackalloc byte[PathMtu.FragmentationNeededSize(innerPacket)];
                PathMtu.WriteFragmentationNeeded(innerPacket, _options.IcmpSource, maxInner, icmp);
                _inside.Write(icmp);
                EspSaCounters.Add(ref counters.PmtusSent);
            }
            return EspOutboundResult.FragmentationNeeded;
        }
        if (!_options.FragmentBeforeEncryption) return Encapsulate(innerPacket, pair);
        var scratch = ArrayPool<byte>.Shared.Rent(maxInner);
        try
        {
            var sent = new FragmentSend(this, pair);
            if (!PathMtu.TryFragment(innerPacket, maxInner, scratch, sent, static (f, s) => s.Plane.Encapsulate(f, s.Pair), out var fragments))
            {
                EspSaCounters.Add(ref counters.PreFragFailures);
                return Encapsulate(innerPacket, pair);
            }
            EspSaCounters.Add(ref counters.PreFragSuccesses);
            EspSaCounters.Add(ref counters.FragmentsCreated, fragments);
            return EspOutboundResult.Sent;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private readonly record struct FragmentSend(EspDataPlane Plane, EspSaPair Pair);

    private long _icmpWindow, _icmpInWindow;

    /// <summary>At most <see cref="EspDataPlaneOptions.IcmpPerSecond"/> ICMP errors in each second.</summary>
    private bool TakeIcmpToken()
    {
        var second = _time.GetTimestamp() / _time.TimestampFrequency;
        if (Interlocked.Exchange(ref _icmpWindow, second) != second) Interlocked.Exchange(ref _icmpInWindow, 0);
        return Interlocked.Increment(ref _icmpInWindow) <= _options.IcmpPerSecond;
    }

    private EspOutboundResult Encapsulate(ReadOnlySpan<byte> innerPacket, EspSaPair pair)
    {
        var sa = pair.Outbound;
        var buffer = ArrayPool<byte>.Shared.Rent(sa.MaxPacketSize(innerPacket.Length));
        try
        {
            // The number taken, the packet encrypted and sent under the SA's lock: whatever pump sends, the SA's packets
            // leave in the order of their numbers (RFC 4303 §3.3.3) and none reaches the peer behind a later one.
            using var order = sa.SendOrder.EnterScope();
            if (sa.TryEncapsulate(innerPacket, buffer, out int length) != EspEncapStatus.Ok)
            {
                return EspOutboundResult.SendFailed;
            }
            var sender = pair.UdpEncapsulated ? UdpSend : RawSend;
            if (sender is null)
            {
                EspSaCounters.Add(ref sa.Counters.SendErrors);
                return EspOutboundResult.SendFailed;
            }
            sender(buffer.AsSpan(0, length), pair);
            return EspOutboundResult.Sent;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
        {
            EspSaCounters.Add(ref sa.Counters.SendErrors);
            return EspOutboundResult.SendFailed;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // ------------------------------------------------------------------ TUN offloads (wireguard-go's approach, our code)

    private long _superPackets, _batchedSends;
    private volatile bool _udpSegmentsFailed;

    /// <summary>The batch of a thread that calls <see cref="ProcessFromTun(Span{byte})"/> itself (the pumps have their own).</summary>
    [ThreadStatic] private static OutboundBatch? t_batch;

    /// <summary>
    /// The ESP packets of one super-packet on their way to one peer, and the scratch space its segments are cut in: one
    /// per inside pump thread. While <see cref="Pair"/> is set, that thread holds the pair's outbound
    /// <see cref="EspSa.SendOrder"/>, from the first segment's number to the batch's send.
    /// </summary>
    private sealed class OutboundBatch
    {
        public readonly byte[] Buffer = GC.AllocateUninitializedArray<byte>(BatchSend.MaxBytes + 4096, pinned: true);
        public readonly byte[] Segment = GC.AllocateUninitializedArray<byte>(65535, pinned: true);
        public readonly int[] Lengths = new int[BatchSend.MaxSegments];
        public EspSaPair? Pair;
        public int Count, Used, SegmentSize;
        /// <summary>The packets are numbered and padded but not yet encrypted (<see cref="EspSa.TrySealBatch"/> before the send).</summary>
        public bool Unsealed;
    }

    /// <summary>
    /// One read from a TUN device opened with offloads (<see cref="TunDevice.VirtioHeader"/>): the virtio-net header, then a
    /// packet (its checksum completed when the kernel left it partial) or a TCP or UDP super-packet, cut into segments of
    /// the MSS (<see cref="TcpSegmenter"/>) or datagrams of the segment size (<see cref="UdpSegmenter"/>) whose ESP packets
    /// leave in one system call per peer (UDP GSO or sendmmsg).
    /// </summary>
    public void ProcessFromTun(Span<byte> read)
    {
        var batch = t_batch ??= new OutboundBatch();
        ProcessFromTun(read, batch);
        FlushBatch(batch);
    }

    /// <summary>
    /// One read from the TUN device into <paramref name="batch"/>: a packet with an outbound SA joins the batch of its
    /// pair (as a super-packet's segments do), so the caller may read again before sending (<see cref="PumpInside"/>
    /// flushes when the device has nothing more to read, the batch when it is full or the next packet is another
    /// pair's). Whatever does not go batched is sent at once, after the batch before it.
    /// </summary>
    private void ProcessFromTun(Span<byte> read, OutboundBatch batch)
    {
        if (!VirtioNetHeader.TryRead(read, out var header))
        {
            Interlocked.Increment(ref _malformed);
            return;
        }
        var packet = read[VirtioNetHeader.Size..];
        var gso = header.GsoType & ~VirtioNetHeader.GsoEcn;
        if (gso == VirtioNetHeader.GsoNone)
        {
            if ((header.Flags & VirtioNetHeader.NeedsChecksum) != 0 && !TcpSegmenter.TryCompleteChecksum(packet, header.ChecksumStart, header.ChecksumOffset))
            {
                Interlocked.Increment(ref _malformed);
                return;
            }
            ProcessSegment(packet, batch);
            return;
        }
        try
        {
            var state = (Plane: this, Batch: batch);
            var cut = gso switch
            {
                VirtioNetHeader.GsoTcpV4 => TcpSegmenter.TrySegment(packet, header.GsoSize, batch.Segment, state, static (segment, s) => s.Plane.ProcessSegment(segment, s.Batch), out _),
                VirtioNetHeader.GsoUdpL4 => UdpSegmenter.TrySegment(packet, header.GsoSize, batch.Segment, state, static (segment, s) => s.Plane.ProcessSegment(segment, s.Batch), out _),
                _ => false,
            };
            if (!cut)
            {
                Interlocked.Increment(ref _malformed);
            }
            else Interlocked.Increment(ref _superPackets);
        }
        catch
        {
            FlushBatch(batch); // a segment threw: what was encrypted leaves, the SA's order is released
            throw;
        }
    }

    /// <summary>One segment of a super-packet: into the batch of its pair when it can go batched, else the usual way.</summary>
    private void ProcessSegment(ReadOnlySpan<byte> segment, OutboundBatch batch)
    {
        if (!InnerPacket.TryReadIPv4Flow(segment, out var flow) || !_sad.TryGetOutbound(flow, out var pair))
        {
            FlushBatch(batch);
            ProcessOutbound(segment);
            return;
        }
        var sa = pair.Outbound;
        var batched = pair.UdpEncapsulated ? UdpSendSegments is not null && !_udpSegmentsFailed : RawSendBatch is not null;
        if (!batched || segment.Length > PathMtu.MaxInnerLength(sa, _options.OutsideMtu, pair.UdpEncapsulated))
        {
            FlushBatch(batch);
            Send(segment, pair);
            return;
        }
        var espLength = sa.PacketSize(segment.Length);
        if (batch.Pair is not null && (batch.Pair != pair || batch.Count == BatchSend.MaxSegments || batch.Used + espLength > BatchSend.MaxBytes
            || (pair.UdpEncapsulated && batch.Count > 0 && espLength > batch.SegmentSize)))
            FlushBatch(batch);
        if (batch.Pair is null)
        {
            // From this segment's number to the batch's send the SA's order is this thread's: another pump's packet on
            // the SA waits rather than overtake these on the wire (RFC 4303 §3.3.3).
            sa.SendOrder.Enter();
            batch.Pair = pair;
            batch.Unsealed = sa.SealsInBatches;
        }
        // AES-CBC: sealed at the send, the chains of several packets side by side (AesNiCbc.EncryptMany).
        var status = batch.Unsealed
            ? sa.TryEncapsulateUnsealed(segment, batch.Buffer.AsSpan(batch.Used), out int length)
            : sa.TryEncapsulate(segment, batch.Buffer.AsSpan(batch.Used), out length);
        if (status != EspEncapStatus.Ok) return;
        if (batch.Count == 0) batch.SegmentSize = length;
        batch.Lengths[batch.Count++] = length;
        batch.Used += length;
        if (pair.UdpEncapsulated && length < batch.SegmentSize) FlushBatch(batch); // a shorter datagram ends a GSO buffer
    }

    /// <summary>Sends the batch (if it holds packets) and releases its pair's <see cref="EspSa.SendOrder"/>.</summary>
    private void FlushBatch(OutboundBatch batch)
    {
        if (batch.Pair is not { } pair) return;
        try
        {
            if (batch.Count == 0) return;
            // Nothing leaves unsealed: a batch the SA can no longer seal is cleared and dropped (counted by the SA).
            if (batch.Unsealed && !pair.Outbound.TrySealBatch(batch.Buffer.AsSpan(0, batch.Used), batch.Lengths.AsSpan(0, batch.Count))) return;
            if (pair.UdpEncapsulated)
            {
                try { UdpSendSegments!(batch.Buffer.AsSpan(0, batch.Used), batch.SegmentSize, pair); }
                catch (System.Net.Sockets.SocketException)
                {
                    // No UDP GSO on this path (EIO from a device without it): from now on one by one, this batch too.
                    _udpSegmentsFailed = true;
                    var at = 0;
                    for (var i = 0; i < batch.Count; i++)
                    {
                        UdpSend?.Invoke(batch.Buffer.AsSpan(at, batch.Lengths[i]), pair);
                        at += batch.Lengths[i];
                    }
                }
            }
            else RawSendBatch!(batch.Buffer.AsSpan(0, batch.Used), batch.Lengths.AsSpan(0, batch.Count), pair);
            Interlocked.Increment(ref _batchedSends);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
        {
            EspSaCounters.Add(ref pair.Outbound.Counters.SendErrors, batch.Count);
        }
        finally
        {
            batch.Count = 0;
            batch.Used = 0;
            batch.Pair = null;
            batch.Unsealed = false;
            pair.Outbound.SendOrder.Exit();
        }
    }

    private void FlushQueued(EspSaPair pair)
    {
        foreach (var (buffer, length) in _acquire.TakeFor(pair))
        {
            Send(buffer.AsSpan(0, length), pair);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A datagram from the raw ESP socket: outer IPv4 header, then ESP. Decrypted in place.</summary>
    public EspInboundResult OnRawEsp(Span<byte> ipDatagram) => OnRawEsp(ipDatagram, null);

    /// <summary>
    /// <see cref="OnRawEsp(Span{byte})"/> within a receive batch: the inner packet goes to <paramref name="coalescer"/>
    /// (flushed by the caller at the batch's end) rather than straight to the inside device.
    /// </summary>
    public EspInboundResult OnRawEsp(Span<byte> ipDatagram, TunCoalescer? coalescer)
    {
        if (ipDatagram.Length < 20 || ipDatagram[0] >> 4 != 4 || ipDatagram[9] != 50)
        {
            Interlocked.Increment(ref _malformed);
            return EspInboundResult.Malformed;
        }
        int headerLength = (ipDatagram[0] & 0x0F) * 4;
        if (headerLength < 20 || headerLength > ipDatagram.Length)
        {
            Interlocked.Increment(ref _malformed);
            return EspInboundResult.Malformed;
        }
        return OnEsp(ipDatagram[headerLength..], null, BinaryPrimitives.ReadUInt32BigEndian(ipDatagram[12..]), coalescer);
    }

    /// <summary>
    /// A UDP/4500 payload the gateway classified as ESP (<see cref="UdpEncapsulation.Classify"/>), from
    /// <paramref name="from"/>. Decrypted in place.
    /// </summary>
    public EspInboundResult OnUdpEsp(Span<byte> esp, IPEndPoint? from) => OnEsp(esp, from, 0);

    /// <summary>
    /// <see cref="OnUdpEsp(Span{byte}, IPEndPoint?)"/> for a datagram of a receive batch (the NAT-T socket's one receiving
    /// thread): with a TUN device that takes offloads its TCP segments and UDP datagrams are merged (<see cref="TunCoalescer"/>) until
    /// <see cref="EndUdpBatch"/>.
    /// </summary>
    public EspInboundResult OnUdpEspInBatch(Span<byte> esp, IPEndPoint? from)
    {
        return _virtio is null ? OnEsp(esp, from, 0) : OnEsp(esp, from, 0, _udpCoalescer ??= new TunCoalescer());
    }

    /// <summary>The end of a receive batch of ESP in UDP: what was merged goes to the TUN device.</summary>
    public void EndUdpBatch()
    {
        if (_udpCoalescer is not { } coalescer || _virtio is null) return;
        try { coalescer.Flush(_virtio); }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { Interlocked.Increment(ref _internalErrors); }
    }

    private TunCoalescer? _udpCoalescer;

    private EspInboundResult OnEsp(Span<byte> esp, IPEndPoint? from, uint rawSource, TunCoalescer? coalescer = null)
    {
        if (esp.Length < 8)
        {
            Interlocked.Increment(ref _malformed);
            return EspInboundResult.Malformed;
        }
        // RFC 4301 §5.2 step 3: the SAD lookup is by SPI alone.
        if (!_sad.TryGetInbound(BinaryPrimitives.ReadUInt32BigEndian(esp), out var pair))
        {
            Interlocked.Increment(ref _invalidSpi);
            if (UnknownSpi is { } unknown) RaiseUnknownSpi(unknown, esp, from, rawSource);
            return EspInboundResult.UnknownSpi;
        }
        var sa = pair.Inbound;
        var status = sa.TryDecapsulate(esp, out var range, out _);
        if (status == EspDecapStatus.DummyPacket) return EspInboundResult.Dummy;
        if (status != EspDecapStatus.Ok) return EspInboundResult.DecapFailed;
        var inner = esp[range];
        // RFC 4301 §5.2 step 4: the inner header must match the SA's selectors (IPv4 selectors only here).
        if (!InnerPacket.TryReadIPv4Flow(inner, out var flow) || !pair.MatchesInbound(flow))
        {
            EspSaCounters.Add(ref sa.Counters.InvalidIdentity);
            EspSaCounters.Add(ref sa.Counters.RecvErrors);
            return EspInboundResult.SelectorMismatch;
        }
        if (from is not null && pair.UdpEncapsulated && !from.Equals(pair.Peer))
        {
            PeerEndpointChanged?.Invoke(pair, from);
        }
        try
        {
            if (coalescer is not null && _virtio is not null) coalescer.Add(inner, _virtio);
            else _inside.Write(inner);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            EspSaCounters.Add(ref sa.Counters.RecvErrors);
            return EspInboundResult.DecapFailed;
        }
        return EspInboundResult.Delivered;
    }

    private static void RaiseUnknownSpi(UnknownSpiHandler handler, ReadOnlySpan<byte> esp, IPEndPoint? from, uint rawSource)
    {
        var source = rawSource;
        if (from is not null)
        {
            Span<byte> address = stackalloc byte[16];
            if (!from.Address.TryWriteBytes(address, out var written) || written != 4) return; // IPv4 only
            source = BinaryPrimitives.ReadUInt32BigEndian(address);
        }
        handler(BinaryPrimitives.ReadUInt32BigEndian(esp), source, from?.Port ?? 0, esp);
    }

    /// <summary>Sends one 0xFF keepalive to each UDP-encapsulated peer (RFC 3948 §2.3); returns how many.</summary>
    public int SendNatKeepalives()
    {
        if (UdpSend is not { } send) return 0;
        Span<byte> keepalive = stackalloc byte[1];
        UdpEncapsulation.WriteNatKeepalive(keepalive);
        var done = new HashSet<IPEndPoint>();
        foreach (var pair in _sad.Pairs)
        {
            if (!pair.UdpEncapsulated || !done.Add(pair.Peer)) continue;
            try
            {
                send(keepalive, pair);
                Interlocked.Increment(ref _keepalivesSent);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                // The next round tries again; a dead peer is DPD's business.
            }
        }
        return done.Count;
    }

    /// <summary>Drops queued packets older than the hold time (also done on every enqueue and flush).</summary>
    public int ExpireQueued() => _acquire.Expire();

    /// <summary>
    /// Starts the inside pumps and the NAT keepalive timer: one thread per queue of a multi-queue device
    /// (<see cref="IMultiQueuePacketDevice"/>: the kernel keeps each flow on one queue), else one. Pumps share the SAs:
    /// an SA's packets leave in the order of their numbers whichever pump sends them (<see cref="EspSa.SendOrder"/>).
    /// </summary>
    public void Start()
    {
        _keepaliveTimer = _time.CreateTimer(_ => { SendNatKeepalives(); ExpireQueued(); }, null, _options.NatKeepaliveInterval, _options.NatKeepaliveInterval);
        IPacketDevice[] queues = _inside is IMultiQueuePacketDevice { QueueCount: > 1 } multi
            ? [.. Enumerable.Range(0, multi.QueueCount).Select(multi.Queue)]
            : [_inside];
        InsidePumps = queues.Length;
        for (var i = 0; i < queues.Length; i++)
        {
            var queue = queues[i];
            StartThread($"esp-inside-{i}", () => PumpInside(queue));
        }
    }

    /// <summary>Inside pump threads started (one per queue of the inside device).</summary>
    public int InsidePumps { get; private set; }

    /// <summary>Raw ESP receiving threads started (<see cref="AttachRawSocket"/>).</summary>
    public int RawReceivers => Volatile.Read(ref _rawReceivers);

    private int _rawReceivers;

    /// <summary>
    /// One inside pump: reads its queue, encapsulates and sends, with a buffer and a batch of its own. With offloads, the
    /// ESP packets of what the queue holds at once leave together (one sendmmsg or UDP GSO call per run of a pair, up to
    /// <see cref="BatchSend.MaxSegments"/>): the batch is sent when a read finds the queue empty, so a packet waits
    /// only for the packets read right behind it, never for the next to arrive.
    /// </summary>
    private void PumpInside(IPacketDevice queue)
    {
        var batch = _virtio is not null ? new OutboundBatch() : null;
        var buffer = GC.AllocateUninitializedArray<byte>(_options.MaxInnerPacket + VirtioNetHeader.Size, pinned: true);
        try
        {
            PumpInside(queue, batch, buffer);
        }
        finally
        {
            if (batch is not null) FlushBatch(batch);
        }
    }

    private void PumpInside(IPacketDevice queue, OutboundBatch? batch, byte[] buffer)
    {
        while (!_stop.IsCancellationRequested)
        {
            int n;
            try
            {
                // Packets waiting in the batch: only look (no wait) before sending them.
                n = queue.Read(buffer, batch?.Pair is null ? 200 : 0);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                return;
            }
            if (n == 0 && batch?.Pair is not null)
            {
                FlushBatch(batch);
                continue;
            }
            if (n > 0)
            {
                try
                {
                    if (batch is not null) ProcessFromTun(buffer.AsSpan(0, n), batch);
                    else ProcessOutbound(buffer.AsSpan(0, n));
                }
#pragma warning disable CA1031 // the pump must survive anything one packet causes
                catch (Exception)
#pragma warning restore CA1031
                {
                    Interlocked.Increment(ref _internalErrors);
                }
            }
        }
    }

    /// <summary>
    /// Receives from a raw ESP socket on a thread of its own; the first socket attached also sends outbound raw ESP.
    /// Several may be attached, each on its thread (e.g. one per share of the SPIs, <see cref="RawEspSocket.SteerBySpi"/>):
    /// an inbound SA's replay window and counters take packets from any number of threads (its lock, RFC 4303 §3.4.3).
    /// </summary>
    public void AttachRawSocket(RawEspSocket socket)
    {
        var index = Interlocked.Increment(ref _rawReceivers) - 1;
        if (index == 0) RawSend = socket.Send;
        StartThread($"esp-raw-{index}", () =>
        {
            // Up to RawBatch datagrams per recvmmsg; with a TUN device that takes offloads, the TCP segments and UDP
            // datagrams of one batch go to it coalesced (TunCoalescer), each run of a flow as one super-packet.
            var buffer = GC.AllocateUninitializedArray<byte>(RawBatch * RawSlot, pinned: true);
            var lengths = new int[RawBatch];
            var device = _virtio;
            var coalescer = device is null ? null : new TunCoalescer();
            if (coalescer is not null) lock (_rawCoalescers) _rawCoalescers.Add(coalescer);
            while (!_stop.IsCancellationRequested)
            {
                int n;
                try
                {
                    n = socket.ReceiveMany(buffer, RawSlot, lengths, 200);
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
                {
                    return;
                }
                for (var i = 0; i < n; i++)
                {
                    try
                    {
                        OnRawEsp(buffer.AsSpan(i * RawSlot, lengths[i]), coalescer);
                    }
#pragma warning disable CA1031 // the pump must survive anything one packet causes
                    catch (Exception)
#pragma warning restore CA1031
                    {
                        Interlocked.Increment(ref _internalErrors);
                    }
                }
                if (coalescer is not null && n > 0)
                {
                    try { coalescer.Flush(device!); }
                    catch (Exception e) when (e is IOException or ObjectDisposedException) { Interlocked.Increment(ref _internalErrors); }
                }
            }
        });
    }

    private const int RawBatch = 16, RawSlot = 65536;
    private readonly List<TunCoalescer> _rawCoalescers = []; // one per raw receiving thread

    /// <summary>Decapsulated TCP segments and UDP datagrams merged into super-packets for the TUN device (raw ESP and UDP 4500 receive batches).</summary>
    public long CoalescedSegments
    {
        get
        {
            long raw;
            lock (_rawCoalescers) raw = _rawCoalescers.Sum(c => c.Coalesced);
            return raw + (_udpCoalescer?.Coalesced ?? 0);
        }
    }

    /// <summary>Bugs while handling one packet (never expected) are counted here instead of killing the pump thread and the process.</summary>
    public long InternalErrors => Interlocked.Read(ref _internalErrors);

    private long _internalErrors;

    private void StartThread(string name, Action body)
    {
        var t = new Thread(() => body()) { IsBackground = true, Name = name };
        lock (_threads) _threads.Add(t);
        t.Start();
    }

    private int _disposed;

    /// <summary>Stops the threads and the timer, once (a second call does nothing); the SAD, device and sockets stay the caller's.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _sad.PairAdded -= OnPairAdded;
        _keepaliveTimer?.Dispose();
        _stop.Cancel();
        lock (_threads)
        {
            foreach (var t in _threads) t.Join(TimeSpan.FromSeconds(2));
        }
        _stop.Dispose();
        _acquire.Clear();
    }
}
