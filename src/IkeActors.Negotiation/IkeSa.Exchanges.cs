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
        _quickModes[messageId] = qm;
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
        if (_quickModes.TryGetValue(messageId, out var existing))
        {
            existing.Receive(datagram, output);
            return;
        }
        if (ReceiveForFinishedQuickMode(messageId, datagram, output)) return;
        // Bounded resources: a peer cannot open unlimited half-finished Quick Modes.
        if (_quickModes.Values.Count(q => q.State is QuickModeState.QM_WAIT_MSG2 or QuickModeState.QM_WAIT_MSG3) >= Settings.MaxConcurrentQuickModes)
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
        if (qm.ReceiveQm1(plain, datagram, output)) _quickModes[messageId] = qm;
        else
        {
            _cipher.ForgetMessageId(messageId);
            qm.Dispose();
        }
    }

    /// <summary>RFC 2409 §5.7: HASH(1) N/D, or an unprotected notify before phase 1 keys exist.</summary>
    private void ReceiveInformational(ReadOnlySpan<byte> datagram, uint messageId, bool encrypted, NegotiationOutput output)
    {
        output.Add(new MessageReceived(ExchangeMessage.Informational(messageId)));
        byte[] plain;
        if (encrypted)
        {
            if (_cipher is null || !IsakmpMessages.TryDecrypt(datagram, _cipher, messageId, out plain))
            {
                AsaDebug.InformationExchangeProcessingFailed(output, IpContext);
                return;
            }
        }
        else
        {
            plain = datagram.ToArray();
            if (_cipher is not null)
            {
                // After phase 1, an unprotected notify could be forged by anyone (RFC 2408 §5.5 accepts it only before).
                var kind = "Informational";
                if (IsakmpMessage.TryParse(datagram, out var unprotected, out _))
                    foreach (var p in unprotected.Payloads)
                        if (p.Type == (byte)PayloadType.Notification && NotificationPayloadView.TryParse(p.Raw, out var un, out _))
                        {
                            // The ASA names the notify type with underscores (NO_PROPOSAL_CHOSEN).
                            kind = (un.NotifyType.GetDisplayName() ?? ((int)un.NotifyType).ToString()).Replace('-', '_');
                            break;
                        }
                AsaDebug.ReceivedUnencryptedNotify(output, IpContext, kind);
                return;
            }
        }
        LogReceived(plain, output);
        IsakmpMessage.TryParseDecrypted(plain, out var message, out _);
        if (encrypted)
        {
            byte[]? hash = null; var afterHash = 0;
            foreach (var p in message.Payloads)
                if (p.Type == (byte)PayloadType.Hash && hash is null) { hash = p.Body.ToArray(); afterHash = p.Offset + p.Raw.Length; }
            var expected = new byte[IkeAlgorithms.HashLength(Transform!.CryptoHash)];
            if (hash is null) { AsaDebug.InformationExchangeProcessingFailed(output, IpContext); return; }
            IkeHashes.InformationalHash(Transform.CryptoHash, _keys!.SkeyidA, messageId, plain.AsSpan(afterHash, IsakmpMessages.ChainEnd(plain) - afterHash), expected);
            if (!IkePrf.FixedTimeEquals(expected, hash))
            {
                AsaDebug.InformationExchangeProcessingFailed(output, IpContext);
                return;
            }
            _cipher!.ForgetMessageId(messageId);
            AsaDebug.ProcessingHashPayload(output, Context);
        }
        Dpd.AckRejected = false;
        foreach (var p in message.Payloads)
        {
            if (_state == MainModeState.MM_DELETED) break;
            if (p.Type == (byte)PayloadType.Notification && NotificationPayloadView.TryParse(p.Raw, out var n, out _))
                HandleNotify(n, output);
            else if (p.Type == (byte)PayloadType.Delete && DeletePayloadView.TryParse(p.Raw, out var d, out _))
            {
                AsaDebug.ProcessingDelete(output, Context);
                HandleDelete(d, output);
            }
        }
        // An authenticated message is proof of liveness (RFC 3706 §5.3), unless it was only an ACK we could not match (§7).
        if (encrypted && !Dpd.AckRejected) PeerAlive(output);
    }

    private void HandleNotify(NotificationPayloadView n, NegotiationOutput output)
    {
        AsaDebug.ProcessingNotifyPayload(output, Context);
        var name = AsaNotifyName(n.NotifyType);
        switch (n.NotifyType)
        {
            case NotifyMessageType.RUThere or NotifyMessageType.RUThereAck:
                Dpd.Received(n, output);
                return;
            case NotifyMessageType.InitialContact or NotifyMessageType.ResponderLifetime:
                return;
            default:
                AsaDebug.ReceivedNonRoutineNotify(output, Context, name, (long)n.NotifyType);
                var reason = n.NotifyType switch
                {
                    NotifyMessageType.NoProposalChosen => FailureReason.NoProposalChosen,
                    NotifyMessageType.InvalidIdInformation => FailureReason.ProxyIdMismatch,
                    NotifyMessageType.AuthenticationFailed or NotifyMessageType.InvalidHashInformation => FailureReason.AuthenticationFailed,
                    _ => FailureReason.PeerNotified,
                };
                if (_state != MainModeState.MM_ACTIVE) { Fail(reason, $"peer sent {name}", output); return; }
                // A failure notify during Quick Mode ends the exchanges still waiting.
                AbandonWaitingQuickModes(reason, name, output);
                return;
        }
    }

    /// <summary>
    /// The name the ASA prints in "Received non-routine Notify message: NAME (N)": its own wording
    /// for the two it is known for (schemas/debug-ikev1.isakmp), the RFC 2408 §3.14.1 name otherwise.
    /// </summary>
    internal static string AsaNotifyName(NotifyMessageType type) => type switch
    {
        NotifyMessageType.NoProposalChosen => "No proposal chosen",
        NotifyMessageType.InvalidIdInformation => "Invalid ID info",
        _ => type.GetDisplayName() ?? "UNKNOWN",
    };

    private void HandleDelete(DeletePayloadView d, NegotiationOutput output)
    {
        if (d.ProtocolId == ProtocolId.Isakmp)
        {
            output.Add(new DeleteReceived(ProtocolId.Isakmp, 0, 0));
            if (HandOverOnPeerDelete(output)) return;
            _machine.Fire(MainModeTrigger.Delete);
            DropQuickModes("peer deleted the IKE SA", output);
            output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, "peer deleted the IKE SA"));
            Dispose();
            return;
        }
        var spis = d.Spis;
        for (var i = 0; i + 4 <= spis.Length && d.SpiSize == 4; i += 4)
            PeerDeletedSpi(BinaryPrimitives.ReadUInt32BigEndian(spis[i..]), output);
    }

    /// <summary>An encrypted Informational notify (RFC 2409 §5.7) once keys exist, otherwise unprotected.</summary>
    internal void SendNotify(NotifyMessageType type, ProtocolId protocol, byte[] spi, NegotiationOutput output)
    {
        var notify = new NotificationPayload { Doi = Doi.Ipsec, ProtocolId = protocol, NotifyType = type, Spi = spi };
        SendInformational(notify, output);
    }

    /// <summary>Deletes the IKE SA and its IPsec SAs, telling the peer (RFC 2408 §3.15): ESP SPIs first, then ISAKMP.</summary>
    public void Delete(NegotiationOutput output) => Delete(output, notifyPeer: true);

    /// <summary>Deletes the SA; without telling the peer when it is known to have forgotten it (INITIAL-CONTACT).</summary>
    public void Delete(NegotiationOutput output, bool notifyPeer)
    {
        if (_state == MainModeState.MM_DELETED) return;
        if (notifyPeer && _cipher is not null && _state == MainModeState.MM_ACTIVE)
        {
            var spis = InstalledInboundSpis();
            if (spis.Count > 0)
            {
                var bytes = new byte[spis.Count * 4];
                for (var i = 0; i < spis.Count; i++) BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), spis[i]);
                AsaDebug.ConstructingBlankHashPayload(output, Context);
                AsaDebug.ConstructingIpsecDeletePayload(output, Context);
                AsaDebug.ConstructingQmHashPayload(output, Context);
                SendInformational(new DeletePayload { Doi = Doi.Ipsec, ProtocolId = ProtocolId.IpsecEsp, SpiSize = 4, Spis = bytes }, output);
                foreach (var ipsecSa in _ipsecSas.Values)
                    AsaDebug.IkeDeletingSa(output, Context, Ipv4.ToAddress(ipsecSa.Remote.Range.First), Ipv4.ToAddress(ipsecSa.Local.Range.First));
            }
            AsaDebug.ConstructingBlankHashPayload(output, Context);
            AsaDebug.ConstructingIkeDeletePayload(output, Context);
            AsaDebug.ConstructingQmHashPayload(output, Context);
            SendInformational(new DeletePayload { Doi = Doi.Ipsec, ProtocolId = ProtocolId.Isakmp, SpiSize = 16, Spis = IsakmpMessages.CookieBytes(InitiatorCookie, ResponderCookie) }, output);
        }
        _machine.Fire(MainModeTrigger.Delete);
        DropQuickModes("deleted locally", output);
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, "deleted locally"));
        Dispose();
    }

    /// <summary>DPD declared the peer dead: every SA with it goes, without a DELETE (the peer is not there to read it).</summary>
    internal void PeerIsDead(NegotiationOutput output)
    {
        output.Add(new PeerDead(InitiatorCookie, Peer));
        _machine.Fire(MainModeTrigger.Delete);
        DropQuickModesOfDeadPeer(output);
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, "peer dead (DPD)"));
        Dispose();
    }

    internal void SendInformational<T>(T payload, NegotiationOutput output) where T : struct, IIsakmpPayload
    {
        if (_cipher is null || _keys is null)
        {
            var plainOnly = IsakmpMessages.Build(Header(ExchangeType.Informational, 0), [payload]);
            AsaDebug.IkeDecodeSending(output, IpContext, 0, IsakmpMessages.PayloadTypes(plainOnly), plainOnly.Length);
            output.Add(Datagram(plainOnly));
            return;
        }
        var messageId = NewMessageId();
        var hashLength = IkeAlgorithms.HashLength(Transform!.CryptoHash);
        var plain = IsakmpMessages.Build(Header(ExchangeType.Informational, messageId), [new HashPayload { HashData = new byte[hashLength] }, payload]);
        var afterHash = IsakmpMessages.HeaderSize + 4 + hashLength;
        // RFC 2409 §5.7: HASH(1) = prf(SKEYID_a, M-ID | N/D).
        IkeHashes.InformationalHash(Transform.CryptoHash, _keys.SkeyidA, messageId, plain.AsSpan(afterHash), plain.AsSpan(IsakmpMessages.HeaderSize + 4, hashLength));
        SendEncrypted(plain, messageId, output, remember: false);
        _cipher.ForgetMessageId(messageId);
    }

    /// <summary>The exchange answered: stop retransmitting it.</summary>
    internal void LogAndCancel(uint messageId, NegotiationOutput output) => CancelRetransmit(messageId, output);
}
