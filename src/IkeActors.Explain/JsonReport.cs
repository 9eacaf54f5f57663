using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace IkeActors.Explain;

/// <summary>`--format json`: the whole explanation for tools. Keys are never in it (config lines come masked).</summary>
public static class JsonReport
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static string Render(ExplainReport r) => JsonSerializer.Serialize(ToDto(r), Options);

    public static object ToDto(ExplainReport r) => new
    {
        files = r.Files,
        configFiles = r.ConfigFiles,
        problems = r.Problems,
        summary = new { lines = r.Lines.Count(l => l.Record.Marker is null), recognised = r.Recognised, unrecognised = r.Lines.Count(l => !l.Recognised && l.Record.Marker is null) },
        streams = r.Streams.Select(s => new
        {
            id = s.Id + 1, file = s.File, host = s.Host, peer = s.Peer, bothEnds = s.BothEnds,
            role = s.BothEnds ? null : TextReport.SideName(s.Role),
            states = s.States.ToDictionary(kv => TextReport.SideName(kv.Key), kv => new { phase1 = kv.Value.Phase1, phase2 = kv.Value.Phase2 }),
        }),
        diagnoses = r.Diagnoses.Select(d => new
        {
            id = d.Id, title = d.Title, cause = d.Cause,
            failurePoint = d.Evidence.FirstOrDefault() is { } at ? new { file = at.Record.File, line = at.Record.Line, message = at.ExchangeMessage, side = TextReport.SideName(at.Side) } : null,
            checks = d.Checks.Select(c => TextReport.Fill(c, d.Evidence.FirstOrDefault())),
            evidence = d.Evidence.Select(e => new { file = e.Record.File, line = e.Record.Line, text = e.Record.Text }),
            config = d.Config.Select(Config),
        }),
        lines = r.Lines.Where(l => l.Record.Marker is null).Select(l => new
        {
            file = l.Record.File,
            line = l.Record.Line,
            text = l.Record.Text,
            recognised = l.Recognised,
            quality = l.Quality == MatchQuality.None ? null : l.Quality.ToString().ToLowerInvariant(),
            message = l.Message?.Name,
            syslog = l.Message is { } m ? $"%ASA-{m.Severity}-{m.SyslogId}" : null,
            level = l.Message?.Level,
            stream = l.Stream >= 0 ? l.Stream + 1 : (int?)null,
            exchange = l.ExchangeMessage is null ? null : l.Exchange,
            exchangeMessage = l.ExchangeMessage,
            side = l.ExchangeMessage is null ? null : TextReport.SideName(l.Side),
            stage = l.Stage == Stage.None ? null : l.Stage.ToString().ToLowerInvariant(),
            state = l.State,
            description = l.Description,
            peer = l.Peer,
            group = l.Group,
            values = l.Values.Count == 0 ? null : l.Values,
            details = l.Record.Details.Count == 0 ? null : l.Record.Details,
            notes = l.Notes.Count == 0 ? null : l.Notes,
            config = l.Config.Count == 0 ? null : l.Config.Select(Config),
        }),
    };

    private static object Config(ConfigReference c) => new { file = c.File, line = c.Line > 0 ? c.Line : (int?)null, text = c.Text, why = c.Why };
}
