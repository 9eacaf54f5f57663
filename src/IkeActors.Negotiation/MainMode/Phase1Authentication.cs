using System.Net;
using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// Pre-shared key authentication of Main Mode (RFC 2409 §5, §5.4): MM5/MM6 carry the sender's ID and
/// HASH_I / HASH_R = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b) (and the mirror), encrypted
/// under the new phase-1 keys; the receiver checks the HASH in constant time.
/// </summary>
internal sealed class Phase1Authentication(IkeSa sa, MainModeTranscript transcript)
{
    private readonly IkeSa _sa = sa;
    private readonly MainModeTranscript _t = transcript;

    /// <summary>The ID message just opened carried INITIAL-CONTACT (RFC 2407 §4.6.3.3); it counts once the HASH verified.</summary>
    public bool PeerSentInitialContact { get; private set; }

    /// <summary>
    /// Decrypts MM5/MM6, checks the ID and the peer's HASH (constant time). A message that does
    /// not decrypt to valid payloads is the classic pre-shared key mismatch.
    /// </summary>
    public bool Open(ReadOnlySpan<byte> datagram, NegotiationOutput output, out byte[] plaintext, out byte[] idBody)
    {
        idBody = [];
        if (!IsakmpMessages.TryDecrypt(datagram, _sa.Cipher!, 0, out plaintext))
        {
            AsaDebug.ReceivedEncryptedMainModeInvalidPayloads(output, _sa.IpContext, 0);
            AsaDebug.DecryptProblemMismatchedPsk(output, _sa.IpContext);
            _sa.Fail(FailureReason.AuthenticationFailed, "MM5/MM6 did not decrypt to valid payloads: pre-shared key mismatch?", output);
            return false;
        }
        _sa.LogReceived(plaintext, output);
        IsakmpMessage.TryParseDecrypted(plaintext, out var message, out _);
        byte[]? hash = null;
        foreach (var p in message.Payloads)
        {
            if (p.Type == (byte)PayloadType.Identification && idBody.Length == 0)
            {
                idBody = p.Body.ToArray();
                AsaDebug.ProcessingIdPayload(output, _sa.Context);
                if (IdPayloadView.TryParse(p.Raw, out var id, out _) && id.IdType == IdType.Ipv4Address && id.IdentificationData.Length == 4)
                    AsaDebug.IdIpv4AddrReceived(output, _sa.Context, new IPAddress(id.IdentificationData));
            }
            else if (p.Type == (byte)PayloadType.Hash) hash ??= p.Body.ToArray();
            else if (p.Type == (byte)PayloadType.Notification && NotificationPayloadView.TryParse(p.Raw, out var n, out _)
                     && n.NotifyType == NotifyMessageType.InitialContact) PeerSentInitialContact = true;
            else if (p.Type == (byte)PayloadType.VendorId && _sa.Vendors.ReadTraceContext(p.Body, output)) { }
            else if (p.Type == (byte)PayloadType.VendorId && VendorIds.Identify(p.Body) == KnownVendorId.Dpd) _sa.Dpd.PeerSupportsDpd = true;
            else if (p.Type == (byte)PayloadType.IosKeepalive && IosKeepalivePayloadView.TryParse(p.Raw, out var ka, out _))
                AsaDebug.ProcessingIosKeepAlivePayload(output, _sa.IpContext, ka.KeepaliveInterval, ka.RetryInterval);
        }
        if (idBody.Length == 0 || hash is null)
        {
            AsaDebug.ErrorProcessingPayload(output, _sa.IpContext, idBody.Length == 0 ? (long)PayloadType.Identification : (long)PayloadType.Hash);
            _sa.Fail(FailureReason.MalformedMessage, "ID or HASH missing", output);
            return false;
        }
        AsaDebug.ProcessingHashPayload(output, _sa.Context);
        AsaDebug.ComputingHashForIsakmp(output, _sa.Context);
        if (_sa.Role == IkeRole.Responder) _t.IdiiBody = idBody; else _t.IdirBody = idBody;
        var expected = ComputeHash(initiator: _sa.Role == IkeRole.Responder);
        if (!IkePrf.FixedTimeEquals(expected, hash))
        {
            _sa.Fail(FailureReason.AuthenticationFailed, "HASH does not verify (RFC 2409 §5)", output);
            return false;
        }
        _sa.Cipher!.AcceptReceived(0, datagram[IsakmpMessages.HeaderSize..]);
        return true;
    }


