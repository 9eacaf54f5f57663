using System.Buffers.Binary;
using System.Net;
using IkeActors.Config.Model;
using IkeActors.Crypto;
using IkeActors.Protocol;
using Stateless;

namespace IkeActors.Negotiation;

/// <summary>
/// One Quick Mode exchange (RFC 2409 §5.5), identified by its message ID, in either role:
/// HASH(1) SA Ni [KE] IDci IDcr -> HASH(2) SA Nr [KE] IDci IDcr -> HASH(3).
/// </summary>
public sealed partial class QuickModeExchange : IDisposable
{
    private IkeSa _sa;
    private readonly StateMachine<QuickModeState, QuickModeTrigger> _machine;
    private QuickModeState _state = QuickModeState.QM_IDLE;
    private byte[] _ni = [], _nr = [];
    private byte[]? _lastSent;
    private byte[]? _lastReceived;
    private int _retransmits;
    private DhKeyPair? _pfs;
    private byte[] _peerPfsPublic = [];

    internal QuickModeExchange(IkeSa sa, uint messageId, IkeRole role)
    {
        _sa = sa;
        MessageId = messageId;
        Role = role;
        _machine = new StateMachine<QuickModeState, QuickModeTrigger>(() => _state, s => _state = s);
        StateGraphs.ConfigureQuickMode(_machine, role);
    }

    public uint MessageId { get; }
    public IkeRole Role { get; }
    public QuickModeState State => _state;
    public CryptoMapMatch? Match { get; private set; }
    public IpsecTransform? Transform { get; private set; }
    public uint InboundSpi { get; private set; }
    public uint OutboundSpi { get; private set; }
    public ProxyId Local { get; private set; }
    public ProxyId Remote { get; private set; }
    public int LifetimeSeconds { get; private set; }
    public long? LifetimeKilobytes { get; private set; }
    public IpsecSaPair? Installed { get; private set; }
    /// <summary>The message ID of the Quick Mode whose pair this one replaces (a Phase 2 rekey), 0 for a new one.</summary>
    public uint RekeyOf { get; internal set; }
    /// <summary>The message ID of the Quick Mode that replaces this pair once it is installed, 0 while none runs.</summary>
    public uint RekeyedBy { get; internal set; }
    /// <summary>Kilobytes the pair has carried, as the data plane last reported (<see cref="IkeSa.TrafficAccounted"/>).</summary>
    public long KilobytesUsed { get; internal set; }
    /// <summary>The kilobyte soft limit (the rekey share of the kB lifetime) has been reached.</summary>
    public bool KilobyteSoftLimitReached { get; internal set; }

    /// <summary>A Phase 1 rekey moves the pair to the new IKE SA (IKEv1 IPsec SAs are independent of their IKE SA).</summary>
    internal void MoveTo(IkeSa sa) => _sa = sa;

    private DebugContext Context => _sa.Context;
    private DebugContext IpContext => _sa.IpContext;

    // ------------------------------------------------------------------ initiator

    internal void Start(CryptoMapMatch match, bool initialContact, NegotiationOutput output)
    {
        Match = match;
        Local = match.Local;
        Remote = match.Remote;
        var entry = match.Entry;
        var lifetime = entry.EffectiveLifetime(_sa.Gateway.Config.GlobalSaLifetime);
        LifetimeSeconds = lifetime.Seconds;
        LifetimeKilobytes = lifetime.Kilobytes;
        var offers = TransformsOf(entry, lifetime);

        InboundSpi = NewSpi();
        AsaDebug.IpsecNewEmbryonicSa(output, InboundSpi.ToString("X8"));
        AsaDebug.IkeGotSpiFromKeyEngine(output, Context, InboundSpi);
        AsaDebug.OakleyConstructingQuickMode(output, Context);
        AsaDebug.ConstructingBlankHashPayload(output, Context);
        AsaDebug.ConstructingIpsecSaPayloadInitiator(output, Context);
        var sa = ProposalOf(offers, InboundSpi);
        AsaDebug.ConstructingIpsecNoncePayloadInitiator(output, Context);
        _ni = Nonce();
        var payloads = new List<IIsakmpPayload> { new HashPayload { HashData = new byte[HashLength] }, sa, new NoncePayload { NonceData = _ni } };
        if (entry.PfsGroup is { } pfsGroup)
        {
            AsaDebug.ConstructingPfsKePayload(output, Context);
            _pfs = _sa.Gateway.Environment.CreateKeyPair(IkeSa.DhGroupOf((OakleyGroup)pfsGroup));
            payloads.Add(new KePayload { KeyExchangeData = _pfs.PublicValue.ToArray() });
        }
        AsaDebug.ConstructingProxyId(output, Context);
        AsaDebug.TransmittingProxyId(output, Context);
        payloads.Add(IdOf(Local));
        payloads.Add(IdOf(Remote));
        if (initialContact)
        {
            // RFC 2407 §4.6.3.3: tells the peer to forget SAs of our previous incarnation.
            AsaDebug.InitiatorSendingInitialContact(output, Context);
            payloads.Add(new NotificationPayload
            {
                Doi = Doi.Ipsec, ProtocolId = ProtocolId.Isakmp, NotifyType = NotifyMessageType.InitialContact,
                Spi = Messages.CookieBytes(_sa.InitiatorCookie, _sa.ResponderCookie),
            });
        }
        AsaDebug.ConstructingQmHashPayload(output, Context);
        var plain = Messages.Build(_sa.Header(ExchangeType.QuickMode, MessageId), payloads);
        var afterHash = Messages.HeaderSize + 4 + HashLength;
        // RFC 2409 §5.5: HASH(1) = prf(SKEYID_a, M-ID | everything after the HASH payload).
        IkeHashes.QuickModeHash1(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, plain.AsSpan(afterHash), plain.AsSpan(Messages.HeaderSize + 4, HashLength));
        AsaDebug.InitiatorSending1stQmPacket(output, Context, MessageId);
        _machine.Fire(QuickModeTrigger.Start);
        _lastSent = _sa.SendEncrypted(plain, MessageId, output, remember: false);
        _sa.ArmRetransmit(MessageId, 0, output);
        output.Add(new MessageSent(ExchangeMessage.QuickMode(1, MessageId)));
    }

