using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Esp;
using IkeActors.Gateway.Hosting;
using IkeActors.Gateway.Hosting.Cluster;
using IkeActors.Grains;
using IkeActors.Grains.Tests;
using IkeActors.Negotiation;
using IkeActors.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// The cluster as Quick Mode responder with the cluster's installer (docs/cluster.md §3): two silos, each with its own
/// node's carrier service and ESP SA database on one real Redis, negotiating with a peer engine (the grains' RekeyLab).
/// The responder's new inbound SA is in the data plane of the node that carries the peer when QM2 reaches the peer (the
/// peer may send on it before its QM3 arrives: RFC 2409 §5.5, strongSwan does), and only there; the pair at QM3
/// completes that same SA; a Quick Mode that ends without QM3 has it withdrawn. A third node without a silo carries the
/// peer for the rekeys, so the grains always reach its data plane over the carrier bus.
/// </summary>
public sealed class CarrierInboundSaTests : IAsyncLifetime
{
    private const byte QuickModeExchange = 32; // RFC 2408 §3.1 exchange type, header octet 18
    private const string PeerAddress = "10.0.0.1";

    private RedisServer _redis = null!;
    private ConnectionMultiplexer _connection = null!;
    private readonly List<Node> _nodes = [];
    private readonly ConcurrentQueue<Node> _forSilos = new();

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.Start();
        _connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_redis.Port}");
    }

    public async Task DisposeAsync()
    {
        foreach (var n in _nodes) await n.DisposeAsync();
        await _connection.DisposeAsync();
        await _redis.DisposeAsync();
    }

    /// <summary>A node's carrier service and data plane; the data plane's inbound-alone installs and removals in order.</summary>
    private sealed class Node : IAsyncDisposable
    {
        public readonly string Name;
        public readonly EspSaDatabase Database = new();
        public readonly CarrierService Carrier;
        public readonly ConcurrentQueue<(string Op, uint Spi)> Events = new();

        public Node(string name, IConnectionMultiplexer redis)
        {
            Name = name;
            Carrier = new CarrierService(name, new RedisCarrierStore(redis), new RedisCarrierBus(redis),
                new Plane(new EspCarrierDataPlane(Database, new FrontEndOptions(), null, () => null), Events), NullLogger<CarrierService>.Instance);
        }

        private sealed class Plane(ICarrierDataPlane inner, ConcurrentQueue<(string, uint)> events) : ICarrierDataPlane
        {
            public EspSaPair? Install(IpsecSaRecord sa, uint resumeAfter, uint inboundTop, uint reservedUpTo)
            {
                events.Enqueue(("add", sa.InboundSpi));
                return inner.Install(sa, resumeAfter, inboundTop, reservedUpTo);
            }

            public (uint LastSent, uint InboundTop)? Remove(uint inboundSpi, TimeSpan? handOverGrace = null) => inner.Remove(inboundSpi, handOverGrace);
            public void Replay(byte[] esp, uint source, int udpPort) { }
            public void Send(byte[] innerPacket) { }

            public bool InstallInbound(IpsecSaRecord sa)
            {
                events.Enqueue(("add-inbound", sa.InboundSpi));
                return inner.InstallInbound(sa);
            }

            public bool RemoveInbound(uint inboundSpi)
            {
                events.Enqueue(("remove-inbound", inboundSpi));
                return inner.RemoveInbound(inboundSpi);
            }
        }

        /// <summary>The inbound SA with this SPI when it is installed alone here.</summary>
        public EspSaPair? Alone(uint spi) => Database.TryGetInbound(spi, out var p) && p.IsInboundOnly ? p : null;

        /// <summary>The whole pair with this inbound SPI here.</summary>
        public EspSaPair? Pair(uint spi) => Database.TryGetInbound(spi, out var p) && !p.IsInboundOnly ? p : null;

        public bool Has(uint spi) => Database.TryGetInbound(spi, out _);

        public int InboundAloneInstalls => Events.Count(e => e.Op == "add-inbound");

        public async ValueTask DisposeAsync()
        {
            await Carrier.DisposeAsync();
            Database.Dispose();
        }
    }

    private async Task<Node> StartNode(string name)
    {
        var node = new Node(name, _connection);
        _nodes.Add(node);
        await node.Carrier.StartAsync();
        return node;
    }

    /// <summary>Nodes a and b, one per silo (each silo's IPsec SA grains install through its node's carrier service), and the lab.</summary>
    private async Task<(RekeyLab Lab, Node A, Node B)> StartCluster(NegotiationSettings settings)
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        _forSilos.Enqueue(a);
        _forSilos.Enqueue(b);
        var lab = await RekeyLab.Start(RekeyLab.ConfigText("asa2-responder.cfg"), RekeyLab.ConfigText("asa1-initiator.cfg"), settings,
            configureSilo: services => services.AddSingleton<IIpsecSaInstaller>(_ =>
                new CarrierIpsecSaInstaller((_forSilos.TryDequeue(out var n) ? n : throw new InvalidOperationException("a third silo")).Carrier)));
        return (lab, a, b);
    }

    /// <summary>QM2 again after 500 ms, up to four times: time enough to look before QM3 is let through.</summary>
    private static readonly NegotiationSettings Patient = new() { RetransmitInterval = TimeSpan.FromMilliseconds(500), RetransmitLimit = 4 };

    /// <summary>QM2 again after 200 ms, then 400 ms, then the exchange gives up (about 1.4 s after QM2).</summary>
    private static readonly NegotiationSettings Short = new() { RetransmitInterval = TimeSpan.FromMilliseconds(200), RetransmitLimit = 2 };

    private static List<IpsecSaPair> PeerPairs(RekeyLab lab)
    {
        lock (lab.Lock) return [.. lab.PeerOutput.OfType<InstallIpsecSa>().Select(i => i.Pair)];
    }

    /// <summary>Holds every QM3 the peer sends once it has installed more than <paramref name="pairsBefore"/> pairs, while <paramref name="hold"/> says so.</summary>
    private static void HoldQm3(RekeyLab lab, int pairsBefore, Func<bool> hold) =>
        lab.DropToGrains = d => hold() && d.Length > 18 && d[18] == QuickModeExchange && PeerPairs(lab).Count > pairsBefore;

    /// <summary>Counts, on the delivering thread, what <paramref name="look"/> says when the first Quick Mode datagram (QM2) of the cluster reaches the peer.</summary>
    private static Func<T?> AtFirstQm2<T>(RekeyLab lab, Func<T> look) where T : struct
    {
        T? seen = null;
        lab.ToPeerObserver = d =>
        {
            if (d.Length > 18 && d[18] == QuickModeExchange && seen is null) seen = look();
        };
        return () => seen;
    }

    /// <summary>The peer sends on its new outbound SA (its keys from its own KEYMAT) before the cluster has its QM3.</summary>
    private static byte[] FromPeer(IpsecSaPair peer)
    {
        Assert.True(peer.Transform is { Cipher: IkeActors.Protocol.EspTransformId.Aes, KeyLengthBits: 128 or 0, Integrity: IkeActors.Protocol.IpsecAuthAlgorithm.HmacSha });
        using var outbound = new EspSa(peer.Outbound.Spi, EspDirection.Outbound, EspCipher.Aes128Cbc, peer.Outbound.EncryptionKey,
            EspIntegrity.HmacSha1_96, peer.Outbound.IntegrityKey);
        var inner = new byte[40];
        inner[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(inner.AsSpan(2), 40);
        inner[9] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(inner.AsSpan(12), 0xC0A8010A); // 192.168.1.10 (the peer's side) ...
        BinaryPrimitives.WriteUInt32BigEndian(inner.AsSpan(16), 0xC0A8020A); // ... to 192.168.2.10 (ours)
        var esp = new byte[256];
        Assert.Equal(EspEncapStatus.Ok, outbound.TryEncapsulate(inner, esp, out var written));
        return esp[..written];
    }

    private static async Task WaitFor(Func<bool> condition, TimeSpan timeout, string what)
    {
        var end = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > end) throw new TimeoutException("timed out waiting for " + what);
            await Task.Delay(20);
        }
    }

    private static EspDecapStatus Receive(EspSaPair on, byte[] esp) => on.Inbound.TryDecapsulate(esp.ToArray(), out _, out _);

    private static Task PeerStarts(RekeyLab lab) =>
        lab.OnPeer((e, o) => e.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), o));

    /// <summary>The peer rekeys its pair (it initiated it): its Phase 2 rekey timer fired now.</summary>
    private static Task PeerRekeys(RekeyLab lab)
    {
        ArmTimer arm;
        lock (lab.Lock) arm = lab.PeerOutput.OfType<ArmTimer>().Last(t => t.Key.Kind == TimerKind.Phase2Rekey);
        return lab.OnPeer((e, o) => e.TimerFired(arm.Sa, arm.Key, o));
    }

    /// <summary>The tunnel up with its first pair, then carried by <paramref name="carrier"/> (a node without a silo).</summary>
    private async Task<uint> UpAndCarriedBy(RekeyLab lab, Node carrier, params Node[] silos)
    {
        await PeerStarts(lab);
        await WaitFor(() => PeerPairs(lab).Count == 1, TimeSpan.FromSeconds(10), "the first pair at the peer");
        var first = PeerPairs(lab)[0].Outbound.Spi; // our inbound SPI
        await WaitFor(() => silos.Any(n => n.Pair(first) is not null), TimeSpan.FromSeconds(10), "the first pair at the cluster");
        Assert.True(await carrier.Carrier.Claim(PeerAddress));
        Assert.NotNull(carrier.Pair(first));
        Assert.All(silos, n => Assert.False(n.Has(first)));
        return first;
    }

    [Fact]
    public async Task A_first_Quick_Modes_inbound_SA_is_in_the_negotiating_nodes_data_plane_before_QM2_reaches_the_peer_and_QM3_completes_it()
    {
        var (lab, a, b) = await StartCluster(Patient);
        await using var _ = lab;
        var held = true;
        HoldQm3(lab, 0, () => held);
        var atQm2 = AtFirstQm2(lab, () => (a.InboundAloneInstalls, b.InboundAloneInstalls));
        await PeerStarts(lab);

        // Nobody carries the peer yet: the inbound SA went in alone where its IPsec SA grain is (its pair will go there too).
        Assert.True(atQm2() is (1, 0) or (0, 1), $"inbound SAs alone installed when QM2 reached the peer: {atQm2()}");
        var (here, other) = atQm2() is (1, 0) ? (a, b) : (b, a);
        var peer = Assert.Single(PeerPairs(lab));
        var alone = here.Alone(peer.Outbound.Spi);
        Assert.NotNull(alone);
        Assert.False(other.Has(peer.Outbound.Spi));
        Assert.Empty(here.Database.Pairs); // it sends nothing yet
        var overtaking = FromPeer(peer);
        Assert.Equal(EspDecapStatus.Ok, Receive(alone, overtaking)); // the peer's ESP before its QM3 arrives: received

        held = false; // the cluster resends QM2, the peer repeats its QM3
        await WaitFor(() => here.Pair(peer.Outbound.Spi) is not null, TimeSpan.FromSeconds(10), "the pair at QM3");
        var pair = here.Pair(peer.Outbound.Spi)!;
        Assert.Same(alone.Inbound, pair.Inbound);
        Assert.Equal(peer.Inbound.Spi, pair.Outbound.Spi);
        Assert.Equal(EspDecapStatus.Replay, Receive(pair, overtaking)); // its replay window went on
        Assert.False(other.Has(peer.Outbound.Spi));
        Assert.Equal(here.Name, (await new RedisCarrierStore(_connection).Read(PeerAddress))!.Node);
        Assert.Equal([("add-inbound", peer.Outbound.Spi), ("add", peer.Outbound.Spi)], here.Events.Where(e => e.Spi == peer.Outbound.Spi));
        Assert.Empty(lab.Errors);
    }

    [Fact]
    public async Task A_rekey_negotiated_on_nodes_that_do_not_carry_the_peer_puts_its_inbound_SA_alone_in_the_carriers_data_plane_before_QM2()
    {
        var (lab, a, b) = await StartCluster(Patient);
        await using var _ = lab;
        var c = await StartNode("node-c");
        await UpAndCarriedBy(lab, c, a, b); // (the peer deletes that pair as soon as its rekey's QM3 is out)

        var held = true;
        HoldQm3(lab, 1, () => held);
        var silosBefore = a.InboundAloneInstalls + b.InboundAloneInstalls; // the first Quick Mode's, on its grain's node
        var atQm2 = AtFirstQm2(lab, () => (Silos: a.InboundAloneInstalls + b.InboundAloneInstalls, Carrier: c.InboundAloneInstalls));
        await PeerRekeys(lab);

        await WaitFor(() => PeerPairs(lab).Count == 2, TimeSpan.FromSeconds(10), "the peer's QM2");
        Assert.Equal((silosBefore, 1), atQm2()); // the rekey's went to c, and nowhere else
        var peer = PeerPairs(lab)[1];
        var alone = c.Alone(peer.Outbound.Spi);
        Assert.NotNull(alone);
        Assert.False(a.Has(peer.Outbound.Spi) || b.Has(peer.Outbound.Spi));
        var overtaking = FromPeer(peer);
        Assert.Equal(EspDecapStatus.Ok, Receive(alone, overtaking));

        // The peer deleted its old pair once its QM3 was out, and that DELETE got through: the record is empty when the
        // QM3 finally does, and the pair follows its inbound SA alone to c (the node that carried the peer at QM2).
        held = false;
        await WaitFor(() => c.Pair(peer.Outbound.Spi) is not null, TimeSpan.FromSeconds(10), "the rekeyed pair on its carrier");
        var pair = c.Pair(peer.Outbound.Spi)!;
        Assert.Same(alone.Inbound, pair.Inbound);
        Assert.Equal(EspDecapStatus.Replay, Receive(pair, overtaking));
        Assert.False(a.Has(peer.Outbound.Spi) || b.Has(peer.Outbound.Spi));
        Assert.Contains((await new RedisCarrierStore(_connection).Read(PeerAddress))!.Pairs, p => p.Sa.InboundSpi == peer.Outbound.Spi);
        Assert.Empty(lab.Errors);
    }

    [Fact]
    public async Task A_rekey_whose_QM3_never_comes_has_its_inbound_SA_alone_withdrawn_from_the_carrier()
    {
        var (lab, a, b) = await StartCluster(Short);
        await using var _ = lab;
        var c = await StartNode("node-c");
        await UpAndCarriedBy(lab, c, a, b);

        HoldQm3(lab, 1, () => true); // every QM3 of the rekey lost
        var atQm2 = AtFirstQm2(lab, () => c.InboundAloneInstalls);
        await PeerRekeys(lab);
        await WaitFor(() => PeerPairs(lab).Count == 2, TimeSpan.FromSeconds(10), "the peer's QM2");
        Assert.Equal(1, atQm2());
        var spi = PeerPairs(lab)[1].Outbound.Spi;

        // InboundSaDeleted once the cluster's retransmissions of QM2 run out: out of c's data plane, keys zeroed.
        await WaitFor(() => c.Events.Contains(("remove-inbound", spi)) && !c.Has(spi), TimeSpan.FromSeconds(10), "the inbound SA withdrawn");
        Assert.DoesNotContain(("add", spi), c.Events);
        Assert.False(a.Has(spi) || b.Has(spi));
        Assert.DoesNotContain((await new RedisCarrierStore(_connection).Read(PeerAddress))?.Pairs ?? [], p => p.Sa.InboundSpi == spi);
        Assert.Empty(lab.Errors);
    }
}
