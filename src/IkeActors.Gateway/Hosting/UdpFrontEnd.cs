using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using IkeActors.Grains;
using IkeActors.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>Where the front-end listens and how hard it may be pushed.</summary>
public sealed record FrontEndOptions
{
    /// <summary>The ISAKMP socket (RFC 2408 §2.5.2: UDP 500).</summary>
    public IPEndPoint Ike { get; init; } = new(IPAddress.Any, 500);

    /// <summary>The NAT-T socket (RFC 3947 §4, RFC 3948: UDP 4500, IKE behind the non-ESP marker and ESP in UDP); null: none.</summary>
    public IPEndPoint? NatT { get; init; } = new(IPAddress.Any, 4500);

    /// <summary>Datagrams waiting for a grain; beyond this they are dropped and counted (back-pressure, not memory).</summary>
    public int QueueCapacity { get; init; } = 4096;

    /// <summary>IKE SAs still negotiating phase 1 at once (half-open bound).</summary>
    public int MaxHalfOpen { get; init; } = 1024;

    /// <summary>`debug crypto ikev1` level for the console (0 = off).</summary>
    public int DebugLevel { get; init; }

    /// <summary>
    /// Configured peer address -> where it really listens (a lab on one machine: the peers'
    /// configured 10.0.0.x addresses live on loopback ports). Empty in production.
    /// </summary>
    public IReadOnlyDictionary<IPAddress, IPEndPoint> PeerMap { get; init; } = new Dictionary<IPAddress, IPEndPoint>();

    /// <summary>Where a configured peer endpoint really is: its ISAKMP port mapped as given; its NAT-T port on the mapped address.</summary>
    public IPEndPoint Real(IPEndPoint configured, bool natT = false) =>
        !PeerMap.TryGetValue(configured.Address, out var real) ? configured
        : natT ? new IPEndPoint(real.Address, configured.Port) : real;

    public IPEndPoint Configured(IPEndPoint real, bool natT = false)
    {
        foreach (var (address, endPoint) in PeerMap)
            if (natT ? endPoint.Address.Equals(real.Address) : endPoint.Equals(real)) return new IPEndPoint(address, natT ? real.Port : 500);
        return real;
    }
}

/// <summary>ESP from the NAT-T socket: the packet (valid only during the call) and the peer it came from.</summary>
public delegate void UdpEspHandler(Span<byte> esp, IPEndPoint from);

