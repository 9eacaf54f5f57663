using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using IkeActors.Grains;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>ESP from the NAT-T socket: the packet (valid only during the call) and the peer it came from.</summary>
public delegate void UdpEspHandler(Span<byte> esp, IPEndPoint from);

/// <summary>An IKE datagram as received: its bytes (without a non-ESP marker), the peer's configured endpoint, the socket.</summary>
public readonly record struct ReceivedDatagram(byte[] Bytes, IPEndPoint From, bool NatT);

/// <summary>
/// The node's two UDP sockets: ISAKMP (UDP 500) and NAT-T (UDP 4500). Received IKE datagrams go straight to the
/// router's bounded lanes (beyond them they are dropped and counted); ESP in UDP goes to the data plane; what the
/// grains answer leaves from the socket its SA uses. Peer endpoints are translated between the configured and the
/// real ones here (<see cref="FrontEndOptions.PeerMap"/>), so everything past the sockets speaks configured addresses.
/// </summary>
public sealed class IsakmpSockets(FrontEndOptions options, FrontEndCounters counters, ILogger<IsakmpSockets> logger) : IDisposable
{
    private readonly UdpClient _ike = SocketReceiveBuffer.Enlarged(new(options.Ike));
    private readonly UdpClient? _natT = options.NatT is null ? null : SocketReceiveBuffer.Enlarged(new(options.NatT));
    private Func<ReceivedDatagram, bool> _deliver = _ => false;

    public IPEndPoint LocalEndPoint => (IPEndPoint)_ike.Client.LocalEndPoint!;
    public IPEndPoint? NatTEndPoint => (IPEndPoint?)_natT?.Client.LocalEndPoint;

    /// <summary>Datagrams the kernel dropped at both sockets because their receive buffers were full (since they opened).</summary>
    public long ReceiveBufferDrops() => SocketReceiveBuffer.Drops(_ike.Client) + (_natT is null ? 0 : SocketReceiveBuffer.Drops(_natT.Client));

    /// <summary>ESP that arrives in UDP on the NAT-T socket (RFC 3948) goes to the data plane, when this node has one.</summary>
    public UdpEspHandler? UdpEsp { get; set; }

    /// <summary>Told after each receive batch (<see cref="UdpEsp"/> was called for its ESP datagrams): the data plane flushes what it merged.</summary>
    public Action? UdpEspBatchEnd { get; set; }

    /// <summary>
    /// The receive loops of both sockets, each IKE datagram handed to <paramref name="deliver"/> on the receiving thread
    /// (false: no room, dropped and counted); they end when <paramref name="ct"/> is cancelled.
    /// </summary>
    public IReadOnlyList<Task> StartReceiving(Func<ReceivedDatagram, bool> deliver, CancellationToken ct)
    {
        _deliver = deliver;
        var loops = new List<Task> { StartIkeReceiver(_ike.Client, ct) };
        if (_natT is not null) loops.Add(StartNatTReceiver(_natT.Client, ct));
        return loops;
    }

    /// <summary>
    /// UDP 500 on a thread of its own, blocked in the socket's receive: the kernel wakes it for each datagram (or
    /// batch), which goes straight to the lanes. An awaited ReceiveAsync cost two thread wake-ups per datagram instead
    /// of one (the sockets' epoll thread, then a pool thread for the continuation): 4-5 % of a hub's CPU per new tunnel
    /// (perf, tests/IkeActors.Benchmarks/README.md). Each datagram is copied out of the receive buffer into its own
    /// array (the lanes keep it). Sends stay synchronous from whichever thread answers.
    /// </summary>
    private Task StartIkeReceiver(Socket socket, CancellationToken ct) =>
        StartReceiver(socket, "isakmp-receive", IkeBatch, gro: false, (bytes, from) =>
        {
            counters.Received(bytes.Length);
            if (!_deliver(new(bytes.ToArray(), options.Configured(from), false))) counters.Drop();
        }, batchEnd: null, ct);

    private const int IkeBatch = 8;