    private void ReceiveQm2(byte[] plain, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        _sa.LogReceived(plain, output);
        IsakmpMessage.TryParseDecrypted(plain, out var message, out _);
        var q = new QuickModePayloads();
        var idCount = 0;
        var responderLifetime = new List<(LifeType Type, ulong Value)>();
        foreach (var p in message.Payloads)
        {
            if (ReadShared(p, ref q, output)) continue;
            switch ((PayloadType)p.Type)
            {
                case PayloadType.Identification:
                    AsaDebug.ProcessingIdPayload(output, Context);
                    if (IdPayloadView.TryParse(p.Raw, out var id, out _)) { LogId(id, output); idCount++; }
                    break;
                case PayloadType.Notification:
                    AsaDebug.ProcessingNotifyPayload(output, Context);
                    if (NotificationPayloadView.TryParse(p.Raw, out var n, out _) && n.NotifyType == NotifyMessageType.ResponderLifetime)
                    {
                        // RFC 2407 §4.6.3.1: the data is SA Life Type / SA Life Duration attribute pairs.
                        var type = LifeType.Seconds;
                        foreach (var a in new DataAttributeReader(n.NotificationData))
                        {
                            if (!a.TryGetInteger(out var v)) continue;
                            if ((IpsecAttribute)a.Type == IpsecAttribute.SaLifeType) type = (LifeType)v;
                            else if ((IpsecAttribute)a.Type == IpsecAttribute.SaLifeDuration) responderLifetime.Add((type, v));
                        }
                    }
                    break;
            }
        }
        if (q.Hash is null || q.Nonce is null || !q.HaveSa)
        {
            FailExchange(FailureReason.MalformedMessage, "QM2 lacks HASH, SA or nonce", output, notify: NotifyMessageType.PayloadMalformed);
            return;
        }
        _nr = q.Nonce;
        var expected = new byte[HashLength];
        IkeHashes.QuickModeHash2(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, _ni, plain.AsSpan(q.AfterHash, Messages.ChainEnd(plain) - q.AfterHash), expected);
        if (!IkePrf.FixedTimeEquals(expected, q.Hash))
        {
            FailExchange(FailureReason.AuthenticationFailed, "HASH(2) does not verify", output, notify: NotifyMessageType.InvalidHashInformation);
            return;
        }
        _sa.Cipher!.AcceptReceived(MessageId, datagram[Messages.HeaderSize..]);
        _sa.PeerAlive(output);

        // The responder's choice must be one of our offers (RFC 2408 §4.2).
        IpsecTransform? chosen = null;
        foreach (var proposal in q.Sa.Proposals)
        {
            if (proposal.ProtocolId != ProtocolId.IpsecEsp || proposal.Spi.Length != 4) continue;
            foreach (var t in proposal.Transforms)
            {
                if (IpsecTransform.FromTransform(t) is { } offered && TransformsOf(Match!.Entry, new IpsecSaLifetime(LifetimeSeconds, LifetimeKilobytes)).Any(o => o.Matches(offered)))
                {
                    chosen = offered;
                    OutboundSpi = BinaryPrimitives.ReadUInt32BigEndian(proposal.Spi);
                    break;
                }
            }
            if (chosen is not null) break;
        }
        if (chosen is null)
        {
            FailExchange(FailureReason.TransformSetMismatch, "the responder chose a transform we did not offer", output, notify: NotifyMessageType.NoProposalChosen);
            return;
        }
        Transform = chosen;

        // RFC 2407 §4.6.3.1: RESPONDER-LIFETIME; the shorter lifetime wins.
        foreach (var (type, value) in responderLifetime)
        {
            if (type == LifeType.Seconds && (long)value < LifetimeSeconds)
            {
                AsaDebug.ResponderForcingRekeyDurationSeconds(output, Context, LifetimeSeconds, (long)value);
                LifetimeSeconds = (int)value;
            }
            else if (type == LifeType.Kilobytes && (LifetimeKilobytes is null || (long)value < LifetimeKilobytes))
            {
                AsaDebug.ResponderForcingRekeyDurationKbs(output, Context, LifetimeKilobytes ?? 0, (long)value);
                LifetimeKilobytes = (long)value;
            }
        }

        if (!Install(output)) return;
        _sa.LogAndCancel(MessageId, output);
        // QM3: HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b).
        var hash3 = new byte[HashLength];
        IkeHashes.QuickModeHash3(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, _ni, _nr, hash3);
        // Remembered: a retransmitted QM2 (our QM3 was lost) is answered with QM3 again (RFC 2408 §5 retransmission).
        _lastSent = _sa.SendEncrypted(ExchangeType.QuickMode, MessageId, [new HashPayload { HashData = hash3 }], output, remember: false);
        output.Add(new MessageSent(ExchangeMessage.QuickMode(3, MessageId)));
        Complete(output);
    }

