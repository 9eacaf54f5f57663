using IkeActors.Negotiation;

namespace IkeActors.Grains;

/// <summary>
/// Sends datagrams the grains produce outside a request (retransmissions, rekeys, DPD):
/// the gateway's UDP front-end implements it; tests use an in-memory one.
/// </summary>
public interface IDatagramTransmitter
{
    void Send(Datagram datagram, IReadOnlyList<string> debugLines);

    /// <summary>The `debug crypto ikev1` level this silo's console and operator sessions want now (0: none).</summary>
    int DebugLevel => 0;

    /// <summary>
    /// An IKE SA grain of this silo changed state (MM_NO_STATE or MM_DELETED: it is gone), whatever moved it: a
    /// datagram, a timer (retransmissions exhausted), DPD, a DELETE, an operator. The front-end's half-open count
    /// and routing table hear every end here.
    /// </summary>
    /// <param name="initiator">This side started the SA.</param>
    /// <param name="phase1Failure">For an SA that ended before MM_ACTIVE: why Main Mode failed (a FailureReason name), if it did.</param>
    void SaStateChanged(string ikeSaKey, string state, bool initiator, string? phase1Failure) { }

    /// <summary>
    /// The live SA this silo's front-end negotiated and parked for the grain <paramref name="ikeSaKey"/>
    /// (<see cref="FrontEndHandOver.Parked"/>), now the caller's; null when it is not parked here.
    /// </summary>
    IkeSa? TakeParked(string ikeSaKey) => null;
}
