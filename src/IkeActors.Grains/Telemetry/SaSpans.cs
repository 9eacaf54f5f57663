using System.Diagnostics;
using IkeActors.Negotiation;
using IkeActors.Protocol;
using A = IkeActors.Grains.Telemetry.NegotiationTelemetry.Attributes;
using static IkeActors.Grains.Telemetry.SaIdentity;

namespace IkeActors.Grains.Telemetry;

/// <summary>
/// The spans of one IKE SA: <c>ikev1.main_mode</c> (under the call that carried the first message),
/// one <c>ikev1.quick_mode</c> per message ID and <c>ikev1.informational</c> per Informational
/// exchange under it, and a span per message under its exchange. All share one trace context, kept
/// across reactivations. A span of this SA started by a call from another trace links to that call.
/// </summary>
internal sealed class SaSpans(SaIdentity sa, DeferredSpans deferred)
{
    private Activity? _mainMode;
    private ActivityContext _context;
    private readonly Dictionary<uint, Activity> _quickModes = new();
    private readonly List<Activity> _stopAfterStep = new();
    private DateTime _last;

    /// <summary>The grain was reactivated: its spans say so.</summary>
    public bool Reactivated { get; set; }

    /// <summary>The first span the current step started (the debug records go under it when no message span is open).</summary>
    public Activity? StepSpan { get; private set; }

    /// <summary>The trace context of this IKE SA as a W3C traceparent, or null.</summary>
    public string? TraceParent => _context == default ? null
        : $"00-{_context.TraceId.ToHexString()}-{_context.SpanId.ToHexString()}-{(int)_context.TraceFlags:x2}";

