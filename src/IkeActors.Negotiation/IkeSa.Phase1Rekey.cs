namespace IkeActors.Negotiation;

/// <summary>Phase 1 rekey entry points: the rekey Main Mode, and the hand-over of IPsec SAs (<see cref="Negotiation.Phase1Rekey"/>).</summary>
public sealed partial class IkeSa
{
    /// <summary>
    /// The IKE SA (initiator cookie) the peer's Phase 1 rekey made to replace this one, as the host's peer rules
    /// name it (<see cref="Peers.PeerPolicy.SuccessorOf"/>); 0: none. When the peer then deletes this SA, its IPsec SAs
    /// are released to that SA (<see cref="IpsecSasReleased"/>) instead of deleted: IKEv1 IPsec SAs outlive their IKE SA.
    /// </summary>
    public ulong Successor { get; set; }

    /// <summary>The crypto map entry and proxies a rekey's Main Mode names (an installed pair's, else the acquire that started the SA).</summary>
    internal CryptoMapMatch? RekeyMatch => _phase1Rekey.Match;

    /// <summary>
    /// Starts the Main Mode that rekeys the IKE SA <paramref name="rekeyOf"/> (initiator cookie) with the same
    /// peer: "IKE Initiator: Rekeying Phase 1", no INITIAL-CONTACT (the peer must keep its SAs), no Quick Mode.
    /// </summary>
    public static IkeSa StartRekey(GatewayContext gateway, CryptoMapMatch entry, System.Net.IPEndPoint peer, NegotiationOutput output, ulong initiatorCookie, ulong rekeyOf)
    {
        ArgumentOutOfRangeException.ThrowIfZero(initiatorCookie);
        ArgumentOutOfRangeException.ThrowIfZero(rekeyOf);
        var sa = new IkeSa(gateway, IkeRole.Initiator, peer, initiatorCookie) { RekeyOf = rekeyOf };
        sa._initialContactSent = true;
        sa.SendFirstMessage(entry, output); // the same mode as the SA it replaces: the entry's
        return sa;
    }

    internal static ulong NewCookie(INegotiationEnvironment environment)
    {
        Span<byte> b = stackalloc byte[8];
        return NonZeroCookie(environment, b);
    }

    /// <summary>
    /// Phase 1 rekey, on the IKE SA being replaced: removes its installed pairs and returns them for
    /// <see cref="AdoptIpsecSas"/> on <paramref name="successor"/> (IKEv1 IPsec SAs outlive their IKE SA).
    /// A pair whose message ID the successor already uses (2^-32) stays, and goes with this SA.
    /// Emits <see cref="IpsecSasMoved"/> and <see cref="Phase1Rekeyed"/>; this SA is to be deleted next.
    /// </summary>
    public IReadOnlyList<IpsecSa> ReleaseIpsecSas(IkeSa successor, NegotiationOutput output) =>
        ReleaseIpsecSas(successor.InitiatorCookie, successor.UsesMessageId, output);

    /// <summary>
    /// <see cref="ReleaseIpsecSas(IkeSa, NegotiationOutput)"/> for a successor held elsewhere (another process):
    /// its initiator cookie and which message IDs it uses. The pairs travel as <see cref="IpsecSa.ToSnapshot"/>
    /// and <see cref="IpsecSa.FromSnapshot"/>; the host then disposes the released objects (their keys).
    /// </summary>
    public IReadOnlyList<IpsecSa> ReleaseIpsecSas(ulong successorCookie, Func<uint, bool> successorUsesMessageId, NegotiationOutput output) =>
        _phase1Rekey.Release(successorCookie, successorUsesMessageId, output);

    /// <summary>
    /// Phase 1 rekey, on the new IKE SA: takes the pairs <see cref="ReleaseIpsecSas(IkeSa, NegotiationOutput)"/>
    /// gave up. A pair whose Phase 2 rekey was running on the old IKE SA (that Quick Mode died with it) is
    /// rekeyed again here. Their Phase2Rekey/Phase2Expire timers are the host's to carry over.
    /// </summary>
    public void AdoptIpsecSas(IEnumerable<IpsecSa> ipsecSas, NegotiationOutput output) => _phase1Rekey.Adopt(ipsecSas, output);
}
