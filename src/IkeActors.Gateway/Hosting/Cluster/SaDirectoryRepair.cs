using IkeActors.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace IkeActors.Gateway.Hosting.Cluster;

/// <summary>
/// The SA directory's partitions live in memory on whichever silo activated them; one that lived on a node that died
/// comes back empty on a survivor. When Orleans declares a node dead, every node asks the IKE SA grains it carries to
/// report themselves again (one-way, only on a death: no traffic otherwise), so `show crypto isakmp sa` and the
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
                foreach (var key in keys) await grains.GetGrain<IIkeSaPlacement>(key).Reannounce();
            }
        }
        catch (OperationCanceledException) { }
    }
}