    // ------------------------------------------------------------------ responder

    internal bool ReceiveQm1(byte[] plain, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        output.Add(new MessageReceived(ExchangeMessage.QuickMode(1, MessageId)));
        AsaDebug.ResponderStartingQm(output, IpContext, MessageId);
        _sa.LogReceived(plain, output);
        IsakmpMessage.TryParseDecrypted(plain, out var message, out _);
        var q = new QuickModePayloads();
        var ids = new List<ProxyId?>();
        var initialContact = false;
        foreach (var p in message.Payloads)
        {
            if (ReadShared(p, ref q, output)) continue;
            switch ((PayloadType)p.Type)
            {
                case PayloadType.Identification:
                    AsaDebug.ProcessingIdPayload(output, Context);
                    if (IdPayloadView.TryParse(p.Raw, out var id, out _))
                    {
                        LogId(id, output);
                        var proxy = ProxyOf(id);
                        if (proxy is { } px && px.Prefix is { } prefix)
                        {
                            if (ids.Count == 0) AsaDebug.ReceivedRemoteIpProxySubnet(output, Context, prefix.Address, prefix.MaskAddress, px.Protocol, px.Port);
                            else AsaDebug.ReceivedLocalIpProxySubnet(output, Context, prefix.Address, prefix.MaskAddress, px.Protocol, px.Port);
                        }
                        ids.Add(proxy);
                    }
                    break;
                case PayloadType.Notification:
                    AsaDebug.ProcessingNotifyPayload(output, Context);
                    if (NotificationPayloadView.TryParse(p.Raw, out var notify, out _) && notify.NotifyType == NotifyMessageType.InitialContact)
                        initialContact = true;
                    break;
            }
        }
        if (q.Hash is null || q.Nonce is null || !q.HaveSa)
        {
            FailExchange(FailureReason.MalformedMessage, "QM1 lacks HASH, SA or nonce", output, notify: NotifyMessageType.PayloadMalformed);
            return false;
        }
        var expected = new byte[HashLength];
        IkeHashes.QuickModeHash1(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, plain.AsSpan(q.AfterHash, Messages.ChainEnd(plain) - q.AfterHash), expected);
        if (!IkePrf.FixedTimeEquals(expected, q.Hash))
        {
            FailExchange(FailureReason.AuthenticationFailed, "HASH(1) does not verify", output, notify: NotifyMessageType.InvalidHashInformation);
            return false;
        }
        _sa.Cipher!.AcceptReceived(MessageId, datagram[Messages.HeaderSize..]);
        _sa.PeerAlive(output);
        _ni = q.Nonce;
        _lastReceived = datagram.ToArray();

        // RFC 2409 §5.5: without IDs the proxies are the two gateways' addresses.
        Remote = ids.Count >= 2 && ids[0] is { } r ? r : ProxyId.Host(_sa.Peer.Address);
        Local = ids.Count >= 2 && ids[1] is { } l ? l : ProxyId.Host(_sa.Gateway.Local.Address);
        // A pair for these proxies already installed: the initiator is rekeying it (the old one goes with its DELETE or lifetime).
        if (!_sa.HasActivePairFor(Local, Remote)) AsaDebug.QmIsRekeyedOldSaNotFound(output, Context);

        // ASA "Static Crypto Map check": the first entry (by sequence) whose ACL mirrors the proxies.
        var check = _sa.Gateway.Lookup.StaticCryptoMapCheck(_sa.Peer.Address, Local, Remote, _sa.Gateway.OutsideInterface);
        foreach (var step in check.Steps)
        {
            AsaDebug.StaticCryptoMapChecking(output, Context, step.Map, step.Sequence);
            if (step.Matched) AsaDebug.StaticCryptoMapMatch(output, Context, step.Map, step.Sequence);
        }
        if (check.Match is not { } match)
        {
            var rp = Remote.Prefix ?? new Ipv4Prefix(Remote.Range.First, 32);
            var lp = Local.Prefix ?? new Ipv4Prefix(Local.Range.First, 32);
            AsaDebug.RejectingIpsecTunnelNoCryptoMap(output, Context, rp.Address, rp.MaskAddress, Remote.Protocol, Remote.Port,
                lp.Address, lp.MaskAddress, Local.Protocol, Local.Port, _sa.Gateway.OutsideInterface);
            FailExchange(FailureReason.ProxyIdMismatch, $"no crypto map entry for remote proxy {Remote} local proxy {Local}", output, notify: NotifyMessageType.InvalidIdInformation);
            return false;
        }
        Match = match;
        AsaDebug.RemotePeerConfiguredForCryptoMap(output, Context, match.Map.Name);

        AsaDebug.ProcessingIpsecSaPayload(output, Context);
        var lifetime = match.Entry.EffectiveLifetime(_sa.Gateway.Config.GlobalSaLifetime);
        var ours = TransformsOf(match.Entry, lifetime);
        (int Proposal, int Transform, IpsecTransform Offered, uint Spi)? choice = null;
        foreach (var proposal in q.Sa.Proposals)
        {
            if (proposal.ProtocolId != ProtocolId.IpsecEsp) continue;
            if (proposal.Spi.Length != 4) { AsaDebug.InvalidEspSpiSize(output, Context, proposal.Spi.Length); continue; }
            foreach (var t in proposal.Transforms)
            {
                if (IpsecTransform.FromTransform(t) is not { } offered || !ours.Any(o => o.Matches(offered))) continue;
                choice = (proposal.ProposalNumber, t.TransformNumber, offered, BinaryPrimitives.ReadUInt32BigEndian(proposal.Spi));
                break;
            }
            if (choice is not null) break;
        }
        if (choice is not { } c)
        {
            AsaDebug.AllIpsecSaProposalsUnacceptable(output, Context);
            FailExchange(FailureReason.TransformSetMismatch, "no transform set matches the peer's proposal", output, notify: NotifyMessageType.NoProposalChosen);
            return false;
        }
        AsaDebug.IpsecSaProposalAcceptable(output, Context, c.Proposal, c.Transform, match.Entry.Sequence);
        OutboundSpi = c.Spi;
        Transform = c.Offered;
        // The shorter lifetime wins; when ours is shorter we say so (RFC 2407 §4.6.3.1).
        var notifyLifetime = new List<DataAttribute>();
        LifetimeSeconds = c.Offered.LifetimeSeconds;
        LifetimeKilobytes = c.Offered.LifetimeKilobytes;
        if (lifetime.Seconds < c.Offered.LifetimeSeconds)
        {
            AsaDebug.OverridingInitiatorRekeyDurationSeconds(output, Context, c.Offered.LifetimeSeconds, lifetime.Seconds);
            LifetimeSeconds = lifetime.Seconds;
            notifyLifetime.Add(DataAttribute.Basic((ushort)IpsecAttribute.SaLifeType, (ushort)LifeType.Seconds));
            notifyLifetime.Add(DataAttribute.Integer((ushort)IpsecAttribute.SaLifeDuration, (ulong)lifetime.Seconds));
        }
        if (lifetime.Kilobytes is { } kb && (c.Offered.LifetimeKilobytes is null || kb < c.Offered.LifetimeKilobytes))
        {
            AsaDebug.OverridingInitiatorRekeyDurationKbs(output, Context, c.Offered.LifetimeKilobytes ?? 0, kb);
            LifetimeKilobytes = kb;
            notifyLifetime.Add(DataAttribute.Basic((ushort)IpsecAttribute.SaLifeType, (ushort)LifeType.Kilobytes));
            notifyLifetime.Add(DataAttribute.Integer((ushort)IpsecAttribute.SaLifeDuration, (ulong)kb));
        }
        if (c.Offered.PfsGroup is { } group)
        {
            _pfs = _sa.Gateway.Environment.CreateKeyPair(IkeSa.DhGroupOf(group));
            if (_peerPfsPublic.Length == 0)
            {
                FailExchange(FailureReason.MalformedMessage, "PFS proposed without a KE payload", output, notify: NotifyMessageType.PayloadMalformed);
                return false;
            }
        }

        AsaDebug.RequestingSpi(output, Context);
        InboundSpi = NewSpi();
        AsaDebug.IpsecNewEmbryonicSa(output, InboundSpi.ToString("X8"));
        AsaDebug.IkeGotSpiFromKeyEngine(output, Context, InboundSpi);
        AsaDebug.OakleyConstructingQuickMode(output, Context);
        AsaDebug.ConstructingBlankHashPayload(output, Context);
        AsaDebug.ConstructingIpsecSaPayloadResponder(output, Context);
        var chosenSa = new SaPayload
        {
            Doi = Doi.Ipsec,
            Situation = Situation.IdentityOnly,
            Proposals =
            [
                new ProposalPayload
                {
                    ProposalNumber = (byte)c.Proposal, ProtocolId = ProtocolId.IpsecEsp, Spi = SpiBytes(InboundSpi),
                    Transforms = [c.Offered.ToTransform((byte)c.Transform)],
                },
            ],
        };
        AsaDebug.ConstructingIpsecNoncePayloadResponder(output, Context);
        _nr = Nonce();
        var payloads = new List<IIsakmpPayload> { new HashPayload { HashData = new byte[HashLength] }, chosenSa, new NoncePayload { NonceData = _nr } };
        if (_pfs is not null) payloads.Add(new KePayload { KeyExchangeData = _pfs.PublicValue.ToArray() });
        AsaDebug.ConstructingProxyId(output, Context);
        AsaDebug.TransmittingProxyId(output, Context);
        if (ids.Count >= 2)
        {
            // RFC 2409 §5.5: the responder echoes the identities it accepted.
            payloads.Add(IdOf(Remote));
            payloads.Add(IdOf(Local));
        }
        if (notifyLifetime.Count > 0)
        {
            payloads.Add(new NotificationPayload
            {
                Doi = Doi.Ipsec, ProtocolId = ProtocolId.IpsecEsp, NotifyType = NotifyMessageType.ResponderLifetime,
                Spi = SpiBytes(OutboundSpi), NotificationData = AttributeBytes(notifyLifetime),
            });
        }
        AsaDebug.ConstructingQmHashPayload(output, Context);
        var plainOut = Messages.Build(_sa.Header(ExchangeType.QuickMode, MessageId), payloads);
        var hashEnd = Messages.HeaderSize + 4 + HashLength;
        IkeHashes.QuickModeHash2(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, _ni, plainOut.AsSpan(hashEnd), plainOut.AsSpan(Messages.HeaderSize + 4, HashLength));
        AsaDebug.ResponderSending2ndQmPacket(output, Context, MessageId);
        _machine.Fire(QuickModeTrigger.ReceivedQm1);
        _lastSent = _sa.SendEncrypted(plainOut, MessageId, output, remember: false);
        _sa.ArmRetransmit(MessageId, 0, output);
        output.Add(new MessageSent(ExchangeMessage.QuickMode(2, MessageId)));
        if (initialContact) output.Add(new InitialContactReceived(_sa.InitiatorCookie, _sa.Peer.Address));
        return true;
    }

