using System.Net;
using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// One Main Mode exchange with pre-shared keys (RFC 2409 §5, Identity Protection), in either role:
/// SA, KE + nonce + NAT-D, then ID + HASH encrypted. It fills the IKE SA's transcript, derives its keys and
/// holds the DH key pair; the IKE SA drops it at MM_ACTIVE (as a Quick Mode exchange is dropped).
/// </summary>
internal sealed class MainModeExchange(IkeSa sa, MainModeTranscript transcript) : IDisposable
{
    private readonly IkeSa _sa = sa;
    private readonly MainModeTranscript _t = transcript;
    private readonly Phase1Authentication _auth = new(sa, transcript);
    private DhKeyPair? _dh;

    // ------------------------------------------------------------------ MM1 (initiator)

    internal void SendMainMode1(CryptoMapMatch acquire, NegotiationOutput output)
    {
        if (_sa.RekeyOf != 0)
        {
            var local = IkeActors.Config.Model.Ipv4.ToAddress(acquire.Local.Range.First);
            AsaDebug.InitiatorRekeyingPhase1(output, new DebugContext(_sa.Peer.Address, _sa.Gateway.Config.TunnelGroupForPeer(_sa.Peer.Address)?.Name),
                _sa.Gateway.InsideInterfaceFor(local), _sa.Peer.Address, local, IkeActors.Config.Model.Ipv4.ToAddress(acquire.Remote.Range.First), acquire.Map.Name);
        }
        else
        {
        AsaDebug.PitcherKeyAcquire(output, 0);
        AsaDebug.InitiatorNewPhase1(output, _sa.IpContext, _sa.Gateway.InsideInterfaceFor(acquire.Local.Range.First == 0 ? IPAddress.Any : IkeActors.Config.Model.Ipv4.ToAddress(acquire.Local.Range.First)),
            _sa.Peer.Address, IkeActors.Config.Model.Ipv4.ToAddress(acquire.Local.Range.First), IkeActors.Config.Model.Ipv4.ToAddress(acquire.Remote.Range.First), acquire.Map.Name);
        }

        AsaDebug.ConstructingIsakmpSaPayload(output, _sa.IpContext);
        var sa = new SaPayload
        {
            Doi = Doi.Ipsec,
            Situation = Situation.IdentityOnly,
            Proposals =
            [
                new ProposalPayload
                {
                    ProposalNumber = 1,
                    ProtocolId = ProtocolId.Isakmp,
                    // ASA: every ISAKMP policy, by priority, is one transform of the one proposal.
                    // Policies this gateway cannot carry out (DES, RSA signatures) are not offered.
                    Transforms = _sa.Gateway.Config.IsakmpPolicies.OrderBy(p => p.Priority).Select(Phase1Transform.FromPolicy)
                        .Where(t => t.IsImplemented).Select((t, i) => t.ToTransform((byte)(i + 1))).ToList(),
                },
            ],
        };
        _t.SaiBody = IkeSa.Body(sa);
        var payloads = new List<IIsakmpPayload> { sa };
        _sa.Vendors.AddMainMode1(payloads, output);
        _sa.Fire(MainModeTrigger.Acquire);
        _sa.SendPlain(ExchangeType.IdentityProtection, 0, payloads, output);
        _sa.ArmRetransmit(0, 0, output);
        output.Add(new MessageSent(ExchangeMessage.MainMode(1)));
    }

    // ------------------------------------------------------------------ MM1 (responder) -> MM2