    /// <summary>HASH_I (<paramref name="initiator"/>) or HASH_R from the transcript (RFC 2409 §5; the same in Aggressive Mode, §5.4).</summary>
    internal byte[] ComputeHash(bool initiator)
    {
        var hash = new byte[IkeAlgorithms.HashLength(_sa.Transform!.CryptoHash)];
        var ckyI = IsakmpMessages.Cookie(_sa.InitiatorCookie);
        var ckyR = IsakmpMessages.Cookie(_sa.ResponderCookie);
        if (initiator) IkeHashes.HashI(_sa.Transform.CryptoHash, _sa.Keys!.Skeyid, _t.Gxi, _t.Gxr, ckyI, ckyR, _t.SaiBody, _t.IdiiBody, hash);
        else IkeHashes.HashR(_sa.Transform.CryptoHash, _sa.Keys!.Skeyid, _t.Gxi, _t.Gxr, ckyI, ckyR, _t.SaiBody, _t.IdirBody, hash);
        return hash;
    }

    /// <summary>
    /// The payloads of MM5 (initiator) or MM6 (responder): our ID, HASH_I or HASH_R (RFC 2409 §5),
    /// the IOS keepalive proposal, and the DPD vendor ID unless keepalives are disabled.
    /// </summary>
    public List<IIsakmpPayload> Payloads(bool initiator, NegotiationOutput output)
    {
        var (id, idBody) = OwnId();
        if (initiator) _t.IdiiBody = idBody; else _t.IdirBody = idBody;
        AsaDebug.ConstructingIdPayload(output, _sa.Context);
        AsaDebug.ConstructingHashPayload(output, _sa.Context);
        AsaDebug.ComputingHashForIsakmp(output, _sa.Context);
        var hash = ComputeHash(initiator);
        var payloads = new List<IIsakmpPayload> { id, new HashPayload { HashData = hash } };
        // Payload 128 is Cisco-private (RFC 2408 §3.1: 128-255 private use); only a peer that said it is Cisco
        // (Unity, VPN3000/ASA or our own vendor ID in MM3/MM4) gets it. Libreswan drops a message that carries it.
        if (_sa.Vendors.PeerIsCisco)
        {
            AsaDebug.ConstructingIosKeepAlivePayload(output, _sa.IpContext, 32767, 32767);
            payloads.Add(new IosKeepalivePayload { KeepaliveInterval = 32767, RetryInterval = 32767 });
        }
        // `isakmp keepalive disable`: the ASA does not negotiate DPD at all (no vendor ID, RFC 3706 §5.1).
        if (!_sa.Dpd.Keepalive.Disabled)
        {
            AsaDebug.ConstructingDpdVidPayload(output, _sa.Context);
            payloads.Add(VendorIdHandler.Vid(VendorIds.Dpd));
        }
        if (initiator) _sa.Vendors.AddTraceContext(payloads);
        return payloads;
    }

    private (IdPayload Payload, byte[] Body) OwnId()
    {
        // RFC 2407 §4.6.2: phase 1 ID is the outside address, protocol and port 0 or UDP/500.
        var id = new IdPayload { IdType = IdType.Ipv4Address, ProtocolId = 0, Port = 0, IdentificationData = _sa.Gateway.Local.Address.GetAddressBytes() };
        return (id, IkeSa.Body(id));
    }

    /// <summary>The NAT-D payload under the number the negotiated version uses (RFC 3947: 20; drafts 02/03: 130).</summary>
}
