using IkeActors.Grains.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// OpenTelemetry for `ikeactors run`, configured the standard way: OTLP when
/// OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter also reads OTEL_EXPORTER_OTLP_PROTOCOL,
/// _HEADERS and OTEL_SERVICE_NAME/OTEL_RESOURCE_ATTRIBUTES), the console exporter with
/// --otel-console. Nothing is registered when neither is asked for.
/// </summary>
public static class GatewayTelemetry
{
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Orleans' own sources: grain calls (with activity propagation, one negotiation is one trace across silos).</summary>
    private const string OrleansApplicationSource = "Microsoft.Orleans.Application";
    private const string OrleansMeter = "Microsoft.Orleans";

    public static void Configure(IHostApplicationBuilder builder, bool console, string instance)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable] ?? Environment.GetEnvironmentVariable(OtlpEndpointVariable));
        if (!otlp && !console) return;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("ikeactors", serviceInstanceId: instance))
            .WithTracing(t =>
            {
                t.AddSource(NegotiationTelemetry.Name, OrleansApplicationSource);
                if (otlp) t.AddOtlpExporter();
                if (console) t.AddConsoleExporter();
            })
            .WithMetrics(m =>
            {
                m.AddMeter(NegotiationTelemetry.Name, OrleansMeter);
                if (otlp) m.AddOtlpExporter();
                if (console) m.AddConsoleExporter();
            });
    }
}
