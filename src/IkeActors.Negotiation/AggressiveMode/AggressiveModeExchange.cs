using System.Net;
using System.Text;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// One Aggressive Mode exchange with pre-shared keys (RFC 2409 §5.4), in either role:
/// <code>
///   AM1  HDR, SA, KE, Ni, IDii, VIDs                        (clear)
///   AM2  HDR, SA, KE, Nr, IDir, HASH_R, VIDs, NAT-D, NAT-D  (clear)
///   AM3  HDR*, HASH_I, NAT-D, NAT-D                          (encrypted, as the ASA and strongSwan send it; a clear one is accepted)
/// </code>
/// The initiator's identity comes in the clear in AM1 and names the tunnel group: ID_KEY_ID is the group's name (how
/// remote-access clients say which group they dial), an address finds it as in Main Mode. The KE comes with the offer,
/// so every transform offered shares one DH group. NAT-D travels in AM2 and AM3 and the initiator floats to UDP 4500
/// for AM3 when a NAT was detected (RFC 3947 §3.2, §4). The responder's AM2 is a hash of the pre-shared key an offline
/// attacker can test guesses against: `crypto ikev1 am-disable` refuses AM1 altogether.
/// </summary>
internal sealed class AggressiveModeExchange(IkeSa sa, MainModeTranscript transcript) : Phase1Exchange(sa, transcript)
{
    /// <summary>The initiator's identity in AM1 (RFC 2407 §4.6.2): the group name as ID_KEY_ID, or null for our address.</summary>
    private string? _keyId;

    /// <summary>The DH group of the initiator's AM1 (the responder must answer with a transform of it).</summary>
    private int _group;

    // ------------------------------------------------------------------ AM1 (initiator)

    /// <summary>
    /// AM1 for <paramref name="acquire"/> (a crypto map entry with `set ikev1 phase1-mode aggressive groupN`) or, with
    /// <paramref name="keyId"/>, a remote-access client naming its group.
    /// </summary>
    internal void SendAggressive1(CryptoMapMatch? acquire, int group, string? keyId, NegotiationOutput output)
    {
        _keyId = keyId;
        _group = group;
        if (acquire is { } rekey && _sa.RekeyOf != 0)
        {
            var local = IkeActors.Config.Model.Ipv4.ToAddress(rekey.Local.Range.First);
            AsaDebug.InitiatorRekeyingPhase1(output, new DebugContext(_sa.Peer.Address, _sa.TunnelGroup),
                _sa.Gateway.InsideInterfaceFor(local), _sa.Peer.Address, local, IkeActors.Config.Model.Ipv4.ToAddress(rekey.Remote.Range.First), rekey.Map.Name);
        }
        else if (acquire is { } a)
        {
            AsaDebug.PitcherKeyAcquire(output, 0);
            var local = IkeActors.Config.Model.Ipv4.ToAddress(a.Local.Range.First);
            AsaDebug.InitiatorNewPhase1(output, _sa.IpContext, _sa.Gateway.InsideInterfaceFor(a.Local.Range.First == 0 ? IPAddress.Any : local),
                _sa.Peer.Address, local, IkeActors.Config.Model.Ipv4.ToAddress(a.Remote.Range.First), a.Map.Name);
        }
        AsaDebug.ConstructingIsakmpSaPayload(output, _sa.IpContext);
        var offer = Offer((OakleyGroup)group, xauth: _sa.RemoteAccess.Credentials is not null);
        if (offer.Proposals[0].Transforms.Count == 0)
        {
            // ASA: no ISAKMP policy of the aggressive group, nothing to offer.
            _sa.Fail(FailureReason.NoProposalChosen, $"no ISAKMP policy with DH group {group} for Aggressive Mode", output);
            return;
        }
        _t.SaiBody = IkeSa.Body(offer);
        var (ke, nonce) = NewKeyExchange((OakleyGroup)group, output);
        var (id, idBody) = OwnId();
        _t.IdiiBody = idBody;
        AsaDebug.ConstructingIdPayload(output, _sa.Context);
        var payloads = new List<IIsakmpPayload> { offer, ke, nonce, id };
        _sa.Vendors.AddMainMode1(payloads, output);
        _sa.Vendors.AddKeyExchange(payloads, output);
        AsaDebug.ConstructingDpdVidPayload(output, _sa.Context);
        payloads.Add(VendorIdHandler.Vid(VendorIds.Dpd));
        _sa.Fire(MainModeTrigger.AcquireAggressive);
        _sa.SendPlain(ExchangeType.Aggressive, 0, payloads, output);
        _sa.ArmRetransmit(0, 0, output);
        output.Add(new MessageSent(ExchangeMessage.Aggressive(1)));
    }

