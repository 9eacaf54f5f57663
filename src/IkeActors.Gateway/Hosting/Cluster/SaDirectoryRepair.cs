using IkeActors.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace IkeActors.Gateway.Hosting.Cluster;

/// <summary>
/// The SA directory's partitions live in memory on whichever silo activated them; one that lived on a node that died
/// comes back empty on a survivor. When Orleans declares a node dead, every node asks the IKE SA grains it carries to
/// report themselves again, and once more 5 s later (only on a death: no traffic otherwise), so `show crypto isakmp sa` and the
/// session counts list them again within the membership's detection time.
/// </summary>
public sealed class SaDirectoryRepair(IClusterMembershipService membership, SaRouter router, IGrainFactory grains, ILogger<SaDirectoryRepair> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        HashSet<SiloAddress>? dead = null;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                if (dead is null) // the nodes dead before this one started are not news
                {
                    dead = [.. snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead).Select(m => m.SiloAddress)];
                    continue;
                }
                var newlyDead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead && dead.Add(m.SiloAddress)).ToList();
                if (newlyDead.Count == 0) continue;
                var keys = router.IkeSas;
                logger.LogInformation("cluster: {Silos} dead: {Count} IKE SA(s) of this node report to the SA directory again",
                    string.Join(", ", newlyDead.Select(m => m.SiloAddress)), keys.Count);
                await Reannounce(keys, stoppingToken);
                // Once more when the cluster has settled: while a dead node's grain directory ranges are taken over, Orleans'
                // eventually consistent directory may activate a partition twice and later drop one activation with what
                // it was told (seen once in 1 of ~10 runs: one report lost). The second round lands on the one that stays.
                _ = Settle(stoppingToken);
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task Settle(CancellationToken ct)
    {
        try
        {
            await Task.Delay(SettleDelay, ct);
            var keys = router.IkeSas;
            logger.LogInformation("cluster: settled: {Count} IKE SA(s) of this node report to the SA directory once more", keys.Count);
            await Reannounce(keys, ct);
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Rounds a second apart until every SA's report was taken (a partition coming back on a survivor refuses calls for a moment).</summary>
    private async Task Reannounce(IReadOnlyCollection<string> keys, CancellationToken ct)
    {
        var left = keys;
        for (var round = 0; round < Rounds && left.Count > 0; round++)
        {
            if (round > 0) await Task.Delay(TimeSpan.FromSeconds(1), ct);
            var failed = new System.Collections.Concurrent.ConcurrentBag<string>();
            await Parallel.ForEachAsync(left, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (key, _) =>
            {
                try
                {
                    if (await grains.GetGrain<IIkeSaPlacement>(key).Reannounce() is { } update) await SaDirectory.ForKey(grains, key).Set(update);
                }
                catch (Exception e) when (e is not OperationCanceledException) { failed.Add(key); }
            });
            left = failed;
        }
        if (left.Count > 0) logger.LogWarning("cluster: {Count} IKE SA(s) could not report to the SA directory after {Rounds} rounds", left.Count, Rounds);
    }

    private const int Rounds = 10;
    /// <summary>After the first repair: Orleans' directory and membership views have converged well within this.</summary>
    private static readonly TimeSpan SettleDelay = TimeSpan.FromSeconds(5);
}
