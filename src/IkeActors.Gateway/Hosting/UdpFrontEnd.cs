using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using IkeActors.Grains;
using IkeActors.Negotiation;
using IkeActors.Negotiation.Admission;
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

    /// <summary>Half-open IKE SAs this node keeps: at once, per peer address, and how long one counts unreported.</summary>
    public HalfOpenLimits HalfOpen { get; init; } = new();

    /// <summary>
    /// Datagrams a second with cookies this node has not seen (not an MM1) that still go to a grain, which may hold
    /// the SA in storage (after a restart) or on another node; the rest are dropped as the ASA's "No Sa Fails".
    /// </summary>
    public int UnknownSaLookupsPerSecond { get; init; } = 200;

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
public sealed class UdpFrontEnd(IGrainFactory grains, FrontEndOptions options, GatewayContext gateway, ILogger<UdpFrontEnd> logger)
    : BackgroundService, IDatagramTransmitter
{
    private readonly UdpClient _socket = new(options.Ike);
    private readonly UdpClient? _natT = options.NatT is null ? null : new(options.NatT);
    private readonly Channel<(byte[] Bytes, IPEndPoint From, bool NatT)> _queue =
        Channel.CreateBounded<(byte[], IPEndPoint, bool)>(new BoundedChannelOptions(options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite });
    /// <summary>The IKE SAs this node routes to: key -> (last state, when it was last heard of).</summary>
    private readonly ConcurrentDictionary<string, (string State, long Seen)> _sas = new(StringComparer.Ordinal);
    private readonly Mm1Admission _admission = new(gateway, new HalfOpenLedger(options.HalfOpen, TimeProvider.System), TimeProvider.System);
    private readonly TokenBucket _unknownSaLookups = new(options.UnknownSaLookupsPerSecond, TimeProvider.System);
    private long _dropped, _malformed, _keepalives, _noSa, _initiated;
    private long _inOctets, _inPackets, _outOctets, _outPackets, _outDropped, _initiatorFails, _responderFails, _authFails;

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

    /// <summary>The half-open IKE SAs this node admitted and not yet seen end.</summary>
    public HalfOpenLedger HalfOpen => _admission.Ledger;

    /// <summary>This node's counters as `show crypto isakmp stats` sums them.</summary>
    public IkeNodeCounters Counters()
    {
        var h = HalfOpen.Statistics();
        long Read(ref long field) => Interlocked.Read(ref field);
        return new IkeNodeCounters
        {
            InOctets = Read(ref _inOctets), InPackets = Read(ref _inPackets),
            InDropPackets = Read(ref _dropped) + Read(ref _malformed) + Read(ref _noSa) + h.Refused,
            OutOctets = Read(ref _outOctets), OutPackets = Read(ref _outPackets), OutDropPackets = Read(ref _outDropped),
            Malformed = Read(ref _malformed), QueueFull = Read(ref _dropped), NoSa = Read(ref _noSa),
            HalfOpen = h.HalfOpen, HalfOpenHighWater = h.HighWater, MaxHalfOpen = HalfOpen.Limits.MaxHalfOpen,
            MaxHalfOpenPerPeer = HalfOpen.Limits.MaxHalfOpenPerPeer, RefusedNoKey = h.RefusedNoKey, RefusedPeerLimit = h.RefusedPeerLimit,
            RefusedNodeLimit = h.RefusedNodeLimit, Evicted = h.Evicted, Expired = h.Expired, Admitted = h.Admitted,
            InitiatorTunnels = Read(ref _initiated), InitiatorFails = Read(ref _initiatorFails), ResponderFails = Read(ref _responderFails),
            AuthFails = Read(ref _authFails), PublishedUtc = DateTime.UtcNow,
        };
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("ISAKMP front-end listening on udp {EndPoint} (NAT-T {NatT})", LocalEndPoint, NatTEndPoint);
        var workers = Enumerable.Range(0, Math.Max(2, Environment.ProcessorCount)).Select(_ => Task.Run(() => Work(stoppingToken), stoppingToken)).ToList();
        workers.Add(Task.Run(() => Receive(stoppingToken), stoppingToken));
        if (_natT is not null) workers.Add(StartNatTReceiver(_natT.Client, stoppingToken));
        _watcher = Task.Run(() => WatchDebugHub(CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _stopRouting.Token).Token), stoppingToken);
        workers.Add(_watcher);
        return Task.WhenAll(workers);
    }

    private volatile bool _stopping;
    private readonly CancellationTokenSource _stopRouting = new();
    private Task _watcher = Task.CompletedTask;

    /// <summary>
    /// A stop begins: datagrams from peers and key acquires no longer reach the grains (no new SA while the node
    /// deletes its SAs and the silo stops), and the two-second round has ended when this returns (no grain call of it
    /// is left in flight); sending goes on, so the DELETEs still leave.
    /// </summary>
    public async Task StopRouting()
    {
        _stopping = true;
        await _stopRouting.CancelAsync();
        try { await _watcher; } catch (OperationCanceledException) { }
    }

    /// <summary>The IKE SAs this node routes to (every state but deleted): what a stop deletes.</summary>
    public IReadOnlyCollection<string> IkeSas => _sas.Keys.ToList();

    /// <summary>
    /// Every two seconds: learns whether an operator session wants debug lines and at which level, publishes this
    /// node's counters for `show crypto isakmp stats`, and forgets SAs not heard of for a lease (see <see cref="Sweep"/>).
    /// </summary>
    private async Task WatchDebugHub(CancellationToken ct)
    {
        var node = LocalEndPoint.ToString();
        using var untraced = UntracedCalls.Begin();
        while (!ct.IsCancellationRequested)
        {
            try { _hubLevel = await grains.GetGrain<IDebugHubGrain>(0).GetLevel(); }
            catch (Exception e) when (e is not OperationCanceledException) { _hubLevel = 0; }
            try { await grains.GetGrain<IIkeStatsGrain>(0).Publish(node, Counters()); }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogDebug(e, "counters not published"); }
            Sweep();
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
            Interlocked.Increment(ref _inPackets);
            Interlocked.Add(ref _inOctets, r.Buffer.Length);
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
                Interlocked.Increment(ref _inPackets);
                Interlocked.Add(ref _inOctets, n);
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
        if (_stopping) return;
        // Design: only the header is read here, with the generated zero-copy reader.
        if (!IsakmpHeaderView.TryParse(bytes, out var header, out _))
        {
            Interlocked.Increment(ref _malformed);
            return;
        }
        var key = IIkeSaGrain.KeyFor(from.Address.ToString(), header.InitiatorCookie);
        var mm1 = false;
        if (!_sas.ContainsKey(key))
        {
            if (header.ResponderCookie == 0 && header.ExchangeType == ExchangeType.IdentityProtection)
            {
                if (!Admit(key, from.Address)) return;
                mm1 = true;
            }
            else if (!_unknownSaLookups.TryTake())
            {
                // Cookies of no SA this node knows, beyond what may still be asked of the grains (RFC 2408 §2.5.3:
                // cookies protect the responder's resources): dropped and counted.
                Interlocked.Increment(ref _noSa);
                return;
            }
        }
        // Only an MM1 that creates an SA starts a trace; every later message's span joins the SA's trace.
        IkeStepResult result;
        using (mm1 ? default : UntracedCalls.Begin())
            result = await grains.GetGrain<IIkeSaGrain>(key).Receive(new Datagram(bytes, from.Address.ToString(), from.Port, natT), Level);
        if (result.State is nameof(MainModeState.MM_NO_STATE) && !_sas.ContainsKey(key))
        {
            // Nothing started: an MM1 the SA refused (its room is given back), or cookies of no SA (the ASA's "No Sa Fails").
            if (mm1) HalfOpen.Release(key);
            else Interlocked.Increment(ref _noSa);
        }
        else Track(key, result.State);
        Emit(result);
    }

    /// <summary>An MM1 for a new SA: the half-open rule decides (Negotiation.Admission); refusals are counted and printed there.</summary>
    private bool Admit(string key, IPAddress peer)
    {
        var lines = new NegotiationOutput(Level);
        var verdict = _admission.Admit(key, peer, lines);
        if (lines.Actions.Count > 0) Print(lines.DebugLines.ToList()); // a refusal line at most once a second
        if (!verdict.Admitted)
        {
            IkeActors.Grains.Telemetry.NegotiationTelemetry.Mm1Refused.Add(1, new KeyValuePair<string, object?>("ikev1.refusal", verdict.Refusal.ToString()));
            return false;
        }
        if (verdict.Evicted is { } given)
        {
            // The oldest half-open SA of the busiest address gives way (it goes without a word to its peer).
            _sas.TryRemove(given, out _);
            using (UntracedCalls.Begin()) grains.GetGrain<IIkeSaAdmin>(given).Abandon().Ignore();
        }
        return true;
    }

    /// <summary>Starts negotiation for traffic the data plane could not send (the key acquire).</summary>
    public async Task Acquire(IPAddress peer, AcquireRequest acquire)
    {
        if (_stopping) return;
        var result = await grains.GetGrain<ITunnelGrain>(peer.ToString()).Acquire(acquire, Level);
        string? current;
        using (UntracedCalls.Begin()) current = await grains.GetGrain<ITunnelGrain>(peer.ToString()).GetCurrentIkeSa();
        if (current is not null)
        {
            if (!_sas.ContainsKey(current)) Interlocked.Increment(ref _initiated);
            Track(current, result.State);
        }
        Emit(result);
    }

    /// <summary>An IKE SA grain of this silo changed state (timers included): the one report of every end.</summary>
    public void SaStateChanged(string ikeSaKey, string state, bool initiator, string? phase1Failure)
    {
        if (phase1Failure is not null && state is nameof(MainModeState.MM_DELETED) or nameof(MainModeState.MM_NO_STATE))
        {
            Interlocked.Increment(ref initiator ? ref _initiatorFails : ref _responderFails);
            if (phase1Failure == nameof(FailureReason.AuthenticationFailed)) Interlocked.Increment(ref _authFails);
        }
        Track(ikeSaKey, state);
    }

    /// <summary>
    /// What this node knows of an SA: its state for routing, and its half-open room released once it is up or gone.
    /// Reports come from the grain (every change, on its silo) and from the answers to datagrams routed here.
    /// </summary>
    private void Track(string key, string state)
    {
        if (state is nameof(MainModeState.MM_DELETED) or nameof(MainModeState.MM_NO_STATE))
        {
            _sas.TryRemove(key, out _);
            HalfOpen.Release(key);
            return;
        }
        _sas[key] = (state, Environment.TickCount64);
        if (state == nameof(MainModeState.MM_ACTIVE)) HalfOpen.Release(key);
    }

    /// <summary>
    /// An SA still negotiating that nobody has reported on for a lease is forgotten (its end was reported on another
    /// node, or raced an older answer); an established one stays until it is reported gone.
    /// </summary>
    private void Sweep()
    {
        var oldest = Environment.TickCount64 - (long)options.HalfOpen.Lease.TotalMilliseconds;
        foreach (var (key, (state, seen)) in _sas)
            if (state != nameof(MainModeState.MM_ACTIVE) && seen < oldest) _sas.TryRemove(key, out _);
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
            if (!d.NatT || _natT is null) _socket.Send(d.Bytes, to);
            else
            {
                var framed = new byte[d.Bytes.Length + 4];
                d.Bytes.CopyTo(framed, 4);
                _natT.Send(framed, to);
            }
            Interlocked.Increment(ref _outPackets);
            Interlocked.Add(ref _outOctets, d.Bytes.Length);
        }
        catch (SocketException e)
        {
            Interlocked.Increment(ref _outDropped);
            logger.LogWarning("datagram to {Peer} not sent: {Error}", to, e.SocketErrorCode);
        }
    }

    /// <summary>Debug lines go to this node's console (when `--debug` is on) and to operator sessions.</summary>
    private void Print(IReadOnlyList<string> lines)
    {
        if (lines.Count == 0) return;
        if (options.DebugLevel > 0) foreach (var line in lines) Console.WriteLine(line);
        if (_hubLevel > 0) using (UntracedCalls.Begin()) _ = grains.GetGrain<IDebugHubGrain>(0).Publish(lines);
    }

    public override void Dispose()
    {
        base.Dispose();
        _stopRouting.Dispose();
        _socket.Dispose();
        _natT?.Dispose();
    }
}

/// <summary>At most <c>rate</c> takes a second, with a burst of one second's worth (a short lock per take).</summary>
internal sealed class TokenBucket(int rate, TimeProvider clock)
{
    private readonly Lock _lock = new();
    private double _tokens = rate;
    private long _last = clock.GetTimestamp();

    public bool TryTake()
    {
        lock (_lock)
        {
            var now = clock.GetTimestamp();
            _tokens = Math.Min(rate, _tokens + (now - _last) * (double)rate / clock.TimestampFrequency);
            _last = now;
            if (_tokens < 1) return false;
            _tokens -= 1;
            return true;
        }
    }
}
