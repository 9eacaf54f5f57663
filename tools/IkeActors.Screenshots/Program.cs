using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using IkeActors.Screenshots;

// ikeactors-screenshots trace --ui URL [--api-key KEY] [--timeout S]
//     Prints the id of the trace that holds one negotiation from both gateways (ikev1.main_mode and QM3 twice),
//     asked through the Aspire Dashboard's /api/telemetry API.
// ikeactors-screenshots shot --url URL --wait TEXT[,TEXT…] --png FILE [--text FILE] [--width W] [--height H]
//                            [--timeout S] [--chromium PATH]
//     Headless Chromium over the DevTools protocol: opens URL, waits until the page's text holds every TEXT,
//     writes the page text (--text) and a PNG of the viewport.
var options = Options.Parse(args.Skip(1));
try
{
    return args.FirstOrDefault() switch
    {
        "trace" => await TraceCommand(options),
        "shot" => await ShotCommand(options),
        _ => Usage(),
    };
}
catch (Exception e) when (e is TimeoutException or InvalidOperationException or HttpRequestException or IOException or JsonException or ArgumentException)
{
    Console.Error.WriteLine($"ikeactors-screenshots: {e.Message}");
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("usage: ikeactors-screenshots trace --ui URL [--api-key KEY] [--timeout S]");
    Console.Error.WriteLine("       ikeactors-screenshots shot --url URL --wait TEXT[,TEXT...] --png FILE [--text FILE] [--width W] [--height H] [--timeout S] [--chromium PATH]");
    return 2;
}

static async Task<int> TraceCommand(Options o)
{
    using var http = new HttpClient { BaseAddress = new Uri(o.Required("--ui")), Timeout = TimeSpan.FromSeconds(10) };
    if (o.Get("--api-key") is { } key) http.DefaultRequestHeaders.Add("X-API-Key", key);
    var until = DateTime.UtcNow.AddSeconds(o.Int("--timeout", 60));
    while (DateTime.UtcNow < until)
    {
        var all = AspireSpans.Read(await http.GetStringAsync("/api/telemetry/traces"));
        foreach (var id in all.Where(s => s.Name == "ikev1.main_mode").Select(s => s.TraceId).Distinct())
        {
            var spans = AspireSpans.Read(await http.GetStringAsync($"/api/telemetry/traces/{id}"));
            // Both processes' spans arrive in their own export batches: wait for the two halves.
            if (spans.Count(s => s.Name == "ikev1.main_mode") >= 2 && spans.Count(s => s.Name == "QM3") >= 2)
            {
                Console.WriteLine(id);
                return 0;
            }
        }
        await Task.Delay(500);
    }
    throw new TimeoutException("no trace with both gateways' Main Mode and Quick Mode spans");
}

static async Task<int> ShotCommand(Options o)
{
    var url = o.Required("--url");
    var wait = o.Required("--wait").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    var png = o.Required("--png");
    var (width, height) = (o.Int("--width", 1440), o.Int("--height", 900));
    var timeout = TimeSpan.FromSeconds(o.Int("--timeout", 60));
    await using var browser = await Chromium.Start(o.Get("--chromium") ?? "/usr/bin/chromium", width, height, timeout);
    await using var page = await browser.OpenPage();
    await page.Send("Emulation.setDeviceMetricsOverride", new { width, height, deviceScaleFactor = 1, mobile = false });
    await page.Send("Page.enable");
    await page.Send("Page.navigate", new { url });
    var stopwatch = Stopwatch.StartNew();
    var text = "";
    string[] missing = wait;
    while (stopwatch.Elapsed < timeout)
    {
        text = await page.Evaluate("document.body ? document.body.innerText : ''");
        missing = wait.Where(w => !text.Contains(w, StringComparison.Ordinal)).ToArray();
        if (missing.Length == 0) break;
        await Task.Delay(250);
    }
    if (missing.Length > 0)
        throw new TimeoutException($"{url}: after {timeout.TotalSeconds:0} s the page text lacks {string.Join(", ", missing)}; it reads:\n{text[..Math.Min(text.Length, 2000)]}");
    // The text is there; give the single-page app one more frame or two to finish layout before the capture.
    await page.Evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(''))))", awaitPromise: true);
    await Task.Delay(500);
    text = await page.Evaluate("document.body ? document.body.innerText : ''");
    var shot = await page.Send("Page.captureScreenshot", new { format = "png" });
    var bytes = Convert.FromBase64String(shot.GetProperty("data").GetString() ?? "");
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(png))!);
    await File.WriteAllBytesAsync(png, bytes);
    if (o.Get("--text") is { } textFile) await File.WriteAllTextAsync(textFile, text);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{png}: {bytes.Length} bytes, {width}x{height}, found {string.Join(", ", wait)} after {stopwatch.Elapsed.TotalSeconds:0.0} s"));
    return 0;
}

namespace IkeActors.Screenshots
{
    /// <summary>--name value pairs.</summary>
    internal sealed class Options
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

        public static Options Parse(IEnumerable<string> args)
        {
            var o = new Options();
            string? name = null;
            foreach (var a in args)
            {
                if (name is null)
                {
                    if (!a.StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{a}'");
                    name = a;
                }
                else
                {
                    o._values[name] = a;
                    name = null;
                }
            }
            if (name is not null) throw new ArgumentException($"{name} needs a value");
            return o;
        }

        public string? Get(string name) => _values.GetValueOrDefault(name);
        public string Required(string name) => Get(name) ?? throw new ArgumentException($"{name} is required");
        public int Int(string name, int fallback) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
    }

    internal sealed record Span(string TraceId, string Name);

    /// <summary>Span names and trace ids from the Aspire Dashboard's OTLP-JSON answers.</summary>
    internal static class AspireSpans
    {
        public static List<Span> Read(string json)
        {
            using var doc = JsonDocument.Parse(json);
            var result = new List<Span>();
            if (!doc.RootElement.TryGetProperty("data", out var data) || !data.TryGetProperty("resourceSpans", out var resourceSpans)) return result;
            foreach (var rs in resourceSpans.EnumerateArray())
                foreach (var ss in rs.GetProperty("scopeSpans").EnumerateArray())
                    foreach (var s in ss.GetProperty("spans").EnumerateArray())
                        result.Add(new Span(s.GetProperty("traceId").GetString() ?? "", s.GetProperty("name").GetString() ?? ""));
            return result;
        }
    }
}
