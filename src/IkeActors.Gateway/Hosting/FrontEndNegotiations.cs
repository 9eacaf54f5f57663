using System.Net;
using IkeActors.Grains;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;

namespace IkeActors.Gateway.Hosting;

/// <summary>What a lane's <see cref="FrontEndNegotiations"/> needs of the node around it.</summary>
public interface IFrontEndNegotiationHost
{
    /// <summary>The level debug lines are formatted at (the console's or an operator session's, see <see cref="DebugLineOutput"/>).</summary>
    int DebugLevel { get; }

    /// <summary>Where the debug lines also go as log records (null: nowhere).</summary>
    DebugLogExport? Export { get; }

    /// <summary>Sends a step's datagrams and prints its debug lines.</summary>
    void Emit(IkeStepResult result);

    /// <summary>The SA changed state (routing, half-open count, failure counters): as a grain's report would say it.</summary>
    void StateChanged(string key, string state, string? phase1Failure);

    /// <summary>
    /// The SA is up: its grain takes it over (<see cref="IIkeSaGrain.TakeOver"/>); the grain's answer. The host owns
    /// <paramref name="sa"/> from then on: it goes to the grain live, or as its snapshot (and is disposed here).
    /// Null: the grain could not be reached and never took it; the SA is still the caller's.
    /// </summary>
    Task<IkeStepResult?> Promote(string key, FrontEndHandOver handOver, IkeSa sa);

    /// <summary>Where remote-access clients' addresses are leased (the cluster's pool and user grains).</summary>
    IAddressBook AddressBook { get; }

    /// <summary>A lease or release the address book could not carry out (logged; the client's retransmission asks again).</summary>
    void LeaseFailed(Exception error, string session);
}

