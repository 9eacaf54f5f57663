using System.Net;
using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// One Main Mode exchange with pre-shared keys (RFC 2409 §5, Identity Protection), in either role:
/// SA, KE + nonce + NAT-D, then ID + HASH encrypted. It fills the IKE SA's transcript, derives its keys and
/// holds the DH key pair; the IKE SA drops it at MM_ACTIVE (as a Quick Mode exchange is dropped).
/// </summary>
internal sealed class MainModeExchange(IkeSa sa, MainModeTranscript transcript) : Phase1Exchange(sa, transcript)
{

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
        var sa = Offer();
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

        if (Choose(sa, output, out var failure) is not { } chosen)
        {
            output.Add(new NegotiationFailed(IkeExchange.MainMode, failure, "no ISAKMP policy matches the peer's proposal"));
            return false;
        }
        _sa.RememberReceived(datagram);
        _sa.ResponderCookie = IkeSa.NewCookie(_sa.Gateway.Environment);
        AsaDebug.ConstructingIsakmpSaPayload(output, _sa.IpContext);
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
        _sa.LogReceived(datagram, output);
        if (!AcceptChosen(haveSa, sa))
        {
            AsaDebug.AllSaProposalsUnacceptable(output, _sa.IpContext);
            _sa.Fail(FailureReason.NoProposalChosen, "the responder chose a transform we did not offer", output);
            return;
        }
        _sa.CancelRetransmit(0, output);
        _sa.ResponderCookie = message.Header.ResponderCookie;
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
        var (ke, nonce) = NewKeyExchange(_sa.Transform!.Group, output);
        var payloads = new List<IIsakmpPayload> { ke, nonce };
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
        if (!AcceptKeyExchange(ke, nonce, _sa.Transform!.Group, output)) return false;
        _sa.Vendors.Log(vids, output);
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
}
