using static IkeActors.Grains.Tests.PeerPump;
using System.Buffers.Binary;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;
using IkeActors.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;

namespace IkeActors.Grains.Tests;

/// <summary>
/// Kill the silo that hosts an established IKE SA's grain: the SA reactivates on another silo from
/// storage and a following Quick Mode on that IKE SA succeeds. A cluster of its own (three silos),
/// since a silo dies here.
/// </summary>
public sealed class SiloLossTests : IAsyncLifetime
{
    private InProcessTestCluster _cluster = null!;
    private readonly SharedGrainStorage _storage = new();

    public async Task InitializeAsync()
    {
        var gateway = new GatewayContext(ClusterFixture.Load("asa2-responder.cfg"), Right);
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 3);
        builder.ConfigureSilo((_, silo) => silo.ConfigureServices(services =>
        {
            services.AddSingleton(gateway);
            services.AddSingleton<IDatagramTransmitter>(new RecordingTransmitter());
            services.AddGrainStorage("Default", (_, _) => _storage);
        }));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task An_IKE_SA_survives_the_loss_of_its_silo()
    {
        var leftConfig = ClusterFixture.Load("asa1-initiator.cfg");
        // Placement is random: bring tunnels up until one IKE SA grain lives off the primary silo
        // (the test cluster's membership lives on the primary, which cannot be killed).
        for (var attempt = 0; attempt < 12; attempt++)
        {
            using var left = new NegotiationEngine(new GatewayContext(leftConfig, Left));
            var lo = new NegotiationOutput();
            left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);
            var grain = (await PeerPump.RunAsync(_cluster.Client, left, lo, 0)).Grain;
            Assert.Equal("MM_ACTIVE", await grain.GetState());
            var host = await grain.GetSilo();
            var victim = _cluster.Silos.Skip(1).FirstOrDefault(s => host.Contains(s.SiloAddress.ToString(), StringComparison.Ordinal)
                                                                  || s.SiloAddress.ToString().Contains(host, StringComparison.Ordinal));
            if (victim is null) continue;

            var before = await grain.GetActivationId();
            await _cluster.KillSiloAsync(victim);

            var seen = lo.Actions.Count;
            left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 6, 40000, 80), lo);
            await PeerPump.RunAsync(_cluster.Client, left, lo, seen);
            Assert.Equal(2, lo.OfType<InstallIpsecSa>().Count());
            Assert.NotEqual(before, await grain.GetActivationId());
            Assert.NotEqual(host, await grain.GetSilo());
            return;
        }
        Assert.Fail("no IKE SA grain was placed off the primary silo in 12 tries");
    }
}
