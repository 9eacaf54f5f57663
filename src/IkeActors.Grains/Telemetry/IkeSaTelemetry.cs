using System.Diagnostics;
using System.Net;
using IkeActors.Negotiation;
using IkeActors.Protocol;
using A = IkeActors.Grains.Telemetry.NegotiationTelemetry.Attributes;

namespace IkeActors.Grains.Telemetry;

/// <summary>
/// The spans, metrics and debug records of one IKE SA, kept by its grain. The engine is pure, so
/// everything comes from its typed events (<see cref="MessageReceived"/>, <see cref="MessageSent"/>,
/// <see cref="MessageDropped"/>, <see cref="Phase1Established"/>, …) and the SA it leaves; of a
/// datagram only the header is read, through <see cref="IsakmpHeaderView"/>. Spans:
/// <see cref="SaSpans"/> (the responder's first ones kept aside by <see cref="DeferredSpans"/>);
/// measurements: <see cref="SaMetrics"/>; what the spans say of the SA: <see cref="SaIdentity"/>.
/// Never recorded: pre-shared keys, keys, nonces, KE values (only names, numbers, SPIs, cookies).
/// </summary>
public sealed class IkeSaTelemetry : IDisposable
{
    private readonly SaIdentity _identity = new();
    private readonly DeferredSpans _deferred = new();
    private readonly SaSpans _spans;
    private readonly SaMetrics _metrics;

    // The last message of each exchange (by message ID) in and out, for duplicates and retransmissions.
    private readonly Dictionary<uint, string> _lastOut = new(), _lastIn = new();
    private bool _resuming;

    // The datagram of the current step (set by Received, consumed by Step).
    private (uint MessageId, DateTime At)? _in;

    public IkeSaTelemetry()
    {
        _spans = new SaSpans(_identity, _deferred);
        _metrics = new SaMetrics(_identity);
    }

    /// <summary>Where the debug lines go as log records (null: not exported).</summary>
    public DebugLogExport? Export { get; set; }

    /// <summary>The level the engine must format at for the export (0 when nothing is exported).</summary>
    public int ExportLevel => Export?.Level ?? 0;

    /// <summary>The trace context of this IKE SA as a W3C traceparent (persisted with the SA), or null.</summary>
    public string? TraceParent => _spans.TraceParent;

    /// <summary>A reactivation: the SA comes back from storage; its spans continue the stored trace.</summary>
    public void Resume(string? traceParent)
    {
        _resuming = true;
        _spans.Resume(traceParent);
    }

    /// <summary>A datagram arrives for this SA (call before the engine sees it): its arrival time and message ID.</summary>
    public void Received(ReadOnlySpan<byte> datagram, IPEndPoint from)
    {
        // RFC 2408 §3.1: the header names the SA (initiator cookie) and the exchange (message ID).
        if (!IsakmpHeaderView.TryParse(datagram, out var header, out _)) { _in = null; return; }
        _identity.Arrived(from, header.InitiatorCookie);
        _in = (header.MessageId, _spans.Now());
    }

