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
    /// <summary>Set by the engine that holds this SA: the other MM_ACTIVE SA with the same peer that replaces it, if any.</summary>
    internal Func<IkeSa, IkeSa?>? SuccessorLookup { get; set; }

    /// <summary>The crypto map entry and proxies a rekey's Main Mode names (an installed pair's, else the acquire that started the SA).</summary>
    internal CryptoMapMatch? RekeyMatch =>
        _quickModes.Values.Where(q => q.State == QuickModeState.QM_ACTIVE && q.Match is not null).OrderBy(q => q.MessageId).Select(q => q.Match).FirstOrDefault()
        ?? _quickModes.Values.Select(q => q.Match).FirstOrDefault(m => m is not null) ?? _initialAcquire;

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

    /// <summary>Hands the installed IPsec SAs over to the SA that replaces this one; returns their message IDs.</summary>
    internal List<uint> MoveQuickModesTo(IkeSa successor, NegotiationOutput output)
    {
        var moved = new List<uint>();
        foreach (var qm in _quickModes.Values.Where(q => q.State == QuickModeState.QM_ACTIVE).OrderBy(q => q.MessageId).ToList())
        {
            if (successor._quickModes.ContainsKey(qm.MessageId)) continue; // a message ID clash (2^-32): that pair goes with this SA
            _quickModes.Remove(qm.MessageId);
            qm.MoveTo(successor);
            successor._quickModes[qm.MessageId] = qm;
            moved.Add(qm.MessageId);
        }
        output.Add(new IpsecSasMoved(InitiatorCookie, successor.InitiatorCookie, moved.Count));
        return moved;
    }

    /// <summary>
    /// Pairs moved to <paramref name="successor"/> whose Phase 2 rekey was running on this (old) IKE SA: that
    /// Quick Mode dies with this SA, so the rekey starts again on the new one.
    /// </summary>
    private static void RestartPhase2Rekeys(IkeSa successor, List<uint> moved, NegotiationOutput output)
    {
        foreach (var id in moved)
        {
            if (!successor._quickModes.TryGetValue(id, out var qm) || qm.RekeyedBy == 0 || successor._quickModes.ContainsKey(qm.RekeyedBy)) continue;
            qm.RekeyedBy = 0;
            successor.Phase2RekeyDue(qm, output);
        }
    }

    /// <summary>The peer deleted this SA and another MM_ACTIVE SA with it exists: the end of the peer's Phase 1 rekey.</summary>
    private bool HandOverOnPeerDelete(NegotiationOutput output)
    {
        if (SuccessorLookup?.Invoke(this) is not { } successor) return false;
        var tunnels = _quickModes.Values.Count(q => q.State == QuickModeState.QM_ACTIVE);
        AsaDebug.ReceivedDeleteForRekeyedSa(output, Context, Peer.Address, InitiatorCookie, tunnels);
        var moved = MoveQuickModesTo(successor, output);
        output.Add(new Phase1Rekeyed(InitiatorCookie, successor.InitiatorCookie, Peer, moved));
        _machine.Fire(MainModeTrigger.Delete);
        foreach (var qm in _quickModes.Values) qm.Delete(output, "peer deleted the IKE SA");
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, "rekeyed"));
        Dispose();
        RestartPhase2Rekeys(successor, moved, output);
        return true;
    }

    /// <summary>For a host that keeps each IKE SA apart (one grain each): <see cref="FinishRekey"/> onto a successor it restored.</summary>
    public List<uint> HandOverTo(IkeSa successor, NegotiationOutput output) => FinishRekey(successor, output);

    /// <summary>This SA's replacement is MM_ACTIVE: hand the IPsec SAs over and delete this one, telling the peer.</summary>
    internal List<uint> FinishRekey(IkeSa successor, NegotiationOutput output)
    {
        var moved = MoveQuickModesTo(successor, output);
        output.Add(new Phase1Rekeyed(InitiatorCookie, successor.InitiatorCookie, Peer, moved));
        Delete(output, notifyPeer: true);
        RestartPhase2Rekeys(successor, moved, output);
        return moved;
    }
}
