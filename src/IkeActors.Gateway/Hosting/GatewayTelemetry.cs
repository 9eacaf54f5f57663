using IkeActors.Grains.Telemetry;
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

/// <summary>
/// OpenTelemetry for a gateway node, configured the standard way: OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or --otlp)
/// is set (the exporter also reads OTEL_EXPORTER_OTLP_PROTOCOL, _HEADERS and OTEL_SERVICE_NAME/OTEL_RESOURCE_ATTRIBUTES),
/// the console exporter with --otel-console. Traces (started by negotiations and operator commands only, see
/// <see cref="TraceRootSampler"/>), metrics and logs; the ASA debug lines are log records of the negotiation's spans
/// (<see cref="DebugLogExport"/>). Nothing is registered when neither is asked for. Also the Orleans Dashboard, when asked.
/// </summary>
public static class GatewayTelemetry
{
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string OtlpHeadersVariable = "OTEL_EXPORTER_OTLP_HEADERS";

    /// <summary>Orleans' own sources: grain calls (with activity propagation, one negotiation is one trace across silos).</summary>
    private const string OrleansApplicationSource = "Microsoft.Orleans.Application";
    private const string OrleansMeter = "Microsoft.Orleans";

    /// <summary>
    /// Whether this node exports anything (OTLP or the console exporter). Without an exporter nothing listens to the
    /// spans, and grain calls go without Orleans' activity propagation filters (two filter state machines per grain call;
    /// a trial without them took 3.4-4.5 ms per tunnel against 4.3-4.5 with them: tests/IkeActors.Benchmarks/README.md).
    /// </summary>
    public static bool Exports(IHostApplicationBuilder builder, RunOptions options) =>
        options.OtelConsole || options.Otlp is { Length: > 0 } || OtlpConfigured(builder);

    private static bool OtlpConfigured(IHostApplicationBuilder builder) =>
        !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable] ?? Environment.GetEnvironmentVariable(OtlpEndpointVariable));

    public static void Configure(IHostApplicationBuilder builder, RunOptions options, NodeConsole console)
    {
        if (options.Otlp is { Length: > 0 } url) builder.Configuration[OtlpEndpointVariable] = url;
        if (options.OtlpHeaders is { Length: > 0 } headers) builder.Configuration[OtlpHeadersVariable] = headers;
        if (options.OrleansDashboardPort is { } port)
        {
            builder.UseOrleans(silo => silo.AddDashboard());
            builder.Services.AddSingleton<IHostedService>(_ => new OrleansDashboardHost(port, options.GatewayPort, console));
        }

        var otlp = OtlpConfigured(builder);
        var toConsole = options.OtelConsole;
        if (!otlp && !toConsole) return;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("ikeactors", serviceInstanceId: options.Instance))
            .WithTracing(t =>
            {
                t.AddSource(NegotiationTelemetry.Name, OrleansApplicationSource);
                t.SetSampler(new TraceRootSampler());
                if (otlp) t.AddOtlpExporter();
                if (toConsole) t.AddConsoleExporter();
            })
            .WithMetrics(m =>
            {
                m.AddMeter(NegotiationTelemetry.Name, OrleansMeter);
                if (otlp) m.AddOtlpExporter();
                if (toConsole) m.AddConsoleExporter();
            })
            .WithLogging(l =>
            {
                if (otlp) l.AddOtlpExporter();
                if (toConsole) l.AddConsoleExporter();
            }, o => o.IncludeFormattedMessage = true);
        var debugLevel = options.OtlpDebugLevel;
        if (debugLevel <= 0) return;
        // The debug lines go to the exporter only: the console prints them itself when asked (--debug, `debug crypto ikev1`).
        builder.Logging.AddFilter<OpenTelemetryLoggerProvider>(DebugLogExport.Category, LogLevel.Trace);
        builder.Logging.AddFilter<ConsoleLoggerProvider>(DebugLogExport.Category, LogLevel.None);
        builder.Services.AddSingleton(sp => new DebugLogExport(sp.GetRequiredService<ILoggerFactory>().CreateLogger(DebugLogExport.Category), debugLevel));
    }
}
