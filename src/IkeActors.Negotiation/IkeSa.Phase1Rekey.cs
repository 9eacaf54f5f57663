using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// Phase 1 rekey: at its Phase1Rekey point (initiator 95 %, responder 75 % of the lifetime, so the
/// original responder normally goes first) an IKE SA asks for a new Main Mode with the same peer
/// (<see cref="Phase1RekeyDue"/>). The new SA sends no INITIAL-CONTACT and starts no Quick Mode; when it
/// is MM_ACTIVE the old one hands its IPsec SAs over (IKEv1 IPsec SAs do not depend on their IKE SA) and
/// is deleted with a DELETE, which makes the peer hand its own over too.
/// </summary>
public sealed partial class IkeSa
{
    /// <summary>
    /// The IKE SA (initiator cookie) the peer's Phase 1 rekey made to replace this one, as the host's peer rules
    /// name it (<see cref="Peers.PeerPolicy.SuccessorOf"/>); 0: none. When the peer then deletes this SA, its IPsec SAs
    /// are released to that SA (<see cref="IpsecSasReleased"/>) instead of deleted: IKEv1 IPsec SAs outlive their IKE SA.
    /// </summary>
    public ulong Successor { get; set; }

    /// <summary>The crypto map entry and proxies a rekey's Main Mode names (an installed pair's, else the acquire that started the SA).</summary>
    internal CryptoMapMatch? RekeyMatch =>
        _ipsecSas.Values.OrderBy(s => s.MessageId).Select(s => s.Match).FirstOrDefault()
        ?? _quickModes.Values.Select(q => q.Match).FirstOrDefault(m => m is not null)
        ?? _failedQuickModes.Values.Select(m => m.Match).FirstOrDefault(m => m is not null) ?? _initialAcquire;

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
        sa._mainMode = new MainModeExchange(sa, sa._transcript);
        sa._mainMode.SendMainMode1(entry, output);
        return sa;
    }

    internal static ulong NewCookie(INegotiationEnvironment environment)
    {
        Span<byte> b = stackalloc byte[8];
        return NonZeroCookie(environment, b);
    }

    private void Phase1RekeyTimerFired(NegotiationOutput output)
    {
        if (_state != MainModeState.MM_ACTIVE || RekeyedBy != 0) return;
        if (RekeyMatch is not { } match)
        {
            // Nothing to protect: the SA is left to expire (or be replaced by the next acquire).
            output.Add(new RekeyDue(RekeyPhase.Phase1, 0, RekeyDecision.NothingToProtect));
            return;
        }
        output.Add(new RekeyDue(RekeyPhase.Phase1, 0, RekeyDecision.Rekeying));
        output.Add(new Phase1RekeyDue(InitiatorCookie, Peer, match.Map.Name, match.Entry.Sequence));
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
    public IReadOnlyList<IpsecSa> ReleaseIpsecSas(ulong successorCookie, Func<uint, bool> successorUsesMessageId, NegotiationOutput output)
    {
        var released = new List<IpsecSa>();
        foreach (var ipsecSa in _ipsecSas.Values.OrderBy(s => s.MessageId).ToList())
        {
            if (successorUsesMessageId(ipsecSa.MessageId)) continue;
            _ipsecSas.Remove(ipsecSa.MessageId);
            released.Add(ipsecSa);
        }
        output.Add(new IpsecSasMoved(InitiatorCookie, successorCookie, released.Count));
        output.Add(new Phase1Rekeyed(InitiatorCookie, successorCookie, Peer, released.Select(s => s.MessageId).ToList()));
        return released;
    }

    /// <summary>
    /// Phase 1 rekey, on the new IKE SA: takes the pairs <see cref="ReleaseIpsecSas(IkeSa, NegotiationOutput)"/>
    /// gave up. A pair whose Phase 2 rekey was running on the old IKE SA (that Quick Mode died with it) is
    /// rekeyed again here. Their Phase2Rekey/Phase2Expire timers are the host's to carry over.
    /// </summary>
    public void AdoptIpsecSas(IEnumerable<IpsecSa> ipsecSas, NegotiationOutput output)
    {
        var adopted = new List<IpsecSa>();
        foreach (var ipsecSa in ipsecSas)
        {
            if (ipsecSa.State != IpsecSaState.Installed) continue;
            if (UsesMessageId(ipsecSa.MessageId))
            {
                ipsecSa.Delete(output, "message ID in use by the new IKE SA");
                continue;
            }
            _ipsecSas[ipsecSa.MessageId] = ipsecSa;
            adopted.Add(ipsecSa);
        }
        foreach (var ipsecSa in adopted)
        {
            if (ipsecSa.RekeyedBy == 0 || UsesMessageId(ipsecSa.RekeyedBy)) continue;
            ipsecSa.RekeyedBy = 0;
            Phase2RekeyDue(ipsecSa, output);
        }
    }

    /// <summary>The peer deleted this SA after its rekey made <see cref="Successor"/>: the pairs go there, this SA goes.</summary>
    private bool HandOverOnPeerDelete(NegotiationOutput output)
    {
        if (Successor == 0) return false;
        AsaDebug.ReceivedDeleteForRekeyedSa(output, Context, Peer.Address, InitiatorCookie, _ipsecSas.Count);
        // A message ID the successor already uses (2^-32) is caught by AdoptIpsecSas: that pair is deleted there.
        var released = ReleaseIpsecSas(Successor, _ => false, output);
        _machine.Fire(MainModeTrigger.Delete);
        DropQuickModes("peer deleted the IKE SA", output);
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, "rekeyed"));
        output.Add(new IpsecSasReleased(InitiatorCookie, Successor, released));
        Dispose();
        return true;
    }
}