    private (IdPayload Payload, byte[] Body) OwnId()
    {
        var id = _keyId is null
            // RFC 2407 §4.6.2: our outside address, protocol and port 0.
            ? new IdPayload { IdType = IdType.Ipv4Address, ProtocolId = 0, Port = 0, IdentificationData = _sa.Gateway.Local.Address.GetAddressBytes() }
            : new IdPayload { IdType = IdType.KeyId, ProtocolId = 0, Port = 0, IdentificationData = Encoding.ASCII.GetBytes(_keyId) };
        return (id, IkeSa.Body(id));
    }

    // ------------------------------------------------------------------ AM1 (responder) -> AM2

    internal bool ReceiveAggressive1(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        output.Add(new MessageReceived(ExchangeMessage.Aggressive(1)));
        _sa.LogReceived(datagram, output);
        if (_sa.Gateway.Config.AggressiveModeDisabled)
        {
            // `crypto ikev1 am-disable`: no answer at all (the ASA drops it; a notify would only confirm a responder here).
            AsaDebug.AggressiveModeDisabled(output, _sa.IpContext);
            output.Add(new NegotiationFailed(IkeExchange.AggressiveMode, FailureReason.AggressiveModeDisabled, "Aggressive Mode is disabled (crypto ikev1 am-disable)"));
            return false;
        }
        IsakmpMessage.TryParse(datagram, out var message, out _);
        SaPayloadView sa = default;
        IdPayloadView id = default;
        var haveSa = false;
        var haveId = false;
        byte[]? ke = null, nonce = null;
        var vids = new List<KnownVendorId>();
        foreach (var p in message.Payloads)
        {
            switch ((PayloadType)p.Type)
            {
                case PayloadType.SecurityAssociation when !haveSa: haveSa = SaPayloadView.TryParse(p.Raw, out sa, out _); break;
                case PayloadType.KeyExchange: ke ??= p.Body.ToArray(); break;
                case PayloadType.Nonce: nonce ??= p.Body.ToArray(); break;
                case PayloadType.Identification when !haveId:
                    haveId = IdPayloadView.TryParse(p.Raw, out id, out _);
                    if (haveId) _t.IdiiBody = p.Body.ToArray();
                    break;
                case PayloadType.VendorId: vids.Add(VendorIds.Identify(p.Body)); break;
            }
        }
        if (!haveSa || !haveId)
        {
            AsaDebug.ErrorProcessingPayload(output, _sa.IpContext, !haveSa ? (long)PayloadType.SecurityAssociation : (long)PayloadType.Identification);
            output.Add(new NegotiationFailed(IkeExchange.AggressiveMode, FailureReason.MalformedMessage, "AM1 without an SA or ID payload"));
            return false;
        }
        AsaDebug.ProcessingSaPayload(output, _sa.IpContext);
        AsaDebug.OakleyProposalAcceptable(output, _sa.IpContext);
        _sa.Vendors.Note(vids);
        _sa.Vendors.Log(vids, output);
        AsaDebug.ProcessingIdPayload(output, _sa.IpContext);

        // The identity names the tunnel group (ASA: ID_KEY_ID is the group name; an address is looked up as in Main Mode).
        if (!SelectTunnelGroup(id, output)) return false;
        AsaDebug.ConnectionLandedOnTunnelGroup(output, _sa.IpContext, _sa.TunnelGroup!);
        AsaDebug.ProcessingIkeSaPayload(output, _sa.Context);
        if (Choose(sa, output, out var failure) is not { } chosen)
        {
            output.Add(new NegotiationFailed(IkeExchange.AggressiveMode, failure, "no ISAKMP policy matches the peer's proposal"));
            return false;
        }
        // The KE was made in the offer's group: it must be the group of the transform chosen.
        if (!AcceptKeyExchange(ke, nonce, _sa.Transform!.Group, output)) return false;
        _sa.RememberReceived(datagram);
        _sa.ResponderCookie = IkeSa.NewCookie(_sa.Gateway.Environment);
        _sa.Nat.Version = NatDetection.VersionOf(vids);

        // AM2: SA, KE, Nr, IDir, HASH_R, vendor IDs, NAT-D (RFC 2409 §5.4, RFC 3947 §3.2).
        AsaDebug.ConstructingIsakmpSaPayload(output, _sa.Context);
        var (ourKe, ourNonce) = NewKeyExchange(_sa.Transform.Group, output);
        if (!DeriveKeys(output)) return false;
        AsaDebug.GeneratingKeysForResponder(output, _sa.Context);
        var (ourId, ourIdBody) = OwnId();
        _t.IdirBody = ourIdBody;
        AsaDebug.ConstructingIdPayload(output, _sa.Context);
        AsaDebug.ConstructingHashPayload(output, _sa.Context);
        AsaDebug.ComputingHashForIsakmp(output, _sa.Context);
        var payloads = new List<IIsakmpPayload> { chosen, ourKe, ourNonce, ourId, new HashPayload { HashData = _auth.ComputeHash(initiator: false) } };
        _sa.Vendors.AddKeyExchange(payloads, output);
        if (!_sa.Dpd.Keepalive.Disabled)
        {
            AsaDebug.ConstructingDpdVidPayload(output, _sa.Context);
            payloads.Add(VendorIdHandler.Vid(VendorIds.Dpd));
        }
        _sa.Vendors.AddMainMode2(vids, payloads, output);
        _sa.Nat.AddDiscoveryPayloads(payloads, output);
        _sa.Fire(MainModeTrigger.ReceivedAm1);
        _sa.SendPlain(ExchangeType.Aggressive, 0, payloads, output);
        _sa.ArmRetransmit(0, 0, output);
        output.Add(new MessageSent(ExchangeMessage.Aggressive(2)));
        return true;
    }

