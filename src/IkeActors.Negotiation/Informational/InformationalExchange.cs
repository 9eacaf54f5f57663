using System.Buffers.Binary;
using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// The Informational exchange of one IKE SA (RFC 2409 §5.7, RFC 2408 §4.8): HASH(1) N/D once phase 1
/// keys exist, an unprotected notify before. Receives notifies (DPD's go to <see cref="DpdMonitor"/>)
/// and DELETEs of the IKE SA or of ESP SPIs; sends notifies and the DELETEs of <see cref="IkeSa.Delete(NegotiationOutput, bool)"/>.
/// </summary>
internal sealed class InformationalExchange(IkeSa sa)
{
    /// <summary>RFC 2409 §5.7: HASH(1) N/D, or an unprotected notify before phase 1 keys exist.</summary>
    public void Receive(ReadOnlySpan<byte> datagram, uint messageId, bool encrypted, NegotiationOutput output)
    {
        output.Add(new MessageReceived(ExchangeMessage.Informational(messageId)));
        byte[] plain;
        if (encrypted)
        {
            if (sa.Cipher is null || !IsakmpMessages.TryDecrypt(datagram, sa.Cipher, messageId, out plain))
            {
                AsaDebug.InformationExchangeProcessingFailed(output, sa.IpContext);
                return;
            }
        }
        else
        {
            plain = datagram.ToArray();
            if (sa.Cipher is not null)
            {
                // After phase 1, an unprotected notify could be forged by anyone (RFC 2408 §5.5 accepts it only before).
                AsaDebug.ReceivedUnencryptedNotify(output, sa.IpContext, UnprotectedKind(datagram));
                return;
            }
        }
        sa.LogReceived(plain, output);
        IsakmpMessage.TryParseDecrypted(plain, out var message, out _);
        if (encrypted && !VerifyHash(plain, message, messageId, output)) return;
        sa.Dpd.AckRejected = false;
        foreach (var p in message.Payloads)
        {
            if (sa.State == MainModeState.MM_DELETED) break;
            if (p.Type == (byte)PayloadType.Notification && NotificationPayloadView.TryParse(p.Raw, out var n, out _))
                ReceiveNotify(n, output);
            else if (p.Type == (byte)PayloadType.Delete && DeletePayloadView.TryParse(p.Raw, out var d, out _))
            {
                AsaDebug.ProcessingDelete(output, sa.Context);
                ReceiveDelete(d, output);
            }
        }
        // An authenticated message is proof of liveness (RFC 3706 §5.3), unless it was only an ACK we could not match (§7).
        if (encrypted && !sa.Dpd.AckRejected) sa.PeerAlive(output);
    }

    /// <summary>The notify type of an unprotected Informational, as the ASA names it (NO_PROPOSAL_CHOSEN, with underscores).</summary>
    private static string UnprotectedKind(ReadOnlySpan<byte> datagram)
    {
        if (IsakmpMessage.TryParse(datagram, out var unprotected, out _))
            foreach (var p in unprotected.Payloads)
                if (p.Type == (byte)PayloadType.Notification && NotificationPayloadView.TryParse(p.Raw, out var un, out _))
                    return (un.NotifyType.GetDisplayName() ?? ((int)un.NotifyType).ToString()).Replace('-', '_');
        return "Informational";
    }

    /// <summary>RFC 2409 §5.7: HASH(1) = prf(SKEYID_a, M-ID | N/D), the first payload.</summary>
    private bool VerifyHash(byte[] plain, IsakmpMessage message, uint messageId, NegotiationOutput output)
    {
        byte[]? hash = null; var afterHash = 0;
        foreach (var p in message.Payloads)
            if (p.Type == (byte)PayloadType.Hash && hash is null) { hash = p.Body.ToArray(); afterHash = p.Offset + p.Raw.Length; }
        if (hash is null) { AsaDebug.InformationExchangeProcessingFailed(output, sa.IpContext); return false; }
        if (!sa.HashProtectedVerifies(messageId, plain, afterHash, hash))
        {
            AsaDebug.InformationExchangeProcessingFailed(output, sa.IpContext);
            return false;
        }
        sa.Cipher!.ForgetMessageId(messageId);
        AsaDebug.ProcessingHashPayload(output, sa.Context);
        return true;
    }

