using IkeActors.Protocol;

namespace IkeActors.Negotiation;

public sealed partial class IkeSa
{
    private bool _initialContactSent;

    /// <summary>Starts a Quick Mode for a crypto map entry (phase 1 must be MM_ACTIVE).</summary>
    public QuickModeExchange StartQuickMode(CryptoMapMatch acquire, NegotiationOutput output, uint messageId = 0) =>
        Table.StartQuickMode(acquire, output, messageId);

    /// <summary>The peer's DELETE for the IKE SA (RFC 2408 §3.15): its pairs go with it, or to <see cref="Successor"/> after a rekey.</summary>
    internal void PeerDeleted(NegotiationOutput output)
    {
        if (_phase1Rekey.HandOverOnPeerDelete(output)) return;
        Fire(MainModeTrigger.Delete);
        RemoteAccess.End(output);
        Table.DropAll("peer deleted the IKE SA", output);
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, "peer deleted the IKE SA"));
        Dispose();
    }

    /// <summary>An encrypted Informational notify (RFC 2409 §5.7) once keys exist, otherwise unprotected.</summary>
    internal void SendNotify(NotifyMessageType type, ProtocolId protocol, byte[] spi, NegotiationOutput output)
        => Informational.SendNotify(type, protocol, spi, output);

    /// <summary>Deletes the IKE SA and its IPsec SAs, telling the peer (RFC 2408 §3.15): ESP SPIs first, then ISAKMP.</summary>
    public void Delete(NegotiationOutput output) => Delete(output, notifyPeer: true);

    /// <summary>Deletes the SA; without telling the peer when it is known to have forgotten it (INITIAL-CONTACT).</summary>
    public void Delete(NegotiationOutput output, bool notifyPeer)
    {
        if (_state == MainModeState.MM_DELETED) return;
        if (notifyPeer && _cipher is not null && _state == MainModeState.MM_ACTIVE)
        {
            var spis = Table.InboundSpis();
            if (spis.Count > 0)
            {
                Informational.SendEspDelete(spis, output);
                foreach (var ipsecSa in Table.Installed.Values)
                    AsaDebug.IkeDeletingSa(output, Context, Ipv4.ToAddress(ipsecSa.Remote.Range.First), Ipv4.ToAddress(ipsecSa.Local.Range.First));
            }
            Informational.SendIsakmpDelete(output);
        }
        Fire(MainModeTrigger.Delete);
        RemoteAccess.End(output);
        Table.DropAll("deleted locally", output);
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, "deleted locally"));
        Dispose();
    }

    /// <summary>DPD declared the peer dead: every SA with it goes, without a DELETE (the peer is not there to read it).</summary>
    internal void PeerIsDead(NegotiationOutput output)
    {
        output.Add(new PeerDead(InitiatorCookie, Peer));
        Fire(MainModeTrigger.Delete);
        RemoteAccess.End(output);
        Table.DropAllOfDeadPeer(output);
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, "peer dead (DPD)"));
        Dispose();
    }

    /// <summary>The exchange answered: stop retransmitting it.</summary>
    internal void LogAndCancel(uint messageId, NegotiationOutput output) => CancelRetransmit(messageId, output);
}
