using System.Diagnostics.Metrics;
using IkeActors.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Tests;

/// <summary>The ESP per-SA instruments read a fake data plane; the debug-line severity mapping.</summary>
public class EspTelemetryTests
{
    private sealed class FakeDataPlane(params EspSaCounterReading[] readings) : IEspCounterSource
    {
        public IReadOnlyCollection<EspSaCounterReading> Read() => readings;
    }

    private sealed class BrokenDataPlane : IEspCounterSource
    {
        public IReadOnlyCollection<EspSaCounterReading> Read() => throw new InvalidOperationException("data plane gone");
    }

    [Fact]
    public void Esp_counters_per_sa_come_from_the_source_on_collection()
    {
        var sa = new EspSaCounterReading("10.0.0.2", 0x4744590c, 0xc1a2b3d4, PacketsOut: 4, PacketsIn: 3, BytesOut: 400, BytesIn: 300,
            SendErrors: 1, ReceiveErrors: 2, ReplayDrops: 2);
        using var source = EspTelemetry.Observe(new FakeDataPlane(sa));
        using var broken = EspTelemetry.Observe(new BrokenDataPlane()); // skipped, never breaks the collection
        var seen = new List<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == NegotiationTelemetry.Name && i.Name.StartsWith("ikev1.esp.")) l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<long>((i, value, tags, _) =>
        {
            var t = new Dictionary<string, object?>();
            foreach (var tag in tags) t[tag.Key] = tag.Value;
            if ((string?)t["ikev1.spi.inbound"] == "4744590c") lock (seen) seen.Add((i.Name, value, t));
        });
        listener.Start();
        listener.RecordObservableInstruments();
        Assert.Contains(seen, m => m.Instrument == EspTelemetry.Packets && m.Value == 3 && (string?)m.Tags["network.io.direction"] == "in");
        Assert.Contains(seen, m => m.Instrument == EspTelemetry.Packets && m.Value == 4 && (string?)m.Tags["network.io.direction"] == "out");
        Assert.Contains(seen, m => m.Instrument == EspTelemetry.Bytes && m.Value == 300 && (string?)m.Tags["network.io.direction"] == "in");
        Assert.Contains(seen, m => m.Instrument == EspTelemetry.Errors && m.Value == 1 && (string?)m.Tags["network.io.direction"] == "out");
        Assert.Contains(seen, m => m.Instrument == EspTelemetry.ReplayDrops && m.Value == 2 && (string?)m.Tags["ikev1.peer"] == "10.0.0.2"
                                   && (string?)m.Tags["ikev1.spi.outbound"] == "c1a2b3d4");
    }

    [Theory]
    [InlineData(7, 1, LogLevel.Information)]
    [InlineData(7, 5, LogLevel.Debug)]
    [InlineData(7, 8, LogLevel.Trace)]
    [InlineData(3, 1, LogLevel.Error)]
    [InlineData(4, 5, LogLevel.Warning)]
    public void Debug_line_severity_from_syslog_severity_and_debug_level(int syslogSeverity, int level, LogLevel expected) =>
        Assert.Equal(expected, DebugLogExport.SeverityOf(new IkeActors.Protocol.DebugMessageInfo("X", 713906, syslogSeverity, IkeActors.Protocol.DebugClass.Debug, level, true, "x")));
}
