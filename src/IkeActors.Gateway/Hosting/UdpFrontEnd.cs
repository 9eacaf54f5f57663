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

    public IPEndPoint Real(IPEndPoint configured) => PeerMap.TryGetValue(configured.Address, out var real) ? real : configured;

    public IPEndPoint Configured(IPEndPoint real)
    {
        foreach (var (address, endPoint) in PeerMap)
            if (endPoint.Equals(real)) return new IPEndPoint(address, 500);
        return real;
    }
}

/// <summary>
/// The UDP front-end of one silo: reads only the ISAKMP header of each datagram, routes it to
/// the IKE SA grain named by (peer, initiator cookie), and sends the grain's answers from the
/// socket the request came in on. It is also the transmitter for what grains send on their own
/// (retransmissions).
/// </summary>
public sealed class UdpFrontEnd(IGrainFactory grains, FrontEndOptions options, ILogger<UdpFrontEnd> logger) : BackgroundService, IDatagramTransmitter
{
    private readonly UdpClient _socket = new(options.Ike);
    private readonly Channel<(byte[] Bytes, IPEndPoint From)> _queue =
        Channel.CreateBounded<(byte[], IPEndPoint)>(new BoundedChannelOptions(options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, string> _states = new();
    private long _dropped, _malformed;
    private volatile int _hubLevel;

    /// <summary>The level grains format at: the console's, or higher while an operator runs `debug crypto ikev1 N`.</summary>
    private int Level => Math.Max(options.DebugLevel, _hubLevel);

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.Client.LocalEndPoint!;
    public long Dropped => Interlocked.Read(ref _dropped);
    public long Malformed => Interlocked.Read(ref _malformed);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("ISAKMP front-end listening on udp {EndPoint}", LocalEndPoint);
        var workers = Enumerable.Range(0, Math.Max(2, Environment.ProcessorCount)).Select(_ => Task.Run(() => Work(stoppingToken), stoppingToken));
        return Task.WhenAll(workers.Append(Task.Run(() => Receive(stoppingToken), stoppingToken)).Append(Task.Run(() => WatchDebugHub(stoppingToken), stoppingToken)));
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
            if (!_queue.Writer.TryWrite((r.Buffer, options.Configured(r.RemoteEndPoint)))) Interlocked.Increment(ref _dropped);
        }
    }

    private async Task Work(CancellationToken ct)
    {
        await foreach (var (bytes, from) in _queue.Reader.ReadAllAsync(ct))
        {
            try { await Route(bytes, from); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "datagram from {Peer} could not be handled", from);
            }
        }
    }

    private async Task Route(byte[] bytes, IPEndPoint from)
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
        var result = await grains.GetGrain<IIkeSaGrain>(key).Receive(new Datagram(bytes, from.Address.ToString(), from.Port), Level);
        Track(key, result.State);
        await Emit(result);
    }

    /// <summary>Starts negotiation for traffic the data plane could not send (the key acquire).</summary>
    public async Task Acquire(IPAddress peer, AcquireRequest acquire)
    {
        var result = await grains.GetGrain<ITunnelGrain>(peer.ToString()).Acquire(acquire, Level);
        var current = await grains.GetGrain<ITunnelGrain>(peer.ToString()).GetCurrentIkeSa();
        if (current is not null) Track(current, result.State);
        await Emit(result);
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

    private async Task Emit(IkeStepResult result)
    {
        Print(result.DebugLines);
        foreach (var d in result.Send)
            await _socket.SendAsync(d.Bytes, options.Real(new IPEndPoint(IPAddress.Parse(d.Address), d.Port)));
    }

    public void Send(Datagram datagram, IReadOnlyList<string> debugLines)
    {
        Print(debugLines);
        if (datagram.Bytes.Length > 0)
            _socket.Send(datagram.Bytes, options.Real(new IPEndPoint(IPAddress.Parse(datagram.Address), datagram.Port)));
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
    }
}
