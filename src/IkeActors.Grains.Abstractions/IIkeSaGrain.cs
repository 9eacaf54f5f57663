namespace IkeActors.Grains;

/// <summary>
/// One IKE SA, keyed by "peer-address/initiator-cookie" (hex). It holds the Stateless machines of
/// its Main Mode, Quick Mode and Informational exchanges. This is the datagram path (front-end, TunnelGrain,
/// data plane); the rekey hand-over, teardown, operator and test calls are interfaces of their own on the same grain.
/// </summary>
public interface IIkeSaGrain : IGrainWithStringKey, IIkeSaShow
{
    /// <summary>A datagram for this SA (MM1 from an unknown peer creates it).</summary>
    Task<IkeStepResult> Receive(Datagram datagram, int debugLevel);

    /// <summary>
    /// An SA the front-end negotiated itself is up: the grain takes it over (restores it, arms its timers, installs its
    /// IPsec SAs, registers it with its peer's tunnel) and carries it from then on. <paramref name="handOver"/> is not
    /// copied on the way (the front-end changes it only after the answer): no copier made for every call.
    /// </summary>
    Task<IkeStepResult> TakeOver([Immutable] FrontEndHandOver handOver);

    /// <summary>Starts Main Mode as initiator; the grain's key carries the peer and the cookie to use.</summary>
    Task<IkeStepResult> StartInitiator(AcquireRequest acquire, int debugLevel);

    /// <summary>Traffic for another crypto map entry on an established SA: a new Quick Mode.</summary>
    Task<IkeStepResult> Acquire(AcquireRequest acquire, int debugLevel);

    /// <summary>The current state, as `show crypto isakmp sa` names it.</summary>
    Task<string> GetState();

    /// <summary>
    /// The data plane reports the kilobytes an IPsec SA pair (our inbound SPI) has carried, a running total:
    /// at the rekey share of its kilobyte lifetime the pair is rekeyed, at 100 % deleted. Datagrams go out
    /// through the transmitter.
    /// </summary>
    Task AccountTraffic(uint inboundSpi, long kilobytes);

    /// <summary>The data plane received traffic from the peer: DPD's idle clock restarts (RFC 3706 §5.3).</summary>
    Task TrafficReceived();

    public static string KeyFor(string peerAddress, ulong initiatorCookie) => $"{peerAddress}/{initiatorCookie:x16}";
}
