using IkeActors.Config.Model;
using IkeActors.Crypto;
using IkeActors.Protocol;
using static IkeActors.Negotiation.QuickModePayloads;

namespace IkeActors.Negotiation;

/// <summary>The responder's side: QM1 in, QM2 out, QM3 in (RFC 2409 §5.5).</summary>
public sealed partial class QuickModeExchange
{
    /// <summary>QM1: false when it is refused (the exchange is then dropped, and the IV of its message ID with it).</summary>
    internal bool ReceiveQm1(byte[] plain, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        output.Add(new MessageReceived(ExchangeMessage.QuickMode(1, MessageId)));
        AsaDebug.ResponderStartingQm(output, IpContext, MessageId);
        _sa.LogReceived(plain, output);
        var q = ReadPayloads(plain, QuickModeMessage.Qm1, output);
        if (!VerifyQm1(ref q, plain, datagram, output)) return false;
        if (!CheckProxies(q.Ids, output)) return false;
        AsaDebug.ProcessingIpsecSaPayload(output, Context);
        var lifetime = Match!.Entry.EffectiveLifetime(_sa.Gateway.Config.GlobalSaLifetime);
        if (_proposals.Select(q.Sa, Match.Entry, lifetime, output) is not { } choice)
        {
            FailExchange(FailureReason.TransformSetMismatch, "no transform set matches the peer's proposal", output, notify: NotifyMessageType.NoProposalChosen);
            return false;
        }
        OutboundSpi = choice.Spi;
        Transform = choice.Offered;
        (Lifetime, var responderLifetime) = _proposals.NegotiateLifetime(choice.Offered, lifetime, output);
        if (!StartPfs(choice.Offered, output)) return false;
        if (!SendQm2(choice, echoIds: q.Ids.Count >= 2, responderLifetime, output)) return false;
        if (q.InitialContact) output.Add(new InitialContactReceived(_sa.InitiatorCookie, _sa.Peer.Address));
        return true;
    }

    /// <summary>HASH, SA and nonce present and HASH(1) = prf(SKEYID_a, M-ID | everything after HASH) (RFC 2409 §5.5).</summary>
    private bool VerifyQm1(ref QuickModePayloads q, byte[] plain, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (q.Hash is null || q.Nonce is null || !q.HaveSa)
        {
            FailExchange(FailureReason.MalformedMessage, "QM1 lacks HASH, SA or nonce", output, notify: NotifyMessageType.PayloadMalformed);
            return false;
        }
        var expected = new byte[HashLength];
        IkeHashes.QuickModeHash1(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, plain.AsSpan(q.AfterHash, IsakmpMessages.ChainEnd(plain) - q.AfterHash), expected);
        if (!IkePrf.FixedTimeEquals(expected, q.Hash))
        {
            FailExchange(FailureReason.AuthenticationFailed, "HASH(1) does not verify", output, notify: NotifyMessageType.InvalidHashInformation);
            return false;
        }
        _sa.Cipher!.AcceptReceived(MessageId, datagram[IsakmpMessages.HeaderSize..]);
        _sa.PeerAlive(output);
        _ni = q.Nonce;
        _lastReceived = datagram.ToArray();
        return true;
    }

    /// <summary>The proxies (IDci, IDcr) and the crypto map entry for them (<see cref="ResponderProxies"/>).</summary>
    private bool CheckProxies(List<ProxyId?> ids, NegotiationOutput output)
    {
        (Local, Remote, var match) = ResponderProxies.Check(_sa, ids, output);
        if (match is null)
        {
            FailExchange(FailureReason.ProxyIdMismatch, $"no crypto map entry for remote proxy {Remote} local proxy {Local}", output, notify: NotifyMessageType.InvalidIdInformation);
            return false;
        }
        Match = match;
        return true;
    }

    /// <summary>With PFS (RFC 2409 §5.5) our DH pair for the group the chosen transform names; the peer must have sent KE.</summary>
    private bool StartPfs(IpsecTransform chosen, NegotiationOutput output)
    {
        if (chosen.PfsGroup is not { } group) return true;
        _pfs = _sa.Gateway.Environment.CreateKeyPair(IkeSa.DhGroupOf(group, _sa.Gateway.Settings.DhExponent));
        if (_peerPfsPublic.Length > 0) return true;
        FailExchange(FailureReason.MalformedMessage, "PFS proposed without a KE payload", output, notify: NotifyMessageType.PayloadMalformed);
        return false;
    }