    private void ReceiveQm3(byte[] plain, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        _sa.LogReceived(plain, output);
        IsakmpMessage.TryParseDecrypted(plain, out var message, out _);
        byte[]? hash = null;
        foreach (var p in message.Payloads)
            if (p.Type == (byte)PayloadType.Hash) { hash ??= p.Body.ToArray(); AsaDebug.ProcessingHashPayload(output, Context); }
        var expected = new byte[HashLength];
        IkeHashes.QuickModeHash3(HashAlgorithm, _sa.Keys!.SkeyidA, MessageId, _ni, _nr, expected);
        if (hash is null || !IkePrf.FixedTimeEquals(expected, hash))
        {
            // RFC 2408 §5.11: the notify is a MAY. The initiator has installed its SAs already, so
            // failing here would leave the two sides apart; a damaged QM3 is dropped (IV untouched,
            // RFC 2409 Appendix B) and our QM2 retransmission brings the initiator's QM3 again.
            output.Add(new MessageDropped(IkeExchange.QuickMode, MessageId, DropReason.HashMismatch, "HASH(3) does not verify"));
            return;
        }
        _sa.Cipher!.AcceptReceived(MessageId, datagram[Messages.HeaderSize..]);
        _sa.PeerAlive(output);
        _sa.LogAndCancel(MessageId, output);
        if (!Install(output)) return;
        Complete(output);
    }

