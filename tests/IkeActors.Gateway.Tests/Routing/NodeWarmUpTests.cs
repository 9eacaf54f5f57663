using IkeActors.Gateway.Hosting;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests.Routing;

/// <summary>
/// The start-up warm-up: two tunnels (the seed's proposals and a modern set) through a node of its own on loopback
/// come up whatever the node's debug level and exponent policy, nothing of that node is left afterwards (its sockets
/// closed), and a stop already asked for ends it without an exception. Alone: it counts the process's sockets.
/// The node's side (it prints its line, its exporters see nothing of it) is LongRunningCompilationTests'.
/// </summary>
[Collection(nameof(FloodsRunAlone))]
public class NodeWarmUpTests
{
    [Theory]
    [InlineData(0, "full")]
    [InlineData(255, "full")]
    [InlineData(0, "short")]
    public async Task Both_tunnels_come_up_and_nothing_of_the_warm_up_node_is_left(int debug, string exponent)
    {
        var node = Node(debug, exponent);
        var sockets = OpenSockets();

        var (up, took, problem) = await NodeWarmUp.RunAsync(node, CancellationToken.None);

        Assert.True(up, problem);
        Assert.Null(problem);
        Assert.True(took > TimeSpan.Zero);
        // Its UDP and TCP sockets (ISAKMP, NAT-T, the silo's and the gateway's listeners) and the peers' are closed.
        InteropEventually(() => OpenSockets() <= sockets, TimeSpan.FromSeconds(10));
        Assert.True(OpenSockets() <= sockets, $"{OpenSockets() - sockets} sockets more than before the warm-up");
    }

    [Fact]
    public async Task A_stop_before_the_warm_up_ends_it_without_an_exception()
    {
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync();

        var (up, _, problem) = await NodeWarmUp.RunAsync(Node(0, "full"), stop.Token);

        Assert.False(up);
        Assert.NotNull(problem);
    }

    private static RunOptions Node(int debug, string exponent)
    {
        var (options, errors) = new RunArguments(RepoPaths.SiteToSite("asa2-responder.cfg"))
        {
            Bind = $"127.0.0.1:{FreePorts.Udp()}", Debug = debug, DhExponent = exponent,
            SiloPort = FreePorts.Tcp(), GatewayPort = FreePorts.Tcp(),
        }.Validate();
        Assert.True(options is not null, string.Join("\n", errors));
        return options;
    }

    private static int OpenSockets() =>
        new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos().Count(f => f.LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true);

    private static void InteropEventually(Func<bool> condition, TimeSpan timeout)
    {
        var until = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (!condition() && Environment.TickCount64 < until) Thread.Sleep(100);
    }
}
