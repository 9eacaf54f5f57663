using System.Collections.Concurrent;
using IkeActors.Config.Model;
using IkeActors.Esp;
using IkeActors.Grains;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting.Cluster;

/// <summary>What the carrier service asks of a node's ESP data plane.</summary>
public interface ICarrierDataPlane
{
    /// <summary>
    /// Installs <paramref name="sa"/>: its outbound numbers go on after <paramref name="resumeAfter"/> and may reach
    /// <paramref name="reservedUpTo"/>, its inbound window starts at <paramref name="inboundTop"/>. Null when it cannot
    /// carry it (no ESP parameters, an algorithm it lacks).
    /// </summary>
    EspSaPair? Install(IpsecSaRecord sa, uint resumeAfter, uint inboundTop, uint reservedUpTo);

    /// <summary>
    /// Removes the pair (keys zeroed): the last number it sent and its window's right edge; null when it was not here.
    /// With <paramref name="handOverGrace"/> (released to another node) its inside routes stay that long (still announced).
    /// </summary>
    (uint LastSent, uint InboundTop)? Remove(uint inboundSpi, TimeSpan? handOverGrace = null);

    /// <summary>An ESP packet that waited for a claim, now that the pair is here (UDP port 0: raw ESP).</summary>
    void Replay(byte[] esp, uint source, int udpPort);

    /// <summary>An inside packet handed over by the node that carried the peer before: out through the pair here.</summary>
    void Send(byte[] innerPacket);

    /// <summary>
    /// A Quick Mode responder's new inbound SA alone (no outbound SA yet, <see cref="EspSaDatabase.AddInbound"/>): it
    /// receives, sends nothing; a later <see cref="Install"/> of its pair completes it. True when an inbound SA alone
    /// with its SPI is here afterwards (installed now, or announced again); false when it cannot be built or a whole
    /// pair has the SPI already.
    /// </summary>
    bool InstallInbound(IpsecSaRecord sa);

    /// <summary>Removes the inbound SA alone with this SPI (keys zeroed); a whole pair with the SPI stays. True when one went.</summary>
    bool RemoveInbound(uint inboundSpi);
}