    /// <summary>The payloads both Quick Mode messages carry (RFC 2409 §5.5): HASH, SA, nonce, and KE with PFS.</summary>
    private ref struct QuickModePayloads
    {
        public byte[]? Hash;
        public int AfterHash;
        public byte[]? Nonce;
        public SaPayloadView Sa;
        public bool HaveSa;
    }

    /// <summary>Reads a shared payload (the first of each kind) and says so; false for the others.</summary>
    private bool ReadShared(PayloadEntry p, ref QuickModePayloads q, NegotiationOutput output)
    {
        switch ((PayloadType)p.Type)
        {
            case PayloadType.Hash when q.Hash is null:
                q.Hash = p.Body.ToArray();
                q.AfterHash = p.Offset + p.Raw.Length;
                AsaDebug.ProcessingHashPayload(output, Context);
                return true;
            case PayloadType.SecurityAssociation when !q.HaveSa:
                q.HaveSa = SaPayloadView.TryParse(p.Raw, out q.Sa, out _);
                AsaDebug.ProcessingSaPayload(output, Context);
                return true;
            case PayloadType.Nonce when q.Nonce is null:
                q.Nonce = p.Body.ToArray();
                AsaDebug.ProcessingNoncePayload(output, Context);
                return true;
            case PayloadType.KeyExchange:
                _peerPfsPublic = p.Body.ToArray();
                AsaDebug.ProcessingKePayload(output, Context);
                return true;
            default:
                return false;
        }
    }