    private void ReceiveNotify(NotificationPayloadView n, NegotiationOutput output)
    {
        AsaDebug.ProcessingNotifyPayload(output, sa.Context);
        var name = AsaNotifyName(n.NotifyType);
        switch (n.NotifyType)
        {
            case NotifyMessageType.RUThere or NotifyMessageType.RUThereAck:
                sa.Dpd.Received(n, output);
                return;
            case NotifyMessageType.InitialContact or NotifyMessageType.ResponderLifetime:
                return;
            default:
                AsaDebug.ReceivedNonRoutineNotify(output, sa.Context, name, (long)n.NotifyType);
                var reason = n.NotifyType switch
                {
                    NotifyMessageType.NoProposalChosen => FailureReason.NoProposalChosen,
                    NotifyMessageType.InvalidIdInformation => FailureReason.ProxyIdMismatch,
                    NotifyMessageType.AuthenticationFailed or NotifyMessageType.InvalidHashInformation => FailureReason.AuthenticationFailed,
                    _ => FailureReason.PeerNotified,
                };
                if (sa.State != MainModeState.MM_ACTIVE) { sa.Fail(reason, $"peer sent {name}", output); return; }
                // A failure notify during Quick Mode ends the exchanges still waiting.
                sa.Table.AbandonWaiting(reason, name, output);
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

    /// <summary>RFC 2408 §3.15: the peer deletes the IKE SA (ISAKMP, cookies) or IPsec SAs (ESP, 4-byte SPIs).</summary>
    private void ReceiveDelete(DeletePayloadView d, NegotiationOutput output)
    {
        if (d.ProtocolId == ProtocolId.Isakmp)
        {
            output.Add(new DeleteReceived(ProtocolId.Isakmp, 0, 0));
            sa.PeerDeleted(output);
            return;
        }
        var spis = d.Spis;
        for (var i = 0; i + 4 <= spis.Length && d.SpiSize == 4; i += 4)
            sa.Table.PeerDeletedSpi(BinaryPrimitives.ReadUInt32BigEndian(spis[i..]), output);
    }

    /// <summary>An encrypted Informational notify (RFC 2409 §5.7) once keys exist, otherwise unprotected.</summary>
    public void SendNotify(NotifyMessageType type, ProtocolId protocol, byte[] spi, NegotiationOutput output)
    {
        var notify = new NotificationPayload { Doi = Doi.Ipsec, ProtocolId = protocol, NotifyType = type, Spi = spi };
        Send(notify, output);
    }

    /// <summary>RFC 2408 §3.14 / §5: an unprotected notification about the IKE SA (before phase 1 keys exist).</summary>
    public void SendPlainNotify(NotifyMessageType type, NegotiationOutput output)
    {
        var notify = new NotificationPayload { Doi = Doi.Ipsec, ProtocolId = ProtocolId.Isakmp, NotifyType = type, Spi = IsakmpMessages.CookieBytes(sa.InitiatorCookie, sa.ResponderCookie) };
        var bytes = IsakmpMessages.Build(sa.Header(ExchangeType.Informational, 0), [notify]);
        AsaDebug.IkeDecodeSending(output, sa.IpContext, 0, IsakmpMessages.PayloadTypes(bytes), bytes.Length);
        output.Add(sa.Datagram(bytes));
    }

    /// <summary>RFC 2408 §3.15: DELETE for our inbound ESP SPIs (what the peer sends on), as the ASA logs it.</summary>
    public void SendEspDelete(IReadOnlyList<uint> inboundSpis, NegotiationOutput output)
    {
        var bytes = new byte[inboundSpis.Count * 4];
        for (var i = 0; i < inboundSpis.Count; i++) BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), inboundSpis[i]);
        AsaDebug.ConstructingBlankHashPayload(output, sa.Context);
        AsaDebug.ConstructingIpsecDeletePayload(output, sa.Context);
        AsaDebug.ConstructingQmHashPayload(output, sa.Context);
        Send(new DeletePayload { Doi = Doi.Ipsec, ProtocolId = ProtocolId.IpsecEsp, SpiSize = 4, Spis = bytes }, output);
    }

    /// <summary>RFC 2408 §3.15: DELETE for the IKE SA itself (ISAKMP, SPI = the two cookies).</summary>
    public void SendIsakmpDelete(NegotiationOutput output)
    {
        AsaDebug.ConstructingBlankHashPayload(output, sa.Context);
        AsaDebug.ConstructingIkeDeletePayload(output, sa.Context);
        AsaDebug.ConstructingQmHashPayload(output, sa.Context);
        Send(new DeletePayload { Doi = Doi.Ipsec, ProtocolId = ProtocolId.Isakmp, SpiSize = 16, Spis = IsakmpMessages.CookieBytes(sa.InitiatorCookie, sa.ResponderCookie) }, output);
    }

    /// <summary>One payload in an Informational: HASH(1)-protected under phase 1 keys (RFC 2409 §5.7), in the clear before.</summary>
    public void Send<T>(T payload, NegotiationOutput output) where T : struct, IIsakmpPayload
    {
        if (sa.Cipher is null || sa.Keys is null)
        {
            var plainOnly = IsakmpMessages.Build(sa.Header(ExchangeType.Informational, 0), [payload]);
            AsaDebug.IkeDecodeSending(output, sa.IpContext, 0, IsakmpMessages.PayloadTypes(plainOnly), plainOnly.Length);
            output.Add(sa.Datagram(plainOnly));
            return;
        }
        var messageId = sa.NewMessageId();
        // RFC 2409 §5.7: HASH(1) = prf(SKEYID_a, M-ID | N/D).
        sa.SendHashProtected(ExchangeType.Informational, messageId, payload, output);
        sa.Cipher.ForgetMessageId(messageId);
    }
}
