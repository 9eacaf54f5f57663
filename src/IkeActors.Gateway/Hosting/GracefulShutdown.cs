using System.Diagnostics;
using IkeActors.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>How long a stopping node spends telling its peers before it stops anyway.</summary>
public sealed record GracefulShutdownOptions
{
    /// <summary>The bound on deleting the SAs (a peer or grain that does not answer never holds a stop up).</summary>
    public TimeSpan DeleteBudget { get; init; } = TimeSpan.FromSeconds(3);
}

/// <summary>
/// A node that stops (SIGTERM from systemd or an operator, Ctrl+C, --exit-after) tells its peers first, as
/// strongSwan does on shutdown: every IKE SA this node's front-end carries is deleted the way
/// `clear crypto isakmp sa` deletes it, an Informational DELETE for its IPsec SAs (protocol ESP, their inbound
/// SPIs) and then one for the IKE SA (ISAKMP, the cookies) (RFC 2408 §3.15, RFC 2409 §5.7). This runs in
/// <see cref="StoppingAsync"/>, before any hosted service stops: the silo still holds the grains and their
/// storage, the sockets are still open. A node without SAs goes on at once.
/// </summary>
public sealed class GracefulShutdown(UdpFrontEnd frontEnd, SaRouter router, IGrainFactory grains, GracefulShutdownOptions options, ILogger<GracefulShutdown> logger)
    : IHostedLifecycleService
{
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await frontEnd.StopRouting(); // no new SA from a peer's MM1 or a key acquire while the old ones go
        var keys = router.IkeSas;
        if (keys.Count == 0) return;
        var clock = Stopwatch.StartNew();
        var deletes = keys.Select(Delete).ToList();
        try
        {
            await Task.WhenAll(deletes).WaitAsync(options.DeleteBudget, cancellationToken);
            logger.LogInformation("stop: {Count} IKE SA(s) deleted in {Ms} ms, peers told", keys.Count, clock.ElapsedMilliseconds);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("stop: {Pending} of {Count} IKE SA(s) not deleted within {Budget} s; stopping without telling those peers",
                deletes.Count(d => !d.IsCompleted), keys.Count, options.DeleteBudget.TotalSeconds);
        }
    }

    /// <summary>
    /// One IKE SA deleted and its DELETEs sent (the grain transmits through the front-end before it answers, and
    /// reports its end to the SA directory and the front-end itself).
    /// </summary>
    private async Task Delete(string key)
    {
        try
        {
            await grains.Reference<IIkeSaAdmin>(key).Clear();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("stop: IKE SA {Key} not deleted: {Reason}", key, e.Message);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
