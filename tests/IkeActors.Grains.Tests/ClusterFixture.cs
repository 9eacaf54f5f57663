using System.Collections.Concurrent;
using System.Net;
using IkeActors.Config;
using IkeActors.Negotiation;
using IkeActors.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;

namespace IkeActors.Grains.Tests;

/// <summary>Datagrams and debug lines grains send outside a request (retransmissions), kept for assertions.</summary>
public sealed class RecordingTransmitter : IDatagramTransmitter
{
    public ConcurrentQueue<(Datagram Datagram, IReadOnlyList<string> Lines)> Sent { get; } = new();
    public void Send(Datagram datagram, IReadOnlyList<string> debugLines) => Sent.Enqueue((datagram, debugLines));

    /// <summary>Live SAs "the front-end" parked for their grains (FrontEndHandOver.Parked).</summary>
    public ConcurrentDictionary<string, IkeSa> Parked { get; } = new();
    public IkeSa? TakeParked(string ikeSaKey) => Parked.TryRemove(ikeSaKey, out var sa) ? sa : null;
}

/// <summary>
/// Two silos of one concentrator (the seed's responder ASA, 10.0.0.2) in process (docs/dependencies.md,
/// trap 9: one cluster per test collection).
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;
    public RecordingTransmitter Transmitter { get; } = new();
    public SharedGrainStorage Storage { get; } = new();
    public InMemoryIpsecSaInstaller DataPlane { get; } = new();

    public static IkeActors.Config.Model.AsaConfig Load(string file) =>
        AsaConfigLoader.LoadFile(RepoPaths.SiteToSite(file)).Config;

    public async Task InitializeAsync()
    {
        var gateway = new GatewayContext(Load("asa2-responder.cfg"), new IPEndPoint(IPAddress.Parse("10.0.0.2"), 500));
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 2);
        builder.ConfigureSilo((_, silo) => silo.ConfigureServices(services =>
        {
            services.AddSingleton(gateway);
            services.AddSingleton<IDatagramTransmitter>(Transmitter);
            services.AddGrainStorage("Default", (_, _) => Storage);
            services.AddSingleton<IIpsecSaInstaller>(DataPlane);
        }));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(nameof(ClusterCollection))]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>;
