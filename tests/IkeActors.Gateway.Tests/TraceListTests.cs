using IkeActors.Testing;
using Xunit.Abstractions;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// What a user's trace list (the Aspire Dashboard's Traces view: one row per root span) holds while two
/// `ikeactors run` processes keep a tunnel up: the negotiation and the operator's commands, not the nodes' upkeep
/// (the front-end's debug-level and counter rounds every 2 s, the SA directory the grains keep, the routing of every
/// later datagram of a known SA).
/// </summary>
public class TraceListTests(ITestOutputHelper log)
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");

    [Fact]
    public async Task The_trace_list_holds_the_negotiation_and_the_operator_commands_only()
    {
        using var lab = await DashboardTests.Lab.Start(responderPsk: DashboardTests.Psk);
        await lab.Left!.WaitForLine("PHASE 2 COMPLETED", TimeSpan.FromSeconds(40));
        // Seven of each node's 2-second rounds after the negotiation.
        await Task.Delay(TimeSpan.FromSeconds(15));
        var stats = ProcessRunner.Run("dotnet", [Dll, "show", "crypto", "isakmp", "stats", "--node", $"127.0.0.1:{lab.LeftGatewayPort}"]);
        Assert.True(stats.Code == 0, stats.Stdout + stats.Stderr);
        await lab.Aspire.WaitForTrace(spans => spans.Count(s => s.Name == "QM3") >= 2);
        await Task.Delay(TimeSpan.FromSeconds(11)); // two export batches (5 s) of both processes

        var roots = new List<(string Name, List<DashboardTests.Span> Trace)>();
        foreach (var trace in (await lab.Aspire.AllSpans()).GroupBy(s => s.TraceId))
        {
            var ids = trace.Select(s => s.SpanId).ToHashSet();
            roots.Add((trace.First(s => s.ParentSpanId is null || !ids.Contains(s.ParentSpanId)).Name, trace.ToList()));
        }
        var byName = roots.GroupBy(r => r.Name).ToDictionary(g => g.Key, g => g.Count());
        foreach (var (name, count) in byName.OrderBy(kv => kv.Key)) log.WriteLine($"{count,4} {name}");

        var expected = new Dictionary<string, int>
        {
            ["ITunnelGrain/Acquire"] = 1,     // the initiator's key acquire: the negotiation, both gateways' spans
            ["IIkeSaGrain/Receive"] = 1,      // the responder's MM1: its negotiation's root when the peer is not an IkeActors gateway
            // show crypto isakmp stats: every directory partition's summary by state (in parallel), every node's counters
            ["ISaDirectoryGrain/Summary"] = IkeActors.Grains.SaDirectory.Partitions,
            ["IIkeStatsGrain/Nodes"] = 1,
        };
        Assert.True(expected.Count == byName.Count && expected.All(e => byName.GetValueOrDefault(e.Key) == e.Value),
            "root spans: " + string.Join(", ", byName.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} x{kv.Value}")));
        var negotiation = roots.Single(r => r.Name == "ITunnelGrain/Acquire").Trace;
        Assert.Equal(2, negotiation.Count(s => s.Name == "ikev1.main_mode"));
        Assert.Equal(2, negotiation.Count(s => s.Name == "ikev1.quick_mode"));
        Assert.Equal(2, negotiation.Count(s => s.Name == "QM3"));
    }
}
