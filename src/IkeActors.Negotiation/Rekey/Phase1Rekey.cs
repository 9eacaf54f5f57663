using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// Phase 1 rekey: at its Phase1Rekey point (initiator 95 %, responder 75 % of the lifetime, so the
/// original responder normally goes first) an IKE SA asks for a new Main Mode with the same peer
/// (<see cref="Phase1RekeyDue"/>). The new SA sends no INITIAL-CONTACT and starts no Quick Mode; when it
/// is MM_ACTIVE the old one hands its IPsec SAs over (IKEv1 IPsec SAs do not depend on their IKE SA) and
/// is deleted with a DELETE, which makes the peer hand its own over too.
/// </summary>
internal sealed class Phase1Rekey(IkeSa sa, IpsecSaTable table)
{
    /// <summary>The crypto map entry and proxies a rekey's Main Mode names (an installed pair's, else the acquire that started the SA).</summary>
    public CryptoMapMatch? Match =>
        table.Installed.Values.OrderBy(s => s.MessageId).Select(s => s.Match).FirstOrDefault()
        ?? table.QuickModes.Values.Select(q => q.Match).FirstOrDefault(m => m is not null)
        ?? table.Failed.Values.Select(m => m.Match).FirstOrDefault(m => m is not null) ?? sa.InitialAcquire;

    public void TimerFired(NegotiationOutput output)
    {
        if (sa.State != MainModeState.MM_ACTIVE || sa.RekeyedBy != 0) return;
        if (Match is not { } match)
        {
            // Nothing to protect: the SA is left to expire (or be replaced by the next acquire).
            output.Add(new RekeyDue(RekeyPhase.Phase1, 0, RekeyDecision.NothingToProtect));
            return;
        }
        if (match.Dynamic is not null)
        {
            // A dynamic crypto map never initiates (ASA: responder only): the peer that reached it rekeys.
            output.Add(new RekeyDue(RekeyPhase.Phase1, 0, RekeyDecision.LeftToInitiator));
            return;
        }
        output.Add(new RekeyDue(RekeyPhase.Phase1, 0, RekeyDecision.Rekeying));
        output.Add(new Phase1RekeyDue(sa.InitiatorCookie, sa.Peer, match.Tag, match.Entry.Sequence));
    }

    /// <summary>On the IKE SA being replaced: its installed pairs leave the table, except one whose message ID the successor uses.</summary>
    public IReadOnlyList<IpsecSa> Release(ulong successorCookie, Func<uint, bool> successorUsesMessageId, NegotiationOutput output)
    {
        var released = new List<IpsecSa>();
        foreach (var ipsecSa in table.Installed.Values.OrderBy(s => s.MessageId).ToList())
        {
            if (successorUsesMessageId(ipsecSa.MessageId)) continue;
            table.Installed.Remove(ipsecSa.MessageId);
            released.Add(ipsecSa);
        }
        output.Add(new IpsecSasMoved(sa.InitiatorCookie, successorCookie, released.Count));
        output.Add(new Phase1Rekeyed(sa.InitiatorCookie, successorCookie, sa.Peer, released.Select(s => s.MessageId).ToList()));
        return released;
    }

    /// <summary>On the new IKE SA: takes the released pairs; one whose Phase 2 rekey died with the old IKE SA is rekeyed again.</summary>
    public void Adopt(IEnumerable<IpsecSa> ipsecSas, NegotiationOutput output)
    {
        var adopted = new List<IpsecSa>();
        foreach (var ipsecSa in ipsecSas)
        {
            if (ipsecSa.State != IpsecSaState.Installed) continue;
            if (table.UsesMessageId(ipsecSa.MessageId))
            {
                ipsecSa.Delete(output, "message ID in use by the new IKE SA");
                continue;
            }
            table.Installed[ipsecSa.MessageId] = ipsecSa;
            adopted.Add(ipsecSa);
        }
        foreach (var ipsecSa in adopted)
        {
            if (ipsecSa.RekeyedBy == 0 || table.UsesMessageId(ipsecSa.RekeyedBy)) continue;
            ipsecSa.RekeyedBy = 0;
            sa.Phase2Rekey.Due(ipsecSa, output);
        }
    }

    /// <summary>The peer deleted this SA after its rekey made <see cref="IkeSa.Successor"/>: the pairs go there, this SA goes.</summary>
    public bool HandOverOnPeerDelete(NegotiationOutput output)
    {
        if (sa.Successor == 0) return false;
        AsaDebug.ReceivedDeleteForRekeyedSa(output, sa.Context, sa.Peer.Address, sa.InitiatorCookie, table.Installed.Count);
        // A message ID the successor already uses (2^-32) is caught by Adopt: that pair is deleted there.
        var released = Release(sa.Successor, _ => false, output);
        sa.Fire(MainModeTrigger.Delete);
        table.DropAll("peer deleted the IKE SA", output);
        output.Add(new IkeSaDeleted(sa.InitiatorCookie, sa.ResponderCookie, "rekeyed"));
        output.Add(new IpsecSasReleased(sa.InitiatorCookie, sa.Successor, released));
        sa.Dispose();
        return true;
    }
}
