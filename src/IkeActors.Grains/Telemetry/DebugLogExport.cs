using System.Diagnostics;
using IkeActors.Negotiation;
using IkeActors.Protocol;
using Microsoft.Extensions.Logging;

namespace IkeActors.Grains.Telemetry;

/// <summary>
/// The ASA debug lines as OpenTelemetry log records, through <see cref="ILogger"/> (category
/// <see cref="Category"/>). Registered in DI by the gateway when logs are exported; the IKE SA grain
/// asks the engine for lines up to <see cref="Level"/> (like `debug crypto ikev1 Level`) whatever its
/// console level is, and <see cref="IkeSaTelemetry"/> writes them while the message's span is current,
/// so each record carries the negotiation's trace and span id.
/// The body is the exact console line; attributes: <c>asa.message_id</c> (the syslog id, 713906),
/// <c>asa.debug_level</c>, <c>asa.syslog_severity</c>, <c>asa.message</c> (the catalog name).
/// The catalog's lines hold addresses, names, SPIs and numbers, never keys (design: secrets are never logged).
/// </summary>
public sealed class DebugLogExport(ILogger logger, int level = DebugLogExport.DefaultLevel)
{
    public const string Category = "IkeActors.Negotiation.Debug";

    /// <summary>127, the level the seed's transcripts were taken at (every catalog line is at 10 or below, so 255 exports the same).</summary>
    public const int DefaultLevel = 127;

    public int Level { get; } = Math.Clamp(level, 0, 255);

    internal ILogger Logger { get; } = logger;

    /// <summary>
    /// Severity: the ASA's syslog severity where it marks a problem (3 → Error, 4 → Warning), otherwise the
    /// debug level the line needs: 1 → Information, 2–5 → Debug, 6 and up → Trace.
    /// </summary>
    public static LogLevel SeverityOf(DebugMessageInfo m) => m.Severity switch
    {
        <= 3 => LogLevel.Error,
        4 => LogLevel.Warning,
        _ => m.Level switch { <= 1 => LogLevel.Information, <= 5 => LogLevel.Debug, _ => LogLevel.Trace },
    };

    internal void Write(DebugEvent line)
    {
        if (line.Message.Level > Level) return;
        var severity = SeverityOf(line.Message);
        if (!Logger.IsEnabled(severity)) return;
        Logger.Log(severity, new EventId(line.Message.SyslogId, line.Message.Name), new Record(line), null, static (r, _) => r.Line);
    }

    /// <summary>Writes the record while <paramref name="span"/> is current, so it carries its trace and span id.</summary>
    internal void Write(DebugEvent line, Activity? span)
    {
        var previous = Activity.Current;
        if (span is not null) Activity.Current = span;
        try { Write(line); }
        finally { Activity.Current = previous; }
    }

    /// <summary>The state of one record: the attributes, and the line as its own template (never formatted again).</summary>
    private sealed class Record(DebugEvent e) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Line { get; } = e.ConsoleLine;

        private KeyValuePair<string, object?>[] Items => _items ??=
        [
            new("asa.message_id", e.Message.SyslogId),
            new("asa.debug_level", e.Message.Level),
            new("asa.syslog_severity", e.Message.Severity),
            new("asa.message", e.Message.Name),
            new("{OriginalFormat}", Line),
        ];

        private KeyValuePair<string, object?>[]? _items;

        public KeyValuePair<string, object?> this[int index] => Items[index];
        public int Count => Items.Length;
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)Items).GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => Line;
    }
}
