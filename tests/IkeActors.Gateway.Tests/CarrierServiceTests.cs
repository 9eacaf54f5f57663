using IkeActors.Testing;
using System.Buffers.Binary;
using IkeActors.Esp;
using IkeActors.Gateway.Hosting;
using IkeActors.Gateway.Hosting.Cluster;
using IkeActors.Grains;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// Two nodes' carrier services on one real Redis (docs/cluster.md §3), each with its own ESP SA database: a peer's
/// pair moves between them without a renegotiation and without one outbound number sent twice under its key (RFC 4303
/// §3.3.3), the numbers read from the packets each node sends. A live carrier releases with its exact number; a
/// silent one (dead, or frozen) is passed over after the deadline and the new carrier starts above its reservation;
/// a frozen carrier that wakes up finds the record moved on and drops the pair before it could send a number the new
/// carrier uses. A flood of SPIs from random sources costs a bounded number of claims.
/// </summary>
public sealed class CarrierServiceTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const string PeerAddress = "198.51.100.2";
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _connection = null!;
    private readonly List<Node> _nodes = [];

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

    /// <summary>A bus that can stop answering (a frozen or dead node) while its node's state stays.</summary>
    private sealed class MutableBus(ICarrierBus inner) : ICarrierBus
    {
        public bool Silent;
        public Task Listen(string node, Func<string, long, string, Task<bool>> release, Func<string, Task> changed, Action<string, byte[]> forwarded,
            Func<string, IpsecSaRecord, Task<bool>> inboundAlone, Func<string, uint, Task> inboundWithdrawn) =>
            inner.Listen(node, async (p, e, c) => Silent ? await Never() : await release(p, e, c), p => Silent ? Task.CompletedTask : changed(p),
                (p, packet) => { if (!Silent) forwarded(p, packet); },
                async (p, sa) => Silent ? await Never() : await inboundAlone(p, sa), (p, spi) => Silent ? Task.CompletedTask : inboundWithdrawn(p, spi));
        private static async Task<bool> Never() { await Task.Delay(Timeout.Infinite); return false; }
        public Task<bool> RequestRelease(string node, string peer, long epoch, TimeSpan deadline) => inner.RequestRelease(node, peer, epoch, deadline);
        public Task Changed(string node, string peer) => inner.Changed(node, peer);
        public Task Forward(string node, string peer, byte[] innerPacket) => inner.Forward(node, peer, innerPacket);
        public Task<bool> InstallInbound(string node, string peer, IpsecSaRecord sa, TimeSpan deadline) => inner.InstallInbound(node, peer, sa, deadline);
        public Task WithdrawInbound(string node, string peer, uint inboundSpi) => inner.WithdrawInbound(node, peer, inboundSpi);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class CountingStore(ICarrierStore inner) : ICarrierStore
    {
        public int Reads;
        public Task<CarrierRecord?> Read(string peer) { Interlocked.Increment(ref Reads); return inner.Read(peer); }
        public Task<CarrierWrite> TryWrite(string peer, long expectedEpoch, CarrierRecord next) => inner.TryWrite(peer, expectedEpoch, next);
        public Task<bool> TryDelete(string peer, long epoch) => inner.TryDelete(peer, epoch);
    }

    private sealed class Node : IAsyncDisposable
    {
        public readonly EspSaDatabase Database = new();
        public readonly MutableBus Bus;
        public readonly CountingStore Store;
        public readonly CarrierService Carrier;
        public readonly List<(byte[] Esp, uint Source, int Port)> Replayed = [];
        private readonly Plane _plane;

        public Node(string name, IConnectionMultiplexer redis, int claimsPerSecond = CarrierService.DefaultClaimsPerSecond, TimeProvider? clock = null)
        {
            Bus = new MutableBus(new RedisCarrierBus(redis));
            Store = new CountingStore(new RedisCarrierStore(redis));
            _plane = new Plane(new EspCarrierDataPlane(Database, new FrontEndOptions(), null, () => null), Replayed, Database, () => Carrier!);
            Carrier = new CarrierService(name, Store, Bus, _plane, NullLogger<CarrierService>.Instance, claimsPerSecond, clock);
        }

        /// <summary>Replays as the data plane does: a packet whose SPI is not here goes back to the carrier service, on this thread.</summary>
        private sealed class Plane(ICarrierDataPlane inner, List<(byte[], uint, int)> replayed, EspSaDatabase database, Func<CarrierService> carrier) : ICarrierDataPlane
        {
            public EspSaPair? Install(IpsecSaRecord sa, uint resumeAfter, uint inboundTop, uint reservedUpTo) => inner.Install(sa, resumeAfter, inboundTop, reservedUpTo);
            public (uint LastSent, uint InboundTop)? Remove(uint inboundSpi, TimeSpan? handOverGrace = null) => inner.Remove(inboundSpi, handOverGrace);
            public void Replay(byte[] esp, uint source, int udpPort)
            {
                lock (replayed) replayed.Add((esp, source, udpPort));
                var spi = BinaryPrimitives.ReadUInt32BigEndian(esp);
                if (!database.TryGetInbound(spi, out _)) carrier().OnUnknownSpi(spi, source, udpPort, esp);
            }
            public void Send(byte[] innerPacket) { lock (Sent) Sent.Add(innerPacket); }
            public bool InstallInbound(IpsecSaRecord sa) => inner.InstallInbound(sa);
            public bool RemoveInbound(uint inboundSpi) => inner.RemoveInbound(inboundSpi);
            public readonly List<byte[]> Sent = [];
        }

        public List<byte[]> SentInside => _plane.Sent;

        public EspSaPair? Pair => Database.Pairs.FirstOrDefault();

        /// <summary>Sends <paramref name="count"/> packets on the pair: the sequence number of the last one that went (0: none).</summary>
        public uint Send(int count)
        {
            var inner = new byte[64];
            inner[0] = 0x45;
            var esp = new byte[256];
            uint last = 0;
            for (var i = 0; i < count; i++)
            {
                if (Pair is not { } pair || pair.Outbound.TryEncapsulate(inner, esp, out _) != EspEncapStatus.Ok) continue;
                last = BinaryPrimitives.ReadUInt32BigEndian(esp.AsSpan(4));
            }
            return last;
        }

        public async ValueTask DisposeAsync()
        {
            await Carrier.DisposeAsync();
            Database.Dispose();
        }
    }

    private async Task<Node> StartNode(string name, int claimsPerSecond = CarrierService.DefaultClaimsPerSecond)
    {
        var node = new Node(name, _connection, claimsPerSecond);
        _nodes.Add(node);
        await node.Carrier.StartAsync();
        return node;
    }

    private static IpsecSaRecord Sa(uint inboundSpi = 0x1000, string peer = PeerAddress) =>
        new(inboundSpi, inboundSpi + 1, new byte[16], new byte[20], new byte[16], new byte[20], "esp-aes esp-sha-hmac", 28800, null,
            "192.168.2.0/255.255.255.0/0/0", "192.168.11.0/255.255.255.0/0/0", peer, "DYN", 10)
        {
            Esp = new EspParameters(12, 128, 2, "203.0.113.10", peer, peer, 4500, 0xC0A80200, 0xC0A802FF, 0, 0, 0xC0A80B00, 0xC0A80BFF, 0, 0),
        };

    [Fact]
    public async Task A_dead_carriers_thousand_peers_are_all_taken_over_by_a_survivor_from_their_first_packets()
    {
        const int peers = 1000;
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, peers), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, _) => await a.Carrier.Installed(Sa(0x10000u + (uint)i * 2, $"198.51.{100 + i / 250}.{1 + i % 250}")));
        output.WriteLine($"{peers} pairs recorded and carried by node-a in {clock.ElapsedMilliseconds} ms");
        Assert.Equal(peers, a.Carrier.Carried.Count);
        a.Bus.Silent = true; // node-a dies

        // Every peer's next ESP packet reaches node-b: an unknown SPI, a claim each.
        clock.Restart();
        var esp = new byte[40];
        for (var i = 0; i < peers; i++)
        {
            var spi = 0x10000u + (uint)i * 2;
            BinaryPrimitives.WriteUInt32BigEndian(esp, spi);
            b.Carrier.OnUnknownSpi(spi, (198u << 24) | (51u << 16) | ((100u + (uint)i / 250) << 8) | (1u + (uint)i % 250), 4500, esp);
        }
        await WaitUntil(() => b.Carrier.Carried.Count == peers, TimeSpan.FromSeconds(60));
        output.WriteLine($"node-a dead: node-b carries all {peers} peers {clock.ElapsedMilliseconds} ms after their first packets " +
            $"(release deadline {CarrierService.ReleaseDeadline.TotalMilliseconds:0} ms, {CarrierService.DefaultClaimsPerSecond} claims/s)");
        lock (b.Replayed) Assert.Equal(peers, b.Replayed.Count); // each first packet waited for its claim and went on
    }

    [Fact]
    public async Task A_live_carrier_releases_the_peer_with_its_exact_number_and_the_next_one_goes_on_from_it()
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        await a.Carrier.Installed(Sa());
        Assert.Equal(10u, a.Send(10));

        Assert.True(await b.Carrier.Claim(PeerAddress));

        Assert.Null(a.Pair); // a carries nothing any more
        Assert.Equal(11u, b.Send(1)); // the very next number: nothing skipped, nothing repeated
        var record = (await new RedisCarrierStore(_connection).Read(PeerAddress))!;
        Assert.Equal(("node-b", 2L), (record.Node, record.Epoch));
        Assert.Equal(10u + EspSa.OutboundReservation, record.Pairs.Single().OutboundReserved);
        Assert.Equal([PeerAddress], b.Carrier.Carried);
        Assert.Empty(a.Carrier.Carried);
    }

    [Fact]
    public async Task A_silent_carrier_is_passed_over_after_the_deadline_and_the_next_one_starts_above_its_reservation()
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        await a.Carrier.Installed(Sa());
        Assert.Equal(10u, a.Send(10));
        a.Bus.Silent = true; // killed: no answer

        var started = DateTime.UtcNow;
        Assert.True(await b.Carrier.Claim(PeerAddress));
        Assert.True(DateTime.UtcNow - started >= CarrierService.ReleaseDeadline);

        Assert.Equal(EspSa.OutboundReservation + 1, b.Send(1));
    }

    [Fact]
    public async Task A_frozen_carrier_that_wakes_up_drops_the_peer_before_it_sends_a_number_the_new_carrier_uses()
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        await a.Carrier.Installed(Sa());
        a.Bus.Silent = true;
        Assert.True(await b.Carrier.Claim(PeerAddress));
        var bFirst = b.Send(1);

        // a wakes up and sends on: up to its reservation at most, and it asks for the next one half-way, which fails.
        var aLast = a.Send((int)EspSa.OutboundReservation + 100);
        await WaitUntil(() => a.Pair is null, TimeSpan.FromSeconds(10));

        Assert.True(aLast <= EspSa.OutboundReservation, $"a sent {aLast}");
        Assert.True(bFirst > aLast, $"b started at {bFirst}, a reached {aLast}");
    }

    [Fact]
    public async Task Inside_packets_that_reach_a_node_after_it_released_the_peer_go_to_the_new_carrier_and_only_in_the_grace()
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        await a.Carrier.Installed(Sa());
        Assert.True(await b.Carrier.Claim(PeerAddress));

        // The inside router still routes 192.168.11.0/24 to a for a moment: a's data plane finds no SA for it.
        var packet = new byte[40];
        packet[0] = 0x45;
        var toPeerNet = new IkeActors.Esp.FlowKey(0xC0A80205, 0xC0A80B07, 1, 0, 0);
        var elsewhere = new IkeActors.Esp.FlowKey(0xC0A80205, 0xC0A80C07, 1, 0, 0);
        Assert.False(a.Carrier.OnNoOutboundSa(elsewhere, packet)); // another network: not the peer's, left to the data plane
        Assert.True(a.Carrier.OnNoOutboundSa(toPeerNet, packet));
        await WaitUntil(() => { lock (b.SentInside) return b.SentInside.Count == 1; }, TimeSpan.FromSeconds(10));
        Assert.Equal(packet, b.SentInside[0]);
        Assert.Equal(1, a.Carrier.Forwarded);

        // Still handed on while the routes are withdrawn but in the kernel (ReverseRoutes.WithdrawDelay after the grace) ...
        await Task.Delay(CarrierService.HandOverGrace + TimeSpan.FromMilliseconds(200));
        Assert.True(a.Carrier.OnNoOutboundSa(toPeerNet, packet));
        // ... and not after.
        await Task.Delay(ReverseRoutes.WithdrawDelay);
        Assert.False(a.Carrier.OnNoOutboundSa(toPeerNet, packet));
        Assert.Equal(2, a.Carrier.Forwarded); // the grace is over: the inside router has b's route by now
    }

    [Fact]
    public async Task A_forward_message_with_garbage_changes_nothing()
    {
        var b = await StartNode("node-b");
        var subscriber = _connection.GetSubscriber();
        foreach (var junk in new[] { "forward|", "forward|1.2.3.4", "forward||xxxxxxxxxxxxxxxxxxxxxxxxx", "forward|" + new string('9', 40) + "|" + new string('x', 40), "release|a", "changed",
                     "inbound|", "inbound|id|node-a|" + PeerAddress + "|{", "inbound|id|node-a|" + PeerAddress + "|{\"inboundSpi\":1}", "inbound|" + new string('x', 200),
                     "withdraw-inbound|" + PeerAddress + "|zz", "withdraw-inbound|" + PeerAddress })
            await subscriber.PublishAsync(StackExchange.Redis.RedisChannel.Literal("ikeactors:carrier-bus:node-b"), junk);
        await Task.Delay(300);
        lock (b.SentInside) Assert.Empty(b.SentInside);
        Assert.Empty(b.Carrier.Carried);
    }

    [Fact]
    public async Task Packets_that_arrive_during_a_claim_are_replayed_after_it()
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        await a.Carrier.Installed(Sa());
        var esp = new byte[40];
        BinaryPrimitives.WriteUInt32BigEndian(esp, 0x1000);

        b.Carrier.OnUnknownSpi(0x1000, 0xC6336402, 4500, esp);
        await WaitUntil(() => { lock (b.Replayed) return b.Replayed.Count == 1; }, TimeSpan.FromSeconds(10));

        Assert.Equal(esp, b.Replayed[0].Esp);
        Assert.Equal((0xC6336402u, 4500), (b.Replayed[0].Source, b.Replayed[0].Port));
        Assert.NotNull(b.Pair);
    }

    [Fact]
    public async Task A_flood_of_spis_from_random_sources_costs_a_bounded_number_of_store_reads_and_no_state()
    {
        var b = await StartNode("node-b", claimsPerSecond: 20);
        var esp = new byte[40];
        var random = new Random(7);
        var started = DateTime.UtcNow;
        for (var i = 0; i < 20_000; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(esp, (uint)random.Next());
            b.Carrier.OnUnknownSpi(BinaryPrimitives.ReadUInt32BigEndian(esp), (uint)random.Next(), 4500, esp);
        }
        var seconds = (DateTime.UtcNow - started).TotalSeconds;
        await Task.Delay(500);

        Assert.True(b.Store.Reads <= 20 + 20 * seconds + 1, $"{b.Store.Reads} reads in {seconds:0.00} s");
        Assert.Empty(b.Carrier.Carried);
        Assert.Empty(b.Database.Pairs);
    }

    /// <summary>
    /// A packet of a carried peer with an SPI no pair has (stale, or forged from the peer's address) is claimed once:
    /// the claim finds the peer carried here, the packet is replayed, still finds no SA, and is dropped; it does not
    /// start claim after claim (it did: ~1,200 store reads a second for one packet).
    /// </summary>
    [Fact]
    public async Task A_carried_peers_packet_with_an_unknown_spi_costs_one_claim_not_one_after_another()
    {
        var a = await StartNode("node-a");
        await a.Carrier.Installed(Sa());
        var reads = a.Store.Reads;
        var esp = new byte[40];
        BinaryPrimitives.WriteUInt32BigEndian(esp, 0x9999);

        a.Carrier.OnUnknownSpi(0x9999, 0xC6336402, 4500, esp);
        await WaitUntil(() => { lock (a.Replayed) return a.Replayed.Count >= 1; }, TimeSpan.FromSeconds(10));
        await Task.Delay(500);
        Assert.InRange(a.Store.Reads - reads, 1, 2);
        lock (a.Replayed) Assert.Single(a.Replayed);
        Assert.Equal([PeerAddress], a.Carrier.Carried);
    }

    /// <summary>
    /// An idle tunnel sends no ESP after its carrier dies, only IKE (DPD): its IKE datagrams reaching a survivor claim
    /// it too (ClusterScaleTests found a dead node's 251 idle peers never taken over). A peer carried here costs nothing.
    /// </summary>
    [Fact]
    public async Task Ike_datagrams_of_a_dead_carriers_idle_peers_claim_them_and_a_carried_peer_costs_no_read()
    {
        const int peers = 200;
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        for (var i = 0; i < peers; i++) await a.Carrier.Installed(Sa(0x20000u + (uint)i * 2, $"198.51.101.{1 + i}"));
        a.Bus.Silent = true; // node-a dies

        for (var i = 0; i < peers; i++) b.Carrier.OnIkeDatagram((198u << 24) | (51u << 16) | (101u << 8) | (1u + (uint)i));
        await WaitUntil(() => b.Carrier.Carried.Count == peers, TimeSpan.FromSeconds(30));

        var reads = b.Store.Reads;
        for (var i = 0; i < 1000; i++) b.Carrier.OnIkeDatagram((198u << 24) | (51u << 16) | (101u << 8) | (1u + (uint)(i % peers)));
        await Task.Delay(200);
        Assert.Equal(reads, b.Store.Reads);
    }

    [Fact]
    public async Task A_flood_of_ike_datagrams_from_random_sources_costs_a_bounded_number_of_store_reads_and_no_state()
    {
        var b = await StartNode("node-b", claimsPerSecond: 20);
        var random = new Random(11);
        var started = DateTime.UtcNow;
        for (var i = 0; i < 20_000; i++) b.Carrier.OnIkeDatagram((uint)random.Next());
        var seconds = (DateTime.UtcNow - started).TotalSeconds;
        await Task.Delay(500);
        Assert.True(b.Store.Reads <= 20 + 20 * seconds + 1, $"{b.Store.Reads} reads in {seconds:0.00} s");
        Assert.Empty(b.Carrier.Carried);
    }

    [Fact]
    public async Task A_pair_negotiated_on_a_node_that_does_not_carry_the_peer_is_installed_where_it_is_carried()
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        await a.Carrier.Installed(Sa(0x1000));
        Assert.True(await b.Carrier.Claim(PeerAddress));

        await a.Carrier.Installed(Sa(0x2000)); // a rekey negotiated by the IKE SA grain on node a
        await WaitUntil(() => b.Database.Pairs.Count == 2, TimeSpan.FromSeconds(10));
        Assert.Empty(a.Database.Pairs);

        await a.Carrier.Removed(PeerAddress, 0x1000); // the old pair deleted
        await WaitUntil(() => b.Database.Pairs.Count == 1, TimeSpan.FromSeconds(10));
        Assert.True(b.Database.TryGetInbound(0x2000, out _));
        Assert.Equal(1u, b.Send(1)); // the new pair's first number on its carrier
    }

    /// <summary>A Quick Mode responder's inbound SA alone, as its IPsec SA grain hands it out at QM2: no outbound keys yet.</summary>
    private static IpsecSaRecord InboundAlone(uint inboundSpi) => Sa(inboundSpi) with { OutboundEncryptionKey = [], OutboundIntegrityKey = [] };

    /// <summary>An ESP packet the peer sends on its new outbound SA (our inbound SPI <paramref name="spi"/>, <see cref="Sa"/>'s keys).</summary>
    private static byte[] FromPeer(uint spi)
    {
        using var peerOutbound = new EspSa(spi, EspDirection.Outbound, EspCipher.Aes128Cbc, new byte[16], EspIntegrity.HmacSha1_96, new byte[20]);
        var inner = new byte[40];
        inner[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(inner.AsSpan(2), 40);
        inner[9] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(inner.AsSpan(12), 0xC0A80B05); // 192.168.11.5 (the peer's side) ...
        BinaryPrimitives.WriteUInt32BigEndian(inner.AsSpan(16), 0xC0A80205); // ... to 192.168.2.5 (ours)
        var esp = new byte[256];
        Assert.Equal(EspEncapStatus.Ok, peerOutbound.TryEncapsulate(inner, esp, out var written));
        return esp[..written];
    }

    private static EspDecapStatus Receive(EspSaPair on, byte[] esp) => on.Inbound.TryDecapsulate(esp.ToArray(), out _, out _);

    /// <summary>
    /// The cluster as Quick Mode responder during a rekey, its IPsec SA grain on a node that does not carry the peer:
    /// the new inbound SA goes alone into the carrier's data plane at QM2 (ESP that overtakes QM3 is received there),
    /// and the pair at QM3 completes that very SA, its replay window going on.
    /// </summary>
    [Fact]
    public async Task An_inbound_SA_alone_goes_into_the_carriers_data_plane_at_QM2_and_its_pair_completes_it_at_QM3()
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        await a.Carrier.Installed(Sa(0x1000)); // a carries the peer

        await b.Carrier.InboundInstalled(InboundAlone(0x2000)); // QM2, the grain on b: returns once it is in a's data plane
        Assert.True(a.Database.TryGetInbound(0x2000, out var alone));
        Assert.True(alone.IsInboundOnly);
        Assert.False(b.Database.TryGetInbound(0x2000, out _));
        Assert.Single(a.Database.Pairs); // the old pair only: nothing new sends
        Assert.Single((await new RedisCarrierStore(_connection).Read(PeerAddress))!.Pairs); // not in the record
        var overtaking = FromPeer(0x2000); // the initiator sends on the new SA before its QM3 arrives
        Assert.Equal(EspDecapStatus.Ok, Receive(alone, overtaking));

        await b.Carrier.Installed(Sa(0x2000)); // QM3
        await WaitUntil(() => a.Database.Pairs.Count == 2, TimeSpan.FromSeconds(10));
        Assert.True(a.Database.TryGetInbound(0x2000, out var pair));
        Assert.False(pair.IsInboundOnly);
        Assert.Same(alone.Inbound, pair.Inbound); // the same SA: what it received before QM3 is not accepted again
        Assert.Equal(EspDecapStatus.Replay, Receive(pair, overtaking));
        Assert.Equal(1L, pair.Inbound.Counters.Snapshot().Decaps);
        Assert.Empty(b.Database.Pairs);
        Assert.False(b.Database.TryGetInbound(0x2000, out _));
        Assert.Equal(2, (await new RedisCarrierStore(_connection).Read(PeerAddress))!.Pairs.Count);

        // The carrier's bookkeeping is the completed pair's: handed over, its exact window and counts go with it.
        Assert.True(await b.Carrier.Claim(PeerAddress));
        var moved = (await new RedisCarrierStore(_connection).Read(PeerAddress))!.Pairs.Single(p => p.Sa.InboundSpi == 0x2000);
        Assert.Equal((1u, 1L), (moved.InboundMark, moved.Counters!.Decaps));
        Assert.True(b.Database.TryGetInbound(0x2000, out var there));
        Assert.Equal(EspDecapStatus.Replay, Receive(there, overtaking));
    }

    [Fact]
    public async Task An_inbound_SA_alone_whose_Quick_Mode_failed_is_withdrawn_from_the_carrier_and_the_pair_there_stays()
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        await a.Carrier.Installed(Sa(0x1000));
        await b.Carrier.InboundInstalled(InboundAlone(0x2000));
        Assert.True(a.Database.TryGetInbound(0x2000, out var alone));

        await b.Carrier.Removed(PeerAddress, 0x2000); // InboundSaDeleted: no QM3 came
        await WaitUntil(() => !a.Database.TryGetInbound(0x2000, out _), TimeSpan.FromSeconds(10));
        Assert.True(alone.Inbound.IsDisposed); // keys zeroed
        Assert.True(a.Database.TryGetInbound(0x1000, out var old) && !old.IsInboundOnly);
        Assert.Equal(1u, a.Send(1)); // the old pair goes on
        Assert.Single((await new RedisCarrierStore(_connection).Read(PeerAddress))!.Pairs);
    }

    /// <summary>A peer nobody carries yet (its first Quick Mode): the inbound SA alone goes into the negotiating node's data plane, as its pair will.</summary>
    [Fact]
    public async Task A_first_Quick_Modes_inbound_SA_alone_goes_in_where_it_is_negotiated_and_is_completed_or_withdrawn_there()
    {
        var a = await StartNode("node-a");
        await a.Carrier.InboundInstalled(InboundAlone(0x1000));
        Assert.True(a.Database.TryGetInbound(0x1000, out var alone) && alone.IsInboundOnly);
        Assert.Null(await new RedisCarrierStore(_connection).Read(PeerAddress));
        await a.Carrier.InboundInstalled(InboundAlone(0x1000)); // announced again (a restored grain): nothing changes
        Assert.True(a.Database.TryGetInbound(0x1000, out var still) && ReferenceEquals(alone, still));
        // An IKE datagram of the peer finds no record (a claim, the negative cache) and leaves the SA alone where it is.
        a.Carrier.OnIkeDatagram(0xC6336402);
        await Task.Delay(200);
        Assert.True(a.Database.TryGetInbound(0x1000, out _));

        await a.Carrier.Installed(Sa(0x1000));
        Assert.True(a.Database.TryGetInbound(0x1000, out var pair) && !pair.IsInboundOnly);
        Assert.Same(alone.Inbound, pair.Inbound);
        Assert.Equal([PeerAddress], a.Carrier.Carried);

        await a.Carrier.InboundInstalled(InboundAlone(0x3000)); // a rekey that fails
        Assert.True(a.Database.TryGetInbound(0x3000, out var failing) && failing.IsInboundOnly);
        await a.Carrier.Removed(PeerAddress, 0x3000);
        Assert.False(a.Database.TryGetInbound(0x3000, out _));
        Assert.Same(pair, Assert.Single(a.Database.Pairs));
    }

    /// <summary>
    /// The inbound SA alone does not move with the peer: the carrier that releases it takes it out, and the pair at QM3
    /// goes to the new carrier through the record (the withdrawal sent to the old one finds nothing).
    /// </summary>
    [Fact]
    public async Task A_carrier_that_releases_the_peer_takes_its_inbound_SA_alone_out_and_the_pair_goes_to_the_new_carrier()
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        var c = await StartNode("node-c");
        await a.Carrier.Installed(Sa(0x1000));
        await b.Carrier.InboundInstalled(InboundAlone(0x2000));
        Assert.True(a.Database.TryGetInbound(0x2000, out var alone) && alone.IsInboundOnly);

        Assert.True(await c.Carrier.Claim(PeerAddress));
        Assert.False(a.Database.TryGetInbound(0x2000, out _));
        Assert.True(alone.Inbound.IsDisposed);
        Assert.False(c.Database.TryGetInbound(0x2000, out _)); // not carried over: not in the record

        await b.Carrier.Installed(Sa(0x2000));
        await WaitUntil(() => c.Database.Pairs.Count == 2, TimeSpan.FromSeconds(10));
        Assert.Empty(a.Database.Pairs);
        Assert.False(a.Database.TryGetInbound(0x2000, out _));
    }

    /// <summary>The peer's last pair went between QM2 and QM3 (its DELETE overtook a lost QM3): the pair follows its inbound SA alone.</summary>
    [Fact]
    public async Task A_pair_whose_peer_lost_its_record_since_QM2_goes_where_its_inbound_SA_alone_is()
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        await a.Carrier.Installed(Sa(0x1000));
        await b.Carrier.InboundInstalled(InboundAlone(0x2000));
        Assert.True(a.Database.TryGetInbound(0x2000, out var alone));

        await b.Carrier.Removed(PeerAddress, 0x1000); // the record goes with the last pair
        await WaitUntil(() => a.Database.Pairs.Count == 0, TimeSpan.FromSeconds(10));
        Assert.Null(await new RedisCarrierStore(_connection).Read(PeerAddress));
        Assert.True(a.Database.TryGetInbound(0x2000, out var still) && ReferenceEquals(alone, still)); // it waits for its pair

        await b.Carrier.Installed(Sa(0x2000));
        await WaitUntil(() => a.Database.Pairs.Count == 1, TimeSpan.FromSeconds(10));
        Assert.Same(alone.Inbound, a.Pair!.Inbound);
        Assert.Equal("node-a", (await new RedisCarrierStore(_connection).Read(PeerAddress))!.Node);
        Assert.Empty(b.Database.Pairs);
        Assert.Equal([PeerAddress], a.Carrier.Carried);
    }

    [Fact]
    public async Task A_node_that_does_not_carry_the_peer_refuses_an_inbound_SA_alone()
    {
        var a = await StartNode("node-a");
        var b = await StartNode("node-b");
        await a.Carrier.Installed(Sa(0x1000));
        a.Bus.Silent = true; // a is dead or frozen: no answer within the deadline, QM2 goes on without it
        var started = DateTime.UtcNow;
        await b.Carrier.InboundInstalled(InboundAlone(0x2000));
        Assert.True(DateTime.UtcNow - started < CarrierService.InboundDeadline + TimeSpan.FromSeconds(1));
        Assert.False(a.Database.TryGetInbound(0x2000, out _));
        Assert.False(b.Database.TryGetInbound(0x2000, out _));

        // A node that does not carry the peer answers no.
        Assert.False(await b.Bus.InstallInbound("node-b", PeerAddress, InboundAlone(0x2000), TimeSpan.FromSeconds(5)));
        Assert.False(b.Database.TryGetInbound(0x2000, out _));
    }

    /// <summary>An inbound SA alone that neither its pair nor its withdrawal reaches (a message lost) is taken out after <see cref="CarrierService.InboundAloneFor"/>.</summary>
    [Fact]
    public async Task An_inbound_SA_alone_left_without_pair_or_withdrawal_is_taken_out_after_its_time()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var node = new Node("node-a", _connection, clock: clock);
        _nodes.Add(node);
        await node.Carrier.StartAsync();
        await node.Carrier.InboundInstalled(InboundAlone(0x1000));
        Assert.True(node.Database.TryGetInbound(0x1000, out var alone));

        clock.Advance(CarrierService.InboundAloneFor - TimeSpan.FromSeconds(10));
        await Task.Delay(300);
        Assert.True(node.Database.TryGetInbound(0x1000, out _));
        clock.Advance(TimeSpan.FromSeconds(10) + CarrierService.CheckpointInterval * 2);
        await WaitUntil(() => !node.Database.TryGetInbound(0x1000, out _), TimeSpan.FromSeconds(10));
        Assert.True(alone.Inbound.IsDisposed);
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var until = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (!condition() && Environment.TickCount64 < until) await Task.Delay(20);
        Assert.True(condition(), "condition not met in time");
    }
}
