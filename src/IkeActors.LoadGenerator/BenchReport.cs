using System.Globalization;
using System.Text;
using System.Text.Json;

namespace IkeActors.LoadGenerator;

/// <summary>
/// The end of a run: what was asked, what came up, how fast and how long each tunnel took, why the others failed,
/// and what the generator itself cost. As text for people and as JSON (property names documented in the README).
/// </summary>
public sealed record BenchReport
{
    public int Requested { get; init; }
    public int Established { get; init; }
    public int Failed { get; init; }
    /// <summary>Seconds from the first MM1 sent to the last phase-2 SA installed (0 when none came up).</summary>
    public double SetupSeconds { get; init; }
    /// <summary>Setup latencies (first MM1 sent to the phase-2 SA installed) of the tunnels that came up, in ms.</summary>
    public IReadOnlyList<double> LatenciesMs { get; init; } = [];
    public IReadOnlyDictionary<string, int> Failures { get; init; } = new Dictionary<string, int>();
    public long Retransmissions { get; init; }
    /// <summary>Tunnels that were up and whose peer DPD declared dead during --hold.</summary>
    public long LostDuringHold { get; init; }
    /// <summary>The source addresses of the first of those (at most 20), and when DPD gave each up: for a failure's story.</summary>
    public IReadOnlyList<string> LostPeers { get; init; } = [];
    /// <summary>The peers' own DPD (--dpd) over the whole run.</summary>
    public DpdFigures Dpd { get; init; } = new(0, 0, 0, 0);
    public double CpuSeconds { get; init; }
    public double ManagedBytesPerPeer { get; init; }
    public double RssBytesPerPeer { get; init; }

    /// <summary>Remote-access profile: Mode Config answers received, and how many different addresses they gave (equal: none given twice).</summary>
    public int AddressesAssigned { get; init; }
    public int DistinctAddresses { get; init; }

    public double EstablishedPerSecond => SetupSeconds > 0 ? Established / SetupSeconds : 0;
    public bool AllUp => Established == Requested;

    /// <summary>
    /// Nearest-rank percentile (the smallest value with at least p % of the values at or below it); 0 without values.
    /// </summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0) return 0;
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }

    private IReadOnlyList<double> Sorted => _sorted ??= LatenciesMs.Order().ToList();
    private IReadOnlyList<double>? _sorted;

    public double P50 => Percentile(Sorted, 50);
    public double P95 => Percentile(Sorted, 95);
    public double P99 => Percentile(Sorted, 99);
    public double Max => Sorted.Count == 0 ? 0 : Sorted[^1];

    public string ToText()
    {
        var i = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine(string.Create(i, $"requested       {Requested}"));
        s.AppendLine(string.Create(i, $"established     {Established}"));
        s.AppendLine(string.Create(i, $"failed          {Failed}"));
        s.AppendLine(string.Create(i, $"established/s   {EstablishedPerSecond:F1} (over {SetupSeconds:F2} s from the first MM1 to the last tunnel up)"));
        s.AppendLine(string.Create(i, $"setup latency   p50 {P50:F1} ms  p95 {P95:F1} ms  p99 {P99:F1} ms  max {Max:F1} ms"));
        foreach (var (reason, count) in Failures.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
            s.AppendLine(string.Create(i, $"failures        {count} {reason}"));
        s.AppendLine(string.Create(i, $"retransmissions {Retransmissions}"));
        if (AddressesAssigned > 0)
            s.AppendLine(string.Create(i, $"mode config     {AddressesAssigned} addresses assigned, {DistinctAddresses} distinct"));
        if (Dpd.Probes > 0)
            s.AppendLine(string.Create(i, $"dpd             {Dpd.Probes} R-U-THERE ({Dpd.Retries} retries), {Dpd.Acks} acked, longest wait for an ack {Dpd.LongestWaitMs:F0} ms"));
        if (LostDuringHold > 0) s.AppendLine(string.Create(i, $"lost in hold    {LostDuringHold} (DPD declared the responder dead)"));
        s.AppendLine(string.Create(i, $"cpu             {CpuSeconds:F2} s"));
        s.AppendLine(string.Create(i, $"memory/peer     {ManagedBytesPerPeer:F0} bytes managed, {RssBytesPerPeer:F0} bytes RSS"));
        return s.ToString();
    }

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("requested", Requested);
            w.WriteNumber("established", Established);
            w.WriteNumber("failed", Failed);
            w.WriteNumber("setupSeconds", Math.Round(SetupSeconds, 3));
            w.WriteNumber("establishedPerSecond", Math.Round(EstablishedPerSecond, 1));
            w.WriteStartObject("latencyMs");
            w.WriteNumber("p50", Math.Round(P50, 1));
            w.WriteNumber("p95", Math.Round(P95, 1));
            w.WriteNumber("p99", Math.Round(P99, 1));
            w.WriteNumber("max", Math.Round(Max, 1));
            w.WriteEndObject();
            w.WriteStartObject("failures");
            foreach (var (reason, count) in Failures.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteNumber(reason, count);
            w.WriteEndObject();
            w.WriteNumber("retransmissions", Retransmissions);
            w.WriteStartObject("modeConfig");
            w.WriteNumber("addressesAssigned", AddressesAssigned);
            w.WriteNumber("distinctAddresses", DistinctAddresses);
            w.WriteEndObject();
            w.WriteNumber("lostDuringHold", LostDuringHold);
            w.WriteStartArray("lostPeers");
            foreach (var p in LostPeers) w.WriteStringValue(p);
            w.WriteEndArray();
            w.WriteStartObject("dpd");
            w.WriteNumber("probes", Dpd.Probes);
            w.WriteNumber("retries", Dpd.Retries);
            w.WriteNumber("acks", Dpd.Acks);
            w.WriteNumber("longestWaitMs", Math.Round(Dpd.LongestWaitMs));
            w.WriteEndObject();
            w.WriteNumber("cpuSeconds", Math.Round(CpuSeconds, 2));
            w.WriteStartObject("memoryPerPeer");
            w.WriteNumber("managedBytes", Math.Round(ManagedBytesPerPeer));
            w.WriteNumber("rssBytes", Math.Round(RssBytesPerPeer));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }
}

/// <param name="Probes">R-U-THEREs the peers sent (RFC 3706 §5.5), retransmissions included</param>
/// <param name="Retries">Of those, retransmissions: the target had not answered within the retry interval</param>
/// <param name="Acks">R-U-THERE-ACKs received</param>
/// <param name="LongestWaitMs">The longest time from a round's first R-U-THERE to its ACK, over every peer</param>
public sealed record DpdFigures(long Probes, long Retries, long Acks, double LongestWaitMs);