    /// <summary>Maps one step's actions to spans and metrics. <paramref name="sa"/> is the SA after the step (null when none was created).</summary>
    public void Step(IkeSa? sa, NegotiationOutput output)
    {
        var input = _in;
        _in = null;
        var actions = output.Actions;
        var received = actions.OfType<MessageReceived>().Select(r => (ExchangeMessage?)r.Message).FirstOrDefault();
        if (received == ExchangeMessage.MainMode(1)) NewSa();
        _identity.Learn(sa);
        if (_resuming)
        {
            // The restored SA's state is where this activation starts; nothing happened on the wire.
            _resuming = false;
            if (sa?.State == MainModeState.MM_ACTIVE) _metrics.Established = true;
            return;
        }
        _spans.BeginStep();
        if (_deferred.Active)
        {
            // The context came (MM5), or MM5 came without it, or the exchange ends here.
            var carried = actions.OfType<TraceContextReceived>().FirstOrDefault()?.TraceParent;
            if (carried is not null || received == ExchangeMessage.MainMode(5) || actions.Any(EndsExchange))
                _spans.Materialize(carried is not null && ActivityContext.TryParse(carried, null, isRemote: true, out var remote) ? remote : default, Export);
        }
        // A message the engine took and then dropped is recorded by its drop only.
        var dropped = actions.Any(a => a is MessageDropped);
        var at = input?.At ?? _spans.Now();
        Activity? inSpan = null;

        // RFC 2408 §5: a datagram the engine did not take as a new message but answered with its last answer
        // again is a retransmitted request.
        if (input is { } i && received is null && !dropped && actions.Any(a => a is SendDatagram { IsRetransmission: true }))
            _spans.AddEvent(i.MessageId, "duplicate", new ActivityTagsCollection
            {
                [A.Message] = _lastIn.GetValueOrDefault(i.MessageId, "?"), [A.MessageId] = SaIdentity.Hex(i.MessageId),
            });

        foreach (var action in actions)
        {
            switch (action)
            {
                case MessageReceived { Message: var m } when !dropped:
                    if (m.Exchange == IkeExchange.Informational)
                    {
                        _spans.Informational("in", m.MessageId, actions, at);
                        break;
                    }
                    if (m.Exchange == IkeExchange.Transaction)
                    {
                        _spans.Transaction("in", m.MessageId, actions, at);
                        break;
                    }
                    StartExchange(m, at, actions);
                    inSpan = _spans.Message(m, "in", at, sa);
                    _lastIn[m.MessageId] = m.Label;
                    break;
                case MessageSent { Message: var m } when m.Exchange == IkeExchange.Transaction:
                    _spans.Transaction("out", m.MessageId, actions, _spans.Now());
                    break;
                case MessageSent { Message: var m } when m.Exchange is IkeExchange.MainMode or IkeExchange.QuickMode or IkeExchange.AggressiveMode:
                    StartExchange(m, _spans.Now(), actions);
                    _spans.End(_spans.Message(m, "out", _spans.Now(), sa));
                    _lastOut[m.MessageId] = m.Label;
                    break;
                case SendDatagram { IsRetransmission: true } s:
                {
                    var id = HeaderOf(s.Datagram)?.MessageId ?? 0;
                    _spans.AddEvent(id, "retransmit", new ActivityTagsCollection
                    {
                        [A.Message] = _lastOut.GetValueOrDefault(id, "?"), [A.MessageId] = SaIdentity.Hex(id),
                    });
                    break;
                }
                case SendDatagram s when HeaderOf(s.Datagram) is { Exchange: ExchangeType.Informational } h:
                    _spans.Informational("out", h.MessageId, [], _spans.Now());
                    break;
                case Phase1Established p:
                    _identity.Learn(p.Sa);
                    _metrics.Phase1Established();
                    _spans.Phase1Established();
                    break;
                case InstallIpsecSa install:
                    _metrics.Installed(install.Pair.MessageId);
                    _spans.Installed(install.Pair);
                    break;
                case IpsecSaDeleted:
                    _metrics.IpsecSaDeleted();
                    break;
                case NegotiationFailed f:
                {
                    var quickMode = IsMainMode(f) ? 0 : _spans.FailedQuickMode(received is { Exchange: IkeExchange.QuickMode } r ? r.MessageId : null, sa);
                    _metrics.Failed(f, quickMode);
                    _spans.Failed(f, quickMode, inSpan);
                    break;
                }
                case IkeSaDeleted d:
                    _metrics.IkeSaDeleted();
                    _spans.IkeSaDeleted(d.Reason);
                    break;
                case DeleteReceived t when received is not { Exchange: IkeExchange.Informational }:
                    _spans.Informational("out", t.MessageId, [t], _spans.Now());
                    break;
                case MessageDropped d:
                    SaMetrics.Dropped(ExchangeName(d.Exchange));
                    _spans.AddEvent(d.MessageId, "drop", new ActivityTagsCollection
                    {
                        [A.Exchange] = ExchangeName(d.Exchange), [A.MessageId] = SaIdentity.Hex(d.MessageId), [A.Detail] = d.Detail,
                    });
                    break;
                case RekeyDue or Phase2RekeyStarted or IpsecSasMoved or RekeyCollisionSettled:
                    SaMetrics.Rekey(action);
                    break;
                case DpdProbeSent or PeerDead:
                    SaMetrics.Dpd(action);
                    break;
            }
        }
        WriteDebugLines(actions, inSpan ?? _spans.StepSpan ?? _spans.PhaseSpan(input?.MessageId ?? 0));
        // Spans ended in this step stop only now: a log record can only be written under a running span.
        _spans.EndStep(inSpan);
    }

