using System.Buffers;

namespace IkeActors.Esp;

/// <summary>
/// Packets that matched a crypto map but found no SA, held while the SA is negotiated (RFC 4301 §5.1:
/// the SPD entry says PROTECT, the SAD has nothing yet; the ASA's "key acquire"). Bounded per flow and in
/// number of flows; a packet older than the hold time is dropped. The acquire itself is rate-limited per
/// flow. Slow path: a lock, pooled copies of the packets.
/// </summary>
internal sealed class AcquireQueue
{
    private sealed class FlowQueue
    {
        public readonly Queue<(byte[] Buffer, int Length, long Queued)> Packets = new();
        public long LastAcquire;
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<FlowKey, FlowQueue> _flows = new();
    private readonly TimeProvider _time;
    private readonly int _perFlow, _maxFlows;
    private readonly long _holdTicks, _acquireIntervalTicks;
    private long _expired;

    /// <summary>Packets dropped because they waited longer than the hold time.</summary>
    public long Expired => Interlocked.Read(ref _expired);

    public AcquireQueue(TimeProvider time, int perFlow, int maxFlows, TimeSpan hold, TimeSpan acquireInterval)
    {
        _time = time;
        _perFlow = perFlow;
        _maxFlows = maxFlows;
        _holdTicks = (long)(hold.TotalSeconds * time.TimestampFrequency);
        _acquireIntervalTicks = (long)(acquireInterval.TotalSeconds * time.TimestampFrequency);
    }

    public int FlowCount
    {
        get { lock (_gate) return _flows.Count; }
    }

    public int PacketCount
    {
        get { lock (_gate) return _flows.Values.Sum(f => f.Packets.Count); }
    }

    /// <summary>Queues a copy; tells whether it was kept and whether an acquire is due for this flow.</summary>
    public (bool Queued, bool Acquire) Enqueue(in FlowKey flow, ReadOnlySpan<byte> packet)
    {
        long now = _time.GetTimestamp();
        lock (_gate)
        {
            ExpireLocked(now);
            if (!_flows.TryGetValue(flow, out var q))
            {
                if (_flows.Count >= _maxFlows)
                {
                    return (false, false);
                }
                q = new FlowQueue { LastAcquire = now - _acquireIntervalTicks };
                _flows[flow] = q;
            }
            bool acquire = now - q.LastAcquire >= _acquireIntervalTicks;
            if (acquire) q.LastAcquire = now;
            if (q.Packets.Count >= _perFlow)
            {
                return (false, acquire); // tail drop: the oldest are the ones the peer is waiting for
            }
            var buffer = ArrayPool<byte>.Shared.Rent(packet.Length);
            packet.CopyTo(buffer);
            q.Packets.Enqueue((buffer, packet.Length, now));
            return (true, acquire);
        }
    }

    /// <summary>Takes every packet (in arrival order per flow) whose flow the pair now covers; the caller returns the buffers.</summary>
    public List<(byte[] Buffer, int Length)> TakeFor(EspSaPair pair)
    {
        var taken = new List<(byte[], int)>();
        lock (_gate)
        {
            ExpireLocked(_time.GetTimestamp());
            foreach (var (flow, q) in _flows.ToList())
            {
                if (!pair.MatchesOutbound(flow)) continue;
                while (q.Packets.TryDequeue(out var p)) taken.Add((p.Buffer, p.Length));
                _flows.Remove(flow);
            }
        }
        return taken;
    }

    /// <summary>Drops everything (shutdown).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            foreach (var q in _flows.Values)
            {
                while (q.Packets.TryDequeue(out var p)) ArrayPool<byte>.Shared.Return(p.Buffer);
            }
            _flows.Clear();
        }
    }

    /// <summary>Drops packets held longer than the hold time, and flows left empty whose acquire interval has passed.</summary>
    public int Expire()
    {
        lock (_gate) return ExpireLocked(_time.GetTimestamp());
    }

    private int ExpireLocked(long now)
    {
        int dropped = 0;
        List<FlowKey>? empty = null;
        foreach (var (flow, q) in _flows)
        {
            while (q.Packets.TryPeek(out var p) && now - p.Queued > _holdTicks)
            {
                q.Packets.Dequeue();
                ArrayPool<byte>.Shared.Return(p.Buffer);
                dropped++;
                Interlocked.Increment(ref _expired);
            }
            if (q.Packets.Count == 0 && now - q.LastAcquire >= _acquireIntervalTicks) (empty ??= []).Add(flow);
        }
        if (empty is not null) foreach (var f in empty) _flows.Remove(f);
        return dropped;
    }
}
