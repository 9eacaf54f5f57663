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
    private readonly UdpClient _ike = new(options.Ike);
    private readonly UdpClient? _natT = options.NatT is null ? null : new(options.NatT);
    private Func<ReceivedDatagram, bool> _deliver = _ => false;

    public IPEndPoint LocalEndPoint => (IPEndPoint)_ike.Client.LocalEndPoint!;
    public IPEndPoint? NatTEndPoint => (IPEndPoint?)_natT?.Client.LocalEndPoint;

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
    /// (perf, tests/IkeActors.Benchmarks/README.md). Sends stay synchronous from whichever thread answers.
    /// </summary>
    private Task StartIkeReceiver(Socket socket, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        socket.ReceiveTimeout = 500; // wakes up to see the stop request while idle
        var thread = new Thread(() =>
        {
            try
            {
                if (socket.AddressFamily == AddressFamily.InterNetwork && OperatingSystem.IsLinux()) ReceiveIkeBatches(socket, ct);
                else ReceiveIke(socket, ct);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                logger.LogError(e, "the ISAKMP receive loop ended");
            }
            finally { done.TrySetResult(); }
        }) { IsBackground = true, Name = "isakmp-receive" };
        thread.Start();
        return done.Task;
    }

    /// <summary>
    /// Up to <see cref="IkeBatch"/> datagrams per recvmmsg (Linux, IPv4); each is copied out of the batch buffer into
    /// its own array (the lanes keep it), and its sender's endpoint is made again only when the sender changes.
    /// </summary>
    private void ReceiveIkeBatches(Socket socket, CancellationToken ct)
    {
        const int Slot = 65536;
        var buffer = GC.AllocateUninitializedArray<byte>(IkeBatch * Slot, pinned: true);
        var addresses = GC.AllocateUninitializedArray<byte>(IkeBatch * IkeActors.Esp.BatchReceive.AddressSize, pinned: true);
        var lengths = new int[IkeBatch];
        var last = new byte[IkeActors.Esp.BatchReceive.AddressSize];
        IPEndPoint? from = null;
        while (!ct.IsCancellationRequested)
        {
            int count;
            if (socket.SafeHandle.IsClosed) return;
            try { count = IkeActors.Esp.BatchReceive.ReceiveMany(socket, buffer, Slot, lengths, addresses); }
            catch (SocketException) { continue; }
            catch (ObjectDisposedException) { return; }
            for (var i = 0; i < count; i++)
            {
                var address = addresses.AsSpan(i * IkeActors.Esp.BatchReceive.AddressSize, IkeActors.Esp.BatchReceive.AddressSize);
                if (from is null || !address.SequenceEqual(last))
                {
                    // sockaddr_in: family (host order), port and address (network order).
                    from = options.Configured(new IPEndPoint(new IPAddress(address.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(address[2..])));
                    address.CopyTo(last);
                }
                var bytes = buffer.AsSpan(i * Slot, lengths[i]).ToArray();
                counters.Received(bytes.Length);
                if (!_deliver(new(bytes, from, false))) counters.Drop();
            }
        }
    }

    private const int IkeBatch = 8;

    /// <summary>One datagram per blocking receive (not Linux, or IPv6).</summary>
    private void ReceiveIke(Socket socket, CancellationToken ct)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(65535);
        var address = new SocketAddress(socket.AddressFamily);
        while (!ct.IsCancellationRequested)
        {
            int n;
            try { n = socket.ReceiveFrom(buffer, SocketFlags.None, address); }
            catch (SocketException) { continue; }
            catch (ObjectDisposedException) { return; }
            var from = options.Configured((IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(address));
            counters.Received(n);
            if (!_deliver(new(buffer.AsSpan(0, n).ToArray(), from, false))) counters.Drop();
        }
    }

    /// <summary>
    /// UDP 4500 carries three things (RFC 3948 §2): a NAT keepalive (one 0xFF octet), IKE behind the
    /// four-zero-octet non-ESP marker, and ESP (the first four octets are its non-zero SPI). A thread of its
    /// own with one receive buffer: ESP goes to the data plane without an allocation per packet (the peer's
    /// endpoint object is made again only when the source address changes).
    /// </summary>
    private Task StartNatTReceiver(Socket socket, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        socket.ReceiveTimeout = 500; // wakes up to see the stop request while idle
        var thread = new Thread(() =>
        {
            try
            {
                if (socket.AddressFamily == AddressFamily.InterNetwork && OperatingSystem.IsLinux()) ReceiveNatTBatches(socket, ct);
                else ReceiveNatT(socket, ct);
            }
            finally { done.TrySetResult(); }
        }) { IsBackground = true, Name = "natt-receive" };
        thread.Start();
        return done.Task;
    }

    /// <summary>
    /// As <see cref="ReceiveNatT"/>, up to <see cref="NatTBatch"/> datagrams per recvmmsg (Linux, IPv4): the ESP of one
    /// batch is decapsulated back to back and the data plane merges its TCP segments for the TUN device.
    /// </summary>
    private void ReceiveNatTBatches(Socket socket, CancellationToken ct)
    {
        const int Slot = 65536;
        var buffer = GC.AllocateUninitializedArray<byte>(NatTBatch * Slot, pinned: true);
        var addresses = GC.AllocateUninitializedArray<byte>(NatTBatch * IkeActors.Esp.BatchReceive.AddressSize, pinned: true);
        var lengths = new int[NatTBatch];
        var last = new byte[IkeActors.Esp.BatchReceive.AddressSize];
        IPEndPoint? from = null;
        while (!ct.IsCancellationRequested)
        {
            int count;
            try { count = IkeActors.Esp.BatchReceive.ReceiveMany(socket, buffer, Slot, lengths, addresses); }
            catch (SocketException) { continue; }
            catch (ObjectDisposedException) { return; }
            for (var i = 0; i < count; i++)
            {
                var address = addresses.AsSpan(i * IkeActors.Esp.BatchReceive.AddressSize, IkeActors.Esp.BatchReceive.AddressSize);
                if (from is null || !address.SequenceEqual(last))
                {
                    // sockaddr_in: family (host order), port and address (network order); a new endpoint only when the sender changes.
                    from = new IPEndPoint(new IPAddress(address.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(address[2..]));
                    address.CopyTo(last);
                }
                Classify(buffer.AsSpan(i * Slot, lengths[i]), from);
            }
            if (count > 0) UdpEspBatchEnd?.Invoke();
        }
    }

    private const int NatTBatch = 16;

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

    private void ReceiveNatT(Socket socket, CancellationToken ct)
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
            Classify(buffer.AsSpan(0, n), from);
            UdpEspBatchEnd?.Invoke();
        }
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
