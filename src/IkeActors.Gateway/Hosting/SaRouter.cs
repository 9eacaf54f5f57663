using System.Collections.Concurrent;
using System.Net;
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
/// no known SA pass a token bucket. It keeps the table of the SAs this node routes to, sends the grains' answers
/// through the sockets, and is the transmitter for what grains send on their own (retransmissions).
/// </summary>
public sealed class SaRouter(
    IGrainFactory grains, FrontEndOptions options, GatewayContext gateway, IsakmpSockets sockets, FrontEndCounters counters,
    DebugLineOutput debug, ILogger<SaRouter> logger) : IDatagramTransmitter
{
    /// <summary>The IKE SAs this node routes to: key -> (last state, when it was last heard of).</summary>
    private readonly ConcurrentDictionary<string, (string State, long Seen)> _sas = new(StringComparer.Ordinal);
    private readonly Mm1Admission _admission = new(gateway, new HalfOpenLedger(options.HalfOpen, TimeProvider.System), TimeProvider.System);
    private readonly TokenBucket _unknownSaLookups = new(options.UnknownSaLookupsPerSecond, TimeProvider.System);
    private volatile bool _stopped;

    /// <summary>The half-open IKE SAs this node admitted and not yet seen end.</summary>
    public HalfOpenLedger HalfOpen => _admission.Ledger;

    /// <summary>The IKE SAs this node routes to (every state but deleted): what a stop deletes.</summary>
    public IReadOnlyCollection<string> IkeSas => _sas.Keys.ToList();

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
        var tasks = lanes.Select(lane => Task.Run(() => RouteAll(lane, ct), ct)).ToList();
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
        var lane = lanes[(int)((uint)datagram.From.Address.GetHashCode() % (uint)lanes.Length)];
        var mm1 = header.ResponderCookie == 0 && header.ExchangeType == ExchangeType.IdentityProtection;
        return lane.TryEnqueue(new QueuedDatagram(datagram, key, mm1, kind, lane.Now));
    }

    /// <summary>Routes one lane's datagrams, one at a time, the most urgent first.</summary>
    private async Task RouteAll(RoutingLane lane, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            QueuedDatagram next;
            try { next = await lane.NextAsync(ct); }
            catch (OperationCanceledException) { return; }
            try { await Route(next); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "datagram from {Peer} could not be handled", next.Datagram.From);
            }
        }
    }

    private async Task Route(QueuedDatagram queued)
    {
        if (_stopped) return;
        var (bytes, from, natT) = queued.Datagram;
        var key = queued.Key;
        var mm1 = false;
        if (!_sas.ContainsKey(key))
        {
            if (queued.Mm1)
            {
                if (!Admit(key, from.Address)) return;
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
        // Only an MM1 that creates an SA starts a trace; every later message's span joins the SA's trace.
        IkeStepResult result;
        using (mm1 ? default : UntracedCalls.Begin())
            result = await grains.GetGrain<IIkeSaGrain>(key).Receive(new Datagram(bytes, from.Address.ToString(), from.Port, natT), debug.Level);
        if (result.State is nameof(MainModeState.MM_NO_STATE) && !_sas.ContainsKey(key))
        {
            // Nothing started: an MM1 the SA refused (its room is given back), or cookies of no SA (the ASA's "No Sa Fails").
            if (mm1) HalfOpen.Release(key);
            else counters.NoSa();
        }
        else Track(key, result.State);
        Emit(result);
    }

    /// <summary>An MM1 for a new SA: the half-open rule decides (Negotiation.Admission); refusals are counted and printed there.</summary>
    private bool Admit(string key, IPAddress peer)
    {
        var lines = new NegotiationOutput(debug.Level);
        var verdict = _admission.Admit(key, peer, lines);
        if (lines.Actions.Count > 0) debug.Print(lines.DebugLines.ToList()); // a refusal line at most once a second
        if (!verdict.Admitted)
        {
            NegotiationTelemetry.Mm1Refused.Add(1, new KeyValuePair<string, object?>("ikev1.refusal", verdict.Refusal.ToString()));
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
        if (_stopped) return;
        var result = await grains.GetGrain<ITunnelGrain>(peer.ToString()).Acquire(acquire, debug.Level);
        string? current;
        using (UntracedCalls.Begin()) current = await grains.GetGrain<ITunnelGrain>(peer.ToString()).GetCurrentIkeSa();
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
    public void Sweep()
    {
        var oldest = Environment.TickCount64 - (long)options.HalfOpen.Lease.TotalMilliseconds;
        foreach (var (key, (state, seen)) in _sas)
            if (state != nameof(MainModeState.MM_ACTIVE) && seen < oldest) _sas.TryRemove(key, out _);
    }

    private void Emit(IkeStepResult result)
    {
        debug.Print(result.DebugLines);
        foreach (var d in result.Send) sockets.Transmit(d);
    }

    public int DebugLevel => debug.Level;

    public void Send(Datagram datagram, IReadOnlyList<string> debugLines)
    {
        debug.Print(debugLines);
        if (datagram.Bytes.Length > 0) sockets.Transmit(datagram);
    }
}
