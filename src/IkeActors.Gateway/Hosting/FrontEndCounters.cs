using IkeActors.Grains;
using IkeActors.Negotiation.Admission;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// What the front-end counts for `show crypto isakmp stats`: datagrams in and out on both sockets, what was dropped
/// and why, tunnels this node initiated, phase 1 failures. Every method is one event; all are thread-safe.
/// </summary>
public sealed class FrontEndCounters
{
    private long _dropped, _shed, _malformed, _keepalives, _noSa, _initiated;
    private long _inOctets, _inPackets, _outOctets, _outPackets, _outDropped, _initiatorFails, _responderFails, _authFails;

    /// <summary>An IKE datagram received (ISAKMP, or behind the non-ESP marker).</summary>
    public void Received(int octets)
    {
        Interlocked.Increment(ref _inPackets);
        Interlocked.Add(ref _inOctets, octets);
    }

    /// <summary>Dropped: the grains' queue was full, or ESP in UDP could not be handed over or sent.</summary>
    public void Drop() => Interlocked.Increment(ref _dropped);

    /// <summary>An MM1 (or unknown cookies) that waited in its lane longer than <see cref="FrontEndOptions.NewSaQueueBudget"/>.</summary>
    public void Shed() => Interlocked.Increment(ref _shed);

    public void MalformedDatagram() => Interlocked.Increment(ref _malformed);

    /// <summary>A NAT keepalive (RFC 3948 §2.3: one 0xFF octet; nothing to do but count).</summary>
    public void Keepalive() => Interlocked.Increment(ref _keepalives);

    /// <summary>Cookies of no SA (the ASA's "No Sa Fails").</summary>
    public void NoSa() => Interlocked.Increment(ref _noSa);

    public void Sent(int octets)
    {
        Interlocked.Increment(ref _outPackets);
        Interlocked.Add(ref _outOctets, octets);
    }

    public void NotSent() => Interlocked.Increment(ref _outDropped);

    /// <summary>A key acquire started an IKE SA this node had not heard of.</summary>
    public void Initiated() => Interlocked.Increment(ref _initiated);

    /// <summary>Main Mode failed on an SA this side started (initiator) or answered.</summary>
    public void Phase1Failed(bool initiator, bool authentication)
    {
        Interlocked.Increment(ref initiator ? ref _initiatorFails : ref _responderFails);
        if (authentication) Interlocked.Increment(ref _authFails);
    }

    /// <summary>
    /// This node's counters as `show crypto isakmp stats` sums them, with its half-open SAs and what the kernel dropped
    /// at its sockets' full receive buffers (<see cref="IsakmpSockets.ReceiveBufferDrops"/>).
    /// </summary>
    public IkeNodeCounters Read(HalfOpenLedger halfOpen, long receiveBufferFull = 0)
    {
        var h = halfOpen.Statistics();
        long Read(ref long field) => Interlocked.Read(ref field);
        return new IkeNodeCounters
        {
            InOctets = Read(ref _inOctets), InPackets = Read(ref _inPackets),
            InDropPackets = Read(ref _dropped) + Read(ref _shed) + Read(ref _malformed) + Read(ref _noSa) + h.Refused + receiveBufferFull,
            OutOctets = Read(ref _outOctets), OutPackets = Read(ref _outPackets), OutDropPackets = Read(ref _outDropped),
            Malformed = Read(ref _malformed), QueueFull = Read(ref _dropped), Shed = Read(ref _shed), ReceiveBufferFull = receiveBufferFull, NoSa = Read(ref _noSa),
            HalfOpen = h.HalfOpen, HalfOpenHighWater = h.HighWater, MaxHalfOpen = halfOpen.Limits.MaxHalfOpen,
            MaxHalfOpenPerPeer = halfOpen.Limits.MaxHalfOpenPerPeer, RefusedNoKey = h.RefusedNoKey, RefusedPeerLimit = h.RefusedPeerLimit,
            RefusedNodeLimit = h.RefusedNodeLimit, Evicted = h.Evicted, Expired = h.Expired, Admitted = h.Admitted,
            InitiatorTunnels = Read(ref _initiated), InitiatorFails = Read(ref _initiatorFails), ResponderFails = Read(ref _responderFails),
            AuthFails = Read(ref _authFails), PublishedUtc = DateTime.UtcNow,
        };
    }
}