/// <summary>
/// The UDP front-end of one silo: reads only the ISAKMP header of each datagram, routes it to
/// the IKE SA grain named by (peer, initiator cookie), and sends the grain's answers from the
/// socket the request came in on. It is also the transmitter for what grains send on their own
/// (retransmissions).
/// </summary>
public sealed class UdpFrontEnd(IGrainFactory grains, FrontEndOptions options, ILogger<UdpFrontEnd> logger) : BackgroundService, IDatagramTransmitter
{
    private readonly UdpClient _socket = new(options.Ike);
    private readonly UdpClient? _natT = options.NatT is null ? null : new(options.NatT);
    private readonly Channel<(byte[] Bytes, IPEndPoint From, bool NatT)> _queue =
        Channel.CreateBounded<(byte[], IPEndPoint, bool)>(new BoundedChannelOptions(options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, string> _states = new();
    private long _dropped, _malformed, _keepalives;

    /// <summary>ESP that arrives in UDP on the NAT-T socket (RFC 3948) goes to the data plane, when this node has one.</summary>
    public UdpEspHandler? UdpEsp { get; set; }
    private volatile int _hubLevel;

    /// <summary>The level grains format at: the console's, or higher while an operator runs `debug crypto ikev1 N`.</summary>
    private int Level => Math.Max(options.DebugLevel, _hubLevel);

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.Client.LocalEndPoint!;
    public IPEndPoint? NatTEndPoint => (IPEndPoint?)_natT?.Client.LocalEndPoint;
    /// <summary>NAT keepalives received (RFC 3948 §2.3: one 0xFF octet; nothing to do but count).</summary>
    public long Keepalives => Interlocked.Read(ref _keepalives);
    public long Dropped => Interlocked.Read(ref _dropped);
    public long Malformed => Interlocked.Read(ref _malformed);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("ISAKMP front-end listening on udp {EndPoint} (NAT-T {NatT})", LocalEndPoint, NatTEndPoint);
        var workers = Enumerable.Range(0, Math.Max(2, Environment.ProcessorCount)).Select(_ => Task.Run(() => Work(stoppingToken), stoppingToken)).ToList();
        workers.Add(Task.Run(() => Receive(stoppingToken), stoppingToken));
        if (_natT is not null) workers.Add(StartNatTReceiver(_natT.Client, stoppingToken));
        workers.Add(Task.Run(() => WatchDebugHub(stoppingToken), stoppingToken));
        return Task.WhenAll(workers);
    }

    /// <summary>Learns, every two seconds, whether an operator session wants debug lines and at which level.</summary>
    private async Task WatchDebugHub(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try { _hubLevel = await grains.GetGrain<IDebugHubGrain>(0).GetLevel(); }
            catch (Exception e) when (e is not OperationCanceledException) { _hubLevel = 0; }
            try { await Task.Delay(TimeSpan.FromSeconds(2), ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task Receive(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            UdpReceiveResult r;
            try { r = await _socket.ReceiveAsync(ct); }
            catch (OperationCanceledException) { return; }
            catch (SocketException) { continue; }
            if (!_queue.Writer.TryWrite((r.Buffer, options.Configured(r.RemoteEndPoint), false))) Interlocked.Increment(ref _dropped);
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
            try { ReceiveNatT(socket, ct); }
            finally { done.TrySetResult(); }
        }) { IsBackground = true, Name = "natt-receive" };
        thread.Start();
        return done.Task;
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
            var bytes = buffer.AsSpan(0, n);
            if (n == 1 && bytes[0] == 0xFF) { Interlocked.Increment(ref _keepalives); continue; }
            if (n < 4) { Interlocked.Increment(ref _malformed); continue; }
            if (BinaryPrimitives.ReadUInt32BigEndian(bytes) == 0)
            {
                if (!_queue.Writer.TryWrite((bytes[4..].ToArray(), options.Configured(from, natT: true), true))) Interlocked.Increment(ref _dropped);
            }
            else if (UdpEsp is { } esp)
            {
                try { esp(bytes, from); }
                catch (Exception e) when (e is not OutOfMemoryException) { Interlocked.Increment(ref _dropped); logger.LogDebug(e, "ESP in UDP from {From} failed", from); }
            }
            else Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Sends ESP in UDP from the NAT-T socket (RFC 3948 §2.1: source and destination port 4500 unless a NAT changed them).</summary>
    public void SendUdpEsp(ReadOnlySpan<byte> esp, SocketAddress to)
    {
        // A SocketAddress serialised once per SA (EspSaPair.PeerAddress): no allocation per packet.
        try { _natT?.Client.SendTo(esp, SocketFlags.None, to); }
        catch (SocketException) { Interlocked.Increment(ref _dropped); }
    }

    private async Task Work(CancellationToken ct)
    {
        await foreach (var (bytes, from, natT) in _queue.Reader.ReadAllAsync(ct))
        {
            try { await Route(bytes, from, natT); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "datagram from {Peer} could not be handled", from);
            }
        }
    }

    private async Task Route(byte[] bytes, IPEndPoint from, bool natT)
    {
        // Design: only the header is read here, with the generated zero-copy reader.
        if (!IsakmpHeaderView.TryParse(bytes, out var header, out _))
        {
            Interlocked.Increment(ref _malformed);
            return;
        }
        var key = IIkeSaGrain.KeyFor(from.Address.ToString(), header.InitiatorCookie);
        var isNew = header.ResponderCookie == 0 && !_states.ContainsKey(key);
        if (isNew && _states.Values.Count(s => s != "MM_ACTIVE") >= options.MaxHalfOpen)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        var result = await grains.GetGrain<IIkeSaGrain>(key).Receive(new Datagram(bytes, from.Address.ToString(), from.Port, natT), Level);
        Track(key, result.State);
        Emit(result);
    }

    /// <summary>Starts negotiation for traffic the data plane could not send (the key acquire).</summary>
    public async Task Acquire(IPAddress peer, AcquireRequest acquire)
    {
        var result = await grains.GetGrain<ITunnelGrain>(peer.ToString()).Acquire(acquire, Level);
        var current = await grains.GetGrain<ITunnelGrain>(peer.ToString()).GetCurrentIkeSa();
        if (current is not null) Track(current, result.State);
        Emit(result);
    }

    private void Track(string key, string state)
    {
        var directory = grains.GetGrain<ISaDirectoryGrain>(0);
        if (state is "MM_DELETED" or "MM_NO_STATE")
        {
            if (_states.TryRemove(key, out _)) _ = directory.Remove(key);
        }
        else if (!_states.TryGetValue(key, out var old) || old != state)
        {
            _states[key] = state;
            _ = directory.Set(key, state);
        }
    }

    private void Emit(IkeStepResult result)
    {
        Print(result.DebugLines);
        foreach (var d in result.Send) Transmit(d);
    }

    public void Send(Datagram datagram, IReadOnlyList<string> debugLines)
    {
        Print(debugLines);
        if (datagram.Bytes.Length > 0) Transmit(datagram);
    }

    /// <summary>From UDP 500; or, once the SA floated, from the NAT-T socket behind the non-ESP marker (RFC 3948 §2.2).</summary>
    private void Transmit(Datagram d)
    {
        var to = options.Real(new IPEndPoint(IPAddress.Parse(d.Address), d.Port), d.NatT);
        try
        {
            if (!d.NatT || _natT is null) { _socket.Send(d.Bytes, to); return; }
            var framed = new byte[d.Bytes.Length + 4];
            d.Bytes.CopyTo(framed, 4);
            _natT.Send(framed, to);
        }
        catch (SocketException e)
        {
            logger.LogWarning("datagram to {Peer} not sent: {Error}", to, e.SocketErrorCode);
        }
    }

    /// <summary>Debug lines go to this node's console (when `--debug` is on) and to operator sessions.</summary>
    private void Print(IReadOnlyList<string> lines)
    {
        if (lines.Count == 0) return;
        if (options.DebugLevel > 0) foreach (var line in lines) Console.WriteLine(line);
        if (_hubLevel > 0) _ = grains.GetGrain<IDebugHubGrain>(0).Publish(lines);
    }

    public override void Dispose()
    {
        base.Dispose();
        _socket.Dispose();
        _natT?.Dispose();
    }
}
