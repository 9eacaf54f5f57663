using IkeActors.Grains;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// The front-end's round, every two seconds: learns whether an operator session wants debug lines and at which
/// level, publishes this node's counters for `show crypto isakmp stats`, and forgets SAs not heard of for a lease
/// (<see cref="SaRouter.Sweep"/>). Upkeep: its grain calls start no trace.
/// </summary>
public sealed class FrontEndRound(
    IGrainFactory grains, IsakmpSockets sockets, SaRouter router, FrontEndCounters counters, DebugLineOutput debug, ILogger<FrontEndRound> logger)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    public async Task Run(CancellationToken ct)
    {
        var node = sockets.LocalEndPoint.ToString();
        using var untraced = UntracedCalls.Begin();
        while (!ct.IsCancellationRequested)
        {
            await debug.LearnSessionLevel();
            try { await grains.Reference<IIkeStatsGrain>(0).Publish(node, counters.Read(router.HalfOpen, sockets.ReceiveBufferDrops())); }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogDebug(e, "counters not published"); }
            router.Sweep();
            try { await Task.Delay(Interval, ct); }
            catch (OperationCanceledException) { return; }
        }
    }
}