    /// <summary>
    /// UDP 4500 carries three things (RFC 3948 §2): a NAT keepalive (one 0xFF octet), IKE behind the
    /// four-zero-octet non-ESP marker, and ESP (the first four octets are its non-zero SPI). A thread of its
    /// own with one receive buffer: ESP goes to the data plane without an allocation per packet; the ESP of one
    /// batch is decapsulated back to back and the data plane merges its TCP segments for the TUN device at the batch's end.
    /// With UDP receive offload (UDP_GRO) a peer's UDP GSO send (our own gateways send so) arrives as one message of up
    /// to 64 datagrams: one system call and one trip through the kernel for all of them, each then classified alone.
    /// </summary>
    private Task StartNatTReceiver(Socket socket, CancellationToken ct) =>
        StartReceiver(socket, "natt-receive", NatTBatch, gro: true, Classify, () => UdpEspBatchEnd?.Invoke(), ct);

    private const int NatTBatch = 16;

    /// <summary>A received datagram, valid only during the call, and its sender as received.</summary>
    private delegate void DatagramHandler(Span<byte> datagram, IPEndPoint from);

    /// <summary>
    /// One socket's receive thread (named <paramref name="name"/>): up to <paramref name="batch"/> datagrams per
    /// recvmmsg on Linux and IPv4, else one per receive; <paramref name="batchEnd"/> after each batch. It ends when
    /// <paramref name="ct"/> is cancelled (the receive timeout wakes it while idle) or the socket is closed.
    /// </summary>
    private Task StartReceiver(Socket socket, string name, int batch, bool gro, DatagramHandler handle, Action? batchEnd, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        socket.ReceiveTimeout = 500; // wakes up to see the stop request while idle
        var thread = new Thread(() =>
        {
            try
            {
                if (socket.AddressFamily == AddressFamily.InterNetwork && OperatingSystem.IsLinux())
                    ReceiveBatches(socket, batch, gro && IkeActors.Esp.BatchReceive.EnableGro(socket), handle, batchEnd, ct);
                else ReceiveOneByOne(socket, handle, batchEnd, ct);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogError(e, "the {Socket} loop ended", name);
            }
            finally { done.TrySetResult(); }
        }) { IsBackground = true, Name = name };
        thread.Start();
        return done.Task;
    }

