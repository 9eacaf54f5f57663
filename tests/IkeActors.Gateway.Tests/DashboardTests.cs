using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// The dashboard with the real products: `ikeactors dashboard` (the Aspire Dashboard, ports :0, API key),
/// two `ikeactors run` processes (the seed's two ASAs on loopback) exporting OTLP to it, and each node's
/// Orleans Dashboard. Everything is read back through the dashboards' own HTTP APIs.
/// </summary>
public class DashboardTests
{
    internal const string Psk = "Tr4ce-Psk-0f-Lab!";
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");

    [Fact]
    public async Task One_trace_per_negotiation_across_both_processes_with_the_debug_lines_and_the_grains()
    {
        using var lab = await Lab.Start(responderPsk: Psk);
        await lab.Left!.WaitForLine("PHASE 2 COMPLETED", TimeSpan.FromSeconds(40));

        // Spans are exported in batches (5 s): wait until both processes' Quick Mode spans are there.
        var trace = await lab.Aspire.WaitForTrace(spans => spans.Count(s => s.Name == "QM3") >= 2 && spans.Count(s => s.Name == "ikev1.main_mode") >= 2);
        var spans = trace.Spans;
        var negotiationTraces = (await lab.Aspire.AllSpans()).Where(s => s.Name == "ikev1.main_mode").Select(s => s.TraceId).Distinct().ToList();
        Assert.Single(negotiationTraces); // one negotiation, one trace

        var initiator = spans.Where(s => s.Instance == "ciscoasa-10.0.0.1").ToList();
        var responder = spans.Where(s => s.Instance == "ciscoasa-10.0.0.2").ToList();
        Assert.NotEmpty(initiator);
        Assert.NotEmpty(responder);
        var byId = spans.ToDictionary(s => s.SpanId);
        foreach (var side in new[] { initiator, responder })
        {
            var mm = Assert.Single(side, s => s.Name == "ikev1.main_mode");
            var qm = Assert.Single(side, s => s.Name == "ikev1.quick_mode");
            foreach (var m in new[] { "MM1", "MM2", "MM3", "MM4", "MM5", "MM6" })
                Assert.Equal(mm.SpanId, Assert.Single(side, s => s.Name == m).ParentSpanId);
            foreach (var m in new[] { "QM1", "QM2", "QM3" })
                Assert.Equal(qm.SpanId, Assert.Single(side, s => s.Name == m).ParentSpanId);
            Assert.Equal(mm.SpanId, qm.ParentSpanId);
            Assert.Equal(1, mm.StatusCode); // Ok
            Assert.Equal(1, qm.StatusCode);
            // The negotiation attributes (names from NegotiationTelemetry.Attributes).
            foreach (var key in new[] { "ikev1.peer", "ikev1.tunnel_group", "ikev1.initiator_cookie", "ikev1.responder_cookie", "ikev1.role",
                         "ikev1.p1.encryption", "ikev1.p1.hash", "ikev1.p1.dh_group", "ikev1.p1.authentication", "ikev1.p1.lifetime_seconds" })
                Assert.True(mm.Attributes.ContainsKey(key), $"{key} missing on {mm.Instance}'s main mode: {string.Join(", ", mm.Attributes.Keys)}");
            foreach (var key in new[] { "ikev1.spi.inbound", "ikev1.spi.outbound", "ikev1.p2.encryption", "ikev1.p2.integrity", "ikev1.p2.local_proxy",
                         "ikev1.p2.remote_proxy", "ikev1.crypto_map", "ikev1.message_id" })
                Assert.True(qm.Attributes.ContainsKey(key), $"{key} missing on {qm.Instance}'s quick mode");
            Assert.Equal("TripleDesCbc", mm.Attributes["ikev1.p1.encryption"]); // the seed's policy 10: 3des, sha, group 2
            Assert.Equal("Modp1024", mm.Attributes["ikev1.p1.dh_group"]);
        }
        // The responder's process joined the initiator's trace: its Main Mode is a child of the initiator's.
        var initiatorMm = initiator.Single(s => s.Name == "ikev1.main_mode");
        Assert.Equal(initiatorMm.SpanId, responder.Single(s => s.Name == "ikev1.main_mode").ParentSpanId);
        Assert.Equal("initiator", initiatorMm.Attributes["ikev1.role"]);
        Assert.Equal("10.0.0.2", initiatorMm.Attributes["ikev1.peer"]);
        Assert.Equal("responder", responder.Single(s => s.Name == "ikev1.main_mode").Attributes["ikev1.role"]);
        // Every parent is in the trace except the root (the initiator's acquire call).
        Assert.Single(spans, s => s.ParentSpanId is null || !byId.ContainsKey(s.ParentSpanId));

        // The debug lines are log records of that trace, under the message spans, in the seed's order.
        var logs = await lab.Aspire.WaitForLogs(trace.TraceId, l => l.Count(r => r.Body.Contains("PHASE 2 COMPLETED")) >= 2);
        foreach (var (instance, golden, peer) in new[] { ("ciscoasa-10.0.0.1", "golden-initiator.txt", "10.0.0.2"), ("ciscoasa-10.0.0.2", "golden-responder.txt", "10.0.0.1") })
        {
            var lines = logs.Where(r => r.Instance == instance).OrderBy(r => r.TimeUnixNano).ToList();
            Assert.All(lines, r => Assert.True(byId.ContainsKey(r.SpanId), $"log record under a span outside the trace: {r.Body}"));
            var (passed, report) = GoldenCheck.Run(golden, lines.Select(r => r.Body), peer);
            Assert.True(passed, report);
        }
        var proposal = logs.First(r => r.Body.Contains("Oakley proposal is acceptable"));
        Assert.Equal("713906", proposal.Attributes["asa.message_id"]);
        Assert.Equal("5", proposal.Attributes["asa.debug_level"]);
        Assert.Equal("Debug", proposal.Severity);
        Assert.Equal("Information", logs.First(r => r.Body.Contains("PHASE 1 COMPLETED")).Severity); // level 1

        // Nothing the API returns holds the pre-shared key (plain, hex, base64).
        var everything = await lab.Aspire.Dump();
        foreach (var form in SecretForms(Psk)) Assert.DoesNotContain(form, everything, StringComparison.OrdinalIgnoreCase);

        // Each node's Orleans Dashboard shows its SA grains while the tunnel is up.
        foreach (var node in new[] { lab.Left!, lab.Right })
        {
            var counters = await OrleansCounters(node);
            Assert.Equal(1, Activations(counters, "IkeSaGrain"));
            Assert.Equal(1, Activations(counters, "IpsecSaGrain"));
            // /GrainTypes: the grain classes the node hosts (a JSON array of full names), the SA grains among them.
            var types = JsonSerializer.Deserialize<string[]>(await OrleansGet(node, "/GrainTypes"))!;
            foreach (var type in new[] { "IkeActors.Grains.IkeSaGrain", "IkeActors.Grains.IpsecSaGrain", "IkeActors.Grains.TunnelGrain" })
                Assert.Contains(type, types);
        }
    }