    // ------------------------------------------------------------------ common

    internal void Receive(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (_lastReceived is not null && datagram.SequenceEqual(_lastReceived))
        {
            // A retransmitted request: the same answer again, not a new computation.
            if (_lastSent is not null) output.Add(_sa.Datagram(_lastSent, retransmission: true));
            return;
        }
        if (!Messages.TryDecrypt(datagram, _sa.Cipher!, MessageId, out var plain))
        {
            output.Add(new MessageDropped(IkeExchange.QuickMode, MessageId, DropReason.DecryptionFailed, "did not decrypt to valid payloads"));
            return;
        }
        switch (_state)
        {
            case QuickModeState.QM_WAIT_MSG2 when Role == IkeRole.Initiator:
                _lastReceived = datagram.ToArray();
                output.Add(new MessageReceived(ExchangeMessage.QuickMode(2, MessageId)));
                ReceiveQm2(plain, datagram, output);
                break;
            case QuickModeState.QM_WAIT_MSG3 when Role == IkeRole.Responder:
                output.Add(new MessageReceived(ExchangeMessage.QuickMode(3, MessageId)));
                ReceiveQm3(plain, datagram, output);
                break;
            default:
                output.Add(new MessageDropped(IkeExchange.QuickMode, MessageId, DropReason.UnexpectedMessage, $"unexpected message in {_state}"));
                break;
        }
    }

    internal void TimerFired(TimerKey key, NegotiationOutput output)
    {
        if (_state is not (QuickModeState.QM_WAIT_MSG2 or QuickModeState.QM_WAIT_MSG3) || _lastSent is null) return;
        if (_retransmits >= _sa.Settings.RetransmitLimit)
        {
            FailExchange(FailureReason.RetransmissionsExhausted, $"no answer in {_state} after {_retransmits} retransmissions", output, notify: null);
            return;
        }
        _retransmits++;
        _machine.Fire(QuickModeTrigger.Retransmit);
        output.Add(_sa.Datagram(_lastSent, retransmission: true));
        _sa.ArmRetransmit(MessageId, _retransmits, output);
    }

    /// <summary>KEYMAT for both directions (RFC 2409 §5.5) and the install action.</summary>
    private bool Install(NegotiationOutput output)
    {
        AsaDebug.LoadingAllIpsecSas(output, Context);
        AsaDebug.GeneratingQuickModeKey(output, Context);
        var transform = Transform!;
        var length = transform.EncryptionKeyBytes + transform.IntegrityKeyBytes;
        SecretBuffer? pfsSecret = null;
        if (_pfs is not null && _pfs.ComputeSharedSecret(_peerPfsPublic, out pfsSecret) != DhStatus.Ok)
        {
            FailExchange(FailureReason.InvalidKeyExchange, "invalid PFS public value", output, notify: NotifyMessageType.InvalidKeyInformation);
            return false;
        }
        using (pfsSecret)
        {
            var inbound = new byte[length];
            var outbound = new byte[length];
            var secret = pfsSecret is null ? ReadOnlySpan<byte>.Empty : pfsSecret.ReadOnlySpan;
            IkeHashes.Keymat(HashAlgorithm, _sa.Keys!.SkeyidD, secret, (byte)ProtocolId.IpsecEsp, SpiBytes(InboundSpi), _ni, _nr, inbound);
            IkeHashes.Keymat(HashAlgorithm, _sa.Keys!.SkeyidD, secret, (byte)ProtocolId.IpsecEsp, SpiBytes(OutboundSpi), _ni, _nr, outbound);
            var e = transform.EncryptionKeyBytes;
            Installed = new IpsecSaPair(
                new IpsecSaKeys(InboundSpi, inbound[..e], inbound[e..]),
                new IpsecSaKeys(OutboundSpi, outbound[..e], outbound[e..]),
                transform, Local, Remote, _sa.Peer, Match!.Map.Name, Match.Entry.Sequence, Match.AccessList.Name,
                LifetimeSeconds, LifetimeKilobytes, MessageId, Role, transform.IsUdpEncapsulated ? _sa.Destination : null);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(inbound);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(outbound);
        }
        AsaDebug.NpEncryptRuleLookup(output, Context, Match!.Map.Name, Match.Entry.Sequence, Match.AccessList.Name);
        if (Role == IkeRole.Initiator)
            AsaDebug.SecurityNegotiationCompleteL2LInitiator(output, Context, _sa.TunnelGroup ?? "", InboundSpi, OutboundSpi);
        else
            AsaDebug.SecurityNegotiationCompleteL2LResponder(output, Context, _sa.TunnelGroup ?? "", InboundSpi, OutboundSpi);
        return true;
    }

