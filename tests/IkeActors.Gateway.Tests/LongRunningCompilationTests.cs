using System.Text.Json.Nodes;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// The published build's runtimeconfig asks `run` to restart itself JIT-only with tiering off
/// (LongRunningCompilation): the node must then run with DOTNET_ReadyToRun=0 and DOTNET_TieredCompilation=0 (and its
/// 64 MiB first generation) in the
/// same process (the PID a supervisor knows, stopped by a signal as before), its start-up warm-up on; a build without
/// that property must not restart at all.
/// </summary>
public class LongRunningCompilationTests
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Run_restarts_in_place_jit_only_only_where_the_runtimeconfig_asks(bool published)
    {
        var dir = Directory.CreateTempSubdirectory("ikeactors-tiering-");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ikeactors.runtimeconfig.json")))!;
        if (published) config["runtimeOptions"]!["configProperties"]!["IkeActors.LongRunning.JitOnly"] = true;
        var runtimeConfig = Path.Combine(dir.FullName, "ikeactors.runtimeconfig.json");
        File.WriteAllText(runtimeConfig, config.ToJsonString());
        var node = Running.Start("exec", "--runtimeconfig", runtimeConfig, "--depsfile", Path.ChangeExtension(Dll, ".deps.json"), Dll,
            "run", "--config", RepoPaths.SiteToSite("asa2-responder.cfg"), "--bind", $"127.0.0.1:{FreePorts.Udp()}",
            "--silo-port", FreePorts.Tcp().ToString(), "--gateway-port", FreePorts.Tcp().ToString(), "--debug", "0", "--exit-after", "120", "--otel-console");
        try
        {
            await node.WaitForLine("ISAKMP on udp", TimeSpan.FromSeconds(60));
            var environment = File.ReadAllText($"/proc/{node.Process.Id}/environ").Split('\0');
            var cmdline = File.ReadAllText($"/proc/{node.Process.Id}/cmdline").Split('\0');
            Assert.Contains("run", cmdline);
            string[] variables = ["DOTNET_ReadyToRun=0", "DOTNET_TieredCompilation=0", IkeActors.Gateway.Hosting.LongRunningCompilation.Gen0Budget];
            foreach (var v in variables)
            {
                if (published) Assert.Contains(v, environment);
                else Assert.DoesNotContain(environment, e => e.StartsWith(v[..(v.IndexOf('=') + 1)], StringComparison.Ordinal));
            }
            // One diagnostics socket, the live runtime's (dotnet-trace and dotnet-counters find the process by it).
            // Sockets older than the process are a dead process's that had the same PID (kill -9 leaves them).
            var started = node.Process.StartTime.ToUniversalTime() - TimeSpan.FromSeconds(1);
            Assert.Single(Directory.EnumerateFiles(Path.GetTempPath(), $"dotnet-diagnostic-{node.Process.Id}-*-socket"),
                f => File.GetLastWriteTimeUtc(f) >= started);
            // The start-up warm-up compiled the handshake path before the node said it listens (published only).
            lock (node.Lines) Assert.Equal(published, node.Lines.Any(l => l.StartsWith("warm-up: two tunnels through a node of its own", StringComparison.Ordinal)));
            node.Signal(Running.Sigterm);
            var code = node.WaitForExit(TimeSpan.FromSeconds(15));
            Assert.True(code == 0, $"exit code {code?.ToString() ?? "none (still running)"}\n{string.Join("\n", node.Lines)}\n{string.Join("\n", node.ErrorLines)}");
            Assert.Empty(node.ErrorLines);
            // Its two tunnels are nobody's: the node's console exporter (spans as they end, metrics at the stop) shows
            // no negotiation, no SA and no span of ours, and its Orleans metrics did reach it.
            lock (node.Lines)
            {
                Assert.DoesNotContain(node.Lines, l => l.Contains("ikev1.", StringComparison.Ordinal) || l.Contains(IkeActors.Grains.Telemetry.NegotiationTelemetry.Name, StringComparison.Ordinal));
                Assert.Contains(node.Lines, l => l.Contains("orleans", StringComparison.OrdinalIgnoreCase));
            }
        }
        finally
        {
            node.Stop();
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("0x4000000", 64L << 20)] // the restart's own value
    [InlineData("4000000", 64L << 20)]   // the runtime reads its variables as hexadecimal, 0x or not
    [InlineData(" 0X800000 ", 8L << 20)]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("0", null)]
    [InlineData("64M", null)]
    [InlineData("0x", null)]
    [InlineData("-1", null)]
    public void The_first_generations_budget_is_read_as_the_runtime_reads_it(string? value, long? expected) =>
        Assert.Equal(expected, IkeActors.Gateway.Hosting.LongRunningCompilation.FirstGenerationBudget(value));

    [Fact]
    public void The_warm_up_allocates_twice_the_first_generations_budget_up_to_its_bound()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var touched = IkeActors.Gateway.Hosting.NodeWarmUp.TouchFirstGeneration(8L << 20);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(16L << 20, touched);
        Assert.InRange(allocated, touched, touched + (1L << 20)); // on the heap (not optimised away, not on the stack)
        Assert.Equal(IkeActors.Gateway.Hosting.NodeWarmUp.MaxTouch, IkeActors.Gateway.Hosting.NodeWarmUp.TouchFirstGeneration(1L << 40));
        Assert.Equal(0, IkeActors.Gateway.Hosting.NodeWarmUp.TouchFirstGeneration(0));
    }
}
