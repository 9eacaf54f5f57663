using System.CommandLine;
using System.Net;
using IkeActors.Grains.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Dashboard;

namespace IkeActors.Gateway.Hosting;

/// <summary>What `ikeactors run` was asked to export and show (see <see cref="TelemetryOptions"/>).</summary>
public sealed record TelemetrySettings(string? Otlp, string? OtlpHeaders, int DebugExportLevel, int? OrleansDashboardPort, int GatewayPort, TextWriter Output);

/// <summary>The telemetry options of `ikeactors run`: added to the command in one place, read back together.</summary>
public sealed class TelemetryOptions
{
    private readonly Option<string?> _otlp = new("--otlp")
    {
        Description = "OTLP endpoint for traces, metrics and logs (gRPC, e.g. the URL `ikeactors dashboard` prints); same as OTEL_EXPORTER_OTLP_ENDPOINT",
    };
    private readonly Option<string?> _headers = new("--otlp-headers")
    {
        Description = "KEY=VALUE[,KEY=VALUE] headers for the OTLP exporter (e.g. x-otlp-api-key=…); same as OTEL_EXPORTER_OTLP_HEADERS",
    };
    private readonly Option<int> _debugLevel = new("--otlp-debug-level")
    {
        Description = "Export the `debug crypto ikev1` lines up to this level as log records (0 = none)", DefaultValueFactory = _ => DebugLogExport.DefaultLevel,
    };
    private readonly Option<int?> _orleansDashboard = new("--orleans-dashboard")
    {
        Description = "Serve the Orleans Dashboard (grains, silos) on 127.0.0.1:PORT (0 = any free port)",
    };

    public static TelemetryOptions AddTo(Command command)
    {
        var options = new TelemetryOptions();
        command.Options.Add(options._otlp);
        command.Options.Add(options._headers);
        command.Options.Add(options._debugLevel);
        command.Options.Add(options._orleansDashboard);
        return options;
    }

    public TelemetrySettings Read(ParseResult parse, int gatewayPort, TextWriter output) =>
        new(parse.GetValue(_otlp), parse.GetValue(_headers), Math.Clamp(parse.GetValue(_debugLevel), 0, 255), parse.GetValue(_orleansDashboard), gatewayPort, output);
}

/// <summary>
/// OpenTelemetry for `ikeactors run`, configured the standard way: OTLP when
/// OTEL_EXPORTER_OTLP_ENDPOINT (or --otlp) is set (the exporter also reads OTEL_EXPORTER_OTLP_PROTOCOL,
/// _HEADERS and OTEL_SERVICE_NAME/OTEL_RESOURCE_ATTRIBUTES), the console exporter with
/// --otel-console. Traces, metrics and logs; the ASA debug lines are log records of the negotiation's
/// spans (<see cref="DebugLogExport"/>). Nothing is registered when neither is asked for.
/// </summary>
public static class GatewayTelemetry
{
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string OtlpHeadersVariable = "OTEL_EXPORTER_OTLP_HEADERS";

    /// <summary>Orleans' own sources: grain calls (with activity propagation, one negotiation is one trace across silos).</summary>
    private const string OrleansApplicationSource = "Microsoft.Orleans.Application";
    private const string OrleansMeter = "Microsoft.Orleans";

    public static void Configure(IHostApplicationBuilder builder, bool console, string instance) =>
        Configure(builder, console, instance, null);

    public static void Configure(IHostApplicationBuilder builder, bool console, string instance, TelemetrySettings? settings)
    {
        if (settings?.Otlp is { Length: > 0 } url) builder.Configuration[OtlpEndpointVariable] = url;
        if (settings?.OtlpHeaders is { Length: > 0 } headers) builder.Configuration[OtlpHeadersVariable] = headers;
        if (settings?.OrleansDashboardPort is { } port) AddOrleansDashboard(builder, port, settings.GatewayPort, settings.Output);

        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable] ?? Environment.GetEnvironmentVariable(OtlpEndpointVariable));
        if (!otlp && !console) return;
        var debugLevel = settings?.DebugExportLevel ?? DebugLogExport.DefaultLevel;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("ikeactors", serviceInstanceId: instance))
            .WithTracing(t =>
            {
                t.AddSource(NegotiationTelemetry.Name, OrleansApplicationSource);
                t.SetSampler(new TraceRootSampler()); // negotiations and operator commands start traces, the node's upkeep does not
                if (otlp) t.AddOtlpExporter();
                if (console) t.AddConsoleExporter();
            })
            .WithMetrics(m =>
            {
                m.AddMeter(NegotiationTelemetry.Name, OrleansMeter);
                if (otlp) m.AddOtlpExporter();
                if (console) m.AddConsoleExporter();
            })
            .WithLogging(l =>
            {
                if (otlp) l.AddOtlpExporter();
                if (console) l.AddConsoleExporter();
            }, o => o.IncludeFormattedMessage = true);
        if (debugLevel <= 0) return;
        // The debug lines go to the exporter only: the console prints them itself when asked (--debug, `debug crypto ikev1`).
        builder.Logging.AddFilter<OpenTelemetryLoggerProvider>(DebugLogExport.Category, LogLevel.Trace);
        builder.Logging.AddFilter<ConsoleLoggerProvider>(DebugLogExport.Category, LogLevel.None);
        builder.Services.AddSingleton(sp => new DebugLogExport(sp.GetRequiredService<ILoggerFactory>().CreateLogger(DebugLogExport.Category), debugLevel));
    }

    /// <summary>
    /// The Orleans Dashboard of this node: the silo collects grain statistics, and a small web host on
    /// 127.0.0.1:PORT (an Orleans client of this node's gateway port) serves the UI and its JSON
    /// (/DashboardCounters, /GrainTypes, /ClusterStats).
    /// </summary>
    private static void AddOrleansDashboard(IHostApplicationBuilder builder, int port, int gatewayPort, TextWriter output)
    {
        builder.UseOrleans(silo => silo.AddDashboard());
        builder.Services.AddSingleton<IHostedService>(_ => new OrleansDashboardHost(port, gatewayPort, output));
    }

    private sealed class OrleansDashboardHost(int port, int gatewayPort, TextWriter output) : IHostedService, IAsyncDisposable
    {
        private WebApplication? _app;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var web = WebApplication.CreateSlimBuilder();
            web.Logging.ClearProviders();
            web.WebHost.UseUrls($"http://127.0.0.1:{port}");
            web.UseOrleansClient(client =>
            {
                client.UseStaticClustering(new IPEndPoint(IPAddress.Loopback, gatewayPort))
                    .Configure<Orleans.Configuration.ClusterOptions>(o => { o.ServiceId = GatewayHost.ServiceId; o.ClusterId = GatewayHost.ClusterId; });
                client.AddDashboard();
            });
            _app = web.Build();
            _app.MapOrleansDashboard();
            await _app.StartAsync(cancellationToken);
            var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
            await output.WriteLineAsync($"Orleans Dashboard on {address}/");
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            if (_app is not null) await _app.StopAsync(cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null) await _app.DisposeAsync();
        }
    }
}