    private void Complete(NegotiationOutput output)
    {
        AsaDebug.IkeGotKeyAddMsg(output, Context, InboundSpi);
        var rekey = (int)Math.Round(LifetimeSeconds * _sa.Settings.Phase2RekeyShare);
        AsaDebug.StartingP2RekeyTimer(output, Context, rekey);
        output.Add(new ArmTimer(_sa.InitiatorCookie, new TimerKey(TimerKind.Phase2Rekey, MessageId), TimeSpan.FromSeconds(rekey)));
        // The hard lifetime: the pair is deleted when it runs out (RFC 2407 §4.5 SA Life Duration).
        output.Add(new ArmTimer(_sa.InitiatorCookie, new TimerKey(TimerKind.Phase2Expire, MessageId), TimeSpan.FromSeconds(LifetimeSeconds)));
        _machine.Fire(Role == IkeRole.Initiator ? QuickModeTrigger.ReceivedQm2 : QuickModeTrigger.ReceivedQm3);
        AsaDebug.Phase2Completed(output, Context, MessageId);
        output.Add(new InstallIpsecSa(Installed!));
        _sa.QuickModeInstalled(this, output);
    }

    private void FailExchange(FailureReason reason, string detail, NegotiationOutput output, NotifyMessageType? notify)
    {
        if (_state == QuickModeState.QM_DELETED) return;
        if (_state is not QuickModeState.QM_IDLE) _sa.CancelRetransmit(MessageId, output);
        AsaDebug.QmFsmError(output, Context, (ulong)GetHashCode(), MessageId);
        _machine.Fire(QuickModeTrigger.Fail);
        output.Add(new NegotiationFailed("Quick Mode", reason, detail));
        if (notify is { } n) _sa.SendNotify(n, ProtocolId.IpsecEsp, InboundSpi == 0 ? [] : SpiBytes(InboundSpi), output);
    }

    /// <summary>Deletes the SA pair (RFC 2408 §3.15 from the peer, or locally) and zeroes its keys.</summary>
    internal void Delete(NegotiationOutput output, string reason)
    {
        if (_state == QuickModeState.QM_ACTIVE && Installed is not null)
            output.Add(new IpsecSaDeleted(InboundSpi, OutboundSpi, _sa.Peer, reason));
        if (_state != QuickModeState.QM_DELETED) _machine.Fire(_state == QuickModeState.QM_IDLE ? QuickModeTrigger.Fail : QuickModeTrigger.Delete);
        Dispose();
    }

    private IkeHashAlgorithm HashAlgorithm => _sa.Transform!.CryptoHash;
    private int HashLength => IkeAlgorithms.HashLength(HashAlgorithm);

    private List<IpsecTransform> TransformsOf(CryptoMapEntry entry, IpsecSaLifetime lifetime) =>
        entry.TransformSets.Select(name => _sa.Gateway.Config.FindTransformSet(name)).Where(t => t is not null)
            .Select(t => WithNatTraversal(IpsecTransform.FromTransformSet(t!, lifetime, entry.PfsGroup))).ToList();

    /// <summary>
    /// RFC 3947 §5.1: through a NAT (detected in Main Mode, SA floated to 4500) ESP is UDP-encapsulated,
    /// and the Encapsulation Mode says so: 3/4 under RFC 3947, 61443/61444 under the drafts.
    /// </summary>
    private IpsecTransform WithNatTraversal(IpsecTransform t)
    {
        if (!_sa.UsesUdpEncapsulation) return t;
        var rfc = _sa.NatTraversal == NatTraversalVersion.Rfc3947;
        return t with
        {
            Mode = t.Mode == EncapsulationMode.Transport
                ? (rfc ? EncapsulationMode.UdpEncapsulatedTransport : EncapsulationMode.UdpEncapsulatedTransportDraft)
                : (rfc ? EncapsulationMode.UdpEncapsulatedTunnel : EncapsulationMode.UdpEncapsulatedTunnelDraft),
        };
    }

