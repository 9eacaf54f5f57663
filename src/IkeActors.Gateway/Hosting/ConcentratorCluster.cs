using System.Net;
using IkeActors.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime.Hosting;
using Orleans.Configuration;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// The Orleans cluster one concentrator is: the names every node and operator client share, how a node's silo
/// joins it, and how a client reaches a node's gateway.
/// </summary>
public static class ConcentratorCluster
{
    public const string ServiceId = "ikeactors";
    public const string ClusterId = "ikeactors";

    /// <summary>
    /// A single embedded silo (localhost clustering, grain state in this process: nothing else to run), or one of several nodes
    /// whose membership, grain state and reminders live in one Redis.
    /// </summary>
    public static ISiloBuilder Join(this ISiloBuilder silo, RunOptions options)
    {
        if (options.Redis is null)
        {
            silo.Services.AddGrainStorage(Orleans.Providers.ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME,
                (sp, _) => ActivatorUtilities.CreateInstance<NodeMemoryGrainStorage>(sp));
            silo.Services.AddSingleton(new SaStateStoreOptions { WriteOnDeactivation = true }); // the store dies with the process
            return silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: ServiceId, clusterId: ClusterId);
        }
        var endpoint = StackExchange.Redis.ConfigurationOptions.Parse(options.Redis);
        return silo.Configure<ClusterOptions>(Name)
            .Configure<ClusterMembershipOptions>(Membership)
            .ConfigureEndpoints(options.Advertise, options.SiloPort, options.GatewayPort)
            .UseRedisClustering(o => o.ConfigurationOptions = endpoint)
            .AddRedisGrainStorageAsDefault(o => o.ConfigurationOptions = endpoint)
            .UseRedisReminderService(o => o.ConfigurationOptions = endpoint);
    }

    /// <summary>
    /// A dead node's grains (its peers' IKE SAs) come back on a survivor once Orleans declares it dead. Its defaults
    /// (a probe every 10 s, 3 missed: ~15-30 s) would leave a moved peer's DPD, rekeys and deletes unanswered that long;
    /// a probe every second and 3 missed declare a killed node dead in ~3 s (its connections are refused at once: a
    /// probe fails immediately). The ESP data path does not wait for this (docs/cluster.md §3: carrier claims).
    /// </summary>
    private static void Membership(ClusterMembershipOptions o)
    {
        o.ProbeTimeout = TimeSpan.FromSeconds(1);
        o.NumMissedProbesLimit = 3;
    }

    /// <summary>A client of the node whose Orleans gateway listens at <paramref name="gateway"/>.</summary>
    public static IClientBuilder ConnectTo(this IClientBuilder client, IPEndPoint gateway) =>
        client.UseStaticClustering(gateway).Configure<ClusterOptions>(Name);

    private static void Name(ClusterOptions o)
    {
        o.ServiceId = ServiceId;
        o.ClusterId = ClusterId;
    }
}
