using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using IkeActors.Negotiation;
using IkeActors.Protocol;
using A = IkeActors.Grains.Telemetry.NegotiationTelemetry.Attributes;

namespace IkeActors.Grains.Telemetry;

/// <summary>
/// The spans and metrics of one IKE SA, kept by its grain. The engine is pure, so everything is
/// derived from what the grain sees: the header of the datagram it received, the SA's states
/// before and after the step, and the step's actions. All spans of an IKE SA share one trace:
/// <c>ikev1.main_mode</c> is started under the call that carried the first message (Orleans
/// activity propagation brings the front-end's trace to the grain's silo) and every later span
/// (messages, Quick Modes, Informational) is its child, whichever call carries the message. A
/// reactivated grain (another silo, or after idle) continues the stored trace context with new
/// spans that link to the call that woke it.
/// Never recorded: pre-shared keys, keys, nonces, KE values (only names, numbers, SPIs, cookies).
/// </summary>
public sealed class IkeSaTelemetry : IDisposable
{
    private static readonly ActivitySource Source = NegotiationTelemetry.Source;

    // What is known of the SA (from the datagram before the engine creates it, then from the SA).
    private IPEndPoint? _peer;
    private ulong _initiatorCookie, _responderCookie;
    private IkeRole? _role;
    private string? _tunnelGroup;
    private bool? _nat;
    private Phase1Transform? _phase1;

    // The SA's states after the previous step (= before this one).
    private MainModeState _state = MainModeState.MM_NO_STATE;
    private readonly Dictionary<uint, QuickModeState> _qmStates = new();

    // Spans and the trace context every span of this SA is parented to.
    private Activity? _mainMode;
    private ActivityContext _context;
    private readonly Dictionary<uint, Activity> _quickModes = new();
    private readonly Dictionary<uint, long> _qmStarted = new();
    private readonly Dictionary<uint, string> _lastOut = new(), _lastIn = new();
    private long _firstMessage;
    private bool _durationRecorded, _established, _reactivated, _resuming;
    private DateTime _last;

    // The datagram of the current step (set by Received, consumed by Step).
    private (ExchangeType Exchange, uint MessageId, DateTime At)? _in;

    // A responder's Main Mode waits for the initiator's trace context (our vendor ID in MM5, see README):
    // its spans and debug records are kept aside (placeholders nobody exports) and written into the
    // initiator's trace once it is known, or into a trace of their own when it does not come.
    private bool _deferred;
    private readonly List<(Activity Span, ActivityKind Kind, ActivityLink[]? Links)> _pending = new();
    private readonly List<(DebugEvent Line, Activity? Span)> _pendingLines = new();
    private IReadOnlyList<NegotiationAction> _stepActions = [];
    private Activity? _stepSpan;

    /// <summary>Where the debug lines go as log records (null: not exported).</summary>
    public DebugLogExport? Export { get; set; }

    /// <summary>The level the engine must format at for the export (0 when nothing is exported).</summary>
    public int ExportLevel => Export?.Level ?? 0;

    /// <summary>The trace context of this IKE SA as a W3C traceparent (persisted with the SA), or null.</summary>
    public string? TraceParent => _context == default ? null
        : $"00-{_context.TraceId.ToHexString()}-{_context.SpanId.ToHexString()}-{(int)_context.TraceFlags:x2}";

