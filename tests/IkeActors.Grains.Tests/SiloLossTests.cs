using static IkeActors.Grains.Tests.PeerPump;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;
using IkeActors.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;

namespace IkeActors.Grains.Tests;

/// <summary>Datagrams grains send outside a request, with the silo that sent them.</summary>
public sealed class SiloTransmitter(string silo, ConcurrentQueue<(string Silo, Datagram Datagram)> sent) : IDatagramTransmitter
{
    public void Send(Datagram datagram, IReadOnlyList<string> debugLines)
    {
        if (datagram.Bytes.Length > 0) sent.Enqueue((silo, datagram));
    }
}

/// <summary>
/// Kill the silo that hosts an established IKE SA's grain (or its tunnel's): the SA reactivates on another silo
/// from storage, by the next message or, with no message at all, by its backstop reminder. A cluster of its own
/// per test (three silos, a reminder table all silos share, new activations kept off the primary and off the
/// calling silo), since a silo dies here.
/// </summary>
public sealed class SiloLossTests : IAsyncLifetime
{
    private InProcessTestCluster _cluster = null!;
    private readonly SharedGrainStorage _storage = new();
    private readonly SharedReminderTable _reminders = new();
    private readonly AwayFromCallerPlacement.Rules _placement = new();
    private readonly ConcurrentQueue<(string Silo, Datagram Datagram)> _sent = new();
    private static readonly TimeSpan Backstop = TimeSpan.FromSeconds(2);

