using System.Globalization;
using System.Net;
using System.Text;

namespace IkeActors.Explain;

/// <summary>
/// `--format html`: one self-contained page (inline CSS, inline SVG, a few lines of inline
/// script, nothing fetched): the ladder diagram of the exchange between the two peers
/// (MM1 → MM6 or AM1 → AM3, XAUTH and Mode Config, QM1 → QM3, Informational), the failure
/// point marked, and the annotated lines.
/// </summary>
public static class HtmlReport
{
    private static string H(string? s) => WebUtility.HtmlEncode(LogReader.Clean(s ?? ""));

    private sealed record Arrow(string Id, string Label, Side From, bool Sent, bool Received, int Resent, bool Failed, string? Note);

    public static string Render(ExplainReport r)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>ikeactors explain: ").Append(H(string.Join(", ", r.Files))).Append("</title>\n");
        sb.Append("<style>\n").Append(Css).Append("</style></head>\n<body>\n");
        sb.Append("<h1>IKEv1 negotiation explained</h1>\n<p class=\"files\">").Append(H(string.Join(", ", r.Files)));
        if (r.ConfigFiles.Count > 0) sb.Append(" &mdash; configuration ").Append(H(string.Join(", ", r.ConfigFiles)));
        sb.Append("<br>").Append(r.Recognised).Append(" lines recognised, ").Append(r.Lines.Count(l => !l.Recognised && l.Record.Marker is null)).Append(" not recognised (kept, marked ?)</p>\n");
        foreach (var p in r.Problems) sb.Append("<p class=\"problem\">").Append(H(p)).Append("</p>\n");

        if (r.Diagnoses.Count > 0)
        {
            sb.Append("<section id=\"diagnoses\"><h2>Diagnosis</h2>\n");
            foreach (var d in r.Diagnoses)
            {
                var at = d.Evidence.FirstOrDefault();
                sb.Append("<div class=\"diagnosis\" id=\"diag-").Append(H(d.Id)).Append("\"><h3>").Append(H(d.Title));
                if (at?.ExchangeMessage is not null) sb.Append(" <span class=\"at\">at ").Append(H(at.ExchangeMessage)).Append(" (").Append(TextReport.SideName(at.Side)).Append(")</span>");
                sb.Append("</h3>\n<p><b>Likely cause:</b> ").Append(H(d.Cause)).Append("</p>\n<p><b>Evidence:</b></p><ul class=\"evidence\">");
                foreach (var e in d.Evidence) sb.Append("<li><a href=\"#").Append(Anchor(e)).Append("\">").Append(H(e.Record.File)).Append(':').Append(e.Record.Line).Append("</a> <code>").Append(H(e.Record.Text)).Append("</code></li>");
                sb.Append("</ul>\n<p><b>Check / change:</b></p><ul>");
                foreach (var c in d.Checks) sb.Append("<li>").Append(H(TextReport.Fill(c, at))).Append("</li>");
                foreach (var c in d.Config) sb.Append("<li><code>").Append(H(c.ToString())).Append("</code> <span class=\"why\">").Append(H(c.Why)).Append("</span></li>");
                sb.Append("</ul></div>\n");
            }
            sb.Append("</section>\n");
        }
        else if (r.Lines.Any(l => l.Message?.Name == "Phase2Completed"))
            sb.Append("<p class=\"ok\" id=\"no-failure\">No failure found: phase 1 and phase 2 completed.</p>\n");