    private static async Task<string> OrleansGet(Running node, string path)
    {
        string? url;
        lock (node.Lines) url = node.Lines.Select(l => Regex.Match(l, @"Orleans Dashboard on (http://\S+?)/?$")).FirstOrDefault(m => m.Success)?.Groups[1].Value;
        Assert.NotNull(url);
        using var http = new HttpClient();
        return await http.GetStringAsync(url + path);
    }

    [Fact]
    public async Task A_wrong_pre_shared_key_is_an_error_span_with_the_reason()
    {
        using var lab = await Lab.Start(responderPsk: "Not-The-Same-Key-9");
        var trace = await lab.Aspire.WaitForTrace(spans => spans.Any(s => s.Name == "ikev1.main_mode" && s.StatusCode == 2));
        var failed = trace.Spans.First(s => s.Name == "ikev1.main_mode" && s.StatusCode == 2);
        Assert.Equal("ciscoasa-10.0.0.2", failed.Instance);
        Assert.Equal("AuthenticationFailed", failed.Attributes["ikev1.failure_reason"]);
        var everything = await lab.Aspire.Dump();
        foreach (var form in SecretForms(Psk).Concat(SecretForms("Not-The-Same-Key-9")))
            Assert.DoesNotContain(form, everything, StringComparison.OrdinalIgnoreCase);
    }

    private static IEnumerable<string> SecretForms(string secret)
    {
        var bytes = Encoding.ASCII.GetBytes(secret);
        return [secret, Convert.ToHexString(bytes), Convert.ToBase64String(bytes)];
    }

    private static async Task<string> OrleansCounters(Running node)
    {
        string? url = null;
        lock (node.Lines) url = node.Lines.Select(l => Regex.Match(l, @"Orleans Dashboard on (http://\S+?)/?$")).FirstOrDefault(m => m.Success)?.Groups[1].Value;
        Assert.NotNull(url);
        using var http = new HttpClient();
        string json = "";
        for (var i = 0; i < 40; i++) // the silo publishes its grain statistics every second
        {
            json = await http.GetStringAsync(url + "/DashboardCounters");
            if (Activations(json, "IkeSaGrain") > 0) break;
            await Task.Delay(500);
        }
        return json;
    }