    internal bool ReceiveMainMode1(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        output.Add(new MessageReceived(ExchangeMessage.MainMode(1)));
        _sa.LogReceived(datagram, output);
        IsakmpMessage.TryParse(datagram, out var message, out _);
        SaPayloadView sa = default;
        var vids = new List<KnownVendorId>();
        var haveSa = false;
        foreach (var p in message.Payloads)
        {
            if (p.Type == (byte)PayloadType.SecurityAssociation && !haveSa) haveSa = SaPayloadView.TryParse(p.Raw, out sa, out _);
            else if (p.Type == (byte)PayloadType.VendorId) vids.Add(VendorIds.Identify(p.Body));
        }
        if (!haveSa)
        {
            AsaDebug.ErrorProcessingPayload(output, _sa.IpContext, (long)PayloadType.SecurityAssociation);
            output.Add(new NegotiationFailed(IkeExchange.MainMode, FailureReason.MalformedMessage, "MM1 without an SA payload"));
            return false;
        }
        AsaDebug.ProcessingSaPayload(output, _sa.IpContext);
        AsaDebug.OakleyProposalAcceptable(output, _sa.IpContext);
        _sa.Vendors.Log(vids, output);
        AsaDebug.ProcessingIkeSaPayload(output, _sa.IpContext);

        // ASA selection: the peer's transforms in its order, each against our policies by priority.
        var policies = _sa.Gateway.Config.IsakmpPolicies.OrderBy(p => p.Priority).ToList();
        (int Proposal, int Transform, Phase1Transform Offered, IsakmpPolicy Policy)? choice = null;
        var proposalIndex = 0;
        foreach (var proposal in sa.Proposals)
        {
            proposalIndex++;
            if (proposal.ProtocolId != ProtocolId.Isakmp) continue;
            var transformIndex = 0;
            foreach (var t in proposal.Transforms)
            {
                transformIndex++;
                if (Phase1Transform.FromTransform(t) is not { IsImplemented: true } offered) continue;
                var policy = policies.FirstOrDefault(p => Phase1Transform.FromPolicy(p).Matches(offered));
                if (policy is null) continue;
                choice = (proposal.ProposalNumber, t.TransformNumber, offered, policy);
                break;
            }
            if (choice is not null) break;
        }
        if (choice is not { } c)
        {
            AsaDebug.AllSaProposalsUnacceptable(output, _sa.IpContext);
            AsaDebug.ErrorProcessingPayload(output, _sa.IpContext, (long)PayloadType.SecurityAssociation);
            _sa.Informational.SendPlainNotify(NotifyMessageType.NoProposalChosen, output);
            output.Add(new NegotiationFailed(IkeExchange.MainMode, FailureReason.NoProposalChosen, "no ISAKMP policy matches the peer's proposal"));
            return false;
        }
        AsaDebug.IkeSaProposalAcceptable(output, _sa.IpContext, c.Proposal, c.Transform, c.Policy.Priority);
        // The shorter lifetime wins (RFC 2409 §4 leaves it to policy; the ASA takes the smaller).
        _sa.Transform = c.Offered with { LifetimeSeconds = Math.Min(c.Offered.LifetimeSeconds, c.Policy.LifetimeSeconds) };
        _t.SaiBody = sa.Raw[4..].ToArray();
        _sa.RememberReceived(datagram);

        _sa.ResponderCookie = IkeSa.NewCookie(_sa.Gateway.Environment);

        AsaDebug.ConstructingIsakmpSaPayload(output, _sa.IpContext);
        var chosen = new SaPayload
        {
            Doi = Doi.Ipsec,
            Situation = Situation.IdentityOnly,
            Proposals =
            [
                new ProposalPayload
                {
                    ProposalNumber = (byte)c.Proposal,
                    ProtocolId = ProtocolId.Isakmp,
                    // RFC 2408 §4.2: the responder returns the one transform it chose, with the peer's number.
                    Transforms = [_sa.Transform.ToTransform((byte)c.Transform) with { }],
                },
            ],
        };
        var payloads = new List<IIsakmpPayload> { chosen };
        _sa.Nat.Version = NatDetection.VersionOf(vids);
        _sa.Vendors.AddMainMode2(vids, payloads, output);
        _sa.Fire(MainModeTrigger.ReceivedMm1);
        _sa.SendPlain(ExchangeType.IdentityProtection, 0, payloads, output);
        _sa.ArmRetransmit(0, 0, output);
        output.Add(new MessageSent(ExchangeMessage.MainMode(2)));
        return true;
    }


    // ------------------------------------------------------------------ MM2..MM6

    /// <summary>The messages this side receives after MM1, the trigger each fires, and whether it comes encrypted (MM5, MM6).</summary>
    internal static readonly (MainModeTrigger Trigger, int Number, bool Encrypted)[] Inbound =
    [
        (MainModeTrigger.ReceivedMm2, 2, false), (MainModeTrigger.ReceivedMm3, 3, false), (MainModeTrigger.ReceivedMm4, 4, false),
        (MainModeTrigger.ReceivedMm5, 5, true), (MainModeTrigger.ReceivedMm6, 6, true),
    ];

