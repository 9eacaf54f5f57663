using System.Globalization;
using IkeActors.Negotiation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// One `ikeactors run` node from start to stop: the host (<see cref="IkeActorsNodeExtensions.AddIkeActorsNode"/>) with
/// the command line's logging and lifetime, the line that says where it listens, the optional first acquire, then a
/// run until --exit-after, a signal or a stop request, and one graceful stop.
/// </summary>
public static class GatewayNode
{
    /// <summary>
    /// The bound on a whole stop (deletes, data plane, silo): a stop never hangs. Below the command line's
    /// ProcessTerminationTimeout (<see cref="Commands.CliApp"/>), which would end the process with 143 or 130 instead of 0.
    /// </summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(8);

    public static async Task<int> RunAsync(RunOptions options, TextWriter output, TextWriter error, CancellationToken ct)
    {
        // Two tunnels through a node of its own, before this one exists (NodeWarmUp): compiled before it says it listens.
        if (options.FrontEnd.WarmUp)
        {
            var warm = await NodeWarmUp.RunAsync(options, ct);
            if (ct.IsCancellationRequested) return 0; // stopped while it warmed up: nothing was started
            if (warm.Up) await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"warm-up: two tunnels through a node of its own, {warm.Took.TotalSeconds:0.00} s"));
            else await error.WriteLineAsync($"warm-up: {warm.Problem} (the node runs; its first peers compile what it would have)");
        }
        if (options.SaveKeys is { } keys)
            await error.WriteLineAsync($"warning: --save-keys {keys}: every SA's keys are written there (ikev1_decryption_table, esp_sa, mode 0600); anyone who reads them can decrypt this gateway's traffic");
        var builder = Host.CreateApplicationBuilder();
        // Debug lines own stdout; the host's own log goes to stderr, Orleans only when something is wrong.
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Orleans", LogLevel.Error);
        builder.Logging.AddFilter("Polly", LogLevel.Error); // Orleans' placement retries while the silo starts: not an operator's concern
        builder.AddIkeActorsNode(options, output);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddSingleton<IHostLifetime, CommandLineLifetime>();
        using var host = builder.Build();
        // A start is not cancelled half-way (a silo stopped while it starts throws; see CommandLineLifetime): a signal
        // during the start is seen once it is complete, and the node stops at once.
        await host.StartAsync(CancellationToken.None);
        // The GC's first generation touched once before the first peer (NodeWarmUp.TouchFirstGeneration), where a budget is set.
        if (options.FrontEnd.WarmUp && LongRunningCompilation.FirstGenerationBudget() is { } budget) NodeWarmUp.TouchFirstGeneration(budget);
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, stopping);
        var sockets = host.Services.GetRequiredService<IsakmpSockets>();
        await output.WriteLineAsync($"{options.Config.Hostname ?? "ikeactors"}: ISAKMP on udp {sockets.LocalEndPoint}"
            + (sockets.NatTEndPoint is { } n ? $", NAT-T on udp {n}" : "") + $", outside {options.Outside}");

        if (options.Acquire is { } packet && options.AcquireRequest is { } request && !stop.IsCancellationRequested)
        {
            var gateway = host.Services.GetRequiredService<GatewayContext>();
            var match = gateway.Lookup.MatchOutbound(packet, gateway.OutsideInterface);
            if (match is null || match.Entry.Peers.Count == 0) await error.WriteLineAsync($"--acquire {Format(packet)}: no crypto map entry protects this traffic");
            else await host.Services.GetRequiredService<SaRouter>().Acquire(match.Entry.Peers[0], request);
        }

        // Runs until --exit-after, SIGTERM or SIGINT (the command line's token), or until something asks the host to
        // stop (ApplicationStopping), then one stop: SAs deleted, data plane and silo closed.
        try { await Task.Delay(options.ExitAfter ?? Timeout.InfiniteTimeSpan, stop.Token); }
        catch (OperationCanceledException) { }
        await host.StopAsync(CancellationToken.None); // bounded by HostOptions.ShutdownTimeout
        return 0;
    }

    private static string Format(IkeActors.Config.Lookup.Packet p) => p.Protocol == 0 ? $"{p.Source},{p.Destination}" : $"{p.Source},{p.Destination},{p.Protocol}";
}