    /// <summary>The activation count of a grain class in /DashboardCounters (simpleGrainStats: grainType, activationCount).</summary>
    private static int Activations(string json, string grainClass)
    {
        using var doc = JsonDocument.Parse(json);
        var total = 0;
        foreach (var stat in doc.RootElement.GetProperty("simpleGrainStats").EnumerateArray())
            if (stat.GetProperty("grainType").GetString()!.EndsWith("." + grainClass, StringComparison.Ordinal))
                total += stat.GetProperty("activationCount").GetInt32();
        return total;
    }

    /// <summary>The dashboard and the two gateway processes; stopped (by PID) and files removed on dispose.</summary>
    internal sealed class Lab : IDisposable
    {
        public required AspireApi Aspire { get; init; }
        public required Running Dashboard { get; init; }
        public required Running Right { get; init; }
        public Running? Left { get; set; }
        /// <summary>The initiator's Orleans gateway port, for operator commands.</summary>
        public int LeftGatewayPort { get; set; }
        public required string Dir { get; init; }

        public static async Task<Lab> Start(string responderPsk)
        {
            var dir = Directory.CreateTempSubdirectory("ikeactors-dashboard-").FullName;
            var leftCfg = Path.Combine(dir, "left.cfg");
            var rightCfg = Path.Combine(dir, "right.cfg");
            File.WriteAllText(leftCfg, File.ReadAllText(RepoPaths.SiteToSite("asa1-initiator.cfg")).Replace("pre-shared-key cisco", "pre-shared-key " + Psk));
            File.WriteAllText(rightCfg, File.ReadAllText(RepoPaths.SiteToSite("asa2-responder.cfg")).Replace("pre-shared-key cisco", "pre-shared-key " + responderPsk));
            var dashboard = Running.Start(Dll, "dashboard", "--port", "0", "--otlp-port", "0", "--otlp-http-port", "0", "--seconds", "150");
            await dashboard.WaitForLine("key:", TimeSpan.FromSeconds(60));
            string Field(string name)
            {
                lock (dashboard.Lines) return dashboard.Lines.Select(l => Regex.Match(l, $@"^\s+{name}\s+(\S+)")).First(m => m.Success).Groups[1].Value;
            }
            var key = Field("key:");
            var grpc = Field("OTLP/gRPC:");
            var ui = Field("UI:").Split("/login")[0];
            var (leftPort, rightPort) = (FreePorts.Udp(), FreePorts.Udp());
            string[] otlp = ["--otlp", grpc, "--otlp-headers", $"x-otlp-api-key={key}"];
            var right = Running.Start(Dll, ["run", "--config", rightCfg, "--bind", $"127.0.0.1:{rightPort}", "--peer-map", $"10.0.0.1=127.0.0.1:{leftPort}",
                "--silo-port", FreePorts.Tcp().ToString(), "--gateway-port", FreePorts.Tcp().ToString(), "--debug", "0", "--exit-after", "120",
                "--orleans-dashboard", "0", "--rekey-jitter", "0", .. otlp]); // the golden check reads the ASA's exact rekey timers
            var lab = new Lab { Aspire = new AspireApi(ui, key), Dashboard = dashboard, Right = right, Dir = dir };
            try
            {
                await right.WaitForLine("ISAKMP on udp", TimeSpan.FromSeconds(40));
                lab.LeftGatewayPort = FreePorts.Tcp();
                lab.Left = Running.Start(Dll, ["run", "--config", leftCfg, "--bind", $"127.0.0.1:{leftPort}", "--peer-map", $"10.0.0.2=127.0.0.1:{rightPort}",
                    "--silo-port", FreePorts.Tcp().ToString(), "--gateway-port", lab.LeftGatewayPort.ToString(), "--debug", "127", "--exit-after", "120",
                    "--orleans-dashboard", "0", "--acquire", "192.168.1.10,192.168.2.10,1", "--rekey-jitter", "0", .. otlp]);
                return lab;
            }
            catch
            {
                lab.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            Left?.Stop();
            Right.Stop();
            Dashboard.Stop();
            Aspire.Dispose();
            Directory.Delete(Dir, recursive: true);
        }
    }

    internal sealed record Span(string TraceId, string SpanId, string? ParentSpanId, string Name, int StatusCode, string Instance, Dictionary<string, string> Attributes);

    internal sealed record LogRecord(string TraceId, string SpanId, string Body, string Severity, ulong TimeUnixNano, string Instance, Dictionary<string, string> Attributes);

    /// <summary>The Aspire Dashboard's JSON API (OTLP JSON shapes) with the API key.</summary>
    internal sealed class AspireApi(string ui, string key) : IDisposable
    {
        private readonly HttpClient _http = new() { BaseAddress = new Uri(ui), DefaultRequestHeaders = { { "X-API-Key", key } } };

        public async Task<List<Span>> AllSpans() => Spans(await _http.GetStringAsync("/api/telemetry/traces"));

