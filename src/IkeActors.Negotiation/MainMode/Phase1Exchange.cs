using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// What Main Mode (RFC 2409 §5) and Aggressive Mode (§5.4) share: the ISAKMP SA proposal and the
/// responder's choice (the ASA's selection rule), the DH key pair and nonce, their checks, and the
/// derivation of SKEYID and its keys from the pre-shared key. The exchanges differ only in which message
/// carries what; each rule lives here once.
/// </summary>
internal abstract class Phase1Exchange(IkeSa sa, MainModeTranscript transcript) : IDisposable
{
    protected readonly IkeSa _sa = sa;
    protected readonly MainModeTranscript _t = transcript;
    protected readonly Phase1Authentication _auth = new(sa, transcript);
    protected DhKeyPair? _dh;

    /// <summary>
    /// The initiator's SA payload (ASA: every ISAKMP policy, by priority, is one transform of one proposal;
    /// policies this gateway cannot carry out are not offered). <paramref name="group"/>: only policies of that
    /// DH group (Aggressive Mode sends its KE with the offer, so every transform must share the group).
    /// </summary>
    protected SaPayload Offer(OakleyGroup? group = null, bool xauth = false) => new()
    {
        Doi = Doi.Ipsec,
        Situation = Situation.IdentityOnly,
        Proposals =
        [
            new ProposalPayload
            {
                ProposalNumber = 1,
                ProtocolId = ProtocolId.Isakmp,
                Transforms = _sa.Gateway.Config.IsakmpPolicies.OrderBy(p => p.Priority).Select(Phase1Transform.FromPolicy)
                    .Where(t => t.IsImplemented && (group is null || t.Group == group))
                    // A remote-access client says it will authenticate its user too (XAUTHInitPreShared, as vpnc and Cisco's clients do).
                    .Select(t => xauth ? t with { Authentication = OakleyAuthMethod.XauthInitPreShared } : t)
                    .Select((t, i) => t.ToTransform((byte)(i + 1))).ToList(),
            },
        ],
    };

