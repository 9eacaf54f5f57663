using System.Text.Json;
using IkeActors.LoadGenerator;
using IkeActors.Negotiation;

namespace IkeActors.Gateway.Tests.Bench;

/// <summary>The report's maths (nearest-rank percentiles, the setup rate) and its JSON shape, which scripts read.</summary>
public class BenchReportTests
{
    /// <summary>The nearest-rank method's worked example (15, 20, 35, 40, 50): P30 = 20, P40 = 20, P50 = 35, P100 = 50.</summary>
    [Theory]
    [InlineData(5, 15)]
    [InlineData(30, 20)]
    [InlineData(40, 20)]
    [InlineData(50, 35)]
    [InlineData(100, 50)]
    public void Percentiles_are_nearest_rank(double p, double expected) =>
        Assert.Equal(expected, BenchReport.Percentile([15, 20, 35, 40, 50], p));

    [Fact]
    public void Percentiles_of_one_to_a_hundred_and_of_nothing()
    {
        var report = new BenchReport { LatenciesMs = Enumerable.Range(1, 100).Select(i => (double)(101 - i)).ToList() };
        Assert.Equal((50.0, 95.0, 99.0, 100.0), (report.P50, report.P95, report.P99, report.Max));
        var empty = new BenchReport();
        Assert.Equal((0.0, 0.0), (empty.P99, empty.Max));
    }

    [Fact]
    public void The_rate_is_over_the_time_from_the_first_mm1_to_the_last_tunnel_up()
    {
        Assert.Equal(40, new BenchReport { Requested = 100, Established = 100, SetupSeconds = 2.5 }.EstablishedPerSecond);
        Assert.Equal(0, new BenchReport { Requested = 100, Established = 0, SetupSeconds = 0 }.EstablishedPerSecond);
        Assert.False(new BenchReport { Requested = 100, Established = 99 }.AllUp);
    }

    [Fact]
    public void The_json_has_the_documented_properties()
    {
        var report = new BenchReport
        {
            Requested = 3, Established = 2, Failed = 1, SetupSeconds = 0.5, LatenciesMs = [100, 300],
            Failures = new Dictionary<string, int> { ["notify NO_PROPOSAL_CHOSEN"] = 1 }, Retransmissions = 4, CpuSeconds = 1.25,
            ManagedBytesPerPeer = 1000, RssBytesPerPeer = 2000,
        };
        using var doc = JsonDocument.Parse(report.ToJson());
        var root = doc.RootElement;
        Assert.Equal(["requested", "established", "failed", "setupSeconds", "establishedPerSecond", "latencyMs", "failures",
            "retransmissions", "modeConfig", "lostDuringHold", "lostPeers", "dpd", "cpuSeconds", "memoryPerPeer"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["addressesAssigned", "distinctAddresses"], root.GetProperty("modeConfig").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["probes", "retries", "acks", "longestWaitMs"], root.GetProperty("dpd").EnumerateObject().Select(p => p.Name));
        Assert.Equal(3, root.GetProperty("requested").GetInt32());
        Assert.Equal(4.0, root.GetProperty("establishedPerSecond").GetDouble());
        Assert.Equal(["p50", "p95", "p99", "max"], root.GetProperty("latencyMs").EnumerateObject().Select(p => p.Name));
        Assert.Equal(100, root.GetProperty("latencyMs").GetProperty("p50").GetDouble());
        Assert.Equal(300, root.GetProperty("latencyMs").GetProperty("max").GetDouble());
        Assert.Equal(1, root.GetProperty("failures").GetProperty("notify NO_PROPOSAL_CHOSEN").GetInt32());
        Assert.Equal(["managedBytes", "rssBytes"], root.GetProperty("memoryPerPeer").EnumerateObject().Select(p => p.Name));
    }

    /// <summary>RFC 2408 §3.14.1 names for the notifies a responder refuses with; what failed here otherwise.</summary>
    [Fact]
    public void Failure_reasons_name_the_notify_received()
    {
        Assert.Equal("notify NO_PROPOSAL_CHOSEN", FailureNames.Of(new NegotiationFailed(IkeExchange.MainMode, FailureReason.NoProposalChosen, "peer sent No proposal chosen")));
        Assert.Equal("notify INVALID_ID_INFORMATION", FailureNames.Of(new NegotiationFailed(IkeExchange.QuickMode, FailureReason.ProxyIdMismatch, "peer sent Invalid ID info")));
        Assert.Equal("notify INVALID-SPI", FailureNames.Of(new NegotiationFailed(IkeExchange.QuickMode, FailureReason.PeerNotified, "peer sent INVALID-SPI")));
        Assert.Equal("authentication failed", FailureNames.Of(new NegotiationFailed(IkeExchange.MainMode, FailureReason.AuthenticationFailed, "hash mismatch")));
        Assert.Equal("retransmissions exhausted", FailureNames.Of(new NegotiationFailed(IkeExchange.MainMode, FailureReason.RetransmissionsExhausted, "MM_WAIT_MSG2")));
    }
}
