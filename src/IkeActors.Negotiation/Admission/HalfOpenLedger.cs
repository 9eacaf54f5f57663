using System.Net;

namespace IkeActors.Negotiation.Admission;

/// <summary>How many half-open IKE SAs (Main Mode not yet MM_ACTIVE) one node keeps, and for how long.</summary>
public sealed record HalfOpenLimits
{
    /// <summary>Half-open SAs one node keeps at once (the ASA's `crypto ikev1 limit max-in-negotiation-sa`).</summary>
    public int MaxHalfOpen { get; init; } = 1024;

    /// <summary>Half-open SAs one peer address may hold (strongSwan's `charon.block_threshold`, 5 by default).</summary>
    public int MaxHalfOpenPerPeer { get; init; } = 5;

    /// <summary>
    /// How long an admitted half-open SA is counted at most when no end is reported (a lease): the engine's whole
    /// retransmission budget for one message (2 + 4 + 8 + 16 + 32 s with the defaults) and a margin. A half-open SA
    /// whose end was never heard of (its grain on another node, a node restarted) stops counting then.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(70);

    /// <summary>The lease that covers a Main Mode message's retransmissions with these settings, plus 8 s.</summary>
    public static TimeSpan LeaseFor(NegotiationSettings settings) =>
        settings.RetransmitInterval * (Math.Pow(2, settings.RetransmitLimit + 1) - 1) + TimeSpan.FromSeconds(8);
}

/// <summary>Why an MM1 was not given a half-open SA.</summary>
public enum Mm1Refusal
{
    None,
    /// <summary>No tunnel-group for the address and no DefaultL2LGroup key: phase 1 could never authenticate.</summary>
    NoPreSharedKey,
    /// <summary>The address already holds <see cref="HalfOpenLimits.MaxHalfOpenPerPeer"/> half-open SAs.</summary>
    PeerHalfOpenLimit,
    /// <summary>The node holds <see cref="HalfOpenLimits.MaxHalfOpen"/> and no busier address had one to give way.</summary>
    HalfOpenLimit,
    /// <summary>An Aggressive Mode while `crypto ikev1 am-disable` is configured.</summary>
    AggressiveModeDisabled,
}

/// <summary>The ledger's answer to an MM1: admitted (maybe after another SA gave way) or refused, and why.</summary>
public readonly record struct Mm1Verdict(Mm1Refusal Refusal, string? Evicted = null, bool Retransmission = false)
{
    public bool Admitted => Refusal == Mm1Refusal.None;
}

/// <summary>What the ledger holds and has done since the node started (for `show crypto isakmp stats` and metrics).</summary>
public readonly record struct HalfOpenStatistics(
    int HalfOpen, int Peers, int HighWater, long Admitted, long Released, long Expired, long Evicted,
    long RefusedNoKey, long RefusedPeerLimit, long RefusedNodeLimit)
{
    public long Refused => RefusedNoKey + RefusedPeerLimit + RefusedNodeLimit;
}

/// <summary>
/// The half-open IKE SAs of one node: the only place they are counted. An SA is admitted by its MM1 and leaves by
/// <see cref="Release"/> (MM_ACTIVE, failed, deleted, timed out: whoever sees the end reports it), by eviction
/// under pressure, or when its lease runs out, so nothing can stay counted forever. Limits: one per peer address
/// (a flood from one address fills only its own share) under one per node. When the node is full, the oldest
/// half-open SA of the busiest address gives way to an address that holds fewer: a flood from a few addresses
/// never pushes out a peer with one negotiation; a flood spread over many addresses turns over oldest first.
/// Thread-safe; no allocation per refused MM1. With no clock (an in-process engine that sees every end itself)
/// leases never run out.
/// </summary>
public sealed class HalfOpenLedger(HalfOpenLimits limits, TimeProvider? clock = null)
{
    private sealed class Entry(string key, IPAddress peer, long admitted)
    {
        public string Key { get; } = key;
        public IPAddress Peer { get; } = peer;
        public long Admitted { get; } = admitted;
        public LinkedListNode<Entry>? InOrder;
        public LinkedListNode<Entry>? InPeer;
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<IPAddress, LinkedList<Entry>> _byPeer = new();
    private readonly LinkedList<Entry> _byAge = new();
    private int _highWater;
    private long _admitted, _released, _expired, _evicted, _refusedNoKey, _refusedPeer, _refusedNode;