/// <summary>
/// A node's share of "one concentrator across nodes" (docs/cluster.md §3): it keeps, per peer, the cluster's carrier
/// record (<see cref="ICarrierStore"/>) and the peer's pairs in this node's data plane while this node carries it.
/// <list type="bullet">
/// <item>A pair negotiated here goes into the record; this node carries it when nobody does, else the carrier is told.</item>
/// <item>A packet of a peer this node does not carry (an unknown SPI, or IKE for an SA this node does not route to) starts a claim: the carrier is asked to release
/// the peer (its exact numbers), and after <see cref="ReleaseDeadline"/> without an answer it is taken as dead (its
/// reservation). Either way this node writes the next epoch, installs the pairs above the old numbers, and replays
/// the packets that waited.</item>
/// <item>Outbound numbers are reserved <see cref="EspSa.OutboundReservation"/> at a time, in the record, before they are
/// sent; a carrier whose write finds another epoch has lost the peer and drops it.</item>
/// <item>A Quick Mode responder's new inbound SA comes alone at QM2 (<see cref="InboundInstalled"/>): it goes into the data
/// plane of the node that carries the peer, not into the record (<see cref="InboundInstalled"/> says why); its pair at
/// QM3 completes it there, or its withdrawal takes it out.</item>
/// </list>
/// One operation at a time per peer. Claims are rate-limited and a peer without a record is not looked up again for
/// <see cref="NoRecordFor"/>: a flood of random SPIs costs a bounded number of store reads.
/// </summary>
/// <param name="carriedHere">Told the IKE SA grains (keys) of a peer this node has begun to carry, to bring them here.</param>
public sealed class CarrierService(string node, ICarrierStore store, ICarrierBus bus, ICarrierDataPlane plane, ILogger<CarrierService> logger,
    int claimsPerSecond = CarrierService.DefaultClaimsPerSecond, TimeProvider? clock = null, Func<IReadOnlyCollection<string>, Task>? carriedHere = null)
    : ICarrierDirectory, IAsyncDisposable
{
    public static readonly TimeSpan ReleaseDeadline = TimeSpan.FromMilliseconds(250);
    /// <summary>How often the counters of the pairs carried here are written to their records (those that changed).</summary>
    public static readonly TimeSpan CheckpointInterval = TimeSpan.FromSeconds(2);
    /// <summary>
    /// How long a node that released a peer to a live claimant hands that peer's inside packets to it: until the inside
    /// router has the new carrier's route (milliseconds), whatever reached this node meanwhile still goes out.
    /// </summary>
    public static readonly TimeSpan HandOverGrace = TimeSpan.FromSeconds(2);
    public const int ForwardsPerSecond = 20_000;
    public static readonly TimeSpan NoRecordFor = TimeSpan.FromSeconds(2);
    public const int DefaultClaimsPerSecond = 5_000, MaxNoRecord = 10_000;
    /// <summary>
    /// What may wait for one peer's claim: a tunnel at 100 Mbit/s brings ~8,500 packets a second, and a claim on a node
    /// that has just started (code still being compiled) was measured at up to ~0.1 s; 64 packets lost pings under 20
    /// Mbit/s of iperf3. All peers' waiting packets together stay within <see cref="MaxWaitingBytes"/> (a flood of
    /// packets from peers' addresses holds at most that much).
    /// </summary>
    public const int MaxQueuedPerPeer = 2048;
    public const long MaxWaitingBytes = 64L << 20;
    /// <summary>How long a node waits for the carrier to install an inbound SA alone before QM2 goes out without that.</summary>
    public static readonly TimeSpan InboundDeadline = TimeSpan.FromMilliseconds(250);
    /// <summary>
    /// How long an inbound SA alone stays when neither its pair nor its withdrawal reaches it (a bus message lost, its
    /// IPsec SA grain gone with its node): a Quick Mode responder gives up after 62 s with the default retransmissions
    /// (2 s, doubled, four times). Taken out after that, a late QM3 still installs the whole pair; only ESP that overtook
    /// that QM3 goes unreceived, as before inbound SAs came alone.
    /// </summary>
    public static readonly TimeSpan InboundAloneFor = TimeSpan.FromMinutes(3);

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Peer> _peers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _noRecord = new(StringComparer.Ordinal);
    private readonly TokenBucket _claims = new(claimsPerSecond, clock ?? TimeProvider.System);
    private readonly TokenBucket _forwards = new(ForwardsPerSecond, clock ?? TimeProvider.System);
    /// <summary>Peers released to a live claimant within <see cref="HandOverGrace"/>: where they went, their remote networks.</summary>
    private readonly ConcurrentDictionary<string, (string Node, (uint First, uint Last)[] Remote, long Until)> _released = new(StringComparer.Ordinal);
    private long _forwarded, _waitingBytes, _waitDrops;

    /// <summary>Inside packets handed to a peer's new carrier during hand-overs.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Packets that found a claim's queue full (per peer or all together) and were dropped.</summary>
    public long WaitDrops => Interlocked.Read(ref _waitDrops);

    private sealed class Peer
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public readonly Dictionary<uint, EspSaPair> Pairs = [];
        /// <summary>Per pair: the counters last written to the record.</summary>
        public readonly Dictionary<uint, CarrierCounters> Written = [];
        /// <summary>Per pair: its remote proxy range (where a hand-over's inside packets go).</summary>
        public readonly Dictionary<uint, (uint First, uint Last)> Remote = [];
        public readonly List<(byte[] Esp, uint Source, int Port)> Waiting = [];
        /// <summary>Dropped from <see cref="Waiting"/> (full) since the claim began: in its log line.</summary>
        public int Dropped;
        public long Epoch;
        public int Claiming;
        /// <summary>Inbound SAs alone in this node's data plane (never in the record): when each is taken out unless completed or withdrawn first.</summary>
        public readonly Dictionary<uint, long> Inbound = [];
        /// <summary>Inbound SAs alone this node's IPsec SA grains installed: on which node (here, or the carrier that took it), and until when it is remembered.</summary>
        public readonly Dictionary<uint, (string Node, long Until)> InboundAt = [];

        public bool HoldsNothing => Pairs.Count == 0 && Inbound.Count == 0 && InboundAt.Count == 0;
    }

    public string Node => node;

    /// <summary>The peers this node carries now.</summary>
    public IReadOnlyList<string> Carried => [.. _peers.Where(p => p.Value.Epoch > 0 && p.Value.Pairs.Count > 0).Select(p => p.Key)];

    private readonly CancellationTokenSource _stop = new();
    private Task? _checkpoints;

    public async Task StartAsync()
    {
        await bus.Listen(node, Release, Reconcile, OnForwarded, OnInboundAlone, OnInboundWithdrawn);
        _checkpoints = Task.Run(() => Checkpoints(_stop.Token));
    }

    public async Task<string?> CarrierOf(string peer) => (await store.Read(peer))?.Node;

    private Peer PeerOf(string peer) => _peers.GetOrAdd(peer, _ => new Peer());

    /// <summary>A pair negotiated on this node (its IPsec SA grain installs it here): into the record, carried here unless another node carries the peer.</summary>
    public async Task Installed(IpsecSaRecord sa)
    {
        var state = PeerOf(sa.Peer);
        await state.Gate.WaitAsync();
        try
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var record = await store.Read(sa.Peer);
                // A peer nobody carries now (its last pair went since QM2) goes to the node its inbound SA alone went
                // to, which carried it at QM2, and where that SA is completed; else to this node.
                var carrier = record?.Node ?? (state.InboundAt.TryGetValue(sa.InboundSpi, out var sent) ? sent.Node : node);
                var others = record?.Pairs.Where(p => p.Sa.InboundSpi != sa.InboundSpi).ToList() ?? [];
                // Our own pair is reserved before it sends; another carrier's starts at 0 and is reserved when it installs it.
                var pair = new CarrierPair(sa, carrier == node ? EspSa.OutboundReservation : 0, 0);
                var next = new CarrierRecord(carrier, Math.Max(1, record?.Epoch ?? 1), [.. others, pair]);
                if (!(await store.TryWrite(sa.Peer, record?.Epoch ?? 0, next)).Written) continue;
                // Its inbound SA alone, if it went in at QM2, is completed where the pair goes (Add, here or in the
                // carrier's Reconcile) and taken out anywhere else.
                var alone = state.InboundAt.Remove(sa.InboundSpi, out var at) ? at.Node : null;
                if (carrier == node)
                {
                    state.Epoch = next.Epoch;
                    Add(state, sa, 0, 0, EspSa.OutboundReservation, null);
                    BringHere([sa]);
                }
                else
                {
                    DropInbound(state, sa.InboundSpi);
                    await bus.Changed(carrier, sa.Peer);
                }
                if (alone is not null && alone != node && alone != carrier) await bus.WithdrawInbound(alone, sa.Peer, sa.InboundSpi);
                return;
            }
            logger.LogWarning("carrier: pair 0x{Spi:x8} of {Peer} not recorded: the record kept changing", sa.InboundSpi, sa.Peer);
        }
        finally { state.Gate.Release(); }
    }

    /// <summary>
    /// A pair deleted (rekeyed, DELETE, lifetime): out of the record and of whichever node carries it. Or an inbound SA
    /// alone whose Quick Mode ended without QM3: out of the data plane it went into (here, or the node told so at QM2;
    /// else the carrier's, when this node's IPsec SA grain was lost and does not know).
    /// </summary>
    public async Task Removed(string peer, uint inboundSpi)
    {
        var state = PeerOf(peer);
        await state.Gate.WaitAsync();
        try
        {
            Drop(state, inboundSpi);
            DropInbound(state, inboundSpi);
            var alone = state.InboundAt.Remove(inboundSpi, out var at) ? at.Node : null;
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var record = await store.Read(peer);
                if (record is null || record.Pairs.All(p => p.Sa.InboundSpi != inboundSpi))
                {
                    var where = alone ?? record?.Node;
                    if (where is not null && where != node) await bus.WithdrawInbound(where, peer, inboundSpi);
                    return;
                }
                var rest = record.Pairs.Where(p => p.Sa.InboundSpi != inboundSpi).ToList();
                var done = rest.Count == 0
                    ? await store.TryDelete(peer, record.Epoch)
                    : (await store.TryWrite(peer, record.Epoch, record with { Pairs = rest })).Written;
                if (!done) continue;
                if (record.Node != node) await bus.Changed(record.Node, peer);
                return;
            }
        }
        finally { state.Gate.Release(); }
    }

    /// <summary>
    /// A Quick Mode responder's new inbound SA alone, at QM2 (<see cref="IIpsecSaInstaller.AddInbound"/> of an IPsec SA
    /// grain on this node): into the data plane of the node that carries the peer (this one, or when nobody does yet: the
    /// node that negotiates receives the peer's IKE, and so its ESP), so that ESP the initiator sends on the new SA before
    /// its QM3 arrives is received (RFC 2409 §5.5; strongSwan sends as soon as its QM3 is out). Returns once it is there
    /// (another carrier answers within <see cref="InboundDeadline"/>, else QM2 goes without it and the pair follows at QM3
    /// as before).
    /// <para>
    /// Not into the carrier record, deliberately: the SA is transient (milliseconds until QM3, at most the Quick Mode's
    /// retransmissions), it cannot send (the record's sequence numbers, reservations and counters are an outbound pair's),
    /// and a node that dies between QM2 and QM3 loses only what overtook QM3: the QM3 (or the peer's retransmissions of
    /// it) installs the whole pair through the record on whichever node carries the peer then. Likewise it does not move
    /// in a hand-over: the releasing node takes it out, and the new carrier gets the pair at QM3. A node that has one
    /// takes it out after <see cref="InboundAloneFor"/> if neither its pair nor its withdrawal came.
    /// </para>
    /// </summary>
    public async Task InboundInstalled(IpsecSaRecord sa)
    {
        var state = PeerOf(sa.Peer);
        string carrier;
        await state.Gate.WaitAsync();
        try
        {
            var record = await store.Read(sa.Peer);
            carrier = record is null || record.Node == node ? node : record.Node;
            state.InboundAt[sa.InboundSpi] = (carrier, Until(InboundAloneFor));
            if (carrier == node)
            {
                InstallInbound(state, sa);
                return;
            }
        }
        finally { state.Gate.Release(); }
        // Not under the gate: the carrier's answer may take up to the deadline (a dead carrier gives none).
        if (await bus.InstallInbound(carrier, sa.Peer, sa, InboundDeadline)) return;
        logger.LogInformation("carrier: inbound SA 0x{Spi:x8} of {Peer} not installed alone on {Node} (not carried there, or no answer in {Ms} ms): its pair follows at QM3",
            sa.InboundSpi, sa.Peer, carrier, InboundDeadline.TotalMilliseconds);
        // Not there (a late answer's SA goes after InboundAloneFor): its pair is not sent after it.
        await state.Gate.WaitAsync();
        try { if (state.InboundAt.TryGetValue(sa.InboundSpi, out var at) && at.Node == carrier) state.InboundAt.Remove(sa.InboundSpi); }
        finally { state.Gate.Release(); }
    }

    /// <summary>Another node's IPsec SA grain asks this carrier to install an inbound SA alone; refused when the peer is not carried here.</summary>
    private async Task<bool> OnInboundAlone(string peer, IpsecSaRecord sa)
    {
        if (!_peers.TryGetValue(peer, out var state)) return false;
        await state.Gate.WaitAsync();
        try
        {
            // Released meanwhile: its pair goes through the record to whichever node carries the peer at QM3.
            if (state.Epoch == 0) return false;
            return InstallInbound(state, sa);
        }
        finally { state.Gate.Release(); }
    }

    private async Task OnInboundWithdrawn(string peer, uint inboundSpi)
    {
        if (!_peers.TryGetValue(peer, out var state)) return;
        await state.Gate.WaitAsync();
        try { DropInbound(state, inboundSpi); }
        finally { state.Gate.Release(); }
    }

    /// <summary>Under the peer's gate: the inbound SA alone into this node's data plane, unless its pair is here already.</summary>
    private bool InstallInbound(Peer state, IpsecSaRecord sa)
    {
        if (state.Pairs.ContainsKey(sa.InboundSpi)) return true;
        if (!plane.InstallInbound(sa)) return false;
        state.Inbound[sa.InboundSpi] = Until(InboundAloneFor);
        return true;
    }

    /// <summary>Under the peer's gate: an inbound SA alone out of this node's data plane (a whole pair with the SPI stays).</summary>
    private void DropInbound(Peer state, uint inboundSpi)
    {
        if (state.Inbound.Remove(inboundSpi)) plane.RemoveInbound(inboundSpi);
    }

    /// <summary>Under the peer's gate: every inbound SA alone of a peer another node carries now (they do not move: <see cref="InboundInstalled"/>).</summary>
    private void DropAllInbound(Peer state)
    {
        foreach (var spi in state.Inbound.Keys.ToList()) DropInbound(state, spi);
    }

    private long Until(TimeSpan span) => _clock.GetTimestamp() + (long)(span.TotalSeconds * _clock.TimestampFrequency);

    /// <summary>
    /// An ESP packet whose SPI no pair here has (from the data plane's receiving thread): it waits (bounded) while the
    /// peer is claimed, unless claims are over their rate or the peer has no record.
    /// </summary>
    public void OnUnknownSpi(uint spi, uint source, int udpPort, ReadOnlySpan<byte> esp)
    {
        if (t_replaying) return; // it waited for a claim already, and the claim did not bring its SA
        var peer = Ipv4.Format(source);
        if (_noRecord.TryGetValue(peer, out var until) && _clock.GetTimestamp() < until) return;
        if (_peers.TryGetValue(peer, out var state) && Volatile.Read(ref state.Claiming) != 0)
        {
            Wait(state, esp, source, udpPort); // a claim is under way: the packet waits for it
            return;
        }
        // A new claim only within the rate: a flood of SPIs from anywhere makes at most that many store reads, and
        // no state for a source that has no record (it is forgotten when its claim finds none).
        if (!_claims.TryTake()) return;
        state ??= PeerOf(peer);
        if (Interlocked.CompareExchange(ref state.Claiming, 1, 0) != 0) { Wait(state, esp, source, udpPort); return; }
        Wait(state, esp, source, udpPort);
        StartClaim(peer, state);
    }

    /// <summary>
    /// An IKE datagram of an established IKE SA, or of one this node has not heard of (not an MM1; from the front-end's
    /// lane): a peer this node does not carry is claimed as for an unknown SPI (the same rate, the same negative cache);
    /// the datagram itself goes on to its grain. After a death an idle tunnel sends only DPD, perhaps to a node where its
    /// IKE SA grain already is: without this its pairs and inside routes would wait for its next ESP packet, and inside
    /// traffic towards it would find no node. A peer carried here costs a dictionary lookup.
    /// </summary>
    public void OnIkeDatagram(uint source)
    {
        var peer = Ipv4.Format(source);
        if (_peers.TryGetValue(peer, out var state) && (Volatile.Read(ref state.Epoch) != 0 || Volatile.Read(ref state.Claiming) != 0)) return;
        if (_noRecord.TryGetValue(peer, out var until) && _clock.GetTimestamp() < until) return;
        if (!_claims.TryTake()) return;
        state ??= PeerOf(peer);
        if (Interlocked.CompareExchange(ref state.Claiming, 1, 0) != 0) return;
        StartClaim(peer, state);
    }

    /// <summary>Runs the claim of <paramref name="peer"/> (its Claiming flag set by the caller), then replays or drops what waited.</summary>
    private void StartClaim(string peer, Peer state) =>
        _ = Task.Run(async () =>
        {
            var carried = false;
            try { carried = await Claim(peer); }
            catch (Exception e) { logger.LogWarning("carrier: claim of {Peer} failed: {Reason}", peer, e.Message); }
            finally
            {
                Volatile.Write(ref state.Claiming, 0);
                // A packet looked up just before the pairs went in may have joined the queue after its replay.
                if (carried) ReplayWaiting(state);
                else ClearWaiting(state);
            }
        });

    /// <summary>The port of a waiting entry that is an inside packet handed over, not an ESP packet.</summary>
    private const int InsidePacket = -1;

    /// <summary>
    /// An inside packet this node's data plane found no SA for (<see cref="EspDataPlane.HandOver"/>): when it is for a peer
    /// this node released to a live claimant moments ago it goes to that node (bounded by <see cref="ForwardsPerSecond"/>)
    /// and true is returned; otherwise false, and the data plane goes on as without a cluster (acquire or drop).
    /// </summary>
    public bool OnNoOutboundSa(IkeActors.Esp.FlowKey flow, ReadOnlySpan<byte> packet)
    {
        if (_released.IsEmpty) return false;
        var now = _clock.GetTimestamp();
        foreach (var (peer, to) in _released)
        {
            if (to.Until < now || !to.Remote.Any(r => flow.Destination >= r.First && flow.Destination <= r.Last)) continue;
            if (!_forwards.TryTake()) return false;
            Interlocked.Increment(ref _forwarded);
            _ = bus.Forward(to.Node, peer, packet.ToArray());
            return true;
        }
        return false;
    }

    /// <summary>An inside packet handed over for <paramref name="peer"/>: sent when carried here, kept while a claim of it runs.</summary>
    private void OnForwarded(string peer, byte[] packet)
    {
        if (!_peers.TryGetValue(peer, out var state)) return;
        lock (state.Waiting)
        {
            // The claim installs, then replays what waits under this lock: a packet either waits for that or goes now.
            if (Volatile.Read(ref state.Epoch) == 0 && Volatile.Read(ref state.Claiming) != 0)
            {
                Enqueue(state, packet, 0, InsidePacket);
                return;
            }
        }
        plane.Send(packet);
    }

    private void Wait(Peer state, ReadOnlySpan<byte> esp, uint source, int udpPort)
    {
        lock (state.Waiting) Enqueue(state, esp.ToArray(), source, udpPort);
    }

    /// <summary>Under the peer's Waiting lock: queued within both bounds, or counted as dropped.</summary>
    private void Enqueue(Peer state, byte[] packet, uint source, int port)
    {
        if (state.Waiting.Count >= MaxQueuedPerPeer || Interlocked.Add(ref _waitingBytes, packet.Length) > MaxWaitingBytes)
        {
            if (state.Waiting.Count < MaxQueuedPerPeer) Interlocked.Add(ref _waitingBytes, -packet.Length);
            state.Dropped++;
            Interlocked.Increment(ref _waitDrops);
            return;
        }
        state.Waiting.Add((packet, source, port));
    }

    /// <summary>Takes what waits out of the queue, giving its bytes back to the budget.</summary>
    private List<(byte[] Esp, uint Source, int Port)> TakeWaiting(Peer state, out int dropped)
    {
        List<(byte[] Esp, uint Source, int Port)> waiting;
        lock (state.Waiting)
        {
            waiting = [.. state.Waiting];
            state.Waiting.Clear();
            dropped = state.Dropped;
            state.Dropped = 0;
        }
        long bytes = 0;
        foreach (var w in waiting) bytes += w.Esp.Length;
        Interlocked.Add(ref _waitingBytes, -bytes);
        return waiting;
    }

    private void ClearWaiting(Peer state) => TakeWaiting(state, out _);

    /// <summary>Takes <paramref name="peer"/> over (see the class summary); true when this node carries it afterwards.</summary>
    public async Task<bool> Claim(string peer)
    {
        var state = PeerOf(peer);
        await state.Gate.WaitAsync();
        try
        {
            var record = await store.Read(peer);
            if (record is null)
            {
                var now = _clock.GetTimestamp();
                if (_noRecord.Count > MaxNoRecord) foreach (var (p, t) in _noRecord) if (t <= now) _noRecord.TryRemove(p, out _);
                _noRecord[peer] = now + (long)(NoRecordFor.TotalSeconds * _clock.TimestampFrequency);
                ClearWaiting(state);
                if (state.HoldsNothing) _peers.TryRemove(peer, out _);
                return false;
            }
            if (record.Node == node && record.Epoch == state.Epoch && record.Pairs.All(p => state.Pairs.ContainsKey(p.Sa.InboundSpi)))
            {
                ReplayWaiting(state); // carried here already (a packet that came before its pair was installed)
                return true;
            }
            var how = "it was ours";
            if (record.Node != node)
            {
                var released = await bus.RequestRelease(record.Node, peer, record.Epoch, ReleaseDeadline);
                how = released ? $"released by {record.Node}" : $"{record.Node} did not answer in {ReleaseDeadline.TotalMilliseconds:0} ms";
                // Expected when that node died; worth an operator's eye when it did not (overloaded, or cut off).
                if (!released) logger.LogWarning("carrier: {Node} did not release {Peer} within {Ms} ms: taken as dead, its reservation skipped",
                    record.Node, peer, ReleaseDeadline.TotalMilliseconds);
                record = await store.Read(peer);
                if (record is null) return false;
            }
            // Every pair above what its previous carrier may have sent (its exact number when it released, else its reservation).
            var next = new CarrierRecord(node, record.Epoch + 1,
                [.. record.Pairs.Select(p => p with { OutboundReserved = checked(p.OutboundReserved + EspSa.OutboundReservation) })]);
            if (!(await store.TryWrite(peer, record.Epoch, next)).Written) return false; // another node's claim won
            foreach (var spi in state.Pairs.Keys.ToList()) Drop(state, spi);
            Volatile.Write(ref state.Epoch, 0); // handed-over inside packets wait until the pairs are in (OnForwarded)
            foreach (var p in record.Pairs) Add(state, p.Sa, p.OutboundReserved, p.InboundMark, p.OutboundReserved + EspSa.OutboundReservation, p.Counters);
            Volatile.Write(ref state.Epoch, next.Epoch);
            BringHere(record.Pairs.Select(p => p.Sa));
            var (replayed, dropped) = ReplayWaiting(state);
            logger.LogInformation("carrier: {Peer} carried here from epoch {Epoch} ({How}), {Pairs} pairs, {Replayed} packets waited{Dropped}",
                peer, next.Epoch, how, record.Pairs.Count, replayed, dropped > 0 ? $", {dropped} dropped (queue full)" : "");
            return true;
        }
        finally { state.Gate.Release(); }
    }

    private (int Replayed, int Dropped) ReplayWaiting(Peer state)
    {
        var waiting = TakeWaiting(state, out var dropped);
        t_replaying = true;
        try
        {
            foreach (var (packet, source, port) in waiting)
                if (port == InsidePacket) plane.Send(packet);
                else plane.Replay(packet, source, port);
        }
        finally { t_replaying = false; }
        return (waiting.Count, dropped);
    }

    /// <summary>
    /// Set while this thread replays packets that waited for a claim (the data plane calls <see cref="OnUnknownSpi"/>
    /// back on the same thread): one whose SPI is still unknown after the claim is dropped, not claimed again. Without
    /// it such a packet (a stale SPI, or a forged one from a carried peer's address) went round claim after claim, a
    /// store read each, ~1,200 a second for as long as the peer was carried here.
    /// </summary>
    [ThreadStatic] private static bool t_replaying;

    /// <summary>Another node claims <paramref name="peer"/> at <paramref name="epoch"/>: stop carrying it and leave the exact numbers in the record.</summary>
    private async Task<bool> Release(string peer, long epoch, string claimant)
    {
        if (!_peers.TryGetValue(peer, out var state)) return false;
        await state.Gate.WaitAsync();
        try
        {
            if (state.Epoch != epoch || state.Pairs.Count == 0) return false;
            var exact = new Dictionary<uint, (uint LastSent, uint InboundTop, CarrierCounters Counted)>();
            // What reaches this node for the peer until the inside router has the claimant's route goes to the claimant.
            // (for as long as the routes stay in the kernel: the grace, then ReverseRoutes.WithdrawDelay unannounced)
            _released[peer] = (claimant, RemoteOf(state), _clock.GetTimestamp() + (long)((HandOverGrace + ReverseRoutes.WithdrawDelay).TotalSeconds * _clock.TimestampFrequency));
            foreach (var spi in state.Pairs.Keys.ToList())
                if (Drop(state, spi, handingOver: true) is { } numbers) exact[spi] = numbers;
            DropAllInbound(state);
            state.Epoch = 0;
            var record = await store.Read(peer);
            if (record is null || record.Epoch != epoch) return false;
            var next = record with
            {
                Pairs = [.. record.Pairs.Select(p => exact.TryGetValue(p.Sa.InboundSpi, out var n)
                    ? p with { OutboundReserved = n.LastSent, InboundMark = n.InboundTop, Counters = n.Counted } : p)],
            };
            return (await store.TryWrite(peer, epoch, next)).Written;
        }
        finally { state.Gate.Release(); }
    }

    /// <summary>The peer's record changed elsewhere: carry what it says this node carries, drop what it does not.</summary>
    private async Task Reconcile(string peer)
    {
        var state = PeerOf(peer);
        await state.Gate.WaitAsync();
        try
        {
            var record = await store.Read(peer);
            if (record is null || record.Node != node || record.Epoch != state.Epoch)
            {
                if (record?.Node != node) { foreach (var spi in state.Pairs.Keys.ToList()) Drop(state, spi); state.Epoch = 0; }
                // Another node carries the peer: no ESP of it reaches this one. (No record at all: the peer's last pair
                // went while a new Quick Mode may be between QM2 and QM3 here; its inbound SA alone stays for its pair.)
                if (record is not null && record.Node != node) DropAllInbound(state);
                if (record is null || record.Node != node) return;
            }
            foreach (var spi in state.Pairs.Keys.Where(s => record.Pairs.All(p => p.Sa.InboundSpi != s)).ToList()) Drop(state, spi);
            var missing = record.Pairs.Where(p => !state.Pairs.ContainsKey(p.Sa.InboundSpi)).ToList();
            if (missing.Count == 0) return;
            var next = record with
            {
                Pairs = [.. record.Pairs.Select(p => missing.Contains(p) ? p with { OutboundReserved = checked(p.OutboundReserved + EspSa.OutboundReservation) } : p)],
            };
            if (!(await store.TryWrite(peer, record.Epoch, next)).Written) return;
            state.Epoch = next.Epoch;
            foreach (var p in missing) Add(state, p.Sa, p.OutboundReserved, p.InboundMark, p.OutboundReserved + EspSa.OutboundReservation, p.Counters);
            BringHere(missing.Select(p => p.Sa));
        }
        finally { state.Gate.Release(); }
    }

    private void Add(Peer state, IpsecSaRecord sa, uint resumeAfter, uint inboundTop, uint reservedUpTo, CarrierCounters? counted)
    {
        state.Inbound.Remove(sa.InboundSpi); // an inbound SA alone here is completed by the pair (the data plane keeps it)
        if (plane.Install(sa, resumeAfter, inboundTop, reservedUpTo) is not { } pair) return;
        // The counts of the nodes that carried it before go on here (docs/cluster.md: `show crypto ipsec sa` continues).
        counted ??= CarrierCounters.Zero;
        pair.Outbound.Counters.ContinueFrom(counted.Encaps, 0, counted.BytesOut, 0);
        pair.Inbound.Counters.ContinueFrom(0, counted.Decaps, 0, counted.BytesIn);
        state.Pairs[sa.InboundSpi] = pair;
        state.Written[sa.InboundSpi] = counted;
        if (sa.Esp is { } esp) state.Remote[sa.InboundSpi] = (esp.RemoteFirst, esp.RemoteLast);
        pair.Outbound.ReservationLow += (sa1, seq) => Task.Run(() => Extend(sa.Peer, sa.InboundSpi));
        pair.Inbound.InboundMark += (sa1, top) => Task.Run(() => Mark(sa.Peer, sa.InboundSpi, top));
    }

    /// <summary>The pair out of this node's data plane: its last numbers and its final counts; null when it was not here.</summary>
    private (uint LastSent, uint InboundTop, CarrierCounters Counted)? Drop(Peer state, uint inboundSpi, bool handingOver = false)
    {
        state.Written.Remove(inboundSpi);
        state.Remote.Remove(inboundSpi);
        if (!state.Pairs.Remove(inboundSpi, out var pair) || plane.Remove(inboundSpi, handingOver ? HandOverGrace : null) is not { } numbers) return null;
        return (numbers.LastSent, numbers.InboundTop, Counted(pair)); // read after the removal: nothing counts any more
    }

    private static (uint First, uint Last)[] RemoteOf(Peer state) => [.. state.Remote.Values];

    private static CarrierCounters Counted(EspSaPair pair)
    {
        var o = pair.Outbound.Counters.Snapshot();
        var i = pair.Inbound.Counters.Snapshot();
        return new CarrierCounters(o.Encaps, i.Decaps, o.BytesOut, i.BytesIn);
    }

    /// <summary>The IKE SA grains of pairs this node now carries are asked to come here (one-way; a failure is only logged).</summary>
    private void BringHere(IEnumerable<IpsecSaRecord> pairs)
    {
        if (carriedHere is null) return;
        var owners = pairs.Select(p => p.Owner).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (owners.Count == 0) return;
        _ = Task.Run(async () =>
        {
            try { await carriedHere(owners); }
            catch (Exception e) { logger.LogInformation("carrier: IKE SA {Keys} not brought here: {Reason}", string.Join(", ", owners), e.Message); }
        });
    }

    /// <summary>
    /// Every <see cref="CheckpointInterval"/>: the counters of the pairs carried here that changed go into their records
    /// (with the epoch check), so that a successor after this node's death goes on from them.
    /// </summary>
    private async Task Checkpoints(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(CheckpointInterval, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var now = _clock.GetTimestamp();
                foreach (var (peer, to) in _released) if (to.Until < now) _released.TryRemove(peer, out _);
                foreach (var (peer, state) in _peers)
                {
                    if (state.Inbound.Count > 0 || state.InboundAt.Count > 0)
                        try { await Expire(peer, state, now); }
                        catch (Exception e) when (e is not OperationCanceledException) { logger.LogDebug("carrier: inbound SAs alone of {Peer} not expired: {Reason}", peer, e.Message); }
                    if (state.Epoch == 0 || state.Pairs.Count == 0) continue;
                    try { await Checkpoint(peer, state); }
                    catch (Exception e) when (e is not OperationCanceledException) { logger.LogDebug("carrier: counters of {Peer} not written: {Reason}", peer, e.Message); }
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Inbound SAs alone that neither their pair nor their withdrawal reached in <see cref="InboundAloneFor"/>: out, and forgotten.</summary>
    private async Task Expire(string peer, Peer state, long now)
    {
        await state.Gate.WaitAsync();
        try
        {
            foreach (var (spi, until) in state.Inbound.Where(i => i.Value < now).ToList())
            {
                logger.LogInformation("carrier: inbound SA 0x{Spi:x8} of {Peer} alone for {Minutes} min (no pair, no withdrawal): taken out",
                    spi, peer, InboundAloneFor.TotalMinutes);
                DropInbound(state, spi);
            }
            foreach (var (spi, _) in state.InboundAt.Where(i => i.Value.Until < now).ToList()) state.InboundAt.Remove(spi);
        }
        finally { state.Gate.Release(); }
    }

    private async Task Checkpoint(string peer, Peer state)
    {
        await state.Gate.WaitAsync();
        try
        {
            var changed = state.Pairs.Select(p => (Spi: p.Key, Counted: Counted(p.Value)))
                .Where(c => !state.Written.TryGetValue(c.Spi, out var w) || w != c.Counted).ToDictionary(c => c.Spi, c => c.Counted);
            if (changed.Count == 0) return;
            var record = await store.Read(peer);
            if (record is null || record.Node != node || record.Epoch != state.Epoch) { Deposed(state, peer); return; }
            var next = record with { Pairs = [.. record.Pairs.Select(p => changed.TryGetValue(p.Sa.InboundSpi, out var c) ? p with { Counters = c } : p)] };
            if (!(await store.TryWrite(peer, record.Epoch, next)).Written) { Deposed(state, peer); return; }
            foreach (var (spi, c) in changed) state.Written[spi] = c;
        }
        finally { state.Gate.Release(); }
    }

    /// <summary>The next reservation, written before it is used; a record that moved on means another node carries the peer.</summary>
    private async Task Extend(string peer, uint inboundSpi)
    {
        var state = PeerOf(peer);
        await state.Gate.WaitAsync();
        try
        {
            if (!state.Pairs.TryGetValue(inboundSpi, out var pair)) return;
            var record = await store.Read(peer);
            var limit = (long)pair.Outbound.OutboundLimit + EspSa.OutboundReservation;
            if (record is null || record.Node != node || record.Epoch != state.Epoch || limit > uint.MaxValue)
            {
                if (record is null || record.Node != node || record.Epoch != state.Epoch) Deposed(state, peer);
                return;
            }
            var next = record with { Pairs = [.. record.Pairs.Select(p => p.Sa.InboundSpi == inboundSpi ? p with { OutboundReserved = (uint)limit } : p)] };
            if ((await store.TryWrite(peer, record.Epoch, next)).Written) pair.Outbound.ReserveUpTo((uint)limit);
            else Deposed(state, peer);
        }
        finally { state.Gate.Release(); }
    }

    private async Task Mark(string peer, uint inboundSpi, uint top)
    {
        var state = PeerOf(peer);
        await state.Gate.WaitAsync();
        try
        {
            if (!state.Pairs.ContainsKey(inboundSpi)) return;
            var record = await store.Read(peer);
            if (record is null || record.Node != node || record.Epoch != state.Epoch) { Deposed(state, peer); return; }
            if (record.Pairs.FirstOrDefault(p => p.Sa.InboundSpi == inboundSpi) is not { } stored || stored.InboundMark >= top) return;
            var next = record with { Pairs = [.. record.Pairs.Select(p => p.Sa.InboundSpi == inboundSpi ? p with { InboundMark = top } : p)] };
            if (!(await store.TryWrite(peer, record.Epoch, next)).Written) Deposed(state, peer);
        }
        finally { state.Gate.Release(); }
    }

    private void Deposed(Peer state, string peer)
    {
        DropAllInbound(state);
        if (state.Pairs.Count == 0) return;
        logger.LogInformation("carrier: {Peer} is carried by another node now: its pairs leave this node", peer);
        foreach (var spi in state.Pairs.Keys.ToList()) Drop(state, spi);
        state.Epoch = 0;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_checkpoints is not null) await _checkpoints;
        await bus.DisposeAsync();
    }
}
