namespace IkeActors.Grains;

/// <summary>
/// One node's IKE counters since it started: what its UDP front-end received, sent and dropped, and what its
/// half-open ledger admitted and refused (by reason). Published by the node every few seconds.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record IkeNodeCounters
{
    [Id(0)] public long InOctets { get; init; }
    [Id(1)] public long InPackets { get; init; }
    /// <summary>Datagrams not given to any SA: malformed, queue full, shed under overload, refused MM1s, no SA for the cookies, a socket's receive buffer full.</summary>
    [Id(2)] public long InDropPackets { get; init; }
    [Id(3)] public long OutOctets { get; init; }
    [Id(4)] public long OutPackets { get; init; }
    [Id(5)] public long OutDropPackets { get; init; }
    [Id(6)] public long Malformed { get; init; }
    [Id(7)] public long QueueFull { get; init; }
    /// <summary>Datagrams for cookies no SA here knows (the ASA's "No Sa Fails").</summary>
    [Id(8)] public long NoSa { get; init; }
    [Id(9)] public int HalfOpen { get; init; }
    [Id(10)] public int HalfOpenHighWater { get; init; }
    [Id(11)] public int MaxHalfOpen { get; init; }
    [Id(12)] public int MaxHalfOpenPerPeer { get; init; }
    [Id(13)] public long RefusedNoKey { get; init; }
    [Id(14)] public long RefusedPeerLimit { get; init; }
    [Id(15)] public long RefusedNodeLimit { get; init; }
    [Id(16)] public long Evicted { get; init; }
    [Id(17)] public long Expired { get; init; }
    [Id(18)] public long Admitted { get; init; }
    [Id(19)] public long InitiatorTunnels { get; init; }
    [Id(20)] public DateTime PublishedUtc { get; init; }
    /// <summary>Phase 1 negotiations that ended before MM_ACTIVE, by our role, and those that failed authentication.</summary>
    [Id(21)] public long InitiatorFails { get; init; }
    [Id(22)] public long ResponderFails { get; init; }
    [Id(23)] public long AuthFails { get; init; }
    /// <summary>MM1s (and unknown cookies) dropped because they waited in the front-end's lanes past their budget (overload).</summary>
    [Id(24)] public long Shed { get; init; }
    /// <summary>Datagrams the kernel dropped because a socket's receive buffer (UDP 500 or 4500) was full.</summary>
    [Id(25)] public long ReceiveBufferFull { get; init; }

    public long Refused => RefusedNoKey + RefusedPeerLimit + RefusedNodeLimit;

    /// <summary>The sum of several nodes' counters (the concentrator as one device).</summary>
    public static IkeNodeCounters Sum(IEnumerable<IkeNodeCounters> nodes)
    {
        var total = new IkeNodeCounters();
        foreach (var n in nodes)
            total = new IkeNodeCounters
            {
                InOctets = total.InOctets + n.InOctets, InPackets = total.InPackets + n.InPackets,
                InDropPackets = total.InDropPackets + n.InDropPackets, OutOctets = total.OutOctets + n.OutOctets,
                OutPackets = total.OutPackets + n.OutPackets, OutDropPackets = total.OutDropPackets + n.OutDropPackets,
                Malformed = total.Malformed + n.Malformed, QueueFull = total.QueueFull + n.QueueFull, Shed = total.Shed + n.Shed, ReceiveBufferFull = total.ReceiveBufferFull + n.ReceiveBufferFull, NoSa = total.NoSa + n.NoSa,
                HalfOpen = total.HalfOpen + n.HalfOpen, HalfOpenHighWater = total.HalfOpenHighWater + n.HalfOpenHighWater,
                MaxHalfOpen = total.MaxHalfOpen + n.MaxHalfOpen, MaxHalfOpenPerPeer = Math.Max(total.MaxHalfOpenPerPeer, n.MaxHalfOpenPerPeer),
                RefusedNoKey = total.RefusedNoKey + n.RefusedNoKey, RefusedPeerLimit = total.RefusedPeerLimit + n.RefusedPeerLimit,
                RefusedNodeLimit = total.RefusedNodeLimit + n.RefusedNodeLimit, Evicted = total.Evicted + n.Evicted,
                Expired = total.Expired + n.Expired, Admitted = total.Admitted + n.Admitted,
                InitiatorTunnels = total.InitiatorTunnels + n.InitiatorTunnels, InitiatorFails = total.InitiatorFails + n.InitiatorFails,
                ResponderFails = total.ResponderFails + n.ResponderFails, AuthFails = total.AuthFails + n.AuthFails,
                PublishedUtc = n.PublishedUtc > total.PublishedUtc ? n.PublishedUtc : total.PublishedUtc,
            };
        return total;
    }
}
