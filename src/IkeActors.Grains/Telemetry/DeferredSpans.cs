using System.Diagnostics;
using IkeActors.Negotiation;

namespace IkeActors.Grains.Telemetry;

/// <summary>
/// A responder's Main Mode spans and debug records, kept aside until the initiator's trace context is
/// known: IKEv1 has no field for it, so an IkeActors initiator sends it in a private vendor ID in MM5
/// (encrypted; HASH_I does not cover vendor IDs, RFC 2409 §5). Until then the spans are placeholders
/// no exporter sees; <see cref="Materialize"/> writes them, with their real start and end times, under
/// the initiator's <c>ikev1.main_mode</c>, or without it under the call that carried MM1.
/// </summary>
internal sealed class DeferredSpans
{
    private readonly List<(Activity Span, ActivityKind Kind, ActivityLink[]? Links)> _spans = new();
    private readonly List<(DebugEvent Line, Activity? Span)> _lines = new();

    /// <summary>Spans started now are placeholders.</summary>
    public bool Active { get; private set; }

    public void Begin() => Active = true;

    public void Clear()
    {
        Active = false;
        _spans.Clear();
        _lines.Clear();
    }

    /// <summary>A placeholder: not from our ActivitySource, so no listener sees it; <see cref="Materialize"/> copies it.</summary>
    public Activity Placeholder(string name, ActivityContext parent, ActivityKind kind, ActivityLink[]? links)
    {
        var span = new Activity(name);
        span.SetIdFormat(ActivityIdFormat.W3C);
        if (parent != default) span.SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags);
        _spans.Add((span, kind, links));
        return span;
    }

    /// <summary>A debug record to write under <paramref name="span"/> (a placeholder or null) once the spans are real.</summary>
    public void Add(DebugEvent line, Activity? span) => _lines.Add((line, span));

    /// <summary>
    /// Creates the real spans (a placeholder's parent is the real copy of its placeholder parent, else
    /// <paramref name="parent"/>, else the call that carried MM1), writes the kept records under them while
    /// they still run (a record can only be written under a running span), then stops those that ended.
    /// Returns the real span of each placeholder, in the order they were started.
    /// </summary>
    public IReadOnlyList<(Activity Placeholder, Activity Real)> Materialize(ActivityContext parent, DebugLogExport? export, Activity? recordsFallback)
    {
        Active = false;
        var real = new Dictionary<ActivitySpanId, Activity>();
        var pairs = new List<(Activity Placeholder, Activity Real)>();
        foreach (var (placeholder, kind, links) in _spans)
        {
            var context = real.TryGetValue(placeholder.ParentSpanId, out var p) ? p.Context
                : parent != default ? parent
                : placeholder.ParentSpanId != default ? new ActivityContext(placeholder.TraceId, placeholder.ParentSpanId, placeholder.ActivityTraceFlags, isRemote: true)
                : default;
            var previous = Activity.Current;
            var span = NegotiationTelemetry.Source.CreateActivity(placeholder.OperationName, kind, context, tags: placeholder.TagObjects, links: links);
            if (span is null) continue;
            span.SetStartTime(placeholder.StartTimeUtc);
            span.Start();
            Activity.Current = previous;
            foreach (var e in placeholder.Events) span.AddEvent(e);
            if (placeholder.Status != ActivityStatusCode.Unset) span.SetStatus(placeholder.Status, placeholder.StatusDescription);
            if (placeholder.Duration > TimeSpan.Zero) span.SetEndTime(placeholder.StartTimeUtc + placeholder.Duration);
            real[placeholder.SpanId] = span;
            pairs.Add((placeholder, span));
        }
        var fallback = recordsFallback is not null && real.TryGetValue(recordsFallback.SpanId, out var f) ? f : recordsFallback;
        if (export is not null)
            foreach (var (line, span) in _lines)
                export.Write(line, span is not null && real.TryGetValue(span.SpanId, out var r) ? r : fallback);
        foreach (var (placeholder, span) in pairs)
            if (placeholder.Duration > TimeSpan.Zero) SaSpans.Stop(span);
        _spans.Clear();
        _lines.Clear();
        return pairs;
    }
}