    public void Resume(string? traceParent)
    {
        Reactivated = true;
        if (traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context)) _context = context;
    }

    /// <summary>A new SA in the same grain: a new trace.</summary>
    public void Reset()
    {
        _context = default;
        Reactivated = false;
        deferred.Clear();
    }

    public void BeginStep() => StepSpan = null;

    /// <summary>Starts <c>ikev1.main_mode</c> unless it runs; false when it did. <paramref name="defer"/>: the responder's, kept aside (<see cref="DeferredSpans"/>).</summary>
    public bool StartMainMode(DateTime at, bool defer, bool aggressive = false)
    {
        if (_mainMode is not null) return false;
        // The first message's call is the parent: with Orleans activity propagation it is the front-end's trace.
        var parent = Activity.Current?.Context ?? default;
        if (defer) deferred.Begin();
        _mainMode = Start(aggressive ? NegotiationTelemetry.AggressiveModeSpan : NegotiationTelemetry.MainModeSpan, parent, at, ActivityKind.Server);
        if (_mainMode is not null)
        {
            _context = _mainMode.Context;
            sa.Describe(_mainMode);
        }
        return true;
    }

    /// <summary>Starts the Quick Mode's span unless it runs; false when it did.</summary>
    public bool StartQuickMode(uint messageId, DateTime at)
    {
        if (_quickModes.ContainsKey(messageId)) return false;
        if (Start(NegotiationTelemetry.QuickModeSpan, ParentContext(), at, ActivityKind.Internal) is { } qm)
        {
            qm.SetTag(A.MessageId, Hex(messageId));
            sa.Describe(qm);
            _quickModes[messageId] = qm;
        }
        return true;
    }

    /// <summary>One message of Main Mode or a Quick Mode, under its exchange's span.</summary>
    public Activity? Message(ExchangeMessage m, string direction, DateTime at, IkeSa? state)
    {
        var parent = m.Exchange == IkeExchange.QuickMode && _quickModes.TryGetValue(m.MessageId, out var qm) ? qm.Context
            : _mainMode?.Context ?? ParentContext();
        var span = Start(m.Label, parent, at, direction == "in" ? ActivityKind.Server : ActivityKind.Producer);
        if (span is null) return null;
        span.SetTag(A.Message, m.Label);
        span.SetTag(A.Direction, direction);
        span.SetTag(A.MessageId, Hex(m.MessageId));
        span.SetTag(A.Exchange, m.Exchange switch { IkeExchange.QuickMode => "Quick Mode", IkeExchange.AggressiveMode => "Aggressive Mode", _ => "Main Mode" });
        sa.Describe(span);
        if (m.Exchange == IkeExchange.QuickMode && state?.QuickModes.FirstOrDefault(q => q.MessageId == m.MessageId) is { } exchange)
            SaIdentity.Describe(span, exchange);
        else if (m.Exchange == IkeExchange.QuickMode && state?.IpsecSas.FirstOrDefault(p => p.MessageId == m.MessageId) is { } installed)
            SaIdentity.Describe(span, installed.Pair);
        return span;
    }

    /// <summary>RFC 2409 §5.7: one Informational exchange, in or out, with the deletes it carried.</summary>
    public void Informational(string direction, uint messageId, IEnumerable<NegotiationAction> actions, DateTime at)
    {
        var span = Start(NegotiationTelemetry.InformationalSpan, ParentContext(), at, direction == "in" ? ActivityKind.Server : ActivityKind.Producer);
        if (span is null) return;
        span.SetTag(A.Direction, direction);
        span.SetTag(A.MessageId, Hex(messageId));
        span.SetTag(A.Exchange, "Informational");
        sa.Describe(span);
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

    /// <summary>
    /// One message of a Transaction exchange (XAUTH or Mode Config), in or out, under the SA's trace, with what it settled:
    /// the XAUTH verdict (the user name, never the password) and the address Mode Config gave.
    /// </summary>
    public void Transaction(string direction, uint messageId, IEnumerable<NegotiationAction> actions, DateTime at)
    {
        var span = Start(NegotiationTelemetry.TransactionSpan, ParentContext(), at, direction == "in" ? ActivityKind.Server : ActivityKind.Producer);
        if (span is null) return;
        span.SetTag(A.Direction, direction);
        span.SetTag(A.MessageId, Hex(messageId));
        span.SetTag(A.Exchange, "Transaction");
        sa.Describe(span);
        foreach (var a in actions)
        {
            if (a is XauthCompleted x)
                span.AddEvent(new ActivityEvent("xauth", tags: new ActivityTagsCollection { ["ikev1.user"] = x.User, ["ikev1.xauth.accepted"] = x.Accepted }));
            else if (a is ModeConfigCompleted mc)
                span.AddEvent(new ActivityEvent("mode_config", tags: new ActivityTagsCollection { ["ikev1.assigned_address"] = mc.Address.ToString() }));
        }
        End(span);
    }

    public void Phase1Established()
    {
        if (_mainMode is not { } mm) return;
        sa.Describe(mm);
        mm.SetStatus(ActivityStatusCode.Ok);
        Stop(mm);
        _mainMode = null;
    }

    public void Installed(IpsecSaPair pair)
    {
        if (!_quickModes.Remove(pair.MessageId, out var qm)) return;
        SaIdentity.Describe(qm, pair);
        qm.SetStatus(ActivityStatusCode.Ok);
        Stop(qm);
    }

    /// <summary>
    /// The Quick Mode a failure ends: the one whose message the step took, else the one the failure
    /// deleted (a retransmission limit, the peer's notify), else the only one open.
    /// </summary>
    public uint FailedQuickMode(uint? received, IkeSa? state) =>
        received ?? _quickModes.Keys.Select(id => (uint?)id).FirstOrDefault(id => state is not null && Failed(state, id!.Value))
        ?? (_quickModes.Count == 1 ? _quickModes.Keys.First() : 0u);

    /// <summary>A Quick Mode that is neither running nor installed but whose message ID the SA still holds: it failed.</summary>
    private static bool Failed(IkeSa state, uint messageId) =>
        state.QuickModes.All(q => q.MessageId != messageId) && state.IpsecSas.All(p => p.MessageId != messageId) && state.UsesMessageId(messageId);

    /// <summary>A failure: the message span that failed and its exchange's span end with status Error and the reason.</summary>
    public void Failed(NegotiationFailed f, uint quickMode, Activity? message)
    {
        if (message is not null) Fail(message, f);
        Activity? span;
        if (f.Exchange == IkeExchange.MainMode)
        {
            span = _mainMode;
            _mainMode = null;
        }
        else if (!_quickModes.Remove(quickMode, out span) && message is null)
        {
            // A failure outside any open exchange span (e.g. a notify from the peer): a short span of its own.
            span = Start(NegotiationTelemetry.QuickModeSpan, ParentContext(), Now(), ActivityKind.Internal);
            span?.SetTag(A.MessageId, Hex(quickMode));
            if (span is not null) sa.Describe(span);
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

    /// <summary>The IKE SA is gone: its open exchange spans end.</summary>
    public void IkeSaDeleted(string reason)
    {
        if (_mainMode is { } open)
        {
            open.SetTag(A.Detail, reason);
            Stop(open);
            _mainMode = null;
        }
        EndQuickModes("ike_sa_deleted");
    }

    /// <summary>An event on the span of the exchange a message ID belongs to (a drop, a duplicate, a retransmission).</summary>
    public void AddEvent(uint messageId, string name, ActivityTagsCollection tags) =>
        PhaseSpan(messageId)?.AddEvent(new ActivityEvent(name, tags: tags));

    /// <summary>The span of the exchange a message ID belongs to: its Quick Mode's, else Main Mode's.</summary>
    public Activity? PhaseSpan(uint messageId) =>
        messageId != 0 && _quickModes.TryGetValue(messageId, out var qm) ? qm : _mainMode;

    /// <summary>The responder's kept-aside spans become real, under <paramref name="parent"/> when it is known.</summary>
    public void Materialize(ActivityContext parent, DebugLogExport? export)
    {
        var pairs = deferred.Materialize(parent, export, _mainMode);
        foreach (var (placeholder, real) in pairs)
            if (ReferenceEquals(placeholder, _mainMode)) _mainMode = real;
        _context = _mainMode?.Context ?? (pairs.Count > 0 ? pairs[0].Real.Context : default);
    }

    /// <summary>The end of a step: the spans it ended stop now, after its debug records were written under them.</summary>
    public void EndStep(Activity? message)
    {
        End(message);
        foreach (var ended in _stopAfterStep) Stop(ended);
        _stopAfterStep.Clear();
    }

    /// <summary>The grain is deactivated: spans still open end here (the SA itself continues from storage).</summary>
    public void Deactivated()
    {
        if (_mainMode is { } mm) { mm.AddEvent(new ActivityEvent("deactivated")); Stop(mm); _mainMode = null; }
        EndQuickModes("deactivated");
    }

    private void EndQuickModes(string eventName)
    {
        foreach (var (_, qm) in _quickModes) { qm.AddEvent(new ActivityEvent(eventName)); Stop(qm); }
        _quickModes.Clear();
    }

    private ActivityContext ParentContext() => _mainMode?.Context ?? _context;

    private Activity? Start(string name, ActivityContext parent, DateTime at, ActivityKind kind)
    {
        var previous = Activity.Current;
        // A span of this SA whose parent is not the call that carried it links to that call (and to nothing secret).
        var call = previous?.Context;
        var links = call is { } c && c != default && c.TraceId != parent.TraceId ? new[] { new ActivityLink(c) } : null;
        Activity? span;
        if (deferred.Active) span = deferred.Placeholder(name, parent, kind, links);
        else
        {
            span = NegotiationTelemetry.Source.CreateActivity(name, kind, parent, tags: null, links: links);
            if (span is null) return null;
        }
        span.SetStartTime(at);
        span.Start();
        Activity.Current = previous; // long-lived spans must not become the ambient parent of the grain's other work
        if (_context == default && !deferred.Active) _context = span.Context;
        if (Reactivated) span.SetTag(A.Reactivated, true);
        StepSpan ??= span;
        return span;
    }

    /// <summary>Ends a message span now; it stops at the end of the step (<see cref="EndStep"/>).</summary>
    public void End(Activity? span)
    {
        if (span is null) return;
        var end = Now();
        span.SetEndTime(end > span.StartTimeUtc ? end : span.StartTimeUtc.AddTicks(1));
        _stopAfterStep.Add(span);
    }

    public static void Stop(Activity span)
    {
        var previous = Activity.Current;
        span.Stop();
        Activity.Current = previous == span ? null : previous;
    }

    /// <summary>Strictly increasing span timestamps, so the messages of one step keep their order.</summary>
    public DateTime Now()
    {
        var now = DateTime.UtcNow;
        _last = now > _last ? now : _last.AddTicks(1);
        return _last;
    }
}