    /// <summary>The message the IKE SA's machine permits now (it chose <paramref name="trigger"/>).</summary>
    internal void Receive(MainModeTrigger trigger, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        switch (trigger)
        {
            case MainModeTrigger.ReceivedMm2: ReceiveMainMode2(datagram, output); break;
            case MainModeTrigger.ReceivedMm3: ReceiveMainMode3(datagram, output); break;
            case MainModeTrigger.ReceivedMm4: ReceiveMainMode4(datagram, output); break;
            case MainModeTrigger.ReceivedMm5: ReceiveMainMode5(datagram, output); break;
            case MainModeTrigger.ReceivedMm6: ReceiveMainMode6(datagram, output); break;
        }
    }

    private void ReceiveMainMode2(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        IsakmpMessage.TryParse(datagram, out var message, out _);
        SaPayloadView sa = default;
        var haveSa = false;
        var vids = new List<KnownVendorId>();
        foreach (var p in message.Payloads)
        {
            if (p.Type == (byte)PayloadType.SecurityAssociation && !haveSa) haveSa = SaPayloadView.TryParse(p.Raw, out sa, out _);
            else if (p.Type == (byte)PayloadType.VendorId) vids.Add(VendorIds.Identify(p.Body));
        }
        Phase1Transform? chosen = null;
        if (haveSa)
            foreach (var proposal in sa.Proposals)
                foreach (var t in proposal.Transforms)
                    chosen ??= Phase1Transform.FromTransform(t) is { IsImplemented: true } offered ? offered : null;
        // RFC 2408 §4.2: the answer must be one of the transforms we offered.
        var policy = chosen is null ? null : _sa.Gateway.Config.IsakmpPolicies.FirstOrDefault(p => Phase1Transform.FromPolicy(p).Matches(chosen));
        _sa.LogReceived(datagram, output);
        if (chosen is null || policy is null)
        {
            AsaDebug.AllSaProposalsUnacceptable(output, _sa.IpContext);
            _sa.Fail(FailureReason.NoProposalChosen, "the responder chose a transform we did not offer", output);
            return;
        }
        _sa.CancelRetransmit(0, output);
        _sa.ResponderCookie = message.Header.ResponderCookie;
        _sa.Transform = chosen with { LifetimeSeconds = Math.Min(chosen.LifetimeSeconds, policy.LifetimeSeconds) };
        AsaDebug.ProcessingSaPayload(output, _sa.IpContext);
        AsaDebug.OakleyProposalAcceptable(output, _sa.IpContext);
        _sa.Vendors.Log(vids, output);
        _sa.Nat.Version = NatDetection.VersionOf(vids);
        _sa.RememberReceived(datagram);

        _sa.Fire(MainModeTrigger.ReceivedMm2);
        SendKeyExchange(output);
        output.Add(new MessageSent(ExchangeMessage.MainMode(3)));
    }

    /// <summary>MM3 (initiator) or MM2's follow-up MM4 (responder): KE, nonce, vendor IDs, NAT-D.</summary>
    private void SendKeyExchange(NegotiationOutput output)
    {
        var group = IkeSa.DhGroupOf(_sa.Transform!.Group, _sa.Gateway.Settings.DhExponent);
        _dh = _sa.Gateway.Environment.CreateKeyPair(group);
        var nonce = new byte[20];
        _sa.Gateway.Environment.Fill(nonce);
        if (_sa.Role == IkeRole.Initiator) { _t.Gxi = _dh.PublicValue.ToArray(); _t.Ni = nonce; }
        else { _t.Gxr = _dh.PublicValue.ToArray(); _t.Nr = nonce; }

        AsaDebug.ConstructingKePayload(output, _sa.IpContext);
        AsaDebug.ConstructingNoncePayload(output, _sa.IpContext);
        var payloads = new List<IIsakmpPayload>
        {
            new KePayload { KeyExchangeData = _dh.PublicValue.ToArray() },
            new NoncePayload { NonceData = nonce },
        };
        _sa.Vendors.AddKeyExchange(payloads, output);
        _sa.Nat.AddDiscoveryPayloads(payloads, output);

        if (_sa.Role == IkeRole.Responder)
        {
            if (!DeriveKeys(output)) return;
            AsaDebug.ConnectionLandedOnTunnelGroup(output, _sa.IpContext, _sa.TunnelGroup!);
            AsaDebug.GeneratingKeysForResponder(output, _sa.Context);
        }
        _sa.SendPlain(ExchangeType.IdentityProtection, 0, payloads, output);
        _sa.ArmRetransmit(0, 0, output);
    }