    /// <summary>The bounds in force (a change applies to the next MM1; what is admitted stays).</summary>
    public HalfOpenLimits Limits { get; set; } = limits;

    /// <summary>An MM1 for the SA <paramref name="key"/> from <paramref name="peer"/>, which has a pre-shared key or not.</summary>
    public Mm1Verdict TryAdmit(string key, IPAddress peer, bool hasPreSharedKey)
    {
        lock (_lock)
        {
            ExpireLocked();
            if (_entries.ContainsKey(key)) return new Mm1Verdict(Mm1Refusal.None, Retransmission: true);
            if (!hasPreSharedKey)
            {
                _refusedNoKey++;
                return new Mm1Verdict(Mm1Refusal.NoPreSharedKey);
            }
            var own = _byPeer.TryGetValue(peer, out var mine) ? mine.Count : 0;
            if (own >= Limits.MaxHalfOpenPerPeer)
            {
                _refusedPeer++;
                return new Mm1Verdict(Mm1Refusal.PeerHalfOpenLimit);
            }
            string? evicted = null;
            if (_entries.Count >= Limits.MaxHalfOpen)
            {
                var victim = OldestOfBusiestPeer();
                if (victim is null || victim.List!.Count <= own)
                {
                    _refusedNode++;
                    return new Mm1Verdict(Mm1Refusal.HalfOpenLimit);
                }
                evicted = victim.Value.Key;
                RemoveLocked(victim.Value);
                _evicted++;
            }
            var entry = new Entry(key, peer, Now());
            _entries[key] = entry;
            entry.InOrder = _byAge.AddLast(entry);
            if (mine is null) _byPeer[peer] = mine = new LinkedList<Entry>();
            entry.InPeer = mine.AddLast(entry);
            _admitted++;
            _highWater = Math.Max(_highWater, _entries.Count);
            return new Mm1Verdict(Mm1Refusal.None, evicted);
        }
    }

    /// <summary>The half-open SA ended (MM_ACTIVE, failure, delete, timeout). False when it was not counted (any more).</summary>
    public bool Release(string key)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry)) return false;
            RemoveLocked(entry);
            _released++;
            return true;
        }
    }

    public bool Contains(string key)
    {
        lock (_lock)
        {
            ExpireLocked();
            return _entries.ContainsKey(key);
        }
    }

    public int Count
    {
        get { lock (_lock) { ExpireLocked(); return _entries.Count; } }
    }

    public int CountFor(IPAddress peer)
    {
        lock (_lock)
        {
            ExpireLocked();
            return _byPeer.TryGetValue(peer, out var list) ? list.Count : 0;
        }
    }

    public HalfOpenStatistics Statistics()
    {
        lock (_lock)
        {
            ExpireLocked();
            return new HalfOpenStatistics(_entries.Count, _byPeer.Count, _highWater, _admitted, _released, _expired, _evicted,
                _refusedNoKey, _refusedPeer, _refusedNode);
        }
    }

    /// <summary>
    /// The busiest address's oldest entry (ties: the address whose oldest entry is oldest). A scan of the addresses,
    /// only when the node is full.
    /// </summary>
    private LinkedListNode<Entry>? OldestOfBusiestPeer()
    {
        LinkedListNode<Entry>? best = null;
        foreach (var list in _byPeer.Values)
        {
            if (best is null || list.Count > best.List!.Count || (list.Count == best.List.Count && list.First!.Value.Admitted < best.Value.Admitted))
                best = list.First;
        }
        return best;
    }

    private void ExpireLocked()
    {
        if (clock is null) return;
        var now = Now();
        var lease = (long)(Limits.Lease.TotalSeconds * clock.TimestampFrequency);
        while (_byAge.First is { } oldest && now - oldest.Value.Admitted >= lease)
        {
            RemoveLocked(oldest.Value);
            _expired++;
        }
    }

    private void RemoveLocked(Entry entry)
    {
        _entries.Remove(entry.Key);
        _byAge.Remove(entry.InOrder!);
        var list = entry.InPeer!.List!;
        list.Remove(entry.InPeer);
        if (list.Count == 0) _byPeer.Remove(entry.Peer);
    }

    private long Now() => clock?.GetTimestamp() ?? 0;
}
