using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using IkeActors.Grains;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;
using IkeActors.Negotiation.Admission;
using IkeActors.Protocol;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// The routing side of the front-end: reads only the ISAKMP header of each datagram and hands it to the IKE SA
/// grain named by (peer, initiator cookie); an MM1 for a new SA passes the half-open admission first, cookies of
/// no known SA pass a token bucket. An MM1 from a peer this node knows nothing of, with no tunnel-group of its own
/// (a hub's dynamic peers), is negotiated by its lane itself until the SA is up (<see cref="FrontEndNegotiations"/>).
/// It keeps the table of the SAs this node routes to, sends the grains' answers through the sockets, and is the
/// transmitter for what grains send on their own (retransmissions).
/// </summary>
public sealed class SaRouter(
    IGrainFactory grains, FrontEndOptions options, GatewayContext gateway, IsakmpSockets sockets, FrontEndCounters counters,
    DebugLineOutput debug, IServiceProvider services, ILogger<SaRouter> logger) : IDatagramTransmitter, IFrontEndNegotiationHost
{
    /// <summary>The IKE SAs this node routes to: key -> (last state, when it was last heard of).</summary>
    private readonly ConcurrentDictionary<string, (string State, long Seen)> _sas = new(StringComparer.Ordinal);
    /// <summary>How many of <see cref="_sas"/> each peer address has (a peer with none may be negotiated in its lane).</summary>
    private readonly ConcurrentDictionary<string, int> _peers = new(StringComparer.Ordinal);
    private (RoutingLane Lane, FrontEndNegotiations Negotiations)[] _lanes = [];
    /// <summary>SAs the lanes negotiated, waiting for their grain on this node to take them (<see cref="Promote"/>).</summary>
    private readonly ConcurrentDictionary<string, IkeSa> _parked = new(StringComparer.Ordinal);
    private readonly Mm1Admission _admission = new(gateway, new HalfOpenLedger(options.HalfOpen, TimeProvider.System), TimeProvider.System);
    private readonly TokenBucket _unknownSaLookups = new(options.UnknownSaLookupsPerSecond, TimeProvider.System);
    private readonly LaneGrainCalls _laneCalls = new(options, logger);
    private volatile bool _stopped;

    /// <summary>The half-open IKE SAs this node admitted and not yet seen end.</summary>
    public HalfOpenLedger HalfOpen => _admission.Ledger;

    /// <summary>The IKE SAs this node routes to (every state but deleted): what a stop deletes.</summary>
    public IReadOnlyCollection<string> IkeSas => _sas.Keys.ToList();

    /// <summary>
    /// Told the peer of an IKE datagram of an established SA, or of an SA this node has not heard of (not an MM1), before
    /// the grain is asked: in a cluster the peer may be one another node carries, or carried until it died (docs/cluster.md §3).
    /// </summary>
    public Action<IPAddress>? IkeDatagramOfEstablishedSa { get; set; }

    /// <summary>From now on datagrams from peers and key acquires no longer reach the grains; sending goes on.</summary>
    public void Stop() => _stopped = true;

    /// <summary>
    /// Starts <see cref="FrontEndOptions.RoutingLanes"/> routing lanes that run until <paramref name="ct"/> is cancelled,
    /// and returns them with the function the sockets hand each datagram to (on their receiving thread: no hop through
    /// a queue of their own). A peer address always takes the same lane, so one peer's datagrams of one class reach its
    /// grains in the order they came, while other peers' go on in parallel (a lane waits for each grain's answer).
    /// Within a lane an established SA's datagrams go before negotiations under way, and those before new ones
    /// (<see cref="RoutingLane"/>).
    /// </summary>
    public (List<Task> Lanes, Func<ReceivedDatagram, bool> Deliver) StartLanes(CancellationToken ct)
    {
        var count = Math.Max(1, options.RoutingLanes);
        var lanes = Enumerable.Range(0, count)
            .Select(_ => new RoutingLane(Math.Max(16, options.QueueCapacity / count), (long)options.NewSaQueueBudget.TotalMilliseconds, counters.Shed))
            .ToArray();
        _lanes = lanes.Select(lane => (lane, new FrontEndNegotiations(gateway, this, options.PromotionGrace))).ToArray();
        var tasks = _lanes.Select(l => Task.Run(() => RouteAll(l.Lane, l.Negotiations, ct), ct)).ToList();
        tasks.Add(Task.Run(() => TickLanes(ct), ct));
        return (tasks, datagram => Deliver(lanes, datagram));
    }

    /// <summary>
    /// Classifies a datagram by the SA its header names (only the header is read, with the generated zero-copy reader)
    /// and queues it in its peer's lane; false when that queue is full. Malformed headers are counted and go no further.
    /// </summary>
    private bool Deliver(RoutingLane[] lanes, ReceivedDatagram datagram)
    {
        if (!IsakmpHeaderView.TryParse(datagram.Bytes, out var header, out _))
        {
            counters.MalformedDatagram();
            return true;
        }
        var key = IIkeSaGrain.KeyFor(datagram.From.Address.ToString(), header.InitiatorCookie);
        var kind = RoutingLane.ClassOf(_sas.TryGetValue(key, out var known) ? known.State : null);
        var lane = lanes[LaneOf(datagram.From.Address, lanes.Length)];
        var mm1 = IkeSa.IsFirstMessage(header.InitiatorCookie, header.ResponderCookie, header.ExchangeType);
        return lane.TryEnqueue(new QueuedDatagram(datagram, key, mm1, kind, lane.Now));
    }

    /// <summary>A peer address always takes the same lane.</summary>
    private static int LaneOf(IPAddress peer, int lanes) => (int)((uint)peer.GetHashCode() % (uint)lanes);

    /// <summary>One clock for the lanes' timers: a lane whose negotiations have a timer due is woken (every 100 ms at most).</summary>
    private async Task TickLanes(CancellationToken ct)
    {
        using var clock = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await clock.WaitForNextTickAsync(ct))
            {
                var now = Environment.TickCount64;
                foreach (var (lane, negotiations) in _lanes)
                    if (negotiations.NextDue <= now) lane.Tick();
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Routes one lane's datagrams, one at a time, the most urgent first, and fires the timers of the SAs it negotiates.</summary>
    private async Task RouteAll(RoutingLane lane, FrontEndNegotiations negotiations, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            QueuedDatagram? next;
            try { next = await lane.NextOrTickAsync(ct); }
            catch (OperationCanceledException) { return; }
            try
            {
                if (negotiations.NextDue <= lane.Now && !_stopped) await negotiations.FireDue();
                if (next is { } datagram) await Route(datagram, negotiations);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "datagram from {Peer} could not be handled", next?.Datagram.From);
            }
        }
    }

    private async Task Route(QueuedDatagram queued, FrontEndNegotiations negotiations)
    {
        if (_stopped) return;
        var (bytes, from, natT) = queued.Datagram;
        var key = queued.Key;
        if (negotiations.Holds(key))
        {
            await negotiations.Receive(key, bytes, from, natT);
            return;
        }
        var mm1 = false;
        if (!_sas.ContainsKey(key))
        {
            if (queued.Mm1)
            {
                if (!Admit(key, from.Address, aggressive: IsakmpHeaderView.TryParse(bytes, out var h, out _) && h.ExchangeType == ExchangeType.Aggressive)) return;
                if (NegotiatesInLane(from.Address))
                {
                    if (!negotiations.Start(key, bytes, from)) HalfOpen.Release(key);
                    return;
                }
                mm1 = true;
            }
            else if (!_unknownSaLookups.TryTake())
            {
                // Cookies of no SA this node knows, beyond what may still be asked of the grains (RFC 2408 §2.5.3:
                // cookies protect the responder's resources): dropped and counted.
                counters.NoSa();
                return;
            }

        }
        // A datagram of an established SA (or of one this node has not heard of) from a peer another node may carry.
        if (!queued.Mm1 && IkeDatagramOfEstablishedSa is { } heard
            && (!_sas.TryGetValue(key, out var seen) || seen.State == nameof(MainModeState.MM_ACTIVE))) heard(from.Address);
        // Only an MM1 that creates an SA starts a trace; every later message's span joins the SA's trace.
        Task<IkeStepResult> call;
        using (mm1 ? default : UntracedCalls.Begin())
            call = grains.Reference<IIkeSaGrain>(key).Receive(new Datagram(bytes, from.Address.ToString(), from.Port, natT), debug.Level);
        await _laneCalls.Await(call, from.Address, answer => Answered(answer, key, mm1));
    }

    private void Answered(IkeStepResult result, string key, bool mm1)
    {
        if (result.State is nameof(MainModeState.MM_NO_STATE) && !_sas.ContainsKey(key))
        {
            // Nothing started: an MM1 the SA refused (its room is given back), or cookies of no SA (the ASA's "No Sa Fails").
            if (mm1) HalfOpen.Release(key);
            else counters.NoSa();
        }
        else Track(key, result.State);
        Emit(result);
    }

    /// <summary>
    /// A new peer's Main Mode runs in its lane when the node knows no SA with it (the peer rules that need the peer's
    /// other SAs, a Phase 1 rekey collision above all, stay with the grains) and it has no tunnel-group of its own
    /// (a hub's dynamic peer, on DefaultL2LGroup): the many-peers case.
    /// </summary>
    private bool NegotiatesInLane(IPAddress peer) =>
        options.NegotiateInLanes && !_peers.ContainsKey(peer.ToString()) && gateway.Config.FindTunnelGroup(peer.ToString()) is null;

    /// <summary>An MM1 for a new SA: the half-open rule decides (Negotiation.Admission); refusals are counted and printed there.</summary>
    private bool Admit(string key, IPAddress peer, bool aggressive)
    {
        var lines = new NegotiationOutput(debug.Level);
        var verdict = _admission.Admit(key, peer, lines, aggressive);
        if (lines.Actions.Count > 0) debug.Print(lines.DebugLines.ToList()); // a refusal line at most once a second
        if (!verdict.Admitted)
        {
            NegotiationTelemetry.Mm1Refused.Add(1, new KeyValuePair<string, object?>("ikev1.refusal", verdict.Refusal.ToString()));
            return false;
        }
        if (verdict.Evicted is { } given)
        {
            // The oldest half-open SA of the busiest address gives way (it goes without a word to its peer).
            Forget(given);
            var givenPeer = IPAddress.Parse(PeerOf(given));
            if (_lanes.Length > 0) _lanes[LaneOf(givenPeer, _lanes.Length)].Negotiations.Abandon(given);
            using (UntracedCalls.Begin()) grains.Reference<IIkeSaAdmin>(given).Abandon().Ignore();
        }
        return true;
    }

    /// <summary>Starts negotiation for traffic the data plane could not send (the key acquire).</summary>
    public async Task Acquire(IPAddress peer, AcquireRequest acquire)
    {
        if (_stopped) return;
        var result = await grains.Reference<ITunnelGrain>(peer.ToString()).Acquire(acquire, debug.Level);
        string? current;
        using (UntracedCalls.Begin()) current = await grains.Reference<ITunnelGrain>(peer.ToString()).GetCurrentIkeSa();
        if (current is not null)
        {
            if (!_sas.ContainsKey(current)) counters.Initiated();
            Track(current, result.State);
        }
        Emit(result);
    }

    /// <summary>An IKE SA grain of this silo changed state (timers included): the one report of every end.</summary>
    public void SaStateChanged(string ikeSaKey, string state, bool initiator, string? phase1Failure)
    {
        if (phase1Failure is not null && state is nameof(MainModeState.MM_DELETED) or nameof(MainModeState.MM_NO_STATE))
            counters.Phase1Failed(initiator, authentication: phase1Failure == nameof(FailureReason.AuthenticationFailed));
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
            Forget(key);
            HalfOpen.Release(key);
            return;
        }
        if (_sas.TryAdd(key, (state, Environment.TickCount64))) _peers.AddOrUpdate(PeerOf(key), 1, (_, n) => n + 1);
        else _sas[key] = (state, Environment.TickCount64);
        if (state == nameof(MainModeState.MM_ACTIVE)) HalfOpen.Release(key);
    }

    private void Forget(string key)
    {
        if (!_sas.TryRemove(key, out _)) return;
        var peer = PeerOf(key);
        _peers.AddOrUpdate(peer, 0, (_, n) => n - 1);
        _peers.TryRemove(new KeyValuePair<string, int>(peer, 0));
    }

    private static string PeerOf(string key) => key[..key.LastIndexOf('/')];

    /// <summary>
    /// An SA still negotiating that nobody has reported on for a lease is forgotten (its end was reported on another
    /// node, or raced an older answer); an established one stays until it is reported gone.
    /// </summary>
    public void Sweep()
    {
        var oldest = Environment.TickCount64 - (long)options.HalfOpen.Lease.TotalMilliseconds;
        foreach (var (key, (state, seen)) in _sas)
            if (state != nameof(MainModeState.MM_ACTIVE) && seen < oldest) Forget(key);
    }

    public void Emit(IkeStepResult result)
    {
        debug.Print(result.DebugLines);
        foreach (var d in result.Send) sockets.Transmit(d);
    }

    public int DebugLevel => debug.Level;

    public DebugLogExport? Export => _export ??= services.GetService(typeof(DebugLogExport)) as DebugLogExport;
    private DebugLogExport? _export;

    public IAddressBook AddressBook => _addressBook ??= new ClusterAddressBook(grains);
    private ClusterAddressBook? _addressBook;

    public void LeaseFailed(Exception error, string session) =>
        logger.LogWarning(error, "Address lease or release for session {Session} failed", session);

    void IFrontEndNegotiationHost.StateChanged(string key, string state, string? phase1Failure) =>
        SaStateChanged(key, state, initiator: false, phase1Failure);

    public async Task<IkeStepResult?> Promote(string key, FrontEndHandOver handOver, IkeSa sa)
    {
        var grain = grains.Reference<IIkeSaGrain>(key);
        IkeStepResult result;
        // The live SA waits here for its grain: on this node it takes it as it is (no snapshot, no rebuild).
        _parked[key] = sa;
        handOver.Parked = true;
        try
        {
            // The SA's spans continue the front-end's trace; the call itself is plumbing.
            try
            {
                using (UntracedCalls.Begin()) result = await grain.TakeOver(handOver);
            }
            catch (Exception e) when (_parked.TryRemove(key, out _))
            {
                // The grain never took it (no activation, a timeout before it ran): the SA is still the lane's.
                logger.LogWarning("IKE SA {Key} could not go to its grain, kept in its lane: {Reason}", key, e.Message);
                return null;
            }
            if (result.State == FrontEndHandOver.SnapshotNeeded && _parked.TryRemove(key, out _))
            {
                // Its grain lives on another node: the SA goes as its snapshot.
                handOver.Parked = false;
                handOver.Snapshot = IkeSaSnapshotJson.Serialize(sa);
                try
                {
                    using (UntracedCalls.Begin()) result = await grain.TakeOver(handOver);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(handOver.Snapshot);
                    sa.Dispose();
                }
            }
        }
        finally
        {
            if (_parked.TryRemove(key, out var untaken)) untaken.Dispose(); // the grain had an SA already, or failed
        }
        Track(key, result.State);
        return result;
    }

    public IkeSa? TakeParked(string ikeSaKey) => _parked.TryRemove(ikeSaKey, out var sa) ? sa : null;

    public void Send(Datagram datagram, IReadOnlyList<string> debugLines)
    {
        debug.Print(debugLines);
        if (datagram.Bytes.Length > 0) sockets.Transmit(datagram);
    }
}