    private void ReceiveMainMode3(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (!ReadKeyExchange(datagram, output, out var nat)) return;
        _sa.RememberReceived(datagram);
        _sa.CancelRetransmit(0, output);
        _sa.Nat.Pending = nat;
        _sa.Fire(MainModeTrigger.ReceivedMm3);
        SendKeyExchange(output);
        if (_sa.State == MainModeState.MM_WAIT_MSG5) output.Add(new MessageSent(ExchangeMessage.MainMode(4)));
    }

    private void ReceiveMainMode4(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (!ReadKeyExchange(datagram, output, out var nat)) return;
        _sa.RememberReceived(datagram);
        _sa.CancelRetransmit(0, output);
        if (!DeriveKeys(output)) return;
        AsaDebug.ConnectionLandedOnTunnelGroup(output, _sa.IpContext, _sa.TunnelGroup!);
        AsaDebug.GeneratingKeysForInitiator(output, _sa.Context);
        _sa.Fire(MainModeTrigger.ReceivedMm4);

        // RFC 3947 §4: with a NAT between us, the initiator moves to UDP 4500 from MM5 on.
        _sa.Nat.FloatIfBehindNat();

        // MM5: ID, HASH_I, IOS keepalive, DPD vendor ID (RFC 2409 §5, RFC 3706 §2.1).
        var payloads = _auth.Payloads(initiator: true, output);
        _sa.SendEncrypted(ExchangeType.IdentityProtection, 0, payloads, output);
        _sa.ArmRetransmit(0, 0, output);
        _sa.Nat.LogStatus(nat, output);
        output.Add(new MessageSent(ExchangeMessage.MainMode(5)));
    }

    /// <summary>KE, nonce and NAT-D of MM3/MM4; the tunnel group is looked up by the peer's address.</summary>
    private bool ReadKeyExchange(ReadOnlySpan<byte> datagram, NegotiationOutput output, out (bool PeerNatMatches, bool LocalNatMatches)? nat)
    {
        nat = null;
        IsakmpMessage.TryParse(datagram, out var message, out _);
        byte[]? ke = null, nonce = null;
        var natd = new List<byte[]>();
        var vids = new List<KnownVendorId>();
        foreach (var p in message.Payloads)
        {
            switch ((PayloadType)p.Type)
            {
                case PayloadType.KeyExchange: ke ??= p.Body.ToArray(); break;
                case PayloadType.Nonce: nonce ??= p.Body.ToArray(); break;
                case PayloadType.NatDiscovery or PayloadType.NatDiscoveryDraft: natd.Add(p.Body.ToArray()); break;
                case PayloadType.VendorId: vids.Add(VendorIds.Identify(p.Body)); break;
            }
        }
        _sa.Vendors.Note(vids);
        _sa.LogReceived(datagram, output);
        var group = IkeSa.DhGroupOf(_sa.Transform!);
        if (ke is null || nonce is null)
        {
            AsaDebug.ErrorProcessingPayload(output, _sa.IpContext, ke is null ? (long)PayloadType.KeyExchange : (long)PayloadType.Nonce);
            _sa.Fail(FailureReason.MalformedMessage, "KE or nonce missing", output);
            return false;
        }
        AsaDebug.ProcessingKePayload(output, _sa.IpContext);
        AsaDebug.ProcessingIsaKePayload(output, _sa.IpContext);
        if (ke.Length != group.PublicValueLength || group.ValidatePublicValue(ke) != DhStatus.Ok)
        {
            AsaDebug.DhKeyBadLength(output, _sa.IpContext, ke.Length, group.PublicValueLength);
            _sa.Fail(FailureReason.InvalidKeyExchange, "invalid DH public value", output);
            return false;
        }
        AsaDebug.ProcessingNoncePayload(output, _sa.IpContext);
        if (nonce.Length is < 8 or > 256)
        {
            AsaDebug.NonceLengthOutOfRange(output, _sa.IpContext, nonce.Length);
            _sa.Fail(FailureReason.MalformedMessage, "nonce length out of range (RFC 2409 §5)", output);
            return false;
        }
        _sa.Vendors.Log(vids, output);
        if (_sa.Role == IkeRole.Initiator) { _t.Gxr = ke; _t.Nr = nonce; }
        else { _t.Gxi = ke; _t.Ni = nonce; }
        nat = _sa.Nat.Compare(natd, output);
        _sa.TunnelGroup = _sa.Gateway.Config.TunnelGroupForPeer(_sa.Peer.Address)?.Name;
        if (_sa.TunnelGroup is null)
        {
            AsaDebug.TunnelGroupNotFound(output, _sa.IpContext);
            _sa.Fail(FailureReason.NoTunnelGroup, $"no tunnel-group for {_sa.Peer.Address}", output);
            return false;
        }
        return true;
    }


