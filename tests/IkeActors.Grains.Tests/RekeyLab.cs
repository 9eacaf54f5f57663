using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using IkeActors.Config;
using IkeActors.Negotiation;
using IkeActors.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;

namespace IkeActors.Grains.Tests;

/// <summary>The data plane of a rekey test: an in-memory SA database that also records the order of adds and removes.</summary>
public sealed class RecordingIpsecSaInstaller : IIpsecSaInstaller
{
    public InMemoryIpsecSaInstaller Inner { get; } = new();
    public ConcurrentQueue<(string Op, uint InboundSpi, TimeSpan At)> Events { get; } = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public TimeSpan Now => _clock.Elapsed;

    public void Add(IpsecSaRecord sa)
    {
        Inner.Add(sa);
        Events.Enqueue(("add", sa.InboundSpi, _clock.Elapsed));
    }

    public void Remove(uint inboundSpi, uint outboundSpi)
    {
        Events.Enqueue(("remove", inboundSpi, _clock.Elapsed));
        Inner.Remove(inboundSpi, outboundSpi);
    }

    public void AddInbound(IpsecSaRecord sa)
    {
        Inner.AddInbound(sa);
        Events.Enqueue(("add-inbound", sa.InboundSpi, _clock.Elapsed));
    }
}

/// <summary>
/// Forwards the datagrams grains send outside a request (rekeys, retransmissions, DPD) to the test's
/// peer through a queue: the peer answers from its own loop, never inside the grain's turn.
/// </summary>
public sealed class ForwardingTransmitter : IDatagramTransmitter
{
    public Channel<byte[]> ToPeer { get; } = Channel.CreateUnbounded<byte[]>();
    public ConcurrentQueue<string> Lines { get; } = new();

    public void Send(Datagram datagram, IReadOnlyList<string> debugLines)
    {
        foreach (var l in debugLines) Lines.Enqueue(l);
        if (datagram.Bytes.Length > 0) ToPeer.Writer.TryWrite(datagram.Bytes);
    }
}

/// <summary>
/// A rekey lab: a two-silo cluster playing the seed's 10.0.0.2 (configuration text edited by the test,
/// negotiation settings chosen by the test), and the seed's 10.0.0.1 as a plain <see cref="NegotiationEngine"/>
/// in the test whose timers a small scheduler fires when due. Datagrams flow both ways through one pump.
/// </summary>
public sealed class RekeyLab : IAsyncDisposable
{
    public static readonly IPEndPoint Left = new(IPAddress.Parse("10.0.0.1"), 500);
    public static readonly IPEndPoint Right = new(IPAddress.Parse("10.0.0.2"), 500);

    public InProcessTestCluster Cluster { get; }
    public RecordingIpsecSaInstaller DataPlane { get; }
    public ForwardingTransmitter Transmitter { get; }
    public SharedGrainStorage Storage { get; }
    public NegotiationEngine Peer { get; private set; }
    /// <summary>Everything the peer engine did, in order (guarded by <see cref="Lock"/>).</summary>
    public NegotiationOutput PeerOutput { get; } = new(127);
    public Lock Lock { get; } = new();
    public ConcurrentQueue<string> GrainLines { get; } = new();
    public ConcurrentQueue<Exception> Errors { get; } = new();

    private readonly Dictionary<(ulong Sa, TimerKey Key), TimeSpan> _peerTimers = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = new();
    private int _peerSeen;


    public static string ConfigText(string file) => File.ReadAllText(RepoPaths.SiteToSite(file));

    public static IkeActors.Config.Model.AsaConfig Parse(string text)
    {
        var result = AsaConfigLoader.Load(text);
        var errors = result.Diagnostics.Where(d => d.Severity == IkeActors.Config.Parsing.DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("\n", errors));
        return result.Config;
    }