        AppendLadder(sb, r);
        AppendLines(sb, r);
        sb.Append("<script>\n").Append(Script).Append("</script>\n</body></html>\n");
        return sb.ToString();
    }

    private static string Anchor(ExplainedLine l) => "l-" + Math.Abs(StringComparer.Ordinal.GetHashCode(l.Record.File)).ToString(CultureInfo.InvariantCulture) + "-" + l.Record.Line.ToString(CultureInfo.InvariantCulture);

    private static List<Arrow> Arrows(ExplainReport r)
    {
        var failure = r.Diagnoses.FirstOrDefault()?.Evidence.FirstOrDefault();
        var arrows = new List<Arrow>();
        // With one end's log only, a message is known to have arrived when the conversation went on past it.
        var furthest = -1;
        for (var i = 0; i < Messages.Ladder.Length; i++)
            if (r.Lines.Any(l => l.ExchangeMessage == Messages.Ladder[i] && l.Message?.Name is not ("IkeDecodeResending" or "SessionEstablishmentTimedOut"))) furthest = i;
        foreach (var m in Messages.Ladder)
        {
            var lines = r.Lines.Where(l => l.ExchangeMessage == m).ToList();
            if (lines.Count == 0) continue;
            var j = Array.IndexOf(Messages.Ladder, m);
            var sender = Messages.SenderOf(m);
            var sent = lines.Any(l => l.Side == sender);
            // …or when its sender completed the phase with it (QM3, MM6 and AM3 get no answer).
            var received = lines.Any(l => l.Side == Messages.Other(sender)) || j < furthest
                || lines.Any(l => l.Side == sender && l.Message?.Name is "Phase1Completed" or "Phase2Completed");
            var resent = lines.Count(l => l.Message?.Name == "IkeDecodeResending");
            var failed = failure?.ExchangeMessage == m;
            arrows.Add(new Arrow("msg-" + m.Replace(' ', '-'), m, sender, sent, received, resent, failed, failed ? r.Diagnoses[0].Title : null));
        }
        var k = 0;
        foreach (var l in r.Lines.Where(l => l.ExchangeMessage == Messages.Informational && l.Message?.Name is "IkeDecodeSending" or "SendingDpdRuThere" or "SendingDpdRuThereAck"))
        {
            var failed = failure == l;
            arrows.Add(new Arrow("msg-INFO-" + (++k).ToString(CultureInfo.InvariantCulture), "Informational", l.Side == Side.Unknown ? Side.Initiator : l.Side, true, false, 0, failed, failed ? r.Diagnoses[0].Title : null));
            if (k >= 8) break;
        }
        if (failure is not null && !arrows.Any(a => a.Failed))
        {
            // The failure is not on a message (a timeout): mark after the last arrow.
            arrows.Add(new Arrow("msg-FAIL", "✖", failure.Side == Side.Responder ? Side.Responder : Side.Initiator, false, false, 0, true, r.Diagnoses[0].Title));
        }
        return arrows;
    }

    private static void AppendLadder(StringBuilder sb, ExplainReport r)
    {
        var arrows = Arrows(r);
        var initiator = r.InitiatorAddress;
        var responder = r.ResponderAddress;
        const int width = 760, left = 170, right = 590, top = 70, step = 46;
        var height = top + Math.Max(1, arrows.Count) * step + 40;
        sb.Append("<section id=\"ladder-section\"><h2>Ladder diagram</h2>\n");
        sb.Append($"<svg id=\"ladder\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"IKEv1 ladder diagram\">\n");
        sb.Append("<defs><marker id=\"head\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#1f4e79\"/></marker>")
          .Append("<marker id=\"head-fail\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#c00000\"/></marker></defs>\n");
        sb.Append($"<g id=\"lifeline-initiator\" class=\"lifeline\"><rect x=\"{left - 80}\" y=\"10\" width=\"160\" height=\"40\" rx=\"6\"/><text x=\"{left}\" y=\"28\" text-anchor=\"middle\">Initiator</text><text x=\"{left}\" y=\"44\" text-anchor=\"middle\" class=\"addr\">{H(initiator ?? "")}</text><line x1=\"{left}\" y1=\"50\" x2=\"{left}\" y2=\"{height - 10}\"/></g>\n");
        sb.Append($"<g id=\"lifeline-responder\" class=\"lifeline\"><rect x=\"{right - 80}\" y=\"10\" width=\"160\" height=\"40\" rx=\"6\"/><text x=\"{right}\" y=\"28\" text-anchor=\"middle\">Responder</text><text x=\"{right}\" y=\"44\" text-anchor=\"middle\" class=\"addr\">{H(responder ?? "")}</text><line x1=\"{right}\" y1=\"50\" x2=\"{right}\" y2=\"{height - 10}\"/></g>\n");
        var y = top + 20;
        string? exchange = null;
        foreach (var a in arrows)
        {
            var ex = Messages.ExchangeOf(a.Label) is { Length: > 0 } named ? named : null;
            if (ex is not null && ex != exchange)
            {
                exchange = ex;
                sb.Append($"<text class=\"exchange\" x=\"10\" y=\"{y + 4}\">{ex}</text>\n");
            }
            var (x1, x2) = a.From == Side.Initiator ? (left, right) : (right, left);
            var cls = "msg" + (a.Failed ? " failed" : "") + (a.Received || a.Label == "Informational" ? "" : " unanswered");
            sb.Append($"<g class=\"{cls}\" id=\"{a.Id}\" data-message=\"{H(a.Label)}\">");
            if (a.Label == "✖")
            {
                sb.Append($"<text class=\"cross\" x=\"{x1}\" y=\"{y + 6}\" text-anchor=\"middle\">✖</text>");
            }
            else
            {
                var dash = a.Received || a.Label == "Informational" ? "" : " stroke-dasharray=\"6,4\"";
                var end = a.Received || a.Label == "Informational" ? x2 : (x1 + x2) / 2;
                sb.Append($"<line x1=\"{x1}\" y1=\"{y}\" x2=\"{end}\" y2=\"{y}\" marker-end=\"url(#{(a.Failed ? "head-fail" : "head")})\"{dash}/>");
                sb.Append($"<text x=\"{(left + right) / 2}\" y=\"{y - 7}\" text-anchor=\"middle\">{H(a.Label)}{(a.Resent > 0 ? $" (resent ×{a.Resent})" : "")}</text>");
                if (a.Failed) sb.Append($"<text class=\"cross\" x=\"{(a.Received ? x2 : end) + (x2 > x1 ? 14 : -14)}\" y=\"{y + 6}\" text-anchor=\"middle\">✖</text>");
            }
            sb.Append("</g>\n");
            if (a.Failed)
                sb.Append($"<g id=\"failure\"><text class=\"failure\" x=\"{(left + right) / 2}\" y=\"{y + 18}\" text-anchor=\"middle\">failure: {H(a.Note)}</text></g>\n");
            y += step;
        }
        if (arrows.Count == 0) sb.Append($"<text x=\"{(left + right) / 2}\" y=\"{y}\" text-anchor=\"middle\">no exchange message recognised</text>\n");
        sb.Append("</svg>\n</section>\n");
    }

    private static void AppendLines(StringBuilder sb, ExplainReport r)
    {
        sb.Append("<section id=\"lines\"><h2>Annotated lines</h2>\n");
        foreach (var s in r.Streams)
        {
            var lines = r.Lines.Where(l => l.Stream == s.Id && l.Record.Marker is null).ToList();
            if (!lines.Any(l => l.Recognised)) continue;
            sb.Append("<h3>").Append(H(TextReport.StreamTitle(s))).Append("</h3>\n<table class=\"lines\">\n");
            (string?, Side)? block = null;
            var unknown = 0;
            foreach (var l in lines)
            {
                if (!l.Recognised) { unknown++; continue; }
                if (unknown > 0) { sb.Append($"<tr class=\"unknown\"><td></td><td colspan=\"2\">? {unknown} line(s) of other text</td></tr>\n"); unknown = 0; }
                if (l.ExchangeMessage is not null && block != (l.ExchangeMessage, l.Side))
                {
                    block = (l.ExchangeMessage, l.Side);
                    sb.Append("<tr class=\"block\" data-message=\"").Append(H(l.ExchangeMessage)).Append("\"><th colspan=\"3\">").Append(H(TextReport.MessageTitle(l.ExchangeMessage, l.Side))).Append("</th></tr>\n");
                }
                var failed = r.Diagnoses.Any(d => d.Evidence.Contains(l));
                sb.Append("<tr id=\"").Append(Anchor(l)).Append("\" class=\"line").Append(failed ? " evidence" : "").Append("\" data-message=\"").Append(H(l.ExchangeMessage)).Append("\">");
                sb.Append("<td class=\"no\">").Append(l.Record.Line).Append("</td><td class=\"state\">").Append(H(l.State)).Append("</td><td><code>").Append(H(l.Record.Text)).Append("</code>");
                foreach (var d in l.Record.Details) sb.Append("<br><code class=\"detail\">").Append(H(d)).Append("</code>");
                if (l.Description is not null) sb.Append("<div class=\"desc\">").Append(H(l.Description)).Append("</div>");
                foreach (var n in l.Notes) sb.Append("<div class=\"note\">(").Append(H(n)).Append(")</div>");
                foreach (var c in l.Config) sb.Append("<div class=\"config\"><code>").Append(H(c.ToString())).Append("</code> <span class=\"why\">&larr; ").Append(H(c.Why)).Append("</span></div>");
                sb.Append("</td></tr>\n");
            }
            sb.Append("</table>\n");
        }
        sb.Append("</section>\n");
    }

    private const string Css = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; } h3 { font-size: 15px; }
