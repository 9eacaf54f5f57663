using System.Diagnostics.Metrics;

namespace IkeActors.Grains.Telemetry;

/// <summary>
/// The counters of one IPsec SA pair as the ESP data plane last saw them: cumulative since the SA was
/// installed. Named after the ASA's <c>show crypto ipsec sa</c> lines; the data plane's own counters map
/// onto it (#pkts encaps/decaps, send/recv errors, replay failed).
/// </summary>
/// <param name="Peer">the IKE peer's address</param>
/// <param name="InboundSpi">the SPI the peer sends to (names the SA on the dashboard)</param>
/// <param name="OutboundSpi">the SPI this node sends to</param>
/// <param name="PacketsOut">#pkts encaps</param>
/// <param name="PacketsIn">#pkts decaps</param>
/// <param name="BytesOut">inner bytes encapsulated</param>
/// <param name="BytesIn">inner bytes decapsulated</param>
/// <param name="SendErrors">#send errors</param>
/// <param name="ReceiveErrors">#recv errors (every inbound drop, replay drops included)</param>
/// <param name="ReplayDrops">#pkts replay failed (rcv): duplicate or left of the window (RFC 4303 §3.4.3)</param>
/// <param name="ReplayBitmap">the inbound anti-replay window (bit 0: the highest sequence number received), the ASA's "Anti replay bitmap"</param>
/// <param name="Fragmentation">#pre-frag successes and failures, #fragments created, #PMTUs sent (packets too big for the tunnel)</param>
public readonly record struct EspSaCounterReading(
    string Peer, uint InboundSpi, uint OutboundSpi,
    long PacketsOut, long PacketsIn, long BytesOut, long BytesIn,
    long SendErrors, long ReceiveErrors, long ReplayDrops, ulong ReplayBitmap = 0, FragmentationCounts Fragmentation = default);

/// <summary>The ASA's `show crypto ipsec sa` fragmentation counters of one SA pair.</summary>
public readonly record struct FragmentationCounts(long PreFragSuccesses, long PreFragFailures, long FragmentsCreated, long PmtusSent);

/// <summary>
/// Where the ESP metrics come from: the data plane of this node returns one reading per installed SA
/// pair each time the metrics are collected (the OTLP exporter's interval). Register it in DI; the
/// gateway wires it with <see cref="EspTelemetry.Observe"/>.
/// </summary>
public interface IEspCounterSource
{
    IReadOnlyCollection<EspSaCounterReading> Read();
}

/// <summary>
/// ESP data-plane metrics per SA (tags <c>ikev1.peer</c>, <c>ikev1.spi.inbound</c>, <c>ikev1.spi.outbound</c>),
/// observable: nothing is counted on the packet path by this class, the source is read on collection.
/// The instruments live on the <see cref="NegotiationTelemetry.Meter"/>, so one AddMeter exports them.
/// </summary>
public static class EspTelemetry
{
    public const string Packets = "ikev1.esp.packets";
    public const string Bytes = "ikev1.esp.bytes";
    public const string Errors = "ikev1.esp.errors";
    public const string ReplayDrops = "ikev1.esp.replay_drops";

    /// <summary>Tag on packets/bytes/errors: <c>in</c> (decapsulated) or <c>out</c> (encapsulated).</summary>
    public const string DirectionTag = "network.io.direction";

    private static readonly object Gate = new();
    private static readonly List<IEspCounterSource> Sources = new();
    private static bool _created;

    /// <summary>
    /// Adds a source; the instruments are created on the first call. Several sources (in-process
    /// clusters) are summed per SA tag set by the exporter. Returns a handle that removes the source.
    /// </summary>
    public static IDisposable Observe(IEspCounterSource source)
    {
        var meter = NegotiationTelemetry.Meter;
        lock (Gate)
        {
            Sources.Add(source);
            if (!_created)
            {
                _created = true;
                meter.CreateObservableCounter(Packets, () => Measure(r => [(r.PacketsIn, "in"), (r.PacketsOut, "out")]), "{packet}",
                    "ESP packets per SA (tag network.io.direction: in = decaps, out = encaps)");
                meter.CreateObservableCounter(Bytes, () => Measure(r => [(r.BytesIn, "in"), (r.BytesOut, "out")]), "By",
                    "Inner bytes per SA (tag network.io.direction)");
                meter.CreateObservableCounter(Errors, () => Measure(r => [(r.ReceiveErrors, "in"), (r.SendErrors, "out")]), "{packet}",
                    "ESP packets dropped per SA (in: recv errors, out: send errors)");
                meter.CreateObservableCounter(ReplayDrops, () => Measure(r => [(r.ReplayDrops, null)]), "{packet}",
                    "Inbound ESP packets dropped by the anti-replay window per SA (RFC 4303 §3.4.3)");
            }
        }
        return new Removal(source);
    }

    private static IEnumerable<Measurement<long>> Measure(Func<EspSaCounterReading, (long Value, string? Direction)[]> pick)
    {
        IEspCounterSource[] sources;
        lock (Gate) sources = [.. Sources];
        var result = new List<Measurement<long>>();
        foreach (var source in sources)
        {
            IReadOnlyCollection<EspSaCounterReading> readings;
            try { readings = source.Read(); }
            catch (Exception) { continue; } // a data plane that cannot answer now is skipped this round, never breaks the export
            foreach (var r in readings)
                foreach (var (value, direction) in pick(r))
                {
                    var tags = new List<KeyValuePair<string, object?>>(4)
                    {
                        new(NegotiationTelemetry.Attributes.Peer, r.Peer),
                        new(NegotiationTelemetry.Attributes.InboundSpi, r.InboundSpi.ToString("x8")),
                        new(NegotiationTelemetry.Attributes.OutboundSpi, r.OutboundSpi.ToString("x8")),
                    };
                    if (direction is not null) tags.Add(new(DirectionTag, direction));
                    result.Add(new Measurement<long>(value, tags));
                }
        }
        return result;
    }

    private sealed class Removal(IEspCounterSource source) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate) Sources.Remove(source);
        }
    }
}