    /// <summary>
    /// QM2: HASH(2) SA Nr [KE] [IDci IDcr] [RESPONDER-LIFETIME]; HASH(2) = prf(SKEYID_a, M-ID | Ni_b | everything after HASH).
    /// The keys are known now: our inbound SA goes into the data plane before QM2 goes out. False when they cannot be
    /// derived (an invalid PFS public value: the exchange has failed).
    /// </summary>
    private bool SendQm2(ProposalChoice choice, bool echoIds, List<DataAttribute> responderLifetime, NegotiationOutput output)
    {
        AsaDebug.RequestingSpi(output, Context);
        TakeInboundSpi(output);
        AsaDebug.ConstructingIpsecSaPayloadResponder(output, Context);
        var chosenSa = IpsecProposals.ChosenProposal(choice, InboundSpi);
        AsaDebug.ConstructingIpsecNoncePayloadResponder(output, Context);
        _nr = _keys.Nonce();
        var payloads = new List<IIsakmpPayload> { new HashPayload { HashData = new byte[HashLength] }, chosenSa, new NoncePayload { NonceData = _nr } };
        if (_pfs is not null) payloads.Add(new KePayload { KeyExchangeData = _pfs.PublicValue.ToArray() });
        AsaDebug.ConstructingProxyId(output, Context);
        AsaDebug.TransmittingProxyId(output, Context);
        if (echoIds)
        {
            // RFC 2409 §5.5: the responder echoes the identities it accepted.
            payloads.Add(IdOf(Remote));
            payloads.Add(IdOf(Local));
        }
        if (responderLifetime.Count > 0) payloads.Add(IpsecProposals.ResponderLifetimeNotify(responderLifetime, OutboundSpi));
        AsaDebug.ConstructingQmHashPayload(output, Context);
        var plain = IsakmpMessages.Build(_sa.Header(ExchangeType.QuickMode, MessageId), payloads);
        var hashEnd = IsakmpMessages.HeaderSize + 4 + HashLength;
        IkeHashes.QuickModeHash2(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, _ni, plain.AsSpan(hashEnd), plain.AsSpan(IsakmpMessages.HeaderSize + 4, HashLength));
        if (!DeriveKeys(output)) return false;
        AsaDebug.ResponderSending2ndQmPacket(output, Context, MessageId);
        Fire(QuickModeTrigger.ReceivedQm1);
        // RFC 2409 §5.5: the initiator has the keys once it has QM2, and may send on the new SA before its QM3 reaches
        // us (strongSwan installs both its SAs on QM2, before sending QM3): the inbound SA must be there first.
        InstallInbound(output);
        _lastSent = _sa.SendEncrypted(plain, MessageId, output, remember: false);
        _sa.ArmRetransmit(MessageId, 0, output);
        output.Add(new MessageSent(ExchangeMessage.QuickMode(2, MessageId)));
        return true;
    }

    private void ReceiveQm3(byte[] plain, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        _sa.LogReceived(plain, output);
        var hash = QuickModePayloads.ReadHash3(plain, Context, output);
        var expected = new byte[HashLength];
        IkeHashes.QuickModeHash3(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, _ni, _nr, expected);
        if (hash is null || !IkePrf.FixedTimeEquals(expected, hash))
        {
            // RFC 2408 §5.11: the notify is a MAY. The initiator has installed its SAs already, so
            // failing here would leave the two sides apart; a damaged QM3 is dropped (IV untouched,
            // RFC 2409 Appendix B) and our QM2 retransmission brings the initiator's QM3 again. The
            // outbound SA is not installed (RFC 2409 §5.5: only an authentic QM3 says the initiator has the
            // keys); the inbound one stays for the QM3 that does verify.
            output.Add(new MessageDropped(IkeExchange.QuickMode, MessageId, DropReason.HashMismatch, "HASH(3) does not verify"));
            return;
        }
        _sa.Cipher!.AcceptReceived(MessageId, datagram[IsakmpMessages.HeaderSize..]);
        _sa.PeerAlive(output);
        _sa.LogAndCancel(MessageId, output);
        if (!Install(output)) return;
        Complete(output);
    }
}