.files { color: #555; } .problem { color: #a05a00; } .ok { color: #1d6b2a; font-weight: bold; }
.diagnosis { border-left: 5px solid #c00000; background: #fff4f4; padding: 8px 14px; margin: 10px 0; }
.diagnosis .at { font-weight: normal; color: #c00000; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
#ladder { border: 1px solid #ccd; background: #fbfcff; }
.lifeline rect { fill: #e8eef7; stroke: #1f4e79; } .lifeline text { font-size: 14px; font-weight: bold; fill: #1f4e79; }
.lifeline text.addr { font-size: 12px; font-weight: normal; } .lifeline line { stroke: #1f4e79; stroke-width: 2; }
.msg line { stroke: #1f4e79; stroke-width: 2; } .msg text { font-size: 13px; fill: #1f4e79; font-weight: bold; }
.msg.failed line { stroke: #c00000; } .msg.failed text { fill: #c00000; }
.cross { fill: #c00000; font-size: 18px; } .failure { fill: #c00000; font-size: 12px; }
.exchange { font-size: 12px; fill: #777; font-style: italic; }
table.lines { border-collapse: collapse; width: 100%; }
table.lines td { border-bottom: 1px solid #eee; vertical-align: top; padding: 2px 6px; }
tr.block th { text-align: left; background: #e8eef7; color: #1f4e79; padding: 4px 6px; }
tr.evidence { background: #fff0f0; } tr.unknown td { color: #999; font-style: italic; }
td.no { color: #999; text-align: right; width: 3em; } td.state { color: #777; font-size: 11px; width: 8em; }
.desc { color: #333; font-size: 13px; } .note { color: #a05a00; font-size: 12px; }
.config code { color: #1d6b2a; } .why { color: #666; font-size: 12px; }
tr.highlight { outline: 2px solid #1f4e79; }
""";

    /// <summary>Clicking a message of the ladder highlights its lines; marks the page as rendered for tests.</summary>
    private const string Script = """
(function () {
  var rows = document.querySelectorAll('tr.line');
  document.querySelectorAll('#ladder g.msg').forEach(function (g) {
    g.style.cursor = 'pointer';
    g.addEventListener('click', function () {
      var m = g.getAttribute('data-message');
      rows.forEach(function (r) { r.classList.toggle('highlight', r.getAttribute('data-message') === m); });
    });
  });
  document.body.setAttribute('data-ladder-messages', String(document.querySelectorAll('#ladder g.msg').length));
  document.body.setAttribute('data-ready', '1');
})();
""";
}