/// <summary>
/// The responder negotiations one routing lane carries itself, without a grain: Main Mode from the MM1 to MM_ACTIVE
/// and the first Quick Mode, through the same engine (<see cref="IkeSa"/>) a grain runs. The SA goes to its grain when
/// it is up and quiet (an IPsec pair installed and no Quick Mode running, or <paramref name="promotionGrace"/> after
/// MM_ACTIVE): one grain call and activation per tunnel instead of one per datagram, and a half-open SA (an MM1 flood)
/// costs no activation at all. A half-open SA is worth nothing to the cluster (strongSwan's HA plugin syncs only
/// established SAs too): if this node dies its peer starts again.
/// <para>
/// One lane owns an instance and calls it from its one routing loop (a peer address always takes the same lane), so
/// nothing here is shared between threads but <see cref="NextDue"/>, which a node-wide clock reads to wake the lane
/// (<see cref="RoutingLane.Tick"/>) for the engine's timers (retransmissions) and the promotion grace.
/// </para>
/// </summary>
public sealed class FrontEndNegotiations(
    GatewayContext gateway, IFrontEndNegotiationHost host, TimeSpan promotionGrace, Func<long>? clock = null, bool recordsTelemetry = true)
{
    private readonly Dictionary<string, Negotiation> _held = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _abandoned = new();
    private readonly Func<long> _clock = clock ?? (() => Environment.TickCount64);

    /// <summary>SAs this lane negotiates now.</summary>
    public int Count => _held.Count;

    public bool Holds(string key)
    {
        DropAbandoned();
        return _held.ContainsKey(key);
    }

    /// <summary>
    /// The half-open rule gave this SA's room to another (any thread may say so): it goes without a word to its peer
    /// the next time the lane runs.
    /// </summary>
    public void Abandon(string key) => _abandoned.Enqueue(key);

    private void DropAbandoned()
    {
        var dropped = false;
        while (_abandoned.TryDequeue(out var key))
            if (_held.TryGetValue(key, out var n) && n.Sa.State != MainModeState.MM_ACTIVE) { End(n); dropped = true; }
        if (dropped) UpdateNextDue();
    }

    /// <summary>When the next timer of a held SA is due (milliseconds, the lane's clock; long.MaxValue: none). Any thread may read it.</summary>
    public long NextDue => Volatile.Read(ref _nextDue);
    private long _nextDue = long.MaxValue;

    /// <summary>After every change: the earliest timer of the held SAs.</summary>
    private void UpdateNextDue()
    {
        var next = long.MaxValue;
        foreach (var n in _held.Values)
            if (n.NextDue is { } due && due < next) next = due;
        Volatile.Write(ref _nextDue, next);
    }

    /// <summary>
    /// An admitted MM1 of a new SA: answered here (MM2) when acceptable. False when it started nothing (the caller
    /// gives its half-open room back; what the engine says of it is emitted).
    /// </summary>
    public bool Start(string key, byte[] datagram, IPEndPoint from)
    {
        // Spans and metrics of an SA, when anything listens or debug records are exported (NegotiationTelemetry.Observed);
        // the benchmarks' lane tunnel records none (nobody's negotiation).
        var export = host.Export;
        var telemetry = recordsTelemetry && (export is not null || NegotiationTelemetry.Observed) ? new IkeSaTelemetry { Export = export } : null;
        var output = new NegotiationOutput(Math.Max(host.DebugLevel, telemetry?.ExportLevel ?? 0));
        telemetry?.Received(datagram, from);
        var sa = IkeSa.AcceptFirstMessage(gateway, from, datagram, output);
        if (sa is null)
        {
            telemetry?.Step(null, output);
            telemetry?.Dispose();
            // Refused: the notify the RFC requires is its only answer (RFC 2408 §5.4: NO-PROPOSAL-CHOSEN).
            var notify = output.Actions.OfType<SendDatagram>().Select(ToWire).ToList();
            host.Emit(Result(output, notify, nameof(MainModeState.MM_NO_STATE)));
            return false;
        }
        var negotiation = new Negotiation(key, sa, telemetry);
        _held[key] = negotiation;
        Apply(negotiation, output);
        UpdateNextDue();
        return true;
    }

    /// <summary>A datagram for a held SA (its cookies name it).</summary>
    public async Task Receive(string key, byte[] datagram, IPEndPoint from, bool natT)
    {
        var negotiation = _held[key];
        var output = NewOutput(negotiation);
        negotiation.Telemetry?.Received(datagram, from);
        negotiation.Sa.Receive(datagram, output, from, natT);
        await LeaseAddresses(negotiation, output);
        Apply(negotiation, output);
        await PromoteIfReady(negotiation);
        UpdateNextDue();
    }

    /// <summary>The timers due now (retransmissions, the promotion grace); call when <see cref="NextDue"/> has passed.</summary>
    public async Task FireDue()
    {
        DropAbandoned();
        var now = _clock();
        foreach (var negotiation in _held.Values.Where(n => n.NextDue <= now).ToList())
        {
            foreach (var (key, _) in negotiation.Timers.Where(t => t.Value <= now).ToList())
            {
                if (!_held.ContainsKey(negotiation.Key)) break; // ended by an earlier timer
                negotiation.Timers.Remove(key);
                var output = NewOutput(negotiation);
                negotiation.Sa.TimerFired(key, output);
                await LeaseAddresses(negotiation, output);
                Apply(negotiation, output);
            }
            if (_held.ContainsKey(negotiation.Key)) await PromoteIfReady(negotiation);
        }
        UpdateNextDue();
    }

    /// <summary>
    /// A remote-access client's address asked or given back in the step (XAUTH and Mode Config run here until the SA
    /// goes to its grain): carried out against the host's address book before the step's effects are applied, as a
    /// grain does. The lane waits for the answer, as it waits for a promotion.
    /// </summary>
    private async Task LeaseAddresses(Negotiation n, NegotiationOutput output)
    {
        foreach (var action in output.Actions)
        {
            if (action is not (AddressLeaseRequested or AddressLeaseReleased)) continue;
            await AddressLeasing.CarryOutAsync(host.AddressBook, output, cookie => cookie == n.Sa.InitiatorCookie ? n.Sa : null, failed: host.LeaseFailed);
            return;
        }
    }

    private NegotiationOutput NewOutput(Negotiation n) => new(Math.Max(host.DebugLevel, n.Telemetry?.ExportLevel ?? 0));

    /// <summary>One engine step's effects, as a grain's Apply would have them (IkeSaGrain.Datagrams).</summary>
    private void Apply(Negotiation n, NegotiationOutput output)
    {
        n.Telemetry?.Step(n.Sa, output);
        var send = new List<Datagram>();
        string? failure = null;
        var ended = false;
        foreach (var action in output.Actions)
        {
            switch (action)
            {
                case SendDatagram s:
                    send.Add(ToWire(s));
                    break;
                case ArmTimer t when t.Sa == n.Sa.InitiatorCookie:
                    n.Timers[t.Key] = _clock() + (long)t.Due.TotalMilliseconds;
                    if (t.Key.Kind.IsLifetime()) n.LifetimeDue[t.Key] = DateTime.UtcNow + t.Due;
                    break;
                case CancelTimer c when c.Sa == n.Sa.InitiatorCookie:
                    n.Timers.Remove(c.Key);
                    n.LifetimeDue.Remove(c.Key);
                    break;
                case IkeSaDeleted d when d.InitiatorCookie == n.Sa.InitiatorCookie:
                    ended = true;
                    break;
                case InstallIpsecSa:
                    n.LastInstall = DateTime.UtcNow;
                    break;
                // InstallInboundSa / InboundSaDeleted: a lane installs nothing in the data plane (its grain installs the
                // pairs on take-over, and the inbound SA of a Quick Mode still waiting for QM3: IkeSa.ResumeTimers).
                case Phase1Established:
                    n.Phase1At = DateTime.UtcNow;
                    n.PromoteBy = _clock() + (long)promotionGrace.TotalMilliseconds;
                    break;
                case InitialContactReceived c when c.Sa == n.Sa.InitiatorCookie:
                    n.InitialContact = true;
                    break;
                case NegotiationFailed { Exchange: IkeExchange.MainMode } f:
                    failure ??= f.Reason.ToString();
                    break;
            }
        }
        var state = n.Sa.State.ToString();
        host.Emit(Result(output, send, state));
        if (ended || n.Sa.State == MainModeState.MM_DELETED)
        {
            End(n);
            host.StateChanged(n.Key, nameof(MainModeState.MM_DELETED), failure);
        }
        else if (state != n.ReportedState)
        {
            n.ReportedState = state;
            host.StateChanged(n.Key, state, null);
        }
    }

    /// <summary>The step's datagrams and the debug lines at the console's level (the engine formats at the export's too).</summary>
    private IkeStepResult Result(NegotiationOutput output, List<Datagram> send, string state)
    {
        var level = host.DebugLevel;
        var lines = output.Actions.OfType<DebugEvent>().Where(d => d.Message.Level <= level).Select(d => d.ConsoleLine).ToList();
        return new IkeStepResult(send, lines, state);
    }

    /// <summary>Up, with its first pair installed and no Quick Mode running, or up for the grace: to the grain.</summary>
    private async Task PromoteIfReady(Negotiation n)
    {
        if (!_held.ContainsKey(n.Key) || n.Sa.State != MainModeState.MM_ACTIVE) return;
        var quiet = n.Sa.IpsecSas.Count > 0 && n.Sa.QuickModes.Count == 0;
        if (!quiet && _clock() < n.PromoteBy) return;
        n.TraceParent ??= n.Telemetry?.TraceParent;
        var handOver = new FrontEndHandOver
        {
            Timers = n.LifetimeDue.Select(kv => new StoredTimer { Kind = (int)kv.Key.Kind, MessageId = kv.Key.MessageId, DueUtc = kv.Value }).ToList(),
            TraceParent = n.TraceParent,
            InitialContact = n.InitialContact,
            DebugLevel = host.DebugLevel,
            Phase1At = n.Phase1At ?? DateTime.UtcNow,
            LastInstall = n.LastInstall,
        };
        End(n, keepSa: true);
        if (await host.Promote(n.Key, handOver, n.Sa) is { } taken)
        {
            host.Emit(taken);
            return;
        }
        // Not taken (its grain unreachable): the peer has a tunnel, so the SA stays here and is offered again; one
        // that cannot go for PromotionAttempts tries is deleted with a word to the peer, which then starts again,
        // rather than dropped while the peer still sends into it.
        _held[n.Key] = n;
        if (++n.Promotions < PromotionAttempts)
        {
            n.PromoteBy = _clock() + (long)PromotionRetry.TotalMilliseconds;
            return;
        }
        var output = NewOutput(n);
        n.Sa.Delete(output);
        await LeaseAddresses(n, output);
        Apply(n, output);
    }

    /// <summary>How often an SA whose grain could not be reached is offered again, and after how long the next try comes.</summary>
    internal const int PromotionAttempts = 5;
    internal static readonly TimeSpan PromotionRetry = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The SA leaves this lane (ended, or to its grain): its timers go with it; its keys are disposed unless
    /// <paramref name="keepSa"/> (the SA itself goes on, to its grain).
    /// </summary>
    private void End(Negotiation n, bool keepSa = false)
    {
        _held.Remove(n.Key);
        n.Telemetry?.Dispose();
        n.Telemetry = null;
        if (!keepSa) n.Sa.Dispose();
    }

    /// <summary>An engine send as the front-end transmits it.</summary>
    private static Datagram ToWire(SendDatagram s) => new(s.Datagram, s.To.Address.ToString(), s.To.Port, s.NatT);

    private sealed class Negotiation(string key, IkeSa sa, IkeSaTelemetry? telemetry)
    {
        public string Key { get; } = key;
        public IkeSa Sa { get; } = sa;
        /// <summary>Its spans and metrics while the lane negotiates (none once offered to its grain).</summary>
        public IkeSaTelemetry? Telemetry { get; set; } = telemetry;
        /// <summary>The trace its grain continues.</summary>
        public string? TraceParent { get; set; }
        /// <summary>Offers to its grain that were not taken.</summary>
        public int Promotions { get; set; }
        /// <summary>The engine's timers: due time on the lane's clock.</summary>
        public Dictionary<TimerKey, long> Timers { get; } = new();
        /// <summary>Lifetime timers (rekey, expiry) as absolute times: they go to the grain.</summary>
        public Dictionary<TimerKey, DateTime> LifetimeDue { get; } = new();
        public string? ReportedState { get; set; }
        public bool InitialContact { get; set; }
        public DateTime? Phase1At { get; set; }
        public DateTime? LastInstall { get; set; }
        /// <summary>Up since: promoted by then even without a pair (lane clock); long.MaxValue while negotiating.</summary>
        public long PromoteBy { get; set; } = long.MaxValue;

        /// <summary>The earliest of the engine's retransmission timers and the promotion grace.</summary>
        public long? NextDue
        {
            get
            {
                long? next = PromoteBy == long.MaxValue ? null : PromoteBy;
                foreach (var (key, due) in Timers)
                    if (!key.Kind.IsLifetime() && key.Kind != TimerKind.Dpd && (next is null || due < next)) next = due;
                return next;
            }
        }
    }
}