    /// <summary>Starts the cluster (right) and the peer engine (left).</summary>
    public static async Task<RekeyLab> Start(string rightConfig, string leftConfig, NegotiationSettings rightSettings, NegotiationSettings? leftSettings = null,
        Action<IServiceCollection>? configureSilo = null)
    {
        var gateway = new GatewayContext(Parse(rightConfig), Right, settings: rightSettings);
        var peer = new NegotiationEngine(new GatewayContext(Parse(leftConfig), Left, settings: leftSettings));
        var dataPlane = new RecordingIpsecSaInstaller();
        var transmitter = new ForwardingTransmitter();
        var storage = new SharedGrainStorage();
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 2);
        builder.ConfigureSilo((_, silo) => silo.UseInMemoryReminderService().ConfigureServices(services =>
        {
            services.AddSingleton(gateway);
            services.AddSingleton<IDatagramTransmitter>(transmitter);
            services.AddGrainStorage("Default", (_, _) => storage);
            services.AddSingleton<IIpsecSaInstaller>(dataPlane);
            configureSilo?.Invoke(services);
        }));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        var lab = new RekeyLab(cluster, peer, dataPlane, transmitter, storage);
        lab._loops.Add(Task.Run(lab.PumpGrainDatagrams));
        lab._loops.Add(Task.Run(lab.RunPeerTimers));
        return lab;
    }

    private RekeyLab(InProcessTestCluster cluster, NegotiationEngine peer, RecordingIpsecSaInstaller dataPlane, ForwardingTransmitter transmitter, SharedGrainStorage storage)
    {
        Cluster = cluster;
        Peer = peer;
        DataPlane = dataPlane;
        Transmitter = transmitter;
        Storage = storage;
    }

    /// <summary>
    /// The peer reboots: a new engine with the same configuration and no memory of its SAs (no DELETE goes out, its
    /// timers are gone). Its first Quick Mode will carry INITIAL-CONTACT.
    /// </summary>
    public void RestartPeer()
    {
        lock (Lock)
        {
            var old = Peer;
            Peer = new NegotiationEngine(new GatewayContext(old.Context.Config, old.Context.Local, settings: old.Context.Settings));
            _peerTimers.Clear();
            _peerSeen = PeerOutput.Actions.Count;
            old.Dispose();
        }
    }

    public IIkeSaGrain GrainFor(ulong initiatorCookie) =>
        Cluster.Client.GetGrain<IIkeSaGrain>(IIkeSaGrain.KeyFor(Left.Address.ToString(), initiatorCookie));

    /// <summary>A datagram from the cluster reaches the peer; whatever the peer answers goes to the grain its cookie names.</summary>
    /// <summary>The peer is gone: it receives nothing and sends nothing (its timers stop too).</summary>
    public volatile bool PeerSilent;

    /// <summary>While set, datagrams to the peer wait, in order, for <see cref="ReleaseToPeer"/> (a slow path: MM1s cross).</summary>
    public volatile bool HoldToPeer;
    private readonly ConcurrentQueue<byte[]> _held = new();

    public async Task ReleaseToPeer()
    {
        HoldToPeer = false;
        while (_held.TryDequeue(out var datagram)) await DeliverToPeer(datagram);
    }

    /// <summary>Sees every datagram before the peer does (on the delivering thread).</summary>
    public Action<byte[]>? ToPeerObserver;

    /// <summary>True for a datagram of the peer's that the cluster must not receive (a lost message).</summary>
    public Func<byte[], bool>? DropToGrains;

    public async Task DeliverToPeer(byte[] datagram)
    {
        if (PeerSilent) return;
        ToPeerObserver?.Invoke(datagram);
        if (HoldToPeer)
        {
            _held.Enqueue(datagram);
            return;
        }
        List<SendDatagram> replies;
        lock (Lock)
        {
            Peer.Receive(datagram, Right, PeerOutput);
            replies = TakePeerOutput();
        }
        await SendToGrains(replies);
    }

    /// <summary>The peer's new actions since the last call: timers go to the scheduler, datagrams are returned.</summary>
    private List<SendDatagram> TakePeerOutput()
    {
        var fresh = PeerOutput.Actions.Skip(_peerSeen).ToList();
        _peerSeen = PeerOutput.Actions.Count;
        foreach (var a in fresh)
        {
            if (a is ArmTimer arm) _peerTimers[(arm.Sa, arm.Key)] = DataPlane.Now + arm.Due;
            else if (a is CancelTimer cancel) _peerTimers.Remove((cancel.Sa, cancel.Key));
        }
        return fresh.OfType<SendDatagram>().ToList();
    }

    /// <summary>Runs a step on the peer engine (acquire, traffic accounting, …) and delivers what it sends.</summary>
    public async Task OnPeer(Action<NegotiationEngine, NegotiationOutput> step)
    {
        List<SendDatagram> sends;
        lock (Lock)
        {
            step(Peer, PeerOutput);
            sends = TakePeerOutput();
        }
        await SendToGrains(sends);
    }

    private async Task SendToGrains(List<SendDatagram> sends)
    {
        foreach (var send in sends)
        {
            if (DropToGrains?.Invoke(send.Datagram) == true) continue;
            var cookie = BinaryPrimitives.ReadUInt64BigEndian(send.Datagram);
            var result = await GrainFor(cookie).Receive(new Datagram(send.Datagram, Left.Address.ToString(), Left.Port), 127);
            foreach (var l in result.DebugLines) GrainLines.Enqueue(l);
            foreach (var reply in result.Send) await DeliverToPeer(reply.Bytes);
        }
    }

    /// <summary>Answers from a grain's request (e.g. the TunnelGrain's acquire) go to the peer the same way.</summary>
    public async Task DeliverResult(IkeStepResult result)
    {
        foreach (var l in result.DebugLines) GrainLines.Enqueue(l);
        foreach (var d in result.Send) await DeliverToPeer(d.Bytes);
    }

    private async Task PumpGrainDatagrams()
    {
        try
        {
            await foreach (var bytes in Transmitter.ToPeer.Reader.ReadAllAsync(_stop.Token))
            {
                try { await DeliverToPeer(bytes); }
                catch (Exception e) when (!_stop.IsCancellationRequested) { Errors.Enqueue(e); }
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task RunPeerTimers()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(50, _stop.Token);
                if (PeerSilent) continue;
                List<SendDatagram> sends;
                lock (Lock)
                {
                    var now = DataPlane.Now;
                    var due = _peerTimers.Where(kv => kv.Value <= now).Select(kv => kv.Key).ToList();
                    foreach (var d in due)
                    {
                        _peerTimers.Remove(d);
                        Peer.TimerFired(d.Sa, d.Key, PeerOutput);
                    }
                    sends = TakePeerOutput();
                }
                try { await SendToGrains(sends); }
                catch (Exception e) when (!_stop.IsCancellationRequested) { Errors.Enqueue(e); }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>
    /// The traffic generator: every ~100 ms a packet from 192.168.2.x to 192.168.1.x must find a valid SA
    /// (one in the data plane for the proxy pair) on this side; the peer's side is checked the same way
    /// against its installed pairs. Returns the instants when none was there.
    /// </summary>
    public async Task<TrafficReport> GenerateTraffic(TimeSpan duration, Func<bool> peerHasSa)
    {
        var report = new TrafficReport();
        var end = DataPlane.Now + duration;
        while (DataPlane.Now < end)
        {
            report.Packets++;
            var ours = DataPlane.Inner.Sas.Where(s => s.Peer == Left.Address.ToString()).ToList();
            if (ours.Count == 0) report.Gaps.Add(DataPlane.Now);
            bool theirs;
            lock (Lock) theirs = peerHasSa();
            if (!theirs) report.PeerGaps.Add(DataPlane.Now);
            foreach (var s in ours) report.SpisSeen.Add(s.InboundSpi);
            await Task.Delay(100);
        }
        return report;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await Task.WhenAll(_loops); } catch (OperationCanceledException) { }
        await Cluster.DisposeAsync();
        Peer.Dispose();
    }
}

public sealed class TrafficReport
{
    public int Packets;
    public List<TimeSpan> Gaps { get; } = new();
    public List<TimeSpan> PeerGaps { get; } = new();
    public HashSet<uint> SpisSeen { get; } = new();
}
