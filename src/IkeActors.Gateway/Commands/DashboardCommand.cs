using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// `ikeactors dashboard`: the Aspire Dashboard (NuGet Aspire.Dashboard.Sdk.linux-x64, a self-contained
/// executable) on 127.0.0.1 as the OTLP receiver and viewer of the gateways' traces, metrics and logs.
/// Secured by one generated key (browser login token, OTLP key, API key), printed once; --anonymous
/// opens it to anyone who can reach 127.0.0.1. Ports may be 0: the chosen ones are read from the
/// dashboard's "Now listening on" / "OTLP/… listening on" lines. The dashboard is stopped with this
/// command (by its PID).
/// </summary>
public static partial class DashboardCommand
{
    public const string PathVariable = "IKEACTORS_ASPIRE_DASHBOARD";
    private const string PackageId = "aspire.dashboard.sdk.linux-x64";

    public static Command Create(TextWriter output, TextWriter error)
    {
        var port = new Option<int>("--port") { Description = "UI and /api/telemetry port on 127.0.0.1 (0 = any free port)", DefaultValueFactory = _ => 18888 };
        var otlpPort = new Option<int>("--otlp-port") { Description = "OTLP/gRPC port (0 = any free port)", DefaultValueFactory = _ => 4317 };
        var otlpHttpPort = new Option<int>("--otlp-http-port") { Description = "OTLP/HTTP port (0 = any free port)", DefaultValueFactory = _ => 4318 };
        var anonymous = new Option<bool>("--anonymous") { Description = "No key: anyone on this machine can open the UI, send OTLP and read the API" };
        var apiKey = new Option<string?>("--api-key") { Description = "Use this key instead of a generated one (at least 16 characters)" };
        var path = new Option<string?>("--dashboard-path") { Description = $"The Aspire.Dashboard executable (default: {PathVariable}, then the NuGet package the build restored)" };
        var seconds = new Option<int>("--seconds") { Description = "Stop after this many seconds (0 = run until Ctrl+C)", DefaultValueFactory = _ => 0 };
        var command = new Command("dashboard", "Run the Aspire Dashboard on 127.0.0.1 for the gateways' OpenTelemetry (traces, metrics, debug lines as logs)");
        foreach (var o in new Option[] { port, otlpPort, otlpHttpPort, anonymous, apiKey, path, seconds }) command.Options.Add(o);
        command.SetAction(async (parse, ct) =>
        {
            var exe = FindExecutable(parse.GetValue(path));
            if (exe is null)
            {
                await error.WriteLineAsync($"Aspire.Dashboard not found: build the gateway (`dotnet build src/IkeActors.Gateway`, it restores {PackageId}), "
                                           + $"or set {PathVariable} / --dashboard-path");
                return 1;
            }
            var key = parse.GetValue(apiKey);
            if (key is not null && key.Length < 16)
            {
                await error.WriteLineAsync("--api-key: at least 16 characters");
                return 1;
            }
            var open = parse.GetValue(anonymous);
            key ??= open ? null : Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var psi = StartInfo(exe, parse.GetValue(port), parse.GetValue(otlpPort), parse.GetValue(otlpHttpPort), key);
            using var dashboard = new Process { StartInfo = psi };
            var ready = new Endpoints();
            dashboard.OutputDataReceived += (_, e) => ready.Read(e.Data);
            dashboard.ErrorDataReceived += (_, e) => ready.Read(e.Data);
            dashboard.Start();
            dashboard.BeginOutputReadLine();
            dashboard.BeginErrorReadLine();
            try
            {
                var until = DateTime.UtcNow.AddSeconds(60);
                while (!ready.Complete && !dashboard.HasExited && DateTime.UtcNow < until) await Task.Delay(50, ct);
                if (!ready.Complete)
                {
                    await error.WriteLineAsync("the Aspire Dashboard did not start:\n" + ready.Log);
                    return 1;
                }
                await output.WriteLineAsync($"Aspire Dashboard (pid {dashboard.Id}) on 127.0.0.1");
                await output.WriteLineAsync($"  UI:        {ready.Ui}" + (key is null ? "" : $"/login?t={key}"));
                await output.WriteLineAsync($"  API:       {ready.Ui}/api/telemetry/traces" + (key is null ? "" : " (header X-API-Key)"));
                await output.WriteLineAsync($"  OTLP/gRPC: {ready.Grpc}");
                await output.WriteLineAsync($"  OTLP/HTTP: {ready.Http}");
                if (key is not null) await output.WriteLineAsync($"  key:       {key} (shown once; OTLP header x-otlp-api-key, API header X-API-Key)");
                else await output.WriteLineAsync("  anonymous: no key (--anonymous)");
                var headers = key is null ? "" : $" --otlp-headers x-otlp-api-key={key}";
                await output.WriteLineAsync("Point the gateways at it:");
                await output.WriteLineAsync($"  ikeactors run --otlp {ready.Grpc}{headers} --config …");
                await output.WriteLineAsync($"  or: export OTEL_EXPORTER_OTLP_ENDPOINT={ready.Grpc}" + (key is null ? "" : $" OTEL_EXPORTER_OTLP_HEADERS=x-otlp-api-key={key}"));
                await output.FlushAsync(ct);
                var wait = parse.GetValue(seconds);
                await Task.WhenAny(dashboard.WaitForExitAsync(ct), Task.Delay(wait > 0 ? TimeSpan.FromSeconds(wait) : Timeout.InfiniteTimeSpan, ct));
                return dashboard.HasExited ? 1 : 0;
            }
            catch (OperationCanceledException)
            {
                return 0;
            }
            finally
            {
                if (!dashboard.HasExited) dashboard.Kill(entireProcessTree: true);
                dashboard.WaitForExit(5000);
            }
        });
        return command;
    }