    /// <summary>
    /// The responder's choice (ASA: the peer's transforms in its order, each against our policies by priority). On
    /// success the SA's transform is set (the shorter lifetime wins: RFC 2409 §4 leaves it to policy, the ASA takes the
    /// smaller) and SAi_b kept, and the SA payload to answer with is returned; otherwise NO-PROPOSAL-CHOSEN was sent.
    /// </summary>
    protected SaPayload? Choose(SaPayloadView offered, NegotiationOutput output, out FailureReason failure)
    {
        failure = FailureReason.NoProposalChosen;
        var policies = _sa.Gateway.Config.IsakmpPolicies.OrderBy(p => p.Priority).ToList();
        (int Proposal, int Transform, Phase1Transform Offered, IsakmpPolicy Policy)? choice = null;
        foreach (var proposal in offered.Proposals)
        {
            if (proposal.ProtocolId != ProtocolId.Isakmp) continue;
            var transformIndex = 0;
            foreach (var t in proposal.Transforms)
            {
                transformIndex++;
                if (Phase1Transform.FromTransform(t) is not { IsImplemented: true } candidate) continue;
                var policy = policies.FirstOrDefault(p => Phase1Transform.FromPolicy(p).Matches(candidate));
                if (policy is null) continue;
                choice = (proposal.ProposalNumber, t.TransformNumber, candidate, policy);
                break;
            }
            if (choice is not null) break;
        }
        if (choice is not { } c)
        {
            AsaDebug.AllSaProposalsUnacceptable(output, _sa.IpContext);
            AsaDebug.ErrorProcessingPayload(output, _sa.IpContext, (long)PayloadType.SecurityAssociation);
            _sa.Informational.SendPlainNotify(NotifyMessageType.NoProposalChosen, output);
            return null;
        }
        AsaDebug.IkeSaProposalAcceptable(output, _sa.IpContext, c.Proposal, c.Transform, c.Policy.Priority);
        _sa.Transform = c.Offered with { LifetimeSeconds = Math.Min(c.Offered.LifetimeSeconds, c.Policy.LifetimeSeconds) };
        _t.SaiBody = offered.Raw[4..].ToArray();
        return new SaPayload
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
                    Transforms = [_sa.Transform.ToTransform((byte)c.Transform)],
                },
            ],
        };
    }

    /// <summary>The initiator's check of the responder's answer (RFC 2408 §4.2: one of the transforms we offered); sets the SA's transform.</summary>
    protected bool AcceptChosen(bool haveSa, SaPayloadView sa)
    {
        Phase1Transform? chosen = null;
        if (haveSa)
            foreach (var proposal in sa.Proposals)
                foreach (var t in proposal.Transforms)
                    chosen ??= Phase1Transform.FromTransform(t) is { IsImplemented: true } offered ? offered : null;
        var policy = chosen is null ? null : _sa.Gateway.Config.IsakmpPolicies.FirstOrDefault(p => Phase1Transform.FromPolicy(p).Matches(chosen));
        if (chosen is null || policy is null) return false;
        _sa.Transform = chosen with { LifetimeSeconds = Math.Min(chosen.LifetimeSeconds, policy.LifetimeSeconds) };
        return true;
    }

    /// <summary>Our DH key pair in <paramref name="group"/> and nonce, recorded in the transcript as ours (g^xi/Ni or g^xr/Nr).</summary>
    protected (KePayload Ke, NoncePayload Nonce) NewKeyExchange(OakleyGroup group, NegotiationOutput output)
    {
        _dh = _sa.Gateway.Environment.CreateKeyPair(IkeSa.DhGroupOf(group, _sa.Gateway.Settings.DhExponent));
        var nonce = new byte[20];
        _sa.Gateway.Environment.Fill(nonce);
        if (_sa.Role == IkeRole.Initiator) { _t.Gxi = _dh.PublicValue.ToArray(); _t.Ni = nonce; }
        else { _t.Gxr = _dh.PublicValue.ToArray(); _t.Nr = nonce; }
        AsaDebug.ConstructingKePayload(output, _sa.IpContext);
        AsaDebug.ConstructingNoncePayload(output, _sa.IpContext);
        return (new KePayload { KeyExchangeData = _dh.PublicValue.ToArray() }, new NoncePayload { NonceData = nonce });
    }

    /// <summary>
    /// The peer's KE and nonce against <paramref name="group"/> (a public value of the group's length in range,
    /// RFC 2409 §5: a nonce of 8 to 256 bytes), recorded as the peer's; false after failing the SA.
    /// </summary>
    protected bool AcceptKeyExchange(byte[]? ke, byte[]? nonce, OakleyGroup group, NegotiationOutput output)
    {
        if (ke is null || nonce is null)
        {
            AsaDebug.ErrorProcessingPayload(output, _sa.IpContext, ke is null ? (long)PayloadType.KeyExchange : (long)PayloadType.Nonce);
            _sa.Fail(FailureReason.MalformedMessage, "KE or nonce missing", output);
            return false;
        }
        var dh = IkeSa.DhGroupOf(group);
        AsaDebug.ProcessingKePayload(output, _sa.IpContext);
        AsaDebug.ProcessingIsaKePayload(output, _sa.IpContext);
        if (ke.Length != dh.PublicValueLength || dh.ValidatePublicValue(ke) != DhStatus.Ok)
        {
            AsaDebug.DhKeyBadLength(output, _sa.IpContext, ke.Length, dh.PublicValueLength);
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
        if (_sa.Role == IkeRole.Initiator) { _t.Gxr = ke; _t.Nr = nonce; }
        else { _t.Gxi = ke; _t.Ni = nonce; }
        return true;
    }

    /// <summary>g^xy, then SKEYID = prf(pre-shared-key, Ni_b | Nr_b) and its keys (RFC 2409 §5); false after failing the SA.</summary>
    protected bool DeriveKeys(NegotiationOutput output)
    {
        if (_sa.PreSharedKey() is not { } psk)
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
        // The DH private value is of no further use (RFC 2409 §5: g^xy only feeds SKEYID).
        _dh.Dispose();
        _dh = null;
        return true;
    }

    public void Dispose()
    {
        _dh?.Dispose();
        _dh = null;
    }
}
