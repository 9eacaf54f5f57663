using IkeActors.Negotiation.Peers;
using System.Net;
using IkeActors.Negotiation.Admission;

namespace IkeActors.Gateway.Hosting;

/// <summary>Where the front-end listens and how hard it may be pushed.</summary>
public sealed record FrontEndOptions
{
    /// <summary>The ISAKMP socket (RFC 2408 §2.5.2: UDP 500).</summary>
    public IPEndPoint Ike { get; init; } = new(IPAddress.Any, 500);

    /// <summary>The NAT-T socket (RFC 3947 §4, RFC 3948: UDP 4500, IKE behind the non-ESP marker and ESP in UDP); null: none.</summary>
    public IPEndPoint? NatT { get; init; } = new(IPAddress.Any, 4500);

    /// <summary>Datagrams waiting for a grain; beyond this they are dropped and counted (back-pressure, not memory).</summary>
    public int QueueCapacity { get; init; } = 4096;

    /// <summary>
    /// Datagrams on their way to grains at once (one per lane; a peer keeps its lane). A lane waits for its grain's answer
    /// (a Diffie-Hellman computation included) before it routes the next datagram, so the lanes, not the cores, bound the
    /// negotiations a node carries on at once.
    /// </summary>
    public int RoutingLanes { get; init; } = 64;

    /// <summary>
    /// How long a lane waits for an IKE SA grain's answer before it goes on to its other peers' datagrams (the answer is
    /// sent when it comes: <see cref="LaneGrainCalls"/>).
    /// </summary>
    public TimeSpan LaneGrainWait { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Grain calls the lanes went on from and that have not answered yet; beyond this the lanes wait again.</summary>
    public int MaxUnansweredGrainCalls { get; init; } = 4096;

    /// <summary>
    /// How long an MM1 (or a datagram with cookies this node does not know) may wait in its lane; older, it is dropped
    /// and counted instead of routed (<see cref="RoutingLane"/>): its peer has retransmitted by then. Datagrams of SAs
    /// that are up or negotiating here are never dropped for waiting.
    /// </summary>
    public TimeSpan NewSaQueueBudget { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A new peer's responder negotiation (Main Mode and its first Quick Mode) runs in its routing lane, and the SA goes
    /// to its grain once up (<see cref="FrontEndNegotiations"/>); false: every datagram goes to a grain.
    /// </summary>
    public bool NegotiateInLanes { get; init; } = true;

    /// <summary>
    /// Runs two tunnels through a node of its own before the node starts (<see cref="NodeWarmUp"/>). On in a published
    /// node's `run` (JIT-only, <see cref="LongRunningCompilation"/>), where it saves its first peers the compilation;
    /// off in development builds and the tests, where tiered compilation makes it pointless and it would add ~3 s to
    /// every node a test starts.
    /// </summary>
    public bool WarmUp { get; init; }

    /// <summary>How long an SA negotiated in a lane stays there after MM_ACTIVE when no Quick Mode completes (then to its grain).</summary>
    public TimeSpan PromotionGrace { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Half-open IKE SAs this node keeps: at once, per peer address, and how long one counts unreported.</summary>
    public HalfOpenLimits HalfOpen { get; init; } = PeerPolicy.HalfOpenLimits;

    /// <summary>
    /// Datagrams a second with cookies this node has not seen (not an MM1) that still go to a grain, which may hold
    /// the SA in storage (after a restart) or on another node; the rest are dropped as the ASA's "No Sa Fails".
    /// </summary>
    public int UnknownSaLookupsPerSecond { get; init; } = 200;

    /// <summary>`debug crypto ikev1` level for the console (0 = off).</summary>
    public int DebugLevel { get; init; }

    /// <summary>
    /// Configured peer address -> where it really listens (a lab on one machine: the peers'
    /// configured 10.0.0.x addresses live on loopback ports). Empty in production.
    /// </summary>
    public IReadOnlyDictionary<IPAddress, IPEndPoint> PeerMap { get; init; } = new Dictionary<IPAddress, IPEndPoint>();

    /// <summary>Where a configured peer endpoint really is: its ISAKMP port mapped as given; its NAT-T port on the mapped address.</summary>
    public IPEndPoint Real(IPEndPoint configured, bool natT = false) =>
        !PeerMap.TryGetValue(configured.Address, out var real) ? configured
        : natT ? new IPEndPoint(real.Address, configured.Port) : real;

    /// <summary>The configured endpoint of a peer heard from a real one (the reverse of <see cref="Real"/>).</summary>
    public IPEndPoint Configured(IPEndPoint real, bool natT = false)
    {
        foreach (var (address, endPoint) in PeerMap)
            if (natT ? endPoint.Address.Equals(real.Address) : endPoint.Equals(real)) return new IPEndPoint(address, natT ? real.Port : 500);
        return real;
    }
}