    /// <summary>The dashboard's own settings (environment variables of the Aspire Dashboard), all bound to 127.0.0.1.</summary>
    internal static ProcessStartInfo StartInfo(string exe, int port, int otlpPort, int otlpHttpPort, string? key)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var env = psi.Environment;
        env["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        env["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://127.0.0.1:{otlpPort}";
        env["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = $"http://127.0.0.1:{otlpHttpPort}";
        env["DOTNET_ENVIRONMENT"] = "Production";
        if (key is null)
        {
            env["ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS"] = "true";
            env["Dashboard__Api__AuthMode"] = "Unsecured";
        }
        else
        {
            env["Dashboard__Frontend__AuthMode"] = "BrowserToken";
            env["Dashboard__Frontend__BrowserToken"] = key;
            env["Dashboard__Otlp__AuthMode"] = "ApiKey";
            env["Dashboard__Otlp__PrimaryApiKey"] = key;
            env["Dashboard__Api__AuthMode"] = "ApiKey";
            env["Dashboard__Api__PrimaryApiKey"] = key;
        }
        return psi;
    }

    /// <summary>
    /// Where the executable is: the option, the environment variable, the path the build restored
    /// (stamped into this assembly), then the NuGet cache (NUGET_PACKAGES or ~/.nuget/packages).
    /// </summary>
    internal static string? FindExecutable(string? explicitPath)
    {
        var version = "13.6.5";
        var candidates = new List<string?> { explicitPath, Environment.GetEnvironmentVariable(PathVariable) };
        foreach (var a in typeof(DashboardCommand).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>())
            if (a.Key == "AspireDashboardPath") candidates.Add(a.Value);
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                    ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        candidates.Add(Path.Combine(cache, PackageId, version, "tools", "Aspire.Dashboard"));
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(c));
    }

    /// <summary>The endpoints the dashboard reports as it starts (ports may have been 0).</summary>
    private sealed partial class Endpoints
    {
        private readonly System.Text.StringBuilder _log = new();
        public string? Ui, Grpc, Http;
        public bool Complete => Ui is not null && Grpc is not null && Http is not null;
        public string Log { get { lock (_log) return _log.ToString(); } }

        public void Read(string? line)
        {
            if (line is null) return;
            lock (_log) if (_log.Length < 20_000) _log.AppendLine(line);
            if (Listening().Match(line) is not { Success: true } m) return;
            var url = m.Groups["url"].Value.TrimEnd('/');
            switch (m.Groups["what"].Value)
            {
                case "Now": Ui ??= url; break;
                case "OTLP/gRPC": Grpc ??= url; break;
                case "OTLP/HTTP": Http ??= url; break;
            }
        }

        [GeneratedRegex(@"(?<what>Now|OTLP/gRPC|OTLP/HTTP) listening on:? (?<url>http://\S+)")]
        private static partial Regex Listening();
    }
}