        public async Task<(string TraceId, List<Span> Spans)> WaitForTrace(Func<List<Span>, bool> complete)
        {
            var until = Environment.TickCount64 + 60_000;
            var last = "";
            while (Environment.TickCount64 < until)
            {
                last = await _http.GetStringAsync("/api/telemetry/traces");
                foreach (var id in Spans(last).Where(s => s.Name.StartsWith("ikev1.", StringComparison.Ordinal)).Select(s => s.TraceId).Distinct())
                {
                    var spans = Spans(await _http.GetStringAsync($"/api/telemetry/traces/{id}"));
                    if (complete(spans)) return (id, spans);
                }
                await Task.Delay(1000);
            }
            Assert.Fail("no such trace; the API returned:\n" + last[..Math.Min(last.Length, 4000)]);
            throw new InvalidOperationException();
        }

        public async Task<List<LogRecord>> WaitForLogs(string traceId, Func<List<LogRecord>, bool> complete)
        {
            var until = Environment.TickCount64 + 60_000;
            List<LogRecord> logs = [];
            while (Environment.TickCount64 < until)
            {
                logs = Logs(await _http.GetStringAsync("/api/telemetry/logs")).Where(l => l.TraceId == traceId).ToList();
                if (complete(logs)) return logs;
                await Task.Delay(1000);
            }
            Assert.Fail($"the trace's log records are incomplete ({logs.Count}):\n" + string.Join("\n", logs.Select(l => l.Body)));
            throw new InvalidOperationException();
        }

        /// <summary>Everything the API has: traces, logs, resources (for the secret scan).</summary>
        public async Task<string> Dump()
        {
            var all = new StringBuilder();
            foreach (var path in new[] { "/api/telemetry/traces", "/api/telemetry/logs", "/api/telemetry/resources" })
                all.AppendLine(await _http.GetStringAsync(path));
            foreach (var id in (await AllSpans()).Select(s => s.TraceId).Distinct())
                all.AppendLine(await _http.GetStringAsync($"/api/telemetry/traces/{id}"));
            return all.ToString();
        }

        public void Dispose() => _http.Dispose();

        private static List<Span> Spans(string json)
        {
            using var doc = JsonDocument.Parse(json);
            var result = new List<Span>();
            foreach (var rs in doc.RootElement.GetProperty("data").GetProperty("resourceSpans").EnumerateArray())
            {
                var instance = Attributes(rs.GetProperty("resource")).GetValueOrDefault("service.instance.id", "");
                foreach (var ss in rs.GetProperty("scopeSpans").EnumerateArray())
                    foreach (var s in ss.GetProperty("spans").EnumerateArray())
                        result.Add(new Span(s.GetProperty("traceId").GetString()!, s.GetProperty("spanId").GetString()!,
                            s.TryGetProperty("parentSpanId", out var p) && p.GetString() is { Length: > 0 } parent ? parent : null,
                            s.GetProperty("name").GetString()!,
                            s.TryGetProperty("status", out var st) && st.ValueKind == JsonValueKind.Object && st.TryGetProperty("code", out var c) ? c.GetInt32() : 0,
                            instance, Attributes(s)));
            }
            return result;
        }

        private static List<LogRecord> Logs(string json)
        {
            using var doc = JsonDocument.Parse(json);
            var result = new List<LogRecord>();
            foreach (var rl in doc.RootElement.GetProperty("data").GetProperty("resourceLogs").EnumerateArray())
            {
                var instance = Attributes(rl.GetProperty("resource")).GetValueOrDefault("service.instance.id", "");
                foreach (var sl in rl.GetProperty("scopeLogs").EnumerateArray())
                    foreach (var l in sl.GetProperty("logRecords").EnumerateArray())
                        result.Add(new LogRecord(l.TryGetProperty("traceId", out var t) ? t.GetString() ?? "" : "", l.TryGetProperty("spanId", out var sp) ? sp.GetString() ?? "" : "",
                            l.TryGetProperty("body", out var b) && b.TryGetProperty("stringValue", out var bv) ? bv.GetString() ?? "" : "",
                            l.TryGetProperty("severityText", out var sev) ? sev.GetString() ?? "" : "",
                            ulong.Parse(l.GetProperty("timeUnixNano").GetString()!), instance, Attributes(l)));
            }
            return result;
        }

        private static Dictionary<string, string> Attributes(JsonElement owner)
        {
            var result = new Dictionary<string, string>();
            if (!owner.TryGetProperty("attributes", out var attributes)) return result;
            foreach (var a in attributes.EnumerateArray())
            {
                var v = a.GetProperty("value");
                var text = v.EnumerateObject().FirstOrDefault() is { Value: var inner } ? inner.ToString() : "";
                result[a.GetProperty("key").GetString()!] = text;
            }
            return result;
        }
    }
}