    /// <summary>The tunnel group the initiator's identity names; false after failing the SA (nothing was sent).</summary>
    private bool SelectTunnelGroup(IdPayloadView id, NegotiationOutput output)
    {
        var config = _sa.Gateway.Config;
        IkeActors.Config.Model.TunnelGroup? group;
        if (id.IdType == IdType.KeyId)
        {
            var name = Encoding.ASCII.GetString(id.IdentificationData);
            AsaDebug.IdKeyIdReceived(output, _sa.IpContext, RemoteAccessSession.Printable(name));
            // ASA: the key ID is a tunnel group's name; an unknown one falls to DefaultRAGroup.
            group = config.FindTunnelGroup(name) ?? config.FindTunnelGroup(IkeActors.Config.Model.AsaDefaults.DefaultRAGroup);
        }
        else
        {
            if (id.IdType == IdType.Ipv4Address && id.IdentificationData.Length == 4)
                AsaDebug.IdIpv4AddrReceived(output, _sa.Context, new IPAddress(id.IdentificationData));
            group = config.TunnelGroupForPeer(_sa.Peer.Address);
        }
        if (group?.PreSharedKey is null)
        {
            AsaDebug.TunnelGroupNotFound(output, _sa.IpContext);
            output.Add(new NegotiationFailed(IkeExchange.AggressiveMode, FailureReason.NoTunnelGroup, $"no tunnel-group with a pre-shared key for {_sa.Peer.Address}"));
            return false;
        }
        _sa.TunnelGroup = group.Name;
        return true;
    }


