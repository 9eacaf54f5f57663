using System.Diagnostics;
using System.Net;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;

// Metric assertions compare counters before and after a negotiation: no other collection may
// negotiate at the same time in this process.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace IkeActors.Grains.Tests;

/// <summary>A list the exporters write from silo threads while tests read it (docs/dependencies.md, trap 6).</summary>
public sealed class GuardedList<T> : ICollection<T>
{
    private readonly List<T> _items = new();
    private readonly Lock _lock = new();

    public List<T> Snapshot() { lock (_lock) return [.. _items]; }
    public void Add(T item) { lock (_lock) _items.Add(item); }
    public void Clear() { lock (_lock) _items.Clear(); }
    public bool Contains(T item) { lock (_lock) return _items.Contains(item); }
    public void CopyTo(T[] array, int arrayIndex) { lock (_lock) _items.CopyTo(array, arrayIndex); }
    public bool Remove(T item) { lock (_lock) return _items.Remove(item); }
    public int Count { get { lock (_lock) return _items.Count; } }
    public bool IsReadOnly => false;
    public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// The one TracerProvider and MeterProvider of the test process (listeners are process-wide: one
/// per silo would export every span several times), with in-memory exporters.
/// </summary>
public static class TelemetryCapture
{
    public static readonly ActivitySource TestSource = new("IkeActors.Grains.Tests");
    public static GuardedList<Activity> Spans { get; } = new();
    public static GuardedList<MetricSnapshot> Metrics { get; } = new();

    private static readonly Lazy<(TracerProvider Traces, MeterProvider Meters)> Providers = new(() => (
        Sdk.CreateTracerProviderBuilder()
            .AddSource(NegotiationTelemetry.Name, TestSource.Name, "Microsoft.Orleans.Application")
            .SetSampler(new AlwaysOnSampler())
            .AddInMemoryExporter(Spans)
            .Build(),
        Sdk.CreateMeterProviderBuilder()
            .AddMeter(NegotiationTelemetry.Name)
            .AddInMemoryExporter(Metrics)
            .Build()));

    public static void EnsureStarted() => _ = Providers.Value;

    /// <summary>The latest cumulative values of a metric, summed over the points whose tags match.</summary>
    public static (long Sum, long Count) Read(string metric, params (string Key, string Value)[] tags)
    {
        Metrics.Clear();
        Providers.Value.Meters.ForceFlush();
        long sum = 0, count = 0;
        foreach (var snapshot in Metrics.Snapshot().Where(m => m.Name == metric))
        {
            foreach (var point in snapshot.MetricPoints)
            {
                var pointTags = new Dictionary<string, object?>();
                foreach (var t in point.Tags) pointTags[t.Key] = t.Value;
                if (!tags.All(t => pointTags.TryGetValue(t.Key, out var v) && Equals(v?.ToString(), t.Value))) continue;
                if (snapshot.MetricType is MetricType.Histogram) count += point.GetHistogramCount();
                else if (snapshot.MetricType is MetricType.LongSum or MetricType.LongSumNonMonotonic) sum += point.GetSumLong();
            }
        }
        return (sum, count);
    }
}

/// <summary>
/// Two silos of the responder concentrator with Orleans activity propagation on silos and client,
/// so a trace started by the caller reaches the IKE SA grain wherever it lives. New activations are
/// placed off the calling silo (<see cref="AwayFromCallerPlacement"/>): every call to a grain crosses silos.
/// </summary>
public sealed class TelemetryFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public RecordingTransmitter Transmitter { get; } = new();
    public SharedGrainStorage Storage { get; } = new();
    private readonly AwayFromCallerPlacement.Rules _placement = new();

    public async Task InitializeAsync()
    {
        TelemetryCapture.EnsureStarted();
        var gateway = new GatewayContext(ClusterFixture.Load("asa2-responder.cfg"), new IPEndPoint(IPAddress.Parse("10.0.0.2"), 500));
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddActivityPropagation();
            silo.ConfigureServices(services =>
            {
                services.AddSingleton(gateway);
                services.AddSingleton<IDatagramTransmitter>(Transmitter);
                services.AddGrainStorage("Default", (_, _) => Storage);
                AwayFromCallerPlacement.AddTo(services, _placement);
            });
        });
        builder.ConfigureClient(client => client.AddActivityPropagation());
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(nameof(TelemetryCollection))]
public sealed class TelemetryCollection : ICollectionFixture<TelemetryFixture>;
