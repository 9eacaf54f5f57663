using System.Collections.Concurrent;
using System.Net;
using IkeActors.Negotiation;
using IkeActors.Negotiation.Admission;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace IkeActors.Grains.Tests;

/// <summary>
/// The end of a half-open IKE SA that happens inside its grain (retransmissions exhausted: no datagram comes back
/// to the front-end) is reported to the silo's transmitter and the SA directory. The front-end once never heard of
/// these ends, so they stayed counted forever. Retransmissions here: 50 ms doubling, 2 of them (ends in ~350 ms).
/// </summary>
public sealed class HalfOpenEndTests : IAsyncLifetime
{
    private sealed class StateRecorder : IDatagramTransmitter
    {
        public HalfOpenLedger Ledger { get; } = new(new HalfOpenLimits { MaxHalfOpen = 10, MaxHalfOpenPerPeer = 5 });
        public ConcurrentQueue<(string Key, string State, bool Initiator, string? Failure)> Changes { get; } = new();
        public void Send(Datagram datagram, IReadOnlyList<string> debugLines) { }

        public void SaStateChanged(string ikeSaKey, string state, bool initiator, string? phase1Failure)
        {
            Changes.Enqueue((ikeSaKey, state, initiator, phase1Failure));
            if (state is nameof(MainModeState.MM_ACTIVE) or nameof(MainModeState.MM_DELETED) or nameof(MainModeState.MM_NO_STATE))
                Ledger.Release(ikeSaKey);
        }
    }

    private readonly StateRecorder _recorder = new();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var settings = new NegotiationSettings { RetransmitInterval = TimeSpan.FromMilliseconds(50), RetransmitLimit = 2 };
        var gateway = new GatewayContext(ClusterFixture.Load("asa2-responder.cfg"), new IPEndPoint(IPAddress.Parse("10.0.0.2"), 500), settings: settings);
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 1);
        builder.ConfigureSilo((_, silo) => silo.AddMemoryGrainStorageAsDefault().ConfigureServices(services =>
        {
            services.AddSingleton(gateway);
            services.AddSingleton<IDatagramTransmitter>(_recorder);
            services.AddSingleton<IIpsecSaInstaller>(new InMemoryIpsecSaInstaller());
        }));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static byte[] SeedMm1(ulong cookie)
    {
        using var initiator = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), new IPEndPoint(IPAddress.Parse("10.0.0.1"), 500)));
        var output = new NegotiationOutput();
        initiator.Acquire(new IkeActors.Config.Lookup.Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), output);
        var mm1 = output.OfType<SendDatagram>().Single().Datagram;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(mm1, cookie);
        return mm1;
    }

    [Fact]
    public async Task A_half_open_SA_that_times_out_inside_its_grain_is_reported_gone_and_frees_its_room()
    {
        var keys = Enumerable.Range(1, 5).Select(i => IIkeSaGrain.KeyFor("10.0.0.1", (ulong)i)).ToList();
        foreach (var (key, i) in keys.Select((k, i) => (k, i + 1)))
        {
            Assert.True(_recorder.Ledger.TryAdmit(key, IPAddress.Parse("10.0.0.1"), hasPreSharedKey: true).Admitted);
            var result = await _cluster.Client.GetGrain<IIkeSaGrain>(key).Receive(new Datagram(SeedMm1((ulong)i), "10.0.0.1", 500), 0);
            Assert.Equal(nameof(MainModeState.MM_WAIT_MSG3), result.State);
        }
        Assert.Equal(Mm1Refusal.PeerHalfOpenLimit, _recorder.Ledger.TryAdmit("10.0.0.1/0000000000000099", IPAddress.Parse("10.0.0.1"), true).Refusal);
        Assert.Equal(5, (await SaDirectory.Summary(_cluster.Client)).Negotiating);

        // Nobody answers MM2: each grain's own timers end it, and it says so.
        var until = Environment.TickCount64 + 20_000;
        while (_recorder.Ledger.Count > 0 && Environment.TickCount64 < until) await Task.Delay(50);

        Assert.Equal(0, _recorder.Ledger.Count);
        foreach (var key in keys)
            Assert.Contains(_recorder.Changes, c => c.Key == key && c.State == nameof(MainModeState.MM_DELETED) && !c.Initiator
                && c.Failure == nameof(FailureReason.RetransmissionsExhausted));
        var summary = await SaDirectory.Summary(_cluster.Client);
        Assert.Equal((0, 0, 0L), (summary.Active, summary.Negotiating, summary.Previous));
        // The retransmission limit leaves no directory entry behind (the grains' own report, no operator command).
        Assert.Empty(await SaDirectory.Entries(_cluster.Client));
        Assert.Empty(await SaDirectory.ForPeer(_cluster.Client, "10.0.0.1").ListPeer("10.0.0.1"));
        Assert.True(_recorder.Ledger.TryAdmit("10.0.0.1/0000000000000099", IPAddress.Parse("10.0.0.1"), true).Admitted);
    }

    [Fact]
    public async Task Cookies_of_no_SA_leave_no_activation_behind()
    {
        var key = IIkeSaGrain.KeyFor("10.0.0.1", 0x1234);
        var mm3Like = SeedMm1(0x1234);
        mm3Like[8] = 0x77; // a responder cookie of nobody's: not an MM1
        var grain = _cluster.Client.GetGrain<IIkeSaGrain>(key);
        var result = await grain.Receive(new Datagram(mm3Like, "10.0.0.1", 500), 0);
        var first = await grain.GetActivationId();

        Assert.Equal(nameof(MainModeState.MM_NO_STATE), result.State);
        Assert.DoesNotContain(_recorder.Changes, c => c.Key == key); // never started: nothing to report
        // The activation that found no SA went at once: asking again makes a new one.
        var until = Environment.TickCount64 + 10_000;
        Guid second;
        do { await Task.Delay(100); await grain.Receive(new Datagram(mm3Like, "10.0.0.1", 500), 0); second = await grain.GetActivationId(); }
        while (second == first && Environment.TickCount64 < until);
        Assert.NotEqual(first, second);
    }
}