    /// <summary>The grain is deactivated: spans still open end here (the SA itself continues from storage).</summary>
    public void Dispose()
    {
        if (_deferred.Active) _spans.Materialize(default, Export);
        _spans.Deactivated();
    }

    /// <summary>MM1 starts Main Mode, QM1 its Quick Mode (RFC 2409 §5, §5.5).</summary>
    private void StartExchange(ExchangeMessage m, DateTime at, IReadOnlyList<NegotiationAction> actions)
    {
        if (m == ExchangeMessage.MainMode(1))
        {
            // A responder's Main Mode waits for the initiator's trace context in MM5 (DeferredSpans).
            var defer = _identity.IsResponder && !_spans.Reactivated && !actions.Any(EndsExchange);
            if (_spans.StartMainMode(at, defer)) _metrics.MainModeStarted();
        }
        else if (m == ExchangeMessage.Aggressive(1))
        {
            // Aggressive Mode carries no trace context (it has no MM5): its span starts at once.
            if (_spans.StartMainMode(at, defer: false, aggressive: true)) _metrics.MainModeStarted();
        }
        else if (m.Exchange == IkeExchange.QuickMode && m.Number == 1 && _spans.StartQuickMode(m.MessageId, at))
        {
            _metrics.QuickModeStarted(m.MessageId);
        }
    }

    /// <summary>RFC 2409 §5: an MM1 taken by the grain is a new SA (the old one, if any, was deleted): a new trace.</summary>
    private void NewSa()
    {
        _lastIn.Clear();
        _lastOut.Clear();
        _identity.Reset();
        _identity.RoleFromMessage1(IkeRole.Responder);
        _spans.Reset();
        _metrics.Reset();
    }

    /// <summary>The step's debug lines as log records under <paramref name="span"/> (kept aside while the spans are).</summary>
    private void WriteDebugLines(IReadOnlyList<NegotiationAction> actions, Activity? span)
    {
        if (Export is not { } export) return;
        foreach (var a in actions)
        {
            if (a is not DebugEvent line || line.Message.Level > export.Level) continue;
            if (_deferred.Active) _deferred.Add(line, span);
            else export.Write(line, span);
        }
    }

    private static (ExchangeType Exchange, uint MessageId)? HeaderOf(byte[] datagram) =>
        IsakmpHeaderView.TryParse(datagram, out var header, out _) ? (header.ExchangeType, header.MessageId) : null;

    private static bool EndsExchange(NegotiationAction a) => a is NegotiationFailed or IkeSaDeleted or Phase1Established;

    private static bool IsMainMode(NegotiationFailed f) => f.Exchange is IkeExchange.MainMode or IkeExchange.AggressiveMode or IkeExchange.Transaction;

    /// <summary>The exchange as the span and metric tags name it.</summary>
    private static string ExchangeName(IkeExchange exchange) => exchange switch
    {
        IkeExchange.MainMode => "Main Mode",
        IkeExchange.QuickMode => "Quick Mode",
        IkeExchange.Informational => "Informational",
        IkeExchange.AggressiveMode => "Aggressive Mode",
        IkeExchange.Transaction => "Transaction",
        _ => "ISAKMP",
    };
}