    /// <summary>The ASA proposes each transform set as its own proposal, all with the same SPI.</summary>
    private static SaPayload ProposalOf(List<IpsecTransform> offers, uint spi) => new()
    {
        Doi = Doi.Ipsec,
        Situation = Situation.IdentityOnly,
        Proposals = offers.Select((t, i) => new ProposalPayload
        {
            ProposalNumber = (byte)(i + 1), ProtocolId = ProtocolId.IpsecEsp, Spi = SpiBytes(spi),
            Transforms = [t.ToTransform(1)],
        }).ToList(),
    };

    private static IdPayload IdOf(ProxyId proxy)
    {
        var data = new byte[8];
        IdType type;
        if (proxy.Range.First == proxy.Range.Last)
        {
            type = IdType.Ipv4Address;
            data = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(data, proxy.Range.First);
        }
        else if (proxy.Prefix is { } p)
        {
            type = IdType.Ipv4AddressSubnet;
            BinaryPrimitives.WriteUInt32BigEndian(data, p.Network);
            BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), p.Mask);
        }
        else
        {
            type = IdType.Ipv4AddressRange;
            BinaryPrimitives.WriteUInt32BigEndian(data, proxy.Range.First);
            BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), proxy.Range.Last);
        }
        return new IdPayload { IdType = type, ProtocolId = (byte)proxy.Protocol, Port = (ushort)proxy.Port, IdentificationData = data };
    }

    /// <summary>RFC 2407 §4.6.2: the proxy an ID payload names, or null for a type Quick Mode cannot use.</summary>
    private static ProxyId? ProxyOf(IdPayloadView id)
    {
        var d = id.IdentificationData;
        return id.IdType switch
        {
            IdType.Ipv4Address when d.Length == 4 => new ProxyId(new Ipv4Range(BinaryPrimitives.ReadUInt32BigEndian(d), BinaryPrimitives.ReadUInt32BigEndian(d)), id.ProtocolId, id.Port),
            IdType.Ipv4AddressSubnet when d.Length == 8 && Ipv4.IsContiguousMask(BinaryPrimitives.ReadUInt32BigEndian(d[4..])) =>
                new ProxyId(new Ipv4Prefix(BinaryPrimitives.ReadUInt32BigEndian(d) & BinaryPrimitives.ReadUInt32BigEndian(d[4..]),
                    Ipv4.MaskLength(BinaryPrimitives.ReadUInt32BigEndian(d[4..]))).ToRange(), id.ProtocolId, id.Port),
            IdType.Ipv4AddressRange when d.Length == 8 && BinaryPrimitives.ReadUInt32BigEndian(d) <= BinaryPrimitives.ReadUInt32BigEndian(d[4..]) =>
                new ProxyId(new Ipv4Range(BinaryPrimitives.ReadUInt32BigEndian(d), BinaryPrimitives.ReadUInt32BigEndian(d[4..])), id.ProtocolId, id.Port),
            _ => null,
        };
    }

    private void LogId(IdPayloadView id, NegotiationOutput output)
    {
        var d = id.IdentificationData;
        switch (id.IdType)
        {
            case IdType.Ipv4Address when d.Length == 4: AsaDebug.IdIpv4AddrReceived(output, Context, new IPAddress(d)); break;
            case IdType.Ipv4AddressSubnet when d.Length == 8: AsaDebug.IdIpv4AddrSubnetReceived(output, Context, new IPAddress(d[..4]), new IPAddress(d[4..])); break;
            case IdType.Ipv4AddressRange when d.Length == 8: AsaDebug.IdIpv4AddrRangeReceived(output, Context, new IPAddress(d[..4]), new IPAddress(d[4..])); break;
            default: AsaDebug.UnknownIdType(output, Context, 2, (long)id.IdType); break;
        }
    }

    private uint NewSpi()
    {
        Span<byte> b = stackalloc byte[4];
        uint spi;
        do
        {
            _sa.Gateway.Environment.Fill(b);
            spi = BinaryPrimitives.ReadUInt32BigEndian(b);
        } while (spi < 256); // RFC 4303 §2.1: SPIs 1-255 are reserved, 0 is not an SPI
        return spi;
    }

    private byte[] Nonce()
    {
        var n = new byte[20];
        _sa.Gateway.Environment.Fill(n);
        return n;
    }

    private static byte[] SpiBytes(uint spi)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, spi);
        return b;
    }

    private static byte[] AttributeBytes(List<DataAttribute> attributes)
    {
        var bytes = new byte[attributes.Sum(a => a.EncodedSize)];
        var offset = 0;
        foreach (var a in attributes) offset += a.Write(bytes.AsSpan(offset));
        return bytes;
    }

    public void Dispose()
    {
        _pfs?.Dispose();
        _pfs = null;
        Installed?.Inbound.Clear();
        Installed?.Outbound.Clear();
    }
}
