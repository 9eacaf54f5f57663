using System.Diagnostics;
using System.Diagnostics.Metrics;
using IkeActors.Gateway.Hosting;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;

namespace IkeActors.Gateway.Tests.Routing;

/// <summary>
/// The start-up tunnel in memory comes up (Main Mode, Quick Mode, the hand-over restored) at any debug level and
/// exponent policy, and records no span or metric: it is nobody's negotiation. Alone (no other test's telemetry beside it).
/// </summary>
[Collection(nameof(FloodsRunAlone))]
public class StartupWarmUpTests
{
    [Theory]
    [InlineData(0, false)]
    [InlineData(255, false)]
    [InlineData(0, true)]
    public void The_warm_up_tunnel_comes_up_and_records_nothing(int debugLevel, bool shortExponents)
    {
        var settings = new NegotiationSettings
        {
            DhExponent = shortExponents ? IkeActors.Crypto.DhExponentPolicy.TwiceSecurityStrength : IkeActors.Crypto.DhExponentPolicy.FullLength,
        };
        var spans = 0;
        var measurements = 0;
        using var activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name == NegotiationTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = _ => Interlocked.Increment(ref spans),
        };
        ActivitySource.AddActivityListener(activities);
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == NegotiationTelemetry.Name) listener.EnableMeasurementEvents(instrument);
            },
        };
        meters.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref measurements));
        meters.Start();

        var (up, took) = StartupWarmUp.Run(settings, debugLevel);

        Assert.True(up);
        Assert.True(took > TimeSpan.Zero);
        Assert.Equal(0, spans);
        Assert.Equal(0, measurements);
    }
}