    /// <summary>
    /// recvmmsg into one pinned buffer; the sender's endpoint object is made again only when the sender changes. With
    /// <paramref name="gro"/> (UDP_GRO on), a message the kernel merged is handled datagram by datagram.
    /// </summary>
    private static void ReceiveBatches(Socket socket, int batch, bool gro, DatagramHandler handle, Action? batchEnd, CancellationToken ct)
    {
        const int Slot = 65536;
        const int AddressSize = IkeActors.Esp.BatchReceive.AddressSize;
        var buffer = GC.AllocateUninitializedArray<byte>(batch * Slot, pinned: true);
        var addresses = GC.AllocateUninitializedArray<byte>(batch * AddressSize, pinned: true);
        var lengths = new int[batch];
        var segmentSizes = gro ? new int[batch] : null;
        var last = new byte[AddressSize];
        IPEndPoint? from = null;
        while (!ct.IsCancellationRequested)
        {
            int count;
            if (socket.SafeHandle.IsClosed) return;
            try { count = IkeActors.Esp.BatchReceive.ReceiveMany(socket, buffer, Slot, lengths, addresses, segmentSizes); }
            catch (SocketException) { continue; }
            catch (ObjectDisposedException) { return; }
            for (var i = 0; i < count; i++)
            {
                var address = addresses.AsSpan(i * AddressSize, AddressSize);
                if (from is null || !address.SequenceEqual(last))
                {
                    // sockaddr_in: family (host order), port and address (network order).
                    from = new IPEndPoint(new IPAddress(address.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(address[2..]));
                    address.CopyTo(last);
                }
                var message = buffer.AsSpan(i * Slot, lengths[i]);
                var size = segmentSizes is null ? 0 : segmentSizes[i];
                if (IkeActors.Esp.BatchReceive.Segments(message.Length, size) == 1)
                {
                    handle(message, from);
                    continue;
                }
                for (var at = 0; at < message.Length; at += size) handle(message.Slice(at, Math.Min(size, message.Length - at)), from);
            }
            if (count > 0) batchEnd?.Invoke();
        }
    }

    /// <summary>One datagram per blocking receive (not Linux, or IPv6).</summary>
    private static void ReceiveOneByOne(Socket socket, DatagramHandler handle, Action? batchEnd, CancellationToken ct)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(65535);
        var address = new SocketAddress(socket.AddressFamily);
        var lastAddress = new SocketAddress(socket.AddressFamily);
        IPEndPoint? from = null;
        while (!ct.IsCancellationRequested)
        {
            int n;
            try { n = socket.ReceiveFrom(buffer, SocketFlags.None, address); }
            catch (SocketException) { continue; }
            catch (ObjectDisposedException) { return; }
            if (from is null || !address.Equals(lastAddress))
            {
                from = (IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(address);
                address.Buffer.Span.CopyTo(lastAddress.Buffer.Span);
                lastAddress.Size = address.Size;
            }
            handle(buffer.AsSpan(0, n), from);
            batchEnd?.Invoke();
        }
    }

    /// <summary>One UDP 4500 datagram: NAT keepalive, IKE behind the non-ESP marker, or ESP (RFC 3948 §2).</summary>
    private void Classify(Span<byte> bytes, IPEndPoint from)
    {
        var n = bytes.Length;
        if (n == 1 && bytes[0] == 0xFF) { counters.Keepalive(); return; }
        if (n < 4) { counters.MalformedDatagram(); return; }
        if (BinaryPrimitives.ReadUInt32BigEndian(bytes) == 0)
        {
            counters.Received(n);
            if (!_deliver(new(bytes[4..].ToArray(), options.Configured(from, natT: true), true))) counters.Drop();
        }
        else if (UdpEsp is { } esp)
        {
            try { esp(bytes, from); }
            catch (Exception e) when (e is not OutOfMemoryException) { counters.Drop(); logger.LogDebug(e, "ESP in UDP from {From} failed", from); }
        }
        else counters.Drop();
    }

    /// <summary>Sends ESP in UDP from the NAT-T socket (RFC 3948 §2.1: source and destination port 4500 unless a NAT changed them).</summary>
    public void SendUdpEsp(ReadOnlySpan<byte> esp, SocketAddress to)
    {
        // A SocketAddress serialised once per SA (EspSaPair.PeerAddress): no allocation per packet.
        try { _natT?.Client.SendTo(esp, SocketFlags.None, to); }
        catch (SocketException) { counters.Drop(); }
    }

    /// <summary>
    /// Equal-size ESP-in-UDP datagrams (the last may be shorter) to one peer in one call, cut by the kernel (UDP GSO).
    /// A failure is thrown (the data plane then sends one by one); a send error is counted.
    /// </summary>
    public void SendUdpEspSegments(ReadOnlySpan<byte> datagrams, int segmentSize, IPEndPoint to)
    {
        if (_natT is null) return;
        IkeActors.Esp.BatchSend.SendUdpSegments(_natT.Client, to, datagrams, segmentSize);
    }

    /// <summary>From UDP 500; or, once the SA floated, from the NAT-T socket behind the non-ESP marker (RFC 3948 §2.2).</summary>
    public void Transmit(Datagram d)
    {
        var to = options.Real(new IPEndPoint(IPAddress.Parse(d.Address), d.Port), d.NatT);
        try
        {
            if (!d.NatT || _natT is null) _ike.Send(d.Bytes, to);
            else
            {
                var framed = new byte[d.Bytes.Length + 4];
                d.Bytes.CopyTo(framed, 4);
                _natT.Send(framed, to);
            }
            counters.Sent(d.Bytes.Length);
        }
        catch (SocketException e)
        {
            counters.NotSent();
            logger.LogWarning("datagram to {Peer} not sent: {Error}", to, e.SocketErrorCode);
        }
    }

    public void Dispose()
    {
        _ike.Dispose();
        _natT?.Dispose();
    }
}