    // ------------------------------------------------------------------ AM2 (initiator) -> AM3

    internal void ReceiveAggressive2(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        IsakmpMessage.TryParse(datagram, out var message, out _);
        SaPayloadView sa = default;
        var haveSa = false;
        byte[]? ke = null, nonce = null, hash = null, idBody = null;
        var natd = new List<byte[]>();
        var vids = new List<KnownVendorId>();
        foreach (var p in message.Payloads)
        {
            switch ((PayloadType)p.Type)
            {
                case PayloadType.SecurityAssociation when !haveSa: haveSa = SaPayloadView.TryParse(p.Raw, out sa, out _); break;
                case PayloadType.KeyExchange: ke ??= p.Body.ToArray(); break;
                case PayloadType.Nonce: nonce ??= p.Body.ToArray(); break;
                case PayloadType.Identification: idBody ??= p.Body.ToArray(); break;
                case PayloadType.Hash: hash ??= p.Body.ToArray(); break;
                case PayloadType.NatDiscovery or PayloadType.NatDiscoveryDraft: natd.Add(p.Body.ToArray()); break;
                case PayloadType.VendorId: vids.Add(VendorIds.Identify(p.Body)); break;
            }
        }
        _sa.LogReceived(datagram, output);
        if (!AcceptChosen(haveSa, sa) || _sa.Transform!.Group != (OakleyGroup)_group)
        {
            AsaDebug.AllSaProposalsUnacceptable(output, _sa.IpContext);
            _sa.Fail(FailureReason.NoProposalChosen, "the responder chose a transform we did not offer", output);
            return;
        }
        AsaDebug.ProcessingSaPayload(output, _sa.IpContext);
        AsaDebug.OakleyProposalAcceptable(output, _sa.IpContext);
        _sa.Vendors.Note(vids);
        _sa.Vendors.Log(vids, output);
        if (!AcceptKeyExchange(ke, nonce, _sa.Transform.Group, output)) return;
        if (idBody is null || hash is null)
        {
            AsaDebug.ErrorProcessingPayload(output, _sa.IpContext, idBody is null ? (long)PayloadType.Identification : (long)PayloadType.Hash);
            _sa.Fail(FailureReason.MalformedMessage, "AM2 without ID or HASH", output);
            return;
        }
        AsaDebug.ProcessingIdPayload(output, _sa.Context);
        _t.IdirBody = idBody;
        var responderCookie = message.Header.ResponderCookie;
        if (responderCookie == 0)
        {
            _sa.Fail(FailureReason.MalformedMessage, "AM2 with a zero responder cookie (RFC 2408 §3.1)", output);
            return;
        }
        _sa.ResponderCookie = responderCookie;
        _sa.Nat.Version = NatDetection.VersionOf(vids);
        if (!DeriveKeys(output)) return;
        AsaDebug.GeneratingKeysForInitiator(output, _sa.Context);
        AsaDebug.ProcessingHashPayload(output, _sa.Context);
        AsaDebug.ComputingHashForIsakmp(output, _sa.Context);
        if (!IkeActors.Crypto.IkePrf.FixedTimeEquals(_auth.ComputeHash(initiator: false), hash))
        {
            // HASH_R covers the pre-shared key: a wrong key on either side ends here.
            AsaDebug.HashVerificationFailed(output, _sa.Context);
            _sa.Fail(FailureReason.AuthenticationFailed, "HASH_R does not verify (RFC 2409 §5.4): pre-shared key mismatch?", output);
            return;
        }
        var nat = _sa.Nat.Compare(natd, output);
        _sa.RememberReceived(datagram);
        _sa.CancelRetransmit(0, output);
        _sa.Fire(MainModeTrigger.ReceivedAm2);

        // RFC 3947 §4: with a NAT between us, AM3 already goes from and to UDP 4500.
        _sa.Nat.FloatIfBehindNat();
        AsaDebug.ConstructingHashPayload(output, _sa.Context);
        AsaDebug.ComputingHashForIsakmp(output, _sa.Context);
        var payloads = new List<IIsakmpPayload> { new HashPayload { HashData = _auth.ComputeHash(initiator: true) } };
        // RFC 3947 §3.2: in Aggressive Mode the initiator's NAT-D follow the HASH in the third message.
        _sa.Nat.AddDiscoveryPayloads(payloads, output);
        _sa.SendEncrypted(ExchangeType.Aggressive, 0, payloads, output);
        _sa.Nat.LogStatus(nat, output);
        output.Add(new MessageSent(ExchangeMessage.Aggressive(3)));
        _sa.InitiatorEstablished(output);
    }

