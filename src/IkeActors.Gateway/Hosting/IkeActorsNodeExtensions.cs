using IkeActors.Esp;
using IkeActors.Grains;
using IkeActors.Grains.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IkeActors.Gateway.Hosting;

/// <summary>One gateway node in a host: what `ikeactors run` starts, for any host that wants one.</summary>
public static class IkeActorsNodeExtensions
{
    /// <summary>
    /// The node's silo (its IKE and IPsec SAs are grains), the UDP front-end, the ESP data plane with `Tun`, telemetry,
    /// and the graceful stop. <paramref name="console"/> receives the operator-visible lines (debug lines at the
    /// console's level, the Orleans Dashboard's address). Hosted services start in this order: the silo first (the
    /// front-end's and data plane's grain calls find it running), and stop in the reverse one.
    /// </summary>
    public static IHostApplicationBuilder AddIkeActorsNode(this IHostApplicationBuilder builder, RunOptions options, TextWriter console)
    {
        var services = builder.Services;
        var nodeConsole = new NodeConsole(console);
        services.AddSingleton(nodeConsole);
        services.AddSingleton(options);
        services.AddSingleton(options.CreateGateway());
        services.AddSingleton(options.FrontEnd);
        var traced = GatewayTelemetry.Exports(builder, options);
        builder.UseOrleans(silo =>
        {
            // Grain calls carry the caller's trace context (one negotiation is one trace across silos) when spans go anywhere.
            if (traced) silo.AddActivityPropagation();
            silo.Join(options);
        });

        if (options.Tun is { } tun)
        {
            // The userspace ESP data plane (src/IkeActors.Esp): IPsec SA grains install into it, show and metrics read it.
            services.AddSingleton<EspSaDatabase>();
            services.AddSingleton(new EspNodeOptions { Tun = tun, Threads = options.EspThreads });
            services.AddSingleton<ReverseRoutes>();
            services.AddSingleton<EspNode>();
            if (options.Redis is { } redis)
            {
                // One concentrator across nodes (docs/cluster.md): pairs go where their peer is carried.
                services.AddSingleton<StackExchange.Redis.IConnectionMultiplexer>(_ => StackExchange.Redis.ConnectionMultiplexer.Connect(redis));
                services.AddSingleton<Cluster.ICarrierStore>(sp => new Cluster.RedisCarrierStore(sp.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>()));
                services.AddSingleton<Cluster.ICarrierBus>(sp => new Cluster.RedisCarrierBus(sp.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>()));
                services.AddSingleton<Cluster.ICarrierDataPlane>(sp => new Cluster.EspCarrierDataPlane(sp.GetRequiredService<EspSaDatabase>(),
                    sp.GetRequiredService<FrontEndOptions>(), sp.GetRequiredService<ReverseRoutes>(), () => sp.GetRequiredService<EspNode>().DataPlane));
                services.AddSingleton(sp => new Cluster.CarrierService($"{options.Advertise}:{options.SiloPort}",
                    sp.GetRequiredService<Cluster.ICarrierStore>(), sp.GetRequiredService<Cluster.ICarrierBus>(), sp.GetRequiredService<Cluster.ICarrierDataPlane>(),
                    sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Cluster.CarrierService>>(), carriedHere: keys => BringHere(sp, keys)));
                services.AddSingleton<IIpsecSaInstaller, Cluster.CarrierIpsecSaInstaller>();
                services.AddSingleton<ICarrierDirectory>(sp => sp.GetRequiredService<Cluster.CarrierService>());
            }
            else services.AddSingleton<IIpsecSaInstaller, EspSaInstaller>();
            services.AddSingleton<IEspCounterSource>(sp => sp.GetRequiredService<EspNode>());
            services.AddHostedService(sp => sp.GetRequiredService<EspNode>());
        }
        else services.AddSingleton<IIpsecSaInstaller, InMemoryIpsecSaInstaller>(); // negotiation only: SAs are kept, no traffic passes

        services.AddSingleton<FrontEndCounters>();
        services.AddSingleton<IsakmpSockets>();
        services.AddSingleton<DebugLineOutput>();
        services.AddSingleton<SaRouter>();
        services.AddSingleton<IDatagramTransmitter>(sp => sp.GetRequiredService<SaRouter>());
        services.AddSingleton<FrontEndRound>();
        services.AddSingleton<UdpFrontEnd>();
        services.AddHostedService(sp => sp.GetRequiredService<UdpFrontEnd>());

        // A stop deletes this node's SAs, telling the peers, before any service (the silo, the sockets) stops.
        services.AddSingleton(new GracefulShutdownOptions());
        services.AddHostedService<GracefulShutdown>();
        if (options.Redis is not null) services.AddHostedService<Cluster.SaDirectoryRepair>();

        GatewayTelemetry.Configure(builder, options, nodeConsole);
        return builder;
    }

    /// <summary>The IKE SA grains of a peer this node has begun to carry, asked to come to this node's silo (docs/cluster.md §3).</summary>
    private static async Task BringHere(IServiceProvider services, IReadOnlyCollection<string> keys)
    {
        var grains = services.GetRequiredService<IGrainFactory>();
        var silo = services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress;
        // The hint places a grain that is not active anywhere (its node died) here too, not only a migrating one.
        Orleans.Runtime.RequestContext.Set(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey, silo);
        try
        {
            foreach (var key in keys)
                // A grain whose node died answers once Orleans has declared that node dead (ConcentratorCluster: ~3 s).
                for (var attempt = 1; ; attempt++)
                    try
                    {
                        await grains.GetGrain<IIkeSaPlacement>(key).CarriedBy(silo).WaitAsync(TimeSpan.FromSeconds(5));
                        break;
                    }
                    catch (Exception) when (attempt < 30) { await Task.Delay(TimeSpan.FromSeconds(1)); }
        }
        finally { Orleans.Runtime.RequestContext.Remove(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey); }
    }
}