    private bool DeriveKeys(NegotiationOutput output)
    {
        var tg = _sa.TunnelGroup is null ? null : _sa.Gateway.Config.FindTunnelGroup(_sa.TunnelGroup);
        if (tg?.PreSharedKey is not { } psk)
        {
            AsaDebug.GroupNotFoundNoDefaultKey(output, _sa.IpContext, _sa.TunnelGroup ?? _sa.Peer.Address.ToString());
            _sa.Fail(FailureReason.NoTunnelGroup, "no pre-shared key for the peer", output);
            return false;
        }
        var peerPublic = _sa.Role == IkeRole.Initiator ? _t.Gxr : _t.Gxi;
        if (_dh!.ComputeSharedSecret(peerPublic, out var shared) != DhStatus.Ok || shared is null)
        {
            _sa.Fail(FailureReason.InvalidKeyExchange, "DH computation failed", output);
            return false;
        }
        using (shared)
        {
            var status = Phase1Keys.TryDerivePreSharedKey(_sa.Transform!.CryptoHash, _sa.Transform.CryptoCipher, _sa.Transform.KeyLengthBits,
                psk.Bytes, _t.Ni, _t.Nr, shared.ReadOnlySpan, IsakmpMessages.Cookie(_sa.InitiatorCookie), IsakmpMessages.Cookie(_sa.ResponderCookie), _t.Gxi, _t.Gxr, out var keys);
            if (status != Phase1KeyStatus.Ok || keys is null || !IsakmpCipher.TryCreate(keys, out var cipher))
            {
                keys?.Dispose();
                _sa.Fail(FailureReason.InvalidKeyExchange, $"key derivation failed ({status})", output);
                return false;
            }
            _sa.KeysDerived(keys, cipher);
            _sa.Gateway.KeyLog?.IkeSa(_sa.InitiatorCookie, keys.EncryptionKey);
        }
        return true;
    }

    private void ReceiveMainMode5(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (!_auth.Open(datagram, output, out var plaintext, out var idBody)) return;
        _sa.Nat.AcceptNatTPeer();
        _t.IdiiBody = idBody;
        _sa.RememberReceived(datagram);
        _sa.CancelRetransmit(0, output);
        _sa.Nat.LogStatus(_sa.Nat.Pending, output);
        AsaDebug.ConnectionLandedOnTunnelGroup(output, _sa.IpContext, _sa.TunnelGroup!);

        // MM6: ID, HASH_R, IOS keepalive, DPD vendor ID.
        var payloads = _auth.Payloads(initiator: false, output);
        _sa.Fire(MainModeTrigger.ReceivedMm5);
        _sa.SendEncrypted(ExchangeType.IdentityProtection, 0, payloads, output);
        output.Add(new MessageSent(ExchangeMessage.MainMode(6)));
        _sa.Phase1Complete(output);
        // RFC 2407 §4.6.3.3: strongSwan and Libreswan send INITIAL-CONTACT in MM5 (an ASA in its first QM1); HASH_I
        // has just authenticated it, so the peer's older SAs belong to its previous life.
        if (_auth.PeerSentInitialContact) output.Add(new InitialContactReceived(_sa.InitiatorCookie, _sa.Peer.Address));
    }

    private void ReceiveMainMode6(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (!_auth.Open(datagram, output, out _, out var idBody)) return;
        _sa.Nat.AcceptNatTPeer();
        _t.IdirBody = idBody;
        _sa.RememberReceived(datagram);
        _sa.CancelRetransmit(0, output);
        AsaDebug.ConnectionLandedOnTunnelGroup(output, _sa.IpContext, _sa.TunnelGroup!);
        _sa.Fire(MainModeTrigger.ReceivedMm6);
        _sa.InitiatorEstablished(output);
    }

    public void Dispose()
    {
        _dh?.Dispose();
        _dh = null;
    }
}