    public async Task InitializeAsync()
    {
        var gateway = new GatewayContext(ClusterFixture.Load("asa2-responder.cfg"), Right);
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 3);
        builder.ConfigureSilo((options, silo) => silo.AddReminders().ConfigureServices(services =>
        {
            services.AddSingleton(gateway);
            services.AddSingleton<IDatagramTransmitter>(new SiloTransmitter(options.SiloName, _sent));
            services.AddGrainStorage("Default", (_, _) => _storage);
            services.AddSingleton<IReminderTable>(_reminders);
            // The backstop in seconds instead of 5 minutes (reminders below the minimum period are refused).
            services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = Backstop);
            services.Configure<IkeSaBackstopOptions>(o => o.Period = Backstop);
            AwayFromCallerPlacement.AddTo(services, _placement);
        }));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        _placement.Avoid(_cluster.Silos[0].SiloAddress); // the primary stays: the test kills only the others
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private InProcessSiloHandle SiloNamed(string runtimeIdentity) => Assert.Single(_cluster.Silos, s => s.Names(runtimeIdentity));

    /// <summary>The seed's tunnel with the cluster as responder: the peer engine initiates, both phases complete.</summary>
    private async Task<(NegotiationEngine Left, NegotiationOutput Output, PeerPump.Result Run)> BringUpFromThePeer()
    {
        var left = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), Left));
        var lo = new NegotiationOutput();
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);
        var run = await PeerPump.RunAsync(_cluster.Client, left, lo, 0);
        Assert.Equal("MM_ACTIVE", await run.Grain.GetState());
        return (left, lo, run);
    }

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

    [Fact]
    public async Task With_no_message_at_all_the_backstop_reminder_revives_an_IKE_SA_on_another_silo_which_runs_DPD_again()
    {
        var (left, lo, run) = await BringUpFromThePeer();
        using var _ = left;
        var host = await run.Grain.GetSilo();
        var victim = SiloNamed(host);
        Assert.NotEqual(_cluster.Silos[0], victim);
        Assert.Equal(1, _reminders.Count("ikesa-backstop"));

        // Killed, not stopped: no deactivation, the grain's DPD timer dies with the silo. Nothing calls the grain
        // afterwards; only the reminder (stored in the shared table) can bring it back.
        _sent.Clear();
        await _cluster.KillSiloAsync(victim);

        // The revived activation re-arms DPD (ASA default threshold 10 s, RFC 3706 §5.3: R-U-THERE after idle):
        // an Informational from another silo under the SA's cookies.
        bool Revived((string Silo, Datagram Datagram) d) => Cookie(d.Datagram) == run.Cookie && d.Silo != victim.Name;
        await RekeyTests.WaitFor(() => _sent.Any(Revived), TimeSpan.FromSeconds(45), "an R-U-THERE from the revived IKE SA");
        var rUThere = _sent.First(Revived).Datagram;
        Assert.Equal(5, rUThere.Bytes[18]); // RFC 2408 §3.1: exchange type Informational

        // The peer reads it with the SA's keys and IV (the restored state is right) and acknowledges it.
        var seen = lo.Actions.Count;
        left.Receive(rUThere.Bytes, Right, lo);
        Assert.Single(lo.Actions.Skip(seen).OfType<SendDatagram>());
        Assert.DoesNotContain(lo.Actions.Skip(seen), a => a is MessageDropped);

        var revivedOn = await run.Grain.GetSilo();
        Assert.False(victim.Names(revivedOn), $"still on {revivedOn}");
        Assert.Equal("MM_ACTIVE", await run.Grain.GetState());
    }

    [Fact]
    public async Task After_the_loss_of_its_silo_a_tunnel_grain_sends_the_next_acquire_to_its_stored_IKE_SA()
    {
        // The cluster initiates: its TunnelGrain starts the IKE SA; the peer engine (10.0.0.1) answers.
        using var peer = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), Left));
        var po = new NegotiationOutput();
        var tunnel = _cluster.Client.GetGrain<ITunnelGrain>(Left.Address.ToString());
        await Answer(peer, po, await tunnel.Acquire(new AcquireRequest("192.168.2.10", "192.168.1.10", 1), 0));
        var ikeSaKey = await tunnel.GetCurrentIkeSa();
        var ikeSa = _cluster.Client.GetGrain<IIkeSaGrain>(ikeSaKey!);
        Assert.Equal("MM_ACTIVE", await ikeSa.GetState());
        Assert.Single(po.OfType<InstallIpsecSa>());

        var management = _cluster.Client.GetGrain<IManagementGrain>(0);
        var tunnelSilo = await management.GetActivationAddress(tunnel);
        Assert.NotNull(tunnelSilo);
        Assert.False(SiloNamed(await ikeSa.GetSilo()).SiloAddress.Equals(tunnelSilo), "tunnel and IKE SA grain on one silo");
        await _cluster.KillSiloAsync(Assert.Single(_cluster.Silos, s => s.SiloAddress.Equals(tunnelSilo)));

        // Traffic for the other ACL entry (tcp): a Quick Mode on the stored IKE SA, not a new Main Mode.
        var result = await tunnel.Acquire(new AcquireRequest("192.168.2.10", "192.168.1.10", 6, 40000, 80), 0);
        var qm1 = Assert.Single(result.Send);
        Assert.Equal(32, qm1.Bytes[18]); // RFC 2408 §3.1 / RFC 2409 §5.5: Quick Mode
        Assert.Equal(IkeSaGrain.ParseKey(ikeSaKey!).Cookie, Cookie(qm1));
        await Answer(peer, po, result);
        Assert.Equal(2, po.OfType<InstallIpsecSa>().Count());
        Assert.Single(peer.Sas);
        Assert.Equal(ikeSaKey, await tunnel.GetCurrentIkeSa());
        Assert.NotEqual(tunnelSilo, await management.GetActivationAddress(tunnel));
    }

    /// <summary>The cluster's datagrams reach the peer; the peer's answers go back to the IKE SA grains until both are quiet.</summary>
    private async Task Answer(NegotiationEngine peer, NegotiationOutput po, IkeStepResult result)
    {
        var seen = po.Actions.Count;
        foreach (var d in result.Send) peer.Receive(d.Bytes, Right, po);
        await PeerPump.RunAsync(_cluster.Client, peer, po, seen);
    }

    private static ulong Cookie(Datagram d) => d.Bytes.Length >= 8 ? BinaryPrimitives.ReadUInt64BigEndian(d.Bytes) : 0;
}
