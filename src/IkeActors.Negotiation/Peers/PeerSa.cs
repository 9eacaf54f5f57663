using System.Net;

namespace IkeActors.Negotiation.Peers;

/// <summary>
/// What <see cref="PeerPolicy"/> needs to know of one IKE SA with a peer, whichever host holds it (an
/// <see cref="IkeSa"/> in <see cref="NegotiationEngine"/>, a grain in the cluster): its cookies, our role,
/// its Main Mode state, when it was created relative to the others (<paramref name="Order"/>, larger is newer)
/// and its Phase 1 rekey links (initiator cookies, 0 = none).
/// </summary>
public sealed record PeerSa(
    ulong InitiatorCookie,
    IPAddress Peer,
    IkeRole Role,
    MainModeState State,
    long Order,
    ulong RekeyOf = 0,
    ulong RekeyedBy = 0)
{
    /// <summary>Not deleted and not a grain that never started.</summary>
    public bool IsLive => State is not (MainModeState.MM_DELETED or MainModeState.MM_NO_STATE);

    /// <summary>Phase 1 done: the peer is authenticated (RFC 2409 §5).</summary>
    public bool IsEstablished => State == MainModeState.MM_ACTIVE;

    /// <summary>Still in Main Mode (the half-open SAs the admission rule counts).</summary>
    public bool IsHalfOpen => IsLive && !IsEstablished;

    /// <summary>The record of an SA an engine holds.</summary>
    public static PeerSa Of(IkeSa sa, long order) =>
        new(sa.InitiatorCookie, sa.Peer.Address, sa.Role, sa.State, order, sa.RekeyOf, sa.RekeyedBy);
}