    // ------------------------------------------------------------------ AM3 (responder)

    internal void ReceiveAggressive3(ReadOnlySpan<byte> datagram, bool encrypted, NegotiationOutput output)
    {
        byte[] plaintext;
        if (encrypted)
        {
            if (!IsakmpMessages.TryDecrypt(datagram, _sa.Cipher!, 0, out plaintext))
            {
                AsaDebug.ReceivedEncryptedMainModeInvalidPayloads(output, _sa.IpContext, 0);
                AsaDebug.DecryptProblemMismatchedPsk(output, _sa.IpContext);
                _sa.Fail(FailureReason.AuthenticationFailed, "AM3 did not decrypt to valid payloads: pre-shared key mismatch?", output);
                return;
            }
        }
        else plaintext = datagram.ToArray();
        _sa.LogReceived(plaintext, output);
        IsakmpMessage.TryParseDecrypted(plaintext, out var message, out _);
        byte[]? hash = null;
        var natd = new List<byte[]>();
        var initialContact = false;
        foreach (var p in message.Payloads)
        {
            switch ((PayloadType)p.Type)
            {
                case PayloadType.Hash: hash ??= p.Body.ToArray(); break;
                case PayloadType.NatDiscovery or PayloadType.NatDiscoveryDraft: natd.Add(p.Body.ToArray()); break;
                case PayloadType.Notification when NotificationPayloadView.TryParse(p.Raw, out var n, out _) && n.NotifyType == NotifyMessageType.InitialContact:
                    initialContact = true;
                    break;
                case PayloadType.VendorId when VendorIds.Identify(p.Body) == KnownVendorId.Dpd: _sa.Dpd.PeerSupportsDpd = true; break;
            }
        }
        if (hash is null)
        {
            AsaDebug.ErrorProcessingPayload(output, _sa.IpContext, (long)PayloadType.Hash);
            _sa.Fail(FailureReason.MalformedMessage, "AM3 without HASH", output);
            return;
        }
        AsaDebug.ProcessingHashPayload(output, _sa.Context);
        AsaDebug.ComputingHashForIsakmp(output, _sa.Context);
        if (!IkeActors.Crypto.IkePrf.FixedTimeEquals(_auth.ComputeHash(initiator: true), hash))
        {
            AsaDebug.HashVerificationFailed(output, _sa.Context);
            _sa.Fail(FailureReason.AuthenticationFailed, "HASH_I does not verify (RFC 2409 §5.4): pre-shared key mismatch?", output);
            return;
        }
        if (encrypted) _sa.Cipher!.AcceptReceived(0, datagram[IsakmpMessages.HeaderSize..]);
        _sa.Nat.AcceptNatTPeer();
        var nat = _sa.Nat.Compare(natd, output);
        _sa.RememberReceived(datagram);
        _sa.CancelRetransmit(0, output);
        _sa.Nat.LogStatus(nat, output);
        _sa.Fire(MainModeTrigger.ReceivedAm3);
        _sa.Phase1Complete(output);
        if (initialContact) output.Add(new InitialContactReceived(_sa.InitiatorCookie, _sa.Peer.Address));
    }
}
