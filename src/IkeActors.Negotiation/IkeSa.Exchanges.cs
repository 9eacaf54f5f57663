using System.Buffers.Binary;
using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

public sealed partial class IkeSa
{
    private bool _initialContactSent;

    /// <summary>Starts a Quick Mode for a crypto map entry (phase 1 must be MM_ACTIVE).</summary>
    public QuickModeExchange StartQuickMode(CryptoMapMatch acquire, NegotiationOutput output, uint messageId = 0)
    {
        if (messageId == 0)
        {
            messageId = NewMessageId();
            AsaDebug.InitiatorNewPhase2(output, IpContext, _gateway.InsideInterfaceFor(IkeActors.Config.Model.Ipv4.ToAddress(acquire.Local.Range.First)),
                Peer.Address, IkeActors.Config.Model.Ipv4.ToAddress(acquire.Local.Range.First), IkeActors.Config.Model.Ipv4.ToAddress(acquire.Remote.Range.First), acquire.Map.Name);
            AsaDebug.OakleyBeginQuickMode(output, Context);
            AsaDebug.InitiatorStartingQm(output, Context, messageId);
        }
        var qm = new QuickModeExchange(this, messageId, IkeRole.Initiator);
        Table.QuickModes[messageId] = qm;
        // The ASA sends INITIAL-CONTACT with the first Quick Mode of an IKE SA it initiated.
        qm.Start(acquire, initialContact: Role == IkeRole.Initiator && !_initialContactSent, output);
        _initialContactSent = true;
        return qm;
    }

    private void ReceiveQuickMode(ReadOnlySpan<byte> datagram, uint messageId, NegotiationOutput output)
    {
        if (_state != MainModeState.MM_ACTIVE || _cipher is null || messageId == 0)
        {
            output.Add(new MessageDropped(IkeExchange.QuickMode, messageId, DropReason.BeforePhase1, $"Quick Mode before phase 1 completed ({_state})"));
            return;
        }
        if (Table.QuickModes.TryGetValue(messageId, out var existing))
        {
            existing.Receive(datagram, output);
            return;
        }
        if (Table.ReceiveForFinished(messageId, datagram, output)) return;
        // Bounded resources: a peer cannot open unlimited half-finished Quick Modes.
        if (Table.QuickModes.Values.Count(q => q.State is QuickModeState.QM_WAIT_MSG2 or QuickModeState.QM_WAIT_MSG3) >= Settings.MaxConcurrentQuickModes)
        {
            output.Add(new MessageDropped(IkeExchange.QuickMode, messageId, DropReason.TooManyQuickModes, "too many Quick Modes in progress"));
            return;
        }
        if (!IsakmpMessages.TryDecrypt(datagram, _cipher, messageId, out var plain))
        {
            _cipher.ForgetMessageId(messageId);
            output.Add(new MessageDropped(IkeExchange.QuickMode, messageId, DropReason.DecryptionFailed, "did not decrypt to valid payloads"));
            return;
        }
        var qm = new QuickModeExchange(this, messageId, IkeRole.Responder);
        if (qm.ReceiveQm1(plain, datagram, output)) Table.QuickModes[messageId] = qm;
        else
        {
            _cipher.ForgetMessageId(messageId);
            qm.Dispose();
        }
    }

    /// <summary>The peer's DELETE for the IKE SA (RFC 2408 §3.15): its pairs go with it, or to <see cref="Successor"/> after a rekey.</summary>
    internal void PeerDeleted(NegotiationOutput output)
    {
        if (_phase1Rekey.HandOverOnPeerDelete(output)) return;
        _machine.Fire(MainModeTrigger.Delete);
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
        _machine.Fire(MainModeTrigger.Delete);
        Table.DropAll("deleted locally", output);
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, "deleted locally"));
        Dispose();
    }

    /// <summary>DPD declared the peer dead: every SA with it goes, without a DELETE (the peer is not there to read it).</summary>
    internal void PeerIsDead(NegotiationOutput output)
    {
        output.Add(new PeerDead(InitiatorCookie, Peer));
        _machine.Fire(MainModeTrigger.Delete);
        Table.DropAllOfDeadPeer(output);
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, "peer dead (DPD)"));
        Dispose();
    }

    /// <summary>The exchange answered: stop retransmitting it.</summary>
    internal void LogAndCancel(uint messageId, NegotiationOutput output) => CancelRetransmit(messageId, output);
}