    /// <summary>A reactivation: the SA comes back from storage; its spans continue the stored trace.</summary>
    public void Resume(string? traceParent)
    {
        _resuming = true;
        _reactivated = true;
        if (traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context)) _context = context;
    }

    /// <summary>A datagram arrives for this SA (call before the engine sees it).</summary>
    public void Received(ReadOnlySpan<byte> datagram, IPEndPoint from)
    {
        if (datagram.Length < 28) { _in = null; return; } // RFC 2408 §3.1: the fixed header is 28 octets
        if (_state == MainModeState.MM_DELETED && (ExchangeType)datagram[18] == ExchangeType.IdentityProtection)
        {
            // The grain starts a new SA for a new MM1 after the old one was deleted: a new trace.
            _state = MainModeState.MM_NO_STATE;
            _qmStates.Clear();
            _lastIn.Clear();
            _lastOut.Clear();
            _role = null; _responderCookie = 0; _tunnelGroup = null; _nat = null; _phase1 = null;
            _context = default; _durationRecorded = false; _reactivated = false;
            _deferred = false; _pending.Clear(); _pendingLines.Clear();
        }
        _peer ??= from;
        if (_initiatorCookie == 0) _initiatorCookie = BinaryPrimitives.ReadUInt64BigEndian(datagram);
        _in = ((ExchangeType)datagram[18], BinaryPrimitives.ReadUInt32BigEndian(datagram[20..]), Now());
        // MM1 (no responder cookie yet) to an SA that does not exist: this side responds.
        if (_role is null && _in.Value.Exchange == ExchangeType.IdentityProtection && BinaryPrimitives.ReadUInt64BigEndian(datagram[8..]) == 0)
            _role = IkeRole.Responder;
    }

    /// <summary>Maps one step's actions to spans and metrics. <paramref name="sa"/> is the SA after the step (null when none was created).</summary>
    public void Step(IkeSa? sa, NegotiationOutput output)
    {
        var input = _in;
        _in = null;
        Learn(sa);
        if (_resuming)
        {
            // The restored SA's state is where this activation starts; nothing happened on the wire.
            _resuming = false;
            Remember(sa);
            if (sa?.State == MainModeState.MM_ACTIVE) _established = true;
            return;
        }
        var actions = output.Actions;
        _stepActions = actions;
        _stepSpan = null;
        if (_deferred)
        {
            // The context came (MM5), or MM5 is being processed without it, or the exchange ends here.
            var carried = actions.OfType<TraceContextReceived>().FirstOrDefault()?.TraceParent;
            if (carried is not null || _state == MainModeState.MM_WAIT_MSG5 || actions.Any(EndsExchange))
                Materialize(carried is not null && ActivityContext.TryParse(carried, null, isRemote: true, out var remote) ? remote : default);
        }
        var drops = actions.OfType<MessageDropped>().ToList();
        var retransmitted = actions.OfType<SendDatagram>().Any(s => s.IsRetransmission);
        Activity? inSpan = null;

        // ---- the received message
        if (input is { } i)
        {
            var label = InLabel(i.Exchange, i.MessageId, sa);
            var stateChanged = sa is null || sa.State != _state || QmChanged(sa, i.MessageId)
                               || actions.Any(a => a is NegotiationFailed or InstallIpsecSa or Phase1Established);
            if (drops.Count > 0 && !stateChanged)
            {
                foreach (var d in drops)
                {
                    NegotiationTelemetry.Dropped.Add(1, new KeyValuePair<string, object?>(A.Exchange, ExchangeName(d.Exchange)));
                    PhaseSpan(d.MessageId)?.AddEvent(new ActivityEvent("drop", tags: new ActivityTagsCollection
                    {
                        [A.Exchange] = ExchangeName(d.Exchange), [A.MessageId] = Hex(d.MessageId), [A.Detail] = d.Detail,
                    }));
                }
                drops.Clear();
            }
            else if (label is not null && !stateChanged && retransmitted)
            {
                // RFC 2408 §5: a retransmitted request got the last answer again.
                PhaseSpan(i.MessageId)?.AddEvent(new ActivityEvent("duplicate", tags: new ActivityTagsCollection
                {
                    [A.Message] = _lastIn.GetValueOrDefault(i.MessageId, label), [A.MessageId] = Hex(i.MessageId),
                }));
            }
            else if (label is not null && i.Exchange == ExchangeType.Informational)
            {
                Informational("in", i.MessageId, actions, i.At);
            }
            else if (label is not null)
            {
                if (label == "MM1") StartMainMode(i.At);
                if (label == "QM1") StartQuickMode(i.MessageId, i.At);
                inSpan = Message(label, "in", i.MessageId, i.At, sa);
                _lastIn[i.MessageId] = label;
            }
        }

        // ---- what the step did, in order
        foreach (var action in actions)
        {
            switch (action)
            {
                case MessageSent { Message: var m } when m.Exchange is IkeExchange.MainMode or IkeExchange.QuickMode:
                    if (m == ExchangeMessage.MainMode(1)) StartMainMode(Now());
                    if (m.Exchange == IkeExchange.QuickMode && m.Number == 1) StartQuickMode(m.MessageId, Now());
                    End(Message(m.Label, "out", m.MessageId, Now(), sa));
                    _lastOut[m.MessageId] = m.Label;
                    break;
                case SendDatagram { IsRetransmission: true } s:
                {
                    var id = MessageIdOf(s.Datagram);
                    PhaseSpan(id)?.AddEvent(new ActivityEvent("retransmit", tags: new ActivityTagsCollection
                    {
                        [A.Message] = _lastOut.GetValueOrDefault(id, "?"), [A.MessageId] = Hex(id),
                    }));
                    break;
                }
                case SendDatagram s when s.Datagram.Length >= 28:
                {
                    var exchange = (ExchangeType)s.Datagram[18];
                    var id = MessageIdOf(s.Datagram);
                    if (exchange == ExchangeType.Informational) Informational("out", id, [], Now());
                    break;
                }
                case Phase1Established p:
                    _established = true;
                    _responderCookie = p.Sa.ResponderCookie;
                    _tunnelGroup = p.Sa.TunnelGroup ?? _tunnelGroup;
                    _nat = p.Sa.NatDetected;
                    _phase1 = p.Sa.Transform ?? _phase1;
                    NegotiationTelemetry.ActiveIkeSas.Add(1, Tag(A.Role, RoleName));
                    NegotiationTelemetry.NegotiationsCompleted.Add(1, Tag(A.Exchange, "main_mode"), Tag(A.Role, RoleName));
                    if (_mainMode is { } mm)
                    {
                        Describe(mm);
                        mm.SetStatus(ActivityStatusCode.Ok);
                        Stop(mm);
                        _mainMode = null;
                    }
                    break;
                case InstallIpsecSa install:
                    Installed(install.Pair);
                    break;
                case IpsecSaDeleted:
                    NegotiationTelemetry.ActiveIpsecSas.Add(-1, Tag(A.Role, RoleName));
                    break;
                case NegotiationFailed f:
                    Failed(f, input, sa, inSpan);
                    break;
                case IkeSaDeleted d:
                    if (_established) NegotiationTelemetry.ActiveIkeSas.Add(-1, Tag(A.Role, RoleName));
                    _established = false;
                    if (_mainMode is { } open)
                    {
                        open.SetTag(A.Detail, d.Reason);
                        Stop(open);
                        _mainMode = null;
                    }
                    foreach (var (_, qm) in _quickModes) { qm.AddEvent(new ActivityEvent("ike_sa_deleted")); Stop(qm); }
                    _quickModes.Clear();
                    break;
                case DeleteReceived t when input is null || input.Value.Exchange != ExchangeType.Informational:
                    Informational("out", t.MessageId, [t], Now());
                    break;
                case RekeyDue r:
                    NegotiationTelemetry.Rekeys.Add(1, Tag(A.Phase, r.Phase == RekeyPhase.Phase1 ? "1" : "2"), Tag(A.Event, r.Phase == RekeyPhase.Phase1 ? "phase1-rekey-due" : "phase2-rekey-due"));
                    break;
                case Phase2RekeyStarted:
                    NegotiationTelemetry.Rekeys.Add(1, Tag(A.Phase, "2"), Tag(A.Event, "phase2-rekey"));
                    break;
                case IpsecSasMoved:
                    NegotiationTelemetry.Rekeys.Add(1, Tag(A.Phase, "1"), Tag(A.Event, "phase1-rekey"));
                    break;
                case RekeyCollisionSettled { OursWins: false }:
                    NegotiationTelemetry.Rekeys.Add(1, Tag(A.Phase, "1"), Tag(A.Event, "phase1-rekey-collision"));
                    break;
                case DpdProbeSent:
                    // RFC 3706 §5: an R-U-THERE sent (its retransmissions included).
                    NegotiationTelemetry.Dpd.Add(1, Tag(A.Event, "r_u_there"));
                    break;
                case PeerDead:
                    NegotiationTelemetry.Dpd.Add(1, Tag(A.Event, "peer_dead"));
                    break;
            }
        }
        foreach (var d in drops) NegotiationTelemetry.Dropped.Add(1, Tag(A.Exchange, ExchangeName(d.Exchange)));
        WriteDebugLines(actions, inSpan ?? _stepSpan ?? PhaseSpan(input?.MessageId ?? 0));
        End(inSpan);
        // Spans ended in this step stop only now: a log record can only be written under a running span.
        foreach (var ended in _stopAfterStep) Stop(ended);
        _stopAfterStep.Clear();
        Remember(sa);
        _stepActions = [];
    }

    private readonly List<Activity> _stopAfterStep = new();

    /// <summary>The exchange as the span and metric tags name it.</summary>
    private static string ExchangeName(IkeExchange exchange) => exchange switch
    {
        IkeExchange.MainMode => "Main Mode",
        IkeExchange.QuickMode => "Quick Mode",
        IkeExchange.Informational => "Informational",
        _ => "ISAKMP",
    };

    private static bool EndsExchange(NegotiationAction a) => a is NegotiationFailed or IkeSaDeleted or Phase1Established;

    /// <summary>The step's debug lines as log records while <paramref name="span"/> is current (its trace and span id).</summary>
    private void WriteDebugLines(IReadOnlyList<NegotiationAction> actions, Activity? span)
    {
        if (Export is not { } export) return;
        foreach (var a in actions)
        {
            if (a is not DebugEvent line || line.Message.Level > export.Level) continue;
            if (_deferred) _pendingLines.Add((line, span));
            else WithCurrent(span, () => export.Write(line));
        }
    }

    private static void WithCurrent(Activity? span, Action write)
    {
        var previous = Activity.Current;
        if (span is not null) Activity.Current = span;
        try { write(); }
        finally { Activity.Current = previous; }
    }

    /// <summary>
    /// Writes the responder's kept-aside spans under <paramref name="parent"/> (the initiator's Main Mode,
    /// from the other process) or, without it, under the call that carried MM1; then their debug records.
    /// Start and end times are the real ones.
    /// </summary>
    private void Materialize(ActivityContext parent)
    {
        _deferred = false;
        var map = new Dictionary<ActivitySpanId, Activity>();
        foreach (var (placeholder, kind, links) in _pending)
        {
            var context = map.TryGetValue(placeholder.ParentSpanId, out var p) ? p.Context
                : parent != default ? parent
                : placeholder.ParentSpanId != default ? new ActivityContext(placeholder.TraceId, placeholder.ParentSpanId, placeholder.ActivityTraceFlags, isRemote: true)
                : default;
            var previous = Activity.Current;
            var real = Source.CreateActivity(placeholder.OperationName, kind, context, tags: placeholder.TagObjects, links: links);
            if (real is null) continue;
            real.SetStartTime(placeholder.StartTimeUtc);
            real.Start();
            Activity.Current = previous;
            foreach (var e in placeholder.Events) real.AddEvent(e);
            if (placeholder.Status != ActivityStatusCode.Unset) real.SetStatus(placeholder.Status, placeholder.StatusDescription);
            map[placeholder.SpanId] = real;
            if (ReferenceEquals(placeholder, _mainMode)) _mainMode = real;
            if (placeholder.Duration > TimeSpan.Zero) real.SetEndTime(placeholder.StartTimeUtc + placeholder.Duration);
        }
        _context = _mainMode?.Context ?? (map.Count > 0 ? map.Values.First().Context : default);
        // The records first, while every span still runs (Activity.Current cannot be a stopped span).
        if (Export is { } export)
            foreach (var (line, span) in _pendingLines)
                WithCurrent(span is not null && map.TryGetValue(span.SpanId, out var r) ? r : _mainMode, () => export.Write(line));
        _pendingLines.Clear();
        foreach (var (placeholder, _, _) in _pending)
            if (placeholder.Duration > TimeSpan.Zero && map.TryGetValue(placeholder.SpanId, out var real)) Stop(real);
        _pending.Clear();
    }

    // ------------------------------------------------------------------ spans

    private void StartMainMode(DateTime at)
    {
        if (_mainMode is not null) return;
        _firstMessage = Stopwatch.GetTimestamp();
        NegotiationTelemetry.NegotiationsStarted.Add(1, Tag(A.Exchange, "main_mode"), Tag(A.Role, RoleName));
        // The first message's call is the parent: with Orleans activity propagation it is the front-end's trace.
        var parent = Activity.Current?.Context ?? default;
        // A responder's Main Mode joins the initiator's trace once MM5 carries it (see Materialize).
        _deferred = _role == IkeRole.Responder && !_reactivated && !_stepActions.Any(EndsExchange);
        _mainMode = Start(NegotiationTelemetry.MainModeSpan, parent, at, ActivityKind.Server);
        if (_mainMode is not null) _context = _mainMode.Context;
        if (_mainMode is { } mm) Describe(mm);
    }

    private void StartQuickMode(uint messageId, DateTime at)
    {
        if (_quickModes.ContainsKey(messageId)) return;
        _qmStarted[messageId] = Stopwatch.GetTimestamp();
        NegotiationTelemetry.NegotiationsStarted.Add(1, Tag(A.Exchange, "quick_mode"), Tag(A.Role, RoleName));
        if (Start(NegotiationTelemetry.QuickModeSpan, ParentContext(), at, ActivityKind.Internal) is { } qm)
        {
            qm.SetTag(A.MessageId, Hex(messageId));
            Describe(qm);
            _quickModes[messageId] = qm;
        }
    }

    private Activity? Message(string label, string direction, uint messageId, DateTime at, IkeSa? sa)
    {
        var parent = messageId == 0 ? (_mainMode?.Context ?? ParentContext()) : _quickModes.TryGetValue(messageId, out var qm) ? qm.Context : ParentContext();
        var span = Start(label, parent, at, direction == "in" ? ActivityKind.Server : ActivityKind.Producer);
        if (span is null) return null;
        _stepSpan ??= span;
        span.SetTag(A.Message, label);
        span.SetTag(A.Direction, direction);
        span.SetTag(A.MessageId, Hex(messageId));
        span.SetTag(A.Exchange, messageId == 0 ? "Main Mode" : "Quick Mode");
        Describe(span);
        if (messageId != 0 && sa?.QuickModes.FirstOrDefault(q => q.MessageId == messageId) is { } exchange) DescribeQuickMode(span, exchange);
        else if (messageId != 0 && sa?.IpsecSas.FirstOrDefault(p => p.MessageId == messageId) is { } ipsecSa) DescribePair(span, ipsecSa.Pair);
        return span;
    }

    private void Informational(string direction, uint messageId, IEnumerable<NegotiationAction> actions, DateTime at)
    {
        var span = Start(NegotiationTelemetry.InformationalSpan, ParentContext(), at, direction == "in" ? ActivityKind.Server : ActivityKind.Producer);
        if (span is null) return;
        _stepSpan ??= span;
        span.SetTag(A.Direction, direction);
        span.SetTag(A.MessageId, Hex(messageId));
        span.SetTag(A.Exchange, "Informational");
        Describe(span);
        foreach (var a in actions)
        {
            if (a is DeleteReceived t)
                span.AddEvent(new ActivityEvent("delete", tags: new ActivityTagsCollection
                {
                    [A.Detail] = t.Protocol == ProtocolId.Isakmp ? "peer deleted the IKE SA" : $"peer deleted SPI 0x{t.Spi:x8}",
                }));
            else if (a is IpsecSaDeleted d)
                span.AddEvent(new ActivityEvent("ipsec_sa_deleted", tags: new ActivityTagsCollection
                {
                    [A.InboundSpi] = Hex(d.InboundSpi), [A.OutboundSpi] = Hex(d.OutboundSpi), [A.Detail] = d.Reason,
                }));
        }
        End(span);
    }

    private void Installed(IpsecSaPair pair)
    {
        NegotiationTelemetry.ActiveIpsecSas.Add(1, Tag(A.Role, RoleName));
        NegotiationTelemetry.NegotiationsCompleted.Add(1, Tag(A.Exchange, "quick_mode"), Tag(A.Role, RoleName));
        if (_qmStarted.Remove(pair.MessageId, out var started))
            NegotiationTelemetry.QuickModeDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, Tag(A.Role, RoleName));
        if (!_durationRecorded && _firstMessage != 0)
        {
            _durationRecorded = true;
            NegotiationTelemetry.NegotiationDuration.Record(Stopwatch.GetElapsedTime(_firstMessage).TotalSeconds, Tag(A.Role, RoleName));
        }
        if (_quickModes.Remove(pair.MessageId, out var qm))
        {
            DescribePair(qm, pair);
            qm.SetStatus(ActivityStatusCode.Ok);
            Stop(qm);
        }
    }

    private void Failed(NegotiationFailed f, (ExchangeType Exchange, uint MessageId, DateTime At)? input, IkeSa? sa, Activity? inSpan)
    {
        var mainMode = f.Exchange == "Main Mode";
        NegotiationTelemetry.NegotiationsFailed.Add(1, Tag(A.Exchange, mainMode ? "main_mode" : "quick_mode"), Tag(A.Role, RoleName),
            Tag(A.FailureReason, f.Reason.ToString()));
        if (inSpan is not null) Fail(inSpan, f);
        Activity? span;
        if (mainMode)
        {
            span = _mainMode;
            _mainMode = null;
        }
        else
        {
            var id = input is { Exchange: ExchangeType.QuickMode } i ? i.MessageId
                : _qmStates.Where(kv => kv.Value != QuickModeState.QM_DELETED).Select(kv => (uint?)kv.Key)
                      .FirstOrDefault(id => sa is not null && QuickModeStateOf(sa, id!.Value) == QuickModeState.QM_DELETED)
                  ?? (_quickModes.Count == 1 ? _quickModes.Keys.First() : 0u);
            _quickModes.Remove(id, out span);
            _qmStarted.Remove(id);
            if (span is null && inSpan is null)
            {
                // A failure outside any open exchange span (e.g. a notify from the peer): a short span of its own.
                span = Start(NegotiationTelemetry.QuickModeSpan, ParentContext(), Now(), ActivityKind.Internal);
                span?.SetTag(A.MessageId, Hex(id));
                if (span is not null) Describe(span);
            }
        }
        if (span is null) return;
        Fail(span, f);
        Stop(span);
    }

    private static void Fail(Activity span, NegotiationFailed f)
    {
        span.SetStatus(ActivityStatusCode.Error, f.Detail);
        span.SetTag(A.FailureReason, f.Reason.ToString());
        span.SetTag(A.FailureDetail, f.Detail);
    }

    /// <summary>The span a drop, duplicate or retransmission belongs to.</summary>
    private Activity? PhaseSpan(uint messageId) =>
        messageId != 0 && _quickModes.TryGetValue(messageId, out var qm) ? qm : _mainMode;

    private ActivityContext ParentContext() => _mainMode?.Context ?? _context;

    private Activity? Start(string name, ActivityContext parent, DateTime at, ActivityKind kind)
    {
        var previous = Activity.Current;
        // A span of this SA whose parent is not the call that carried it links to that call (and to nothing secret).
        var call = previous?.Context;
        var links = call is { } c && c != default && c.TraceId != parent.TraceId ? new[] { new ActivityLink(c) } : null;
        Activity? span;
        if (_deferred)
        {
            // A placeholder: not from our ActivitySource, so no exporter sees it; Materialize copies it.
            span = new Activity(name);
            span.SetIdFormat(ActivityIdFormat.W3C);
            if (parent != default) span.SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags);
            _pending.Add((span, kind, links));
        }
        else
        {
            span = Source.CreateActivity(name, kind, parent, tags: null, links: links);
            if (span is null) return null;
        }
        span.SetStartTime(at);
        span.Start();
        Activity.Current = previous; // long-lived spans must not become the ambient parent of the grain's other work
        if (_context == default && !_deferred) _context = span.Context;
        if (_reactivated) span.SetTag(A.Reactivated, true);
        _stepSpan ??= span;
        return span;
    }

    private void End(Activity? span)
    {
        if (span is null) return;
        var end = Now();
        span.SetEndTime(end > span.StartTimeUtc ? end : span.StartTimeUtc.AddTicks(1));
        _stopAfterStep.Add(span);
    }

    private static void Stop(Activity span)
    {
        var previous = Activity.Current;
        span.Stop();
        Activity.Current = previous == span ? null : previous;
    }

    /// <summary>The SA's identity and phase 1 proposal, as far as known: names from the generated enums, never key material.</summary>
    private void Describe(Activity span)
    {
        if (_peer is { } peer)
        {
            span.SetTag(A.Peer, peer.Address.ToString());
            span.SetTag(A.PeerPort, peer.Port);
        }
        if (_tunnelGroup is { } g) span.SetTag(A.TunnelGroup, g);
        if (_role is { } r) span.SetTag(A.Role, r == IkeRole.Initiator ? "initiator" : "responder");
        if (_initiatorCookie != 0) span.SetTag(A.InitiatorCookie, _initiatorCookie.ToString("x16"));
        if (_responderCookie != 0) span.SetTag(A.ResponderCookie, _responderCookie.ToString("x16"));
        if (_nat is { } nat) span.SetTag(A.NatDetected, nat);
        if (_phase1 is { } p)
        {
            span.SetTag(A.P1Encryption, p.Encryption.ToString());
            if (p.KeyLengthBits > 0) span.SetTag(A.P1KeyLength, p.KeyLengthBits);
            span.SetTag(A.P1Hash, p.Hash.ToString());
            span.SetTag(A.P1Group, p.Group.ToString());
            span.SetTag(A.P1Authentication, p.Authentication.ToString());
            span.SetTag(A.P1Lifetime, p.LifetimeSeconds);
        }
    }

    private static void DescribeQuickMode(Activity span, QuickModeExchange qm)
    {
        if (qm.Transform is { } t) DescribeTransform(span, t, qm.LifetimeSeconds, qm.LifetimeKilobytes);
        if (qm.InboundSpi != 0) span.SetTag(A.InboundSpi, Hex(qm.InboundSpi));
        if (qm.OutboundSpi != 0) span.SetTag(A.OutboundSpi, Hex(qm.OutboundSpi));
        if (qm.Local != default) span.SetTag(A.LocalProxy, qm.Local.ToString());
        if (qm.Remote != default) span.SetTag(A.RemoteProxy, qm.Remote.ToString());
        if (qm.Match is { } m)
        {
            span.SetTag(A.CryptoMap, m.Map.Name);
            span.SetTag(A.CryptoMapSequence, m.Entry.Sequence);
        }
    }

    private static void DescribePair(Activity span, IpsecSaPair pair)
    {
        DescribeTransform(span, pair.Transform, pair.LifetimeSeconds, pair.LifetimeKilobytes);
        span.SetTag(A.InboundSpi, Hex(pair.Inbound.Spi));
        span.SetTag(A.OutboundSpi, Hex(pair.Outbound.Spi));
        span.SetTag(A.LocalProxy, pair.Local.ToString());
        span.SetTag(A.RemoteProxy, pair.Remote.ToString());
        span.SetTag(A.CryptoMap, pair.CryptoMap);
        span.SetTag(A.CryptoMapSequence, pair.Sequence);
    }

    private static void DescribeTransform(Activity span, IpsecTransform t, int lifetimeSeconds, long? lifetimeKilobytes)
    {
        span.SetTag(A.P2Encryption, t.Cipher.ToString());
        if (t.KeyLengthBits > 0) span.SetTag(A.P2KeyLength, t.KeyLengthBits);
        span.SetTag(A.P2Integrity, t.Integrity.ToString());
        span.SetTag(A.P2Mode, t.Mode.ToString());
        if (t.PfsGroup is { } g) span.SetTag(A.P2PfsGroup, g.ToString());
        span.SetTag(A.P2Lifetime, lifetimeSeconds);
        if (lifetimeKilobytes is { } kb) span.SetTag(A.P2LifetimeKilobytes, kb);
    }

    // ------------------------------------------------------------------ state

    /// <summary>Which message a received datagram is, from the exchange and the state the SA was in before it.</summary>
    private string? InLabel(ExchangeType exchange, uint messageId, IkeSa? sa)
    {
        switch (exchange)
        {
            case ExchangeType.IdentityProtection:
                return _state switch
                {
                    MainModeState.MM_NO_STATE => "MM1",
                    MainModeState.MM_WAIT_MSG2 => "MM2",
                    MainModeState.MM_WAIT_MSG3 => "MM3",
                    MainModeState.MM_WAIT_MSG4 => "MM4",
                    MainModeState.MM_WAIT_MSG5 => "MM5",
                    MainModeState.MM_WAIT_MSG6 => "MM6",
                    MainModeState.MM_ACTIVE when (sa?.Role ?? _role) == IkeRole.Responder => "MM5",
                    _ => null,
                };
            case ExchangeType.QuickMode:
                return _qmStates.TryGetValue(messageId, out var s) ? s switch
                {
                    QuickModeState.QM_WAIT_MSG2 => "QM2",
                    QuickModeState.QM_WAIT_MSG3 => "QM3",
                    _ => _lastIn.GetValueOrDefault(messageId),
                } : "QM1";
            case ExchangeType.Informational:
                return "informational";
            default:
                return null;
        }
    }

    private bool QmChanged(IkeSa sa, uint messageId)
    {
        var now = QuickModeStateOf(sa, messageId);
        return now is not null && (!_qmStates.TryGetValue(messageId, out var before) || before != now);
    }

    private void Learn(IkeSa? sa)
    {
        if (sa is null) return;
        _peer = sa.Peer;
        _role = sa.Role;
        _initiatorCookie = sa.InitiatorCookie;
        if (sa.ResponderCookie != 0) _responderCookie = sa.ResponderCookie;
        _tunnelGroup = sa.TunnelGroup ?? _tunnelGroup;
        if (sa.State is not (MainModeState.MM_NO_STATE or MainModeState.MM_WAIT_MSG2 or MainModeState.MM_WAIT_MSG3) || sa.NatDetected) _nat = sa.NatDetected;
        _phase1 = sa.Transform ?? _phase1;
    }

    private void Remember(IkeSa? sa)
    {
        _state = sa?.State ?? MainModeState.MM_NO_STATE;
        var failed = sa is null ? [] : _qmStates.Keys.Where(id => QuickModeStateOf(sa, id) == QuickModeState.QM_DELETED).ToList();
        _qmStates.Clear();
        if (sa is null) return;
        foreach (var qm in sa.QuickModes) _qmStates[qm.MessageId] = qm.State;
        foreach (var ipsecSa in sa.IpsecSas) _qmStates[ipsecSa.MessageId] = QuickModeState.QM_ACTIVE;
        foreach (var id in failed) _qmStates[id] = QuickModeState.QM_DELETED;
    }

    /// <summary>A Quick Mode's state: its exchange's while it runs, QM_ACTIVE once its pair is installed, QM_DELETED once it failed.</summary>
    private static QuickModeState? QuickModeStateOf(IkeSa sa, uint messageId)
    {
        if (sa.QuickModes.FirstOrDefault(q => q.MessageId == messageId) is { } qm) return qm.State;
        if (sa.IpsecSas.Any(p => p.MessageId == messageId)) return QuickModeState.QM_ACTIVE;
        return sa.UsesMessageId(messageId) ? QuickModeState.QM_DELETED : null;
    }

    private string RoleName => _role switch { IkeRole.Initiator => "initiator", IkeRole.Responder => "responder", _ => "unknown" };

    /// <summary>Strictly increasing span timestamps, so the messages of one step keep their order.</summary>
    private DateTime Now()
    {
        var now = DateTime.UtcNow;
        _last = now > _last ? now : _last.AddTicks(1);
        return _last;
    }

    private static uint MessageIdOf(byte[] datagram) => datagram.Length >= 28 ? BinaryPrimitives.ReadUInt32BigEndian(datagram.AsSpan(20)) : 0;

    private static string Hex(uint value) => value.ToString("x8");

    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);

    /// <summary>The grain is deactivated: spans still open end here (the SA itself continues from storage).</summary>
    public void Dispose()
    {
        if (_deferred) Materialize(default);
        if (_mainMode is { } mm) { mm.AddEvent(new ActivityEvent("deactivated")); Stop(mm); _mainMode = null; }
        foreach (var (_, qm) in _quickModes) { qm.AddEvent(new ActivityEvent("deactivated")); Stop(qm); }
        _quickModes.Clear();
    }
}
