using IkeActors.Crypto;
using IkeActors.Protocol;
using static IkeActors.Negotiation.QuickModePayloads;

namespace IkeActors.Negotiation;

/// <summary>The initiator's side: QM1 out, QM2 in, QM3 out (RFC 2409 §5.5).</summary>
public sealed partial class QuickModeExchange
{
    internal void Start(CryptoMapMatch match, bool initialContact, NegotiationOutput output)
    {
        Match = match;
        Local = match.Local;
        Remote = match.Remote;
        var entry = match.Entry;
        var lifetime = entry.EffectiveLifetime(_sa.Gateway.Config.GlobalSaLifetime);
        LifetimeSeconds = lifetime.Seconds;
        LifetimeKilobytes = lifetime.Kilobytes;
        var offers = _proposals.TransformsOf(entry, lifetime);

        TakeInboundSpi(output);
        AsaDebug.ConstructingIpsecSaPayloadInitiator(output, Context);
        var sa = IpsecProposals.ProposalOf(offers, InboundSpi);
        AsaDebug.ConstructingIpsecNoncePayloadInitiator(output, Context);
        _ni = _keys.Nonce();
        var payloads = new List<IIsakmpPayload> { new HashPayload { HashData = new byte[HashLength] }, sa, new NoncePayload { NonceData = _ni } };
        if (entry.PfsGroup is { } pfsGroup)
        {
            AsaDebug.ConstructingPfsKePayload(output, Context);
            _pfs = _sa.Gateway.Environment.CreateKeyPair(IkeSa.DhGroupOf((OakleyGroup)pfsGroup, _sa.Gateway.Settings.DhExponent));
            payloads.Add(new KePayload { KeyExchangeData = _pfs.PublicValue.ToArray() });
        }
        AsaDebug.ConstructingProxyId(output, Context);
        AsaDebug.TransmittingProxyId(output, Context);
        payloads.Add(IdOf(Local));
        payloads.Add(IdOf(Remote));
        if (initialContact)
        {
            AsaDebug.InitiatorSendingInitialContact(output, Context);
            payloads.Add(QuickModePayloads.InitialContactNotify(_sa.InitiatorCookie, _sa.ResponderCookie));
        }
        SendQm1(payloads, output);
    }

    private void SendQm1(List<IIsakmpPayload> payloads, NegotiationOutput output)
    {
        AsaDebug.ConstructingQmHashPayload(output, Context);
        var plain = IsakmpMessages.Build(_sa.Header(ExchangeType.QuickMode, MessageId), payloads);
        var afterHash = IsakmpMessages.HeaderSize + 4 + HashLength;
        // RFC 2409 §5.5: HASH(1) = prf(SKEYID_a, M-ID | everything after the HASH payload).
        IkeHashes.QuickModeHash1(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, plain.AsSpan(afterHash), plain.AsSpan(IsakmpMessages.HeaderSize + 4, HashLength));
        AsaDebug.InitiatorSending1stQmPacket(output, Context, MessageId);
        Fire(QuickModeTrigger.Start);
        _lastSent = _sa.SendEncrypted(plain, MessageId, output, remember: false);
        _sa.ArmRetransmit(MessageId, 0, output);
        output.Add(new MessageSent(ExchangeMessage.QuickMode(1, MessageId)));
    }

    private void ReceiveQm2(byte[] plain, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        _sa.LogReceived(plain, output);
        var q = ReadPayloads(plain, QuickModeMessage.Qm2, output);
        if (q.Hash is null || q.Nonce is null || !q.HaveSa)
        {
            FailExchange(FailureReason.MalformedMessage, "QM2 lacks HASH, SA or nonce", output, notify: NotifyMessageType.PayloadMalformed);
            return;
        }
        _nr = q.Nonce;
        var expected = new byte[HashLength];
        IkeHashes.QuickModeHash2(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, _ni, plain.AsSpan(q.AfterHash, IsakmpMessages.ChainEnd(plain) - q.AfterHash), expected);
        if (!IkePrf.FixedTimeEquals(expected, q.Hash))
        {
            FailExchange(FailureReason.AuthenticationFailed, "HASH(2) does not verify", output, notify: NotifyMessageType.InvalidHashInformation);
            return;
        }
        _sa.Cipher!.AcceptReceived(MessageId, datagram[IsakmpMessages.HeaderSize..]);
        _sa.PeerAlive(output);

        if (_proposals.AcceptResponderChoice(q.Sa, Match!.Entry, Lifetime) is not { } chosen)
        {
            FailExchange(FailureReason.TransformSetMismatch, "the responder chose a transform we did not offer", output, notify: NotifyMessageType.NoProposalChosen);
            return;
        }
        (Transform, OutboundSpi) = chosen;
        Lifetime = _proposals.ApplyResponderLifetime(Lifetime, q.ResponderLifetime, output);
        if (!Install(output)) return;
        _sa.LogAndCancel(MessageId, output);
        SendQm3(output);
        Complete(output);
    }

    /// <summary>QM3: HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b).</summary>
    private void SendQm3(NegotiationOutput output)
    {
        var hash3 = new byte[HashLength];
        IkeHashes.QuickModeHash3(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, _ni, _nr, hash3);
        // Remembered: a retransmitted QM2 (our QM3 was lost) is answered with QM3 again (RFC 2408 §5 retransmission).
        _lastSent = _sa.SendEncrypted(ExchangeType.QuickMode, MessageId, [new HashPayload { HashData = hash3 }], output, remember: false);
        output.Add(new MessageSent(ExchangeMessage.QuickMode(3, MessageId)));
    }
}
