using System.Text;

namespace IkeActors.Explain;

/// <summary>The readable report: one block per exchange, lines indented under the message they belong to.</summary>
public static class TextReport
{
    public static string Render(ExplainReport r, bool showUnrecognised = true)
    {
        var sb = new StringBuilder();
        sb.Append("ikeactors explain: ").Append(string.Join(", ", r.Files.Select(Safe)));
        if (r.ConfigFiles.Count > 0) sb.Append("  (config: ").Append(string.Join(", ", r.ConfigFiles.Select(Safe))).Append(')');
        sb.Append('\n');
        sb.Append($"{r.Lines.Count(l => l.Record.Marker is null)} lines read, {r.Recognised} recognised, {r.Unrecognised} not recognised (kept, marked '?')\n");
        foreach (var p in r.Problems) sb.Append("note: ").Append(Safe(p)).Append('\n');

        if (r.Diagnoses.Count > 0)
        {
            sb.Append("\nDIAGNOSIS\n");
            foreach (var d in r.Diagnoses) AppendDiagnosis(sb, d);
        }
        else if (r.Recognised > 0)
        {
            var done = r.Lines.Any(l => l.Message?.Name == "Phase2Completed");
            sb.Append(done ? "\nNo failure found: phase 1 and phase 2 completed.\n" : "\nNo known failure signature found.\n");
        }

        foreach (var s in r.Streams)
        {
            var lines = r.Lines.Where(l => l.Stream == s.Id).ToList();
            if (!lines.Any(l => l.Recognised)) { if (!showUnrecognised) continue; }
            sb.Append('\n').Append(StreamTitle(s)).Append('\n');
            string? exchange = null;
            (string?, Side)? block = null;
            var pendingUnknown = new List<ExplainedLine>();
            void FlushUnknown()
            {
                if (pendingUnknown.Count > 3)
                    sb.Append($"   ? {pendingUnknown[0].Record.Line,5}-{pendingUnknown[^1].Record.Line}  ({pendingUnknown.Count} lines of other text)\n");
                else foreach (var u in pendingUnknown) AppendLine(sb, u);
                pendingUnknown.Clear();
            }
            foreach (var l in lines)
            {
                if (l.Record.Marker is not null) continue;
                if (!l.Recognised)
                {
                    if (showUnrecognised) pendingUnknown.Add(l);
                    continue;
                }
                FlushUnknown();
                if (l.ExchangeMessage is not null && l.Exchange != exchange)
                {
                    exchange = l.Exchange;
                    sb.Append("\n== ").Append(exchange).Append(" ==\n");
                    block = null;
                }
                if (l.ExchangeMessage is not null && block != (l.ExchangeMessage, l.Side))
                {
                    block = (l.ExchangeMessage, l.Side);
                    sb.Append("  -- ").Append(MessageTitle(l.ExchangeMessage, l.Side)).Append('\n');
                }
                AppendLine(sb, l);
            }
            FlushUnknown();
        }
        return sb.ToString();
    }

    internal static string StreamTitle(ExplainedStream s)
    {
        var who = s.BothEnds ? "both ends in one log (initiator and responder lines, same peer address)"
            : s.Role == Side.Initiator ? "this ASA is the initiator" : s.Role == Side.Responder ? "this ASA is the responder" : "role unknown";
        var states = string.Join("; ", s.States.Select(kv =>
            (s.States.Count > 1 || s.BothEnds ? SideName(kv.Key) + " " : "") +
            string.Join(", ", new[] { kv.Value.Phase1, kv.Value.Phase2 }.OfType<string>())));
        return $"STREAM {s.Id + 1}: {Safe(s.File)}{(s.Host is null ? "" : " (" + Safe(s.Host) + ")")}, peer {s.Peer ?? "(none)"}: {who}" + (states.Length > 0 ? $"; last state: {states}" : "");
    }

    internal static string MessageTitle(string message, Side side)
    {
        if (message == Messages.Informational) return $"Informational ({SideName(side)})";
        var sender = Messages.SenderOf(message);
        var arrow = sender == Side.Initiator ? "initiator → responder" : "responder → initiator";
        var what = side == Side.Unknown ? "" : side == sender ? $"; {SideName(side)} builds and sends it" : $"; {SideName(side)} receives and processes it";
        return $"{message} ({arrow}{what})";
    }

    internal static string SideName(Side s) => s switch { Side.Initiator => "initiator", Side.Responder => "responder", _ => "side unknown" };

    private static void AppendLine(StringBuilder sb, ExplainedLine l)
    {
        var mark = l.Recognised ? " " : "?";
        sb.Append("   ").Append(mark).Append(' ').Append(l.Record.Line.ToString().PadLeft(5)).Append("  ").Append(Safe(l.Record.Text)).Append('\n');
        foreach (var d in l.Record.Details) sb.Append("              ").Append(Safe(d)).Append('\n');
        if (l.Description is not null)
        {
            var head = l.State is null ? "" : $"[{l.State}] ";
            sb.Append("              ").Append(head).Append(l.Description).Append('\n');
        }
        foreach (var n in l.Notes) sb.Append("              (").Append(n).Append(")\n");
        foreach (var c in l.Config) sb.Append("              config ").Append(Safe(c.ToString())).Append("   <- ").Append(c.Why).Append('\n');
    }

    private static void AppendDiagnosis(StringBuilder sb, Diagnosis d)
    {
        var at = d.Evidence.FirstOrDefault();
        sb.Append($"* {d.Title} [{d.Id}]");
        if (at?.ExchangeMessage is not null) sb.Append($" at {at.ExchangeMessage} ({SideName(at.Side)})");
        sb.Append('\n');
        sb.Append("  likely cause: ").Append(d.Cause).Append('\n');
        sb.Append("  evidence:\n");
        foreach (var e in d.Evidence) sb.Append($"    {Safe(e.Record.File)}:{e.Record.Line}: {Safe(e.Record.Text)}\n");
        sb.Append("  check / change:\n");
        foreach (var c in d.Checks) sb.Append("    - ").Append(Fill(c, at)).Append('\n');
        foreach (var c in d.Config) sb.Append("    ").Append(Safe(c.ToString())).Append('\n');
    }

    internal static string Fill(string text, ExplainedLine? at) => text
        .Replace("{peer}", at?.Peer ?? "<peer>", StringComparison.Ordinal)
        .Replace("{group}", at?.Group ?? at?.Peer ?? "<group>", StringComparison.Ordinal);

    /// <summary>Nothing from the log can drive the terminal.</summary>
    internal static string Safe(string s) => LogReader.Clean(s);
}
