using System.Buffers.Binary;
using System.Net;
using IkeActors.Crypto;
using IkeActors.Protocol;
using Stateless;

namespace IkeActors.Negotiation;

/// <summary>
/// One IKE (ISAKMP) SA: its Main Mode exchange with pre-shared keys (RFC 2409 §5), in either
/// role, and the Quick Mode and Informational exchanges protected by it. Pure: every input
/// (datagram, acquire, timer) returns its effects through a <see cref="NegotiationOutput"/>;
/// randomness and DH keys come from the injected environment.
/// </summary>
public sealed partial class IkeSa : IDisposable
{
    private static readonly byte[] FragmentationCapabilities = [0xc0, 0x00, 0x00, 0x00];
    private static readonly byte[] IosVersionAndCapabilities = [0x01, 0x00, 0x00, 0x20, 0x00, 0x00, 0x01];
    private static readonly byte[] AltigaVersion = [0x01, 0x00];

    private readonly GatewayContext _gateway;
    private readonly StateMachine<MainModeState, MainModeTrigger> _machine;
    private MainModeState _state = MainModeState.MM_NO_STATE;

    // Phase 1 material. Secrets live in Phase1Keys / DhKeyPair and are disposed with the SA.
    private Phase1Transform? _transform;
    private byte[] _saiBody = [];
    private DhKeyPair? _dh;
    private byte[] _gxi = [], _gxr = [], _ni = [], _nr = [];
    private Phase1Keys? _keys;
    private IsakmpCipher? _cipher;
    private byte[] _idiiBody = [], _idirBody = [];

    // Retransmission and duplicate detection (RFC 2408 §5: a retransmitted request gets the last response).
    private byte[]? _lastSent;
    private byte[]? _lastReceived;
    private int _retransmits;

    private readonly Dictionary<uint, QuickModeExchange> _quickModes = new();
    private readonly List<CryptoMapMatch> _pendingAcquires = new();
    private CryptoMapMatch? _initialAcquire;

    private IkeSa(GatewayContext gateway, IkeRole role, IPEndPoint peer, ulong initiatorCookie)
    {
        _gateway = gateway;
        Role = role;
        Peer = peer;
        InitiatorCookie = initiatorCookie;
        _machine = new StateMachine<MainModeState, MainModeTrigger>(() => _state, s => _state = s);
        StateGraphs.ConfigureMainMode(_machine, role);
    }

    public IkeRole Role { get; }
    public IPEndPoint Peer { get; }
    public ulong InitiatorCookie { get; }
    public ulong ResponderCookie { get; private set; }
    public MainModeState State => _state;
    public string? TunnelGroup { get; private set; }
    public bool NatDetected { get; private set; }

    /// <summary>The NAT-Traversal version both ends announced in MM1/MM2 (RFC 3947 §3.1); None: no NAT-D, no float.</summary>
    public NatTraversalVersion NatTraversal { get; private set; }

    /// <summary>
    /// Where the peer's NAT-T socket is once the SA has floated to UDP 4500 (RFC 3947 §4): the initiator
    /// floats at MM5 when a NAT was detected, the responder follows the port the peer's messages come from.
    /// Null: the SA still talks on UDP 500.
    /// </summary>
    public IPEndPoint? NatTPeer { get; private set; }

    /// <summary>Where this SA's messages go: the peer's NAT-T endpoint after the float, its ISAKMP endpoint before.</summary>
    public IPEndPoint Destination => NatTPeer ?? Peer;

    /// <summary>ESP of this SA's Quick Modes travels in UDP (RFC 3948): a NAT was detected and the SA floated.</summary>
    public bool UsesUdpEncapsulation => NatDetected && NatTPeer is not null;

    private IPEndPoint? _candidateNatTPeer;

    /// <summary>The datagram being processed came from a new NAT-T endpoint and has authenticated (HASH_I/R, HASH(1..3), Informational HASH): answer there from now on.</summary>
    internal void AcceptNatTPeer()
    {
        if (_candidateNatTPeer is null) return;
        NatTPeer = _candidateNatTPeer;
        _candidateNatTPeer = null;
    }

    /// <summary>The UDP port of NAT-T (RFC 3947 §4).</summary>
    public const int NatTPort = 4500;

    internal SendDatagram Datagram(byte[] bytes, bool retransmission = false) => new(bytes, Destination, retransmission, NatT: NatTPeer is not null);
    public Phase1Transform? Transform => _transform;
    public IReadOnlyCollection<QuickModeExchange> QuickModes => _quickModes.Values;

    internal GatewayContext Gateway => _gateway;
    internal Phase1Keys? Keys => _keys;
    internal IsakmpCipher? Cipher => _cipher;
    internal NegotiationSettings Settings => _gateway.Settings;

    public IkeSaSummary Summary => new(InitiatorCookie, ResponderCookie, Peer, Role, _state, TunnelGroup, _transform,
        _transform?.LifetimeSeconds ?? 0, NatDetected);

    /// <summary>"IP = peer, ": IKE_DECODE and a few other lines always use the address alone.</summary>
    internal DebugContext IpContext => new(Peer.Address);

    /// <summary>"Group = g, IP = peer, " once the tunnel group is known.</summary>
    internal DebugContext Context => new(Peer.Address, TunnelGroup);

    // ------------------------------------------------------------------ entry points

    /// <summary>Starts Main Mode as initiator for traffic that hit a crypto map entry (the ASA's key acquire).</summary>
    public static IkeSa StartInitiator(GatewayContext gateway, CryptoMapMatch acquire, IPEndPoint peer, NegotiationOutput output)
    {
        Span<byte> cookie = stackalloc byte[8];
        return StartInitiator(gateway, acquire, peer, output, NonZeroCookie(gateway.Environment, cookie));
    }

    /// <summary>
    /// Starts Main Mode with an initiator cookie chosen by the host (a cluster names the SA's grain
    /// by peer and cookie before the SA exists). The cookie must be random and non-zero (RFC 2408 §3.1).
    /// </summary>
    public static IkeSa StartInitiator(GatewayContext gateway, CryptoMapMatch acquire, IPEndPoint peer, NegotiationOutput output, ulong initiatorCookie)
    {
        ArgumentOutOfRangeException.ThrowIfZero(initiatorCookie);
        var sa = new IkeSa(gateway, IkeRole.Initiator, peer, initiatorCookie);
        sa._initialAcquire = acquire;
        sa.SendMainMode1(acquire, output);
        return sa;
    }

    /// <summary>
    /// A first Main Mode message from an unknown peer: returns the responder SA when MM1 is
    /// acceptable (MM2 is in the output), or null after answering with the notify the RFC requires.
    /// </summary>
    public static IkeSa? AcceptMainMode1(GatewayContext gateway, IPEndPoint peer, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (!IsakmpMessage.TryParse(datagram, out var message, out _) || message.IsEncrypted
            || message.Header.ExchangeType != ExchangeType.IdentityProtection || message.Header.ResponderCookie != 0
            || message.Header.InitiatorCookie == 0)
            return null;
        var sa = new IkeSa(gateway, IkeRole.Responder, peer, message.Header.InitiatorCookie);
        if (!sa.ReceiveMainMode1(datagram, output))
        {
            sa.Dispose();
            return null;
        }
        return sa;
    }

    /// <summary>A datagram for this SA (cookies already matched by the host), from UDP 500.</summary>
    public void Receive(ReadOnlySpan<byte> datagram, NegotiationOutput output) => Receive(datagram, output, from: null, natT: false);

    /// <summary>
    /// A datagram for this SA from <paramref name="from"/>; <paramref name="natT"/>: it came on the NAT-T
    /// socket (UDP 4500, non-ESP marker already removed). A peer that talks NAT-T is answered there from
    /// then on (RFC 3947 §4: the responder follows the initiator's float; behind a NAT the port may be any).
    /// </summary>
    public void Receive(ReadOnlySpan<byte> datagram, NegotiationOutput output, IPEndPoint? from, bool natT)
    {
        if (_state == MainModeState.MM_DELETED) return;
        // The new endpoint is taken only once this message authenticates (AcceptNatTPeer): cookies are
        // visible on the wire, so an unauthenticated datagram must not move where our messages go.
        _candidateNatTPeer = natT && from is not null && from.Address.Equals(Peer.Address) && NatTraversal != NatTraversalVersion.None
            && IsakmpHeaderView.TryParse(datagram, out var h, out _) && h.InitiatorCookie == InitiatorCookie && h.ResponderCookie == ResponderCookie
            && !from.Equals(NatTPeer)
            ? new IPEndPoint(from.Address, from.Port) : null;
        if (!IsakmpMessage.TryParse(datagram, out var message, out var error))
        {
            // Design: a malformed datagram is dropped without touching SA state.
            output.Add(new MessageDropped(IkeExchange.Isakmp, 0, DropReason.Malformed, error.ToString()));
            return;
        }
        var header = message.Header;

        // RFC 2408 §5 / ASA: a repeat of the last message we answered gets the same answer again.
        // Checked before the cookies: a retransmitted MM1 still carries a zero responder cookie.
        if (_lastReceived is not null && datagram.SequenceEqual(_lastReceived) && header.MessageId == 0)
        {
            if (_lastSent is not null && Role == IkeRole.Responder)
            {
                AsaDebug.DuplicatePhase1Packet(output, IpContext);
                Resend(output);
            }
            return;
        }

        if (header.InitiatorCookie != InitiatorCookie || (header.ResponderCookie != ResponderCookie && !(_state == MainModeState.MM_WAIT_MSG2 && header.ResponderCookie != 0)))
        {
            output.Add(new MessageDropped(IkeExchange.Isakmp, header.MessageId, DropReason.CookieMismatch, "cookies do not match this SA"));
            return;
        }

        switch (header.ExchangeType)
        {
            case ExchangeType.IdentityProtection:
                ReceiveMainMode(datagram, message.IsEncrypted, output);
                break;
            case ExchangeType.QuickMode:
                ReceiveQuickMode(datagram, header.MessageId, output);
                break;
            case ExchangeType.Informational:
                ReceiveInformational(datagram, header.MessageId, message.IsEncrypted, output);
                break;
            default:
                output.Add(new MessageDropped(IkeExchange.Isakmp, header.MessageId, DropReason.ExchangeNotSupported, $"exchange type {header.ExchangeType} not supported"));
                break;
        }
    }

    /// <summary>A timer this SA armed has fired.</summary>
    public void TimerFired(TimerKey key, NegotiationOutput output)
    {
        if (_state == MainModeState.MM_DELETED) return;
        switch (key.Kind)
        {
            case TimerKind.Retransmit when key.MessageId == 0:
                if (_state is MainModeState.MM_ACTIVE) return;
                if (_retransmits >= Settings.RetransmitLimit)
                {
                    AsaDebug.SessionEstablishmentTimedOut(output, IpContext, _state.ToString());
                    Fail(FailureReason.RetransmissionsExhausted, $"no answer in {_state} after {_retransmits} retransmissions", output);
                    return;
                }
                _retransmits++;
                AsaDebug.P1RetransmitDispatched(output, IpContext);
                _machine.Fire(MainModeTrigger.Retransmit);
                Resend(output);
                ArmRetransmit(0, _retransmits, output);
                break;
            case TimerKind.Retransmit:
                if (_quickModes.TryGetValue(key.MessageId, out var qm)) qm.TimerFired(key, output);
                break;
            case TimerKind.Phase2Rekey:
                if (_ipsecSas.TryGetValue(key.MessageId, out var due)) Phase2RekeyDue(due, output);
                break;
            case TimerKind.Phase2Expire:
                if (_ipsecSas.TryGetValue(key.MessageId, out var expired)) ExpireIpsecSa(expired, output);
                break;
            case TimerKind.Dpd:
                DpdTimerFired(output);
                break;
            case TimerKind.Phase1Rekey:
                Phase1RekeyTimerFired(output);
                break;
        }
    }

    /// <summary>Traffic for another crypto map entry: a new Quick Mode now, or when phase 1 completes.</summary>
    public void Acquire(CryptoMapMatch acquire, NegotiationOutput output)
    {
        if (_state == MainModeState.MM_ACTIVE) StartQuickMode(acquire, output);
        else if (_state != MainModeState.MM_DELETED)
        {
            AsaDebug.KeyAcquireQueued(output, Context);
            _pendingAcquires.Add(acquire);
        }
    }

    // ------------------------------------------------------------------ MM1 (initiator)

    private void SendMainMode1(CryptoMapMatch acquire, NegotiationOutput output)
    {
        if (RekeyOf != 0)
        {
            var local = IkeActors.Config.Model.Ipv4.ToAddress(acquire.Local.Range.First);
            AsaDebug.InitiatorRekeyingPhase1(output, new DebugContext(Peer.Address, _gateway.Config.TunnelGroupForPeer(Peer.Address)?.Name),
                _gateway.InsideInterfaceFor(local), Peer.Address, local, IkeActors.Config.Model.Ipv4.ToAddress(acquire.Remote.Range.First), acquire.Map.Name);
        }
        else
        {
        AsaDebug.PitcherKeyAcquire(output, 0);
        AsaDebug.InitiatorNewPhase1(output, IpContext, _gateway.InsideInterfaceFor(acquire.Local.Range.First == 0 ? IPAddress.Any : IkeActors.Config.Model.Ipv4.ToAddress(acquire.Local.Range.First)),
            Peer.Address, IkeActors.Config.Model.Ipv4.ToAddress(acquire.Local.Range.First), IkeActors.Config.Model.Ipv4.ToAddress(acquire.Remote.Range.First), acquire.Map.Name);
        }

        AsaDebug.ConstructingIsakmpSaPayload(output, IpContext);
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
                    Transforms = _gateway.Config.IsakmpPolicies.OrderBy(p => p.Priority).Select(Phase1Transform.FromPolicy)
                        .Where(t => t.IsImplemented).Select((t, i) => t.ToTransform((byte)(i + 1))).ToList(),
                },
            ],
        };
        _saiBody = Body(sa);
        AsaDebug.ConstructingNatTraversalVid02Payload(output, IpContext);
        AsaDebug.ConstructingNatTraversalVid03Payload(output, IpContext);
        AsaDebug.ConstructingNatTraversalVidRfcPayload(output, IpContext);
        AsaDebug.ConstructingFragmentationVidPayload(output, IpContext);
        var payloads = new List<IIsakmpPayload>
        {
            sa,
            Vid(VendorIds.NatTDraft02),
            Vid(VendorIds.NatTDraft03),
            Vid(VendorIds.NatTRfc3947),
            Vid([.. VendorIds.Fragmentation, .. FragmentationCapabilities]),
        };
        _machine.Fire(MainModeTrigger.Acquire);
        SendPlain(ExchangeType.IdentityProtection, 0, payloads, output);
        ArmRetransmit(0, 0, output);
        output.Add(new MessageSent(ExchangeMessage.MainMode(1)));
    }

    // ------------------------------------------------------------------ MM1 (responder) -> MM2

    private bool ReceiveMainMode1(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        output.Add(new MessageReceived(ExchangeMessage.MainMode(1)));
        LogReceived(datagram, output);
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
            AsaDebug.ErrorProcessingPayload(output, IpContext, (long)PayloadType.SecurityAssociation);
            output.Add(new NegotiationFailed("Main Mode", FailureReason.MalformedMessage, "MM1 without an SA payload"));
            return false;
        }
        AsaDebug.ProcessingSaPayload(output, IpContext);
        AsaDebug.OakleyProposalAcceptable(output, IpContext);
        LogVendorIds(vids, output);
        AsaDebug.ProcessingIkeSaPayload(output, IpContext);

        // ASA selection: the peer's transforms in its order, each against our policies by priority.
        var policies = _gateway.Config.IsakmpPolicies.OrderBy(p => p.Priority).ToList();
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
            AsaDebug.AllSaProposalsUnacceptable(output, IpContext);
            AsaDebug.ErrorProcessingPayload(output, IpContext, (long)PayloadType.SecurityAssociation);
            SendPlainNotify(NotifyMessageType.NoProposalChosen, output);
            output.Add(new NegotiationFailed("Main Mode", FailureReason.NoProposalChosen, "no ISAKMP policy matches the peer's proposal"));
            return false;
        }
        AsaDebug.IkeSaProposalAcceptable(output, IpContext, c.Proposal, c.Transform, c.Policy.Priority);
        // The shorter lifetime wins (RFC 2409 §4 leaves it to policy; the ASA takes the smaller).
        _transform = c.Offered with { LifetimeSeconds = Math.Min(c.Offered.LifetimeSeconds, c.Policy.LifetimeSeconds) };
        _saiBody = sa.Raw[4..].ToArray();
        _lastReceived = datagram.ToArray();

        Span<byte> cookie = stackalloc byte[8];
        ResponderCookie = NonZeroCookie(_gateway.Environment, cookie);

        AsaDebug.ConstructingIsakmpSaPayload(output, IpContext);
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
                    Transforms = [_transform.ToTransform((byte)c.Transform) with { }],
                },
            ],
        };
        var payloads = new List<IIsakmpPayload> { chosen };
        NatTraversal = NatTraversalOf(vids);
        if (vids.Contains(KnownVendorId.NatTRfc3947)) payloads.Add(Vid(VendorIds.NatTRfc3947));
        else if (vids.Contains(KnownVendorId.NatTDraft03)) payloads.Add(Vid(VendorIds.NatTDraft03));
        else if (vids.Contains(KnownVendorId.NatTDraft02N)) payloads.Add(Vid(VendorIds.NatTDraft02N));
        else if (vids.Contains(KnownVendorId.NatTDraft02)) payloads.Add(Vid(VendorIds.NatTDraft02));
        AsaDebug.ConstructingFragmentationVidPayload(output, IpContext);
        payloads.Add(Vid([.. VendorIds.Fragmentation, .. FragmentationCapabilities]));
        _machine.Fire(MainModeTrigger.ReceivedMm1);
        SendPlain(ExchangeType.IdentityProtection, 0, payloads, output);
        ArmRetransmit(0, 0, output);
        output.Add(new MessageSent(ExchangeMessage.MainMode(2)));
        return true;
    }

    // ------------------------------------------------------------------ MM2..MM6

    private void ReceiveMainMode(ReadOnlySpan<byte> datagram, bool encrypted, NegotiationOutput output)
    {
        switch (_state)
        {
            case MainModeState.MM_WAIT_MSG2 when !encrypted: Received(2, output); ReceiveMainMode2(datagram, output); break;
            case MainModeState.MM_WAIT_MSG3 when !encrypted: Received(3, output); ReceiveMainMode3(datagram, output); break;
            case MainModeState.MM_WAIT_MSG4 when !encrypted: Received(4, output); ReceiveMainMode4(datagram, output); break;
            case MainModeState.MM_WAIT_MSG5 when encrypted: Received(5, output); ReceiveMainMode5(datagram, output); break;
            case MainModeState.MM_WAIT_MSG6 when encrypted: Received(6, output); ReceiveMainMode6(datagram, output); break;
            case MainModeState.MM_ACTIVE when encrypted && Role == IkeRole.Responder && _lastSent is not null:
                // The initiator did not get MM6 and resent MM5: answer with MM6 again.
                AsaDebug.DuplicatePhase1Packet(output, IpContext);
                Resend(output);
                break;
            default:
                output.Add(new MessageDropped(IkeExchange.MainMode, 0, DropReason.UnexpectedMessage, $"unexpected message in {_state}"));
                break;
        }
    }

    private static void Received(int number, NegotiationOutput output) => output.Add(new MessageReceived(ExchangeMessage.MainMode(number)));

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
        var policy = chosen is null ? null : _gateway.Config.IsakmpPolicies.FirstOrDefault(p => Phase1Transform.FromPolicy(p).Matches(chosen));
        LogReceived(datagram, output);
        if (chosen is null || policy is null)
        {
            AsaDebug.AllSaProposalsUnacceptable(output, IpContext);
            Fail(FailureReason.NoProposalChosen, "the responder chose a transform we did not offer", output);
            return;
        }
        CancelRetransmit(0, output);
        ResponderCookie = message.Header.ResponderCookie;
        _transform = chosen with { LifetimeSeconds = Math.Min(chosen.LifetimeSeconds, policy.LifetimeSeconds) };
        AsaDebug.ProcessingSaPayload(output, IpContext);
        AsaDebug.OakleyProposalAcceptable(output, IpContext);
        LogVendorIds(vids, output);
        NatTraversal = NatTraversalOf(vids);
        _lastReceived = datagram.ToArray();

        _machine.Fire(MainModeTrigger.ReceivedMm2);
        SendKeyExchange(output);
        output.Add(new MessageSent(ExchangeMessage.MainMode(3)));
    }

    /// <summary>MM3 (initiator) or MM2's follow-up MM4 (responder): KE, nonce, vendor IDs, NAT-D.</summary>
    private void SendKeyExchange(NegotiationOutput output)
    {
        var group = DhGroupOf(_transform!);
        _dh = _gateway.Environment.CreateKeyPair(group);
        var nonce = new byte[20];
        _gateway.Environment.Fill(nonce);
        if (Role == IkeRole.Initiator) { _gxi = _dh.PublicValue.ToArray(); _ni = nonce; }
        else { _gxr = _dh.PublicValue.ToArray(); _nr = nonce; }

        AsaDebug.ConstructingKePayload(output, IpContext);
        AsaDebug.ConstructingNoncePayload(output, IpContext);
        AsaDebug.ConstructingCiscoUnityVidPayload(output, IpContext);
        AsaDebug.ConstructingXauthV6VidPayload(output, IpContext);
        AsaDebug.SendIosVid(output, IpContext);
        AsaDebug.ConstructingAsaSpoofingIosVid(output, IpContext, 1, 0, 0, "20000001");
        AsaDebug.ConstructingVidPayload(output, IpContext);
        AsaDebug.SendAltigaVid(output, IpContext);
        var payloads = new List<IIsakmpPayload>
        {
            new KePayload { KeyExchangeData = _dh.PublicValue.ToArray() },
            new NoncePayload { NonceData = nonce },
            Vid(VendorIds.CiscoUnity),
            Vid(VendorIds.Xauth),
            Vid([.. VendorIds.IkeActors, .. IosVersionAndCapabilities]),
            Vid([.. VendorIds.CiscoVpn3000, .. AltigaVersion]),
        };
        // RFC 3947 §3.2: only when both ends support NAT-T; first the hash of the peer's address and port, then ours.
        if (NatTraversal != NatTraversalVersion.None)
        {
            AsaDebug.ConstructingNatDiscoveryPayload(output, IpContext);
            AsaDebug.ComputingNatDiscoveryHash(output, IpContext);
            payloads.Add(NatDiscovery(NatD(Peer)));
            AsaDebug.ConstructingNatDiscoveryPayload(output, IpContext);
            AsaDebug.ComputingNatDiscoveryHash(output, IpContext);
            payloads.Add(NatDiscovery(NatD(_gateway.Local)));
        }

        if (Role == IkeRole.Responder)
        {
            if (!DeriveKeys(output)) return;
            AsaDebug.ConnectionLandedOnTunnelGroup(output, IpContext, TunnelGroup!);
            AsaDebug.GeneratingKeysForResponder(output, Context);
        }
        SendPlain(ExchangeType.IdentityProtection, 0, payloads, output);
        ArmRetransmit(0, 0, output);
    }

    private void ReceiveMainMode3(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (!ReadKeyExchange(datagram, output, out var nat)) return;
        _lastReceived = datagram.ToArray();
        CancelRetransmit(0, output);
        _pendingNat = nat;
        _machine.Fire(MainModeTrigger.ReceivedMm3);
        SendKeyExchange(output);
        if (_state == MainModeState.MM_WAIT_MSG5) output.Add(new MessageSent(ExchangeMessage.MainMode(4)));
    }

    private (bool PeerNatMatches, bool LocalNatMatches)? _pendingNat;

    private void ReceiveMainMode4(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (!ReadKeyExchange(datagram, output, out var nat)) return;
        _lastReceived = datagram.ToArray();
        CancelRetransmit(0, output);
        if (!DeriveKeys(output)) return;
        AsaDebug.ConnectionLandedOnTunnelGroup(output, IpContext, TunnelGroup!);
        AsaDebug.GeneratingKeysForInitiator(output, Context);
        _machine.Fire(MainModeTrigger.ReceivedMm4);

        // RFC 3947 §4: with a NAT between us, the initiator moves to UDP 4500 from MM5 on.
        if (NatDetected && NatTraversal != NatTraversalVersion.None) NatTPeer = new IPEndPoint(Peer.Address, NatTPort);

        // MM5: ID, HASH_I, IOS keepalive, DPD vendor ID (RFC 2409 §5, RFC 3706 §2.1).
        var payloads = AuthenticationPayloads(initiator: true, output);
        SendEncrypted(ExchangeType.IdentityProtection, 0, payloads, output);
        ArmRetransmit(0, 0, output);
        LogNatStatus(nat, output);
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
        NotePeerVendorIds(vids);
        LogReceived(datagram, output);
        var group = DhGroupOf(_transform!);
        if (ke is null || nonce is null)
        {
            AsaDebug.ErrorProcessingPayload(output, IpContext, ke is null ? (long)PayloadType.KeyExchange : (long)PayloadType.Nonce);
            Fail(FailureReason.MalformedMessage, "KE or nonce missing", output);
            return false;
        }
        AsaDebug.ProcessingKePayload(output, IpContext);
        AsaDebug.ProcessingIsaKePayload(output, IpContext);
        if (ke.Length != group.PublicValueLength || group.ValidatePublicValue(ke) != DhStatus.Ok)
        {
            AsaDebug.DhKeyBadLength(output, IpContext, ke.Length, group.PublicValueLength);
            Fail(FailureReason.InvalidKeyExchange, "invalid DH public value", output);
            return false;
        }
        AsaDebug.ProcessingNoncePayload(output, IpContext);
        if (nonce.Length is < 8 or > 256)
        {
            AsaDebug.NonceLengthOutOfRange(output, IpContext, nonce.Length);
            Fail(FailureReason.MalformedMessage, "nonce length out of range (RFC 2409 §5)", output);
            return false;
        }
        LogVendorIds(vids, output);
        if (Role == IkeRole.Initiator) { _gxr = ke; _nr = nonce; }
        else { _gxi = ke; _ni = nonce; }
        if (natd.Count >= 2)
        {
            AsaDebug.ProcessingNatDiscoveryPayload(output, IpContext);
            AsaDebug.ComputingNatDiscoveryHash(output, IpContext);
            // RFC 3947 §3.2: the first NAT-D is the hash of the receiver's (our) address, the rest the sender's.
            var local = NatD(_gateway.Local);
            var remote = NatD(Peer);
            var localMatches = natd[0].AsSpan().SequenceEqual(local);
            var peerMatches = natd.Skip(1).Any(h => h.AsSpan().SequenceEqual(remote));
            nat = (peerMatches, localMatches);
            NatDetected = !localMatches || !peerMatches;
        }
        TunnelGroup = _gateway.Config.TunnelGroupForPeer(Peer.Address)?.Name;
        if (TunnelGroup is null)
        {
            AsaDebug.TunnelGroupNotFound(output, IpContext);
            Fail(FailureReason.NoTunnelGroup, $"no tunnel-group for {Peer.Address}", output);
            return false;
        }
        return true;
    }

    private void LogNatStatus((bool PeerNatMatches, bool LocalNatMatches)? nat, NegotiationOutput output)
    {
        if (nat is not { } n) return;
        if (n.PeerNatMatches && n.LocalNatMatches) AsaDebug.NatDetectionNoNat(output, Context);
        else if (!n.PeerNatMatches && n.LocalNatMatches) AsaDebug.NatDetectionRemoteBehindNat(output, Context);
        else if (n.PeerNatMatches) AsaDebug.NatDetectionLocalBehindNat(output, Context);
        else AsaDebug.NatDetectionBothBehindNat(output, Context);
    }

    private bool DeriveKeys(NegotiationOutput output)
    {
        var tg = TunnelGroup is null ? null : _gateway.Config.FindTunnelGroup(TunnelGroup);
        if (tg?.PreSharedKey is not { } psk)
        {
            AsaDebug.GroupNotFoundNoDefaultKey(output, IpContext, TunnelGroup ?? Peer.Address.ToString());
            Fail(FailureReason.NoTunnelGroup, "no pre-shared key for the peer", output);
            return false;
        }
        var peerPublic = Role == IkeRole.Initiator ? _gxr : _gxi;
        if (_dh!.ComputeSharedSecret(peerPublic, out var shared) != DhStatus.Ok || shared is null)
        {
            Fail(FailureReason.InvalidKeyExchange, "DH computation failed", output);
            return false;
        }
        using (shared)
        {
            var status = Phase1Keys.TryDerivePreSharedKey(_transform!.CryptoHash, _transform.CryptoCipher, _transform.KeyLengthBits,
                psk.Bytes, _ni, _nr, shared.ReadOnlySpan, Messages.Cookie(InitiatorCookie), Messages.Cookie(ResponderCookie), _gxi, _gxr, out var keys);
            if (status != Phase1KeyStatus.Ok || keys is null || !IsakmpCipher.TryCreate(keys, out var cipher))
            {
                keys?.Dispose();
                Fail(FailureReason.InvalidKeyExchange, $"key derivation failed ({status})", output);
                return false;
            }
            _keys = keys;
            _cipher = cipher;
        }
        return true;
    }

    private void ReceiveMainMode5(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (!OpenAuthenticated(datagram, output, out var plaintext, out var idBody)) return;
        AcceptNatTPeer();
        _idiiBody = idBody;
        _lastReceived = datagram.ToArray();
        CancelRetransmit(0, output);
        LogNatStatus(_pendingNat, output);
        AsaDebug.ConnectionLandedOnTunnelGroup(output, IpContext, TunnelGroup!);

        // MM6: ID, HASH_R, IOS keepalive, DPD vendor ID.
        var payloads = AuthenticationPayloads(initiator: false, output);
        _machine.Fire(MainModeTrigger.ReceivedMm5);
        SendEncrypted(ExchangeType.IdentityProtection, 0, payloads, output);
        output.Add(new MessageSent(ExchangeMessage.MainMode(6)));
        Phase1Complete(output);
    }

    private void ReceiveMainMode6(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (!OpenAuthenticated(datagram, output, out _, out var idBody)) return;
        AcceptNatTPeer();
        _idirBody = idBody;
        _lastReceived = datagram.ToArray();
        CancelRetransmit(0, output);
        AsaDebug.ConnectionLandedOnTunnelGroup(output, IpContext, TunnelGroup!);
        _machine.Fire(MainModeTrigger.ReceivedMm6);
        // The ASA announces the first Quick Mode before PHASE 1 COMPLETED.
        uint messageId = 0;
        if (_initialAcquire is not null)
        {
            AsaDebug.OakleyBeginQuickMode(output, Context);
            messageId = NewMessageId();
            AsaDebug.InitiatorStartingQm(output, Context, messageId);
        }
        Phase1Complete(output);
        if (_initialAcquire is { } acquire)
        {
            _initialAcquire = null;
            StartQuickMode(acquire, output, messageId);
        }
        foreach (var pending in _pendingAcquires) StartQuickMode(pending, output);
        _pendingAcquires.Clear();
    }

    /// <summary>
    /// Decrypts MM5/MM6, checks the ID and the peer's HASH (constant time). A message that does
    /// not decrypt to valid payloads is the classic pre-shared key mismatch.
    /// </summary>
    private bool OpenAuthenticated(ReadOnlySpan<byte> datagram, NegotiationOutput output, out byte[] plaintext, out byte[] idBody)
    {
        idBody = [];
        if (!Messages.TryDecrypt(datagram, _cipher!, 0, out plaintext))
        {
            AsaDebug.ReceivedEncryptedMainModeInvalidPayloads(output, IpContext, 0);
            AsaDebug.DecryptProblemMismatchedPsk(output, IpContext);
            Fail(FailureReason.AuthenticationFailed, "MM5/MM6 did not decrypt to valid payloads: pre-shared key mismatch?", output);
            return false;
        }
        LogReceived(plaintext, output);
        IsakmpMessage.TryParseDecrypted(plaintext, out var message, out _);
        byte[]? hash = null;
        foreach (var p in message.Payloads)
        {
            if (p.Type == (byte)PayloadType.Identification && idBody.Length == 0)
            {
                idBody = p.Body.ToArray();
                AsaDebug.ProcessingIdPayload(output, Context);
                if (IdPayloadView.TryParse(p.Raw, out var id, out _) && id.IdType == IdType.Ipv4Address && id.IdentificationData.Length == 4)
                    AsaDebug.IdIpv4AddrReceived(output, Context, new IPAddress(id.IdentificationData));
            }
            else if (p.Type == (byte)PayloadType.Hash) hash ??= p.Body.ToArray();
            else if (p.Type == (byte)PayloadType.VendorId && ReadTraceContext(p.Body, output)) { }
            else if (p.Type == (byte)PayloadType.VendorId && VendorIds.Identify(p.Body) == KnownVendorId.Dpd) _peerDpd = true;
            else if (p.Type == (byte)PayloadType.IosKeepalive && IosKeepalivePayloadView.TryParse(p.Raw, out var ka, out _))
                AsaDebug.ProcessingIosKeepAlivePayload(output, IpContext, ka.KeepaliveInterval, ka.RetryInterval);
        }
        if (idBody.Length == 0 || hash is null)
        {
            AsaDebug.ErrorProcessingPayload(output, IpContext, idBody.Length == 0 ? (long)PayloadType.Identification : (long)PayloadType.Hash);
            Fail(FailureReason.MalformedMessage, "ID or HASH missing", output);
            return false;
        }
        AsaDebug.ProcessingHashPayload(output, Context);
        AsaDebug.ComputingHashForIsakmp(output, Context);
        if (Role == IkeRole.Responder) _idiiBody = idBody; else _idirBody = idBody;
        var expected = ComputeHash(initiator: Role == IkeRole.Responder);
        if (!IkePrf.FixedTimeEquals(expected, hash))
        {
            Fail(FailureReason.AuthenticationFailed, "HASH does not verify (RFC 2409 §5)", output);
            return false;
        }
        _cipher!.AcceptReceived(0, datagram[Messages.HeaderSize..]);
        return true;
    }

    private void Phase1Complete(NegotiationOutput output)
    {
        AsaDebug.Phase1Completed(output, Context);
        StartKeepalives(output);
        var share = Role == IkeRole.Initiator ? Settings.InitiatorPhase1RekeyShare : Settings.ResponderPhase1RekeyShare;
        var rekey = (int)Math.Round(_transform!.LifetimeSeconds * share);
        AsaDebug.StartingP1RekeyTimer(output, Context, rekey);
        output.Add(new ArmTimer(InitiatorCookie, new TimerKey(TimerKind.Phase1Rekey, 0), TimeSpan.FromSeconds(rekey)));
        ArmFirstDpd(output);
        output.Add(new Phase1Established(Summary));
    }

    // ------------------------------------------------------------------ helpers

    private byte[] ComputeHash(bool initiator)
    {
        var hash = new byte[IkeAlgorithms.HashLength(_transform!.CryptoHash)];
        var ckyI = Messages.Cookie(InitiatorCookie);
        var ckyR = Messages.Cookie(ResponderCookie);
        if (initiator) IkeHashes.HashI(_transform.CryptoHash, _keys!.Skeyid, _gxi, _gxr, ckyI, ckyR, _saiBody, _idiiBody, hash);
        else IkeHashes.HashR(_transform.CryptoHash, _keys!.Skeyid, _gxi, _gxr, ckyI, ckyR, _saiBody, _idirBody, hash);
        return hash;
    }

    /// <summary>
    /// The payloads of MM5 (initiator) or MM6 (responder): our ID, HASH_I or HASH_R (RFC 2409 §5),
    /// the IOS keepalive proposal, and the DPD vendor ID unless keepalives are disabled.
    /// </summary>
    private List<IIsakmpPayload> AuthenticationPayloads(bool initiator, NegotiationOutput output)
    {
        var (id, idBody) = OwnId();
        if (initiator) _idiiBody = idBody; else _idirBody = idBody;
        AsaDebug.ConstructingIdPayload(output, Context);
        AsaDebug.ConstructingHashPayload(output, Context);
        AsaDebug.ComputingHashForIsakmp(output, Context);
        var hash = ComputeHash(initiator);
        var payloads = new List<IIsakmpPayload> { id, new HashPayload { HashData = hash } };
        // Payload 128 is Cisco-private (RFC 2408 §3.1: 128-255 private use); only a peer that said it is Cisco
        // (Unity, VPN3000/ASA or our own vendor ID in MM3/MM4) gets it. Libreswan drops a message that carries it.
        if (_peerIsCisco)
        {
            AsaDebug.ConstructingIosKeepAlivePayload(output, IpContext, 32767, 32767);
            payloads.Add(new IosKeepalivePayload { KeepaliveInterval = 32767, RetryInterval = 32767 });
        }
        // `isakmp keepalive disable`: the ASA does not negotiate DPD at all (no vendor ID, RFC 3706 §5.1).
        if (!Keepalive.Disabled)
        {
            AsaDebug.ConstructingDpdVidPayload(output, Context);
            payloads.Add(Vid(VendorIds.Dpd));
        }
        if (initiator) AddTraceContext(payloads);
        return payloads;
    }

    private (IdPayload Payload, byte[] Body) OwnId()
    {
        // RFC 2407 §4.6.2: phase 1 ID is the outside address, protocol and port 0 or UDP/500.
        var id = new IdPayload { IdType = IdType.Ipv4Address, ProtocolId = 0, Port = 0, IdentificationData = _gateway.Local.Address.GetAddressBytes() };
        return (id, Body(id));
    }

    /// <summary>The NAT-D payload under the number the negotiated version uses (RFC 3947: 20; drafts 02/03: 130).</summary>
    private IIsakmpPayload NatDiscovery(byte[] hash) => NatTraversal == NatTraversalVersion.Rfc3947
        ? new NatDPayload { HashOfAddressAndPort = hash }
        : new NatDDraftPayload { HashOfAddressAndPort = hash };

    /// <summary>The NAT-T version of the peer's vendor IDs that both ends support, newest first (RFC 3947 §3.1).</summary>
    private static NatTraversalVersion NatTraversalOf(List<KnownVendorId> vids) =>
        vids.Contains(KnownVendorId.NatTRfc3947) ? NatTraversalVersion.Rfc3947
        : vids.Contains(KnownVendorId.NatTDraft03) ? NatTraversalVersion.Draft03
        : vids.Contains(KnownVendorId.NatTDraft02N) || vids.Contains(KnownVendorId.NatTDraft02) ? NatTraversalVersion.Draft02
        : NatTraversalVersion.None;

    private byte[] NatD(IPEndPoint endPoint)
    {
        var hash = new byte[IkeAlgorithms.HashLength(_transform!.CryptoHash)];
        IkeHashes.NatD(_transform.CryptoHash, Messages.Cookie(InitiatorCookie), Messages.Cookie(ResponderCookie), endPoint, hash);
        return hash;
    }

    internal static IkeActors.Crypto.DhGroup DhGroupOf(Phase1Transform t) => DhGroupOf(t.Group);

    internal static IkeActors.Crypto.DhGroup DhGroupOf(WireDhGroup g) =>
        IkeActors.Crypto.DhGroup.TryGet((int)g, out var group) ? group : throw new InvalidOperationException($"DH group {(int)g} is not implemented");

    private static byte[] Body<T>(T payload) where T : struct, IIsakmpPayload
    {
        var buffer = new byte[payload.EncodedSize];
        payload.Write(buffer, 0);
        return buffer[4..];
    }

    private static VendorIdPayload Vid(ReadOnlySpan<byte> bytes) => new() { VendorId = bytes.ToArray() };

    private static ulong NonZeroCookie(INegotiationEnvironment environment, Span<byte> buffer)
    {
        ulong value;
        do
        {
            environment.Fill(buffer);
            value = BinaryPrimitives.ReadUInt64BigEndian(buffer);
        } while (value == 0); // RFC 2408 §3.1: a zero cookie means "not yet known"
        return value;
    }

    internal uint NewMessageId()
    {
        Span<byte> b = stackalloc byte[4];
        uint id;
        do
        {
            _gateway.Environment.Fill(b);
            id = BinaryPrimitives.ReadUInt32BigEndian(b);
        } while (id == 0 || UsesMessageId(id)); // RFC 2409 §5.5: unique, non-zero
        return id;
    }

    internal IsakmpHeader Header(ExchangeType exchange, uint messageId) => new()
    {
        InitiatorCookie = InitiatorCookie, ResponderCookie = ResponderCookie, Version = 0x10, // RFC 2408 §3.1 version 1.0
        ExchangeType = exchange, Flags = 0, MessageId = messageId,
    };

    private void SendPlain(ExchangeType exchange, uint messageId, List<IIsakmpPayload> payloads, NegotiationOutput output)
    {
        var bytes = Messages.Build(Header(exchange, messageId), payloads);
        AsaDebug.IkeDecodeSending(output, IpContext, messageId, Messages.PayloadTypes(payloads), bytes.Length);
        _lastSent = bytes;
        output.Add(Datagram(bytes));
    }

    /// <summary>Builds, logs and encrypts a message; returns the datagram (also sent).</summary>
    internal byte[] SendEncrypted(ExchangeType exchange, uint messageId, List<IIsakmpPayload> payloads, NegotiationOutput output, bool remember = true)
    {
        var plain = Messages.Build(Header(exchange, messageId), payloads);
        return SendEncrypted(plain, messageId, output, remember);
    }

    internal byte[] SendEncrypted(byte[] plain, uint messageId, NegotiationOutput output, bool remember = true)
    {
        var bytes = Messages.Encrypt(plain, _cipher!, messageId);
        // The length the ASA prints is the datagram's (header length field), padding included.
        AsaDebug.IkeDecodeSending(output, IpContext, messageId, Messages.PayloadTypes(plain), bytes.Length);
        if (remember && messageId == 0) _lastSent = bytes;
        output.Add(Datagram(bytes));
        return bytes;
    }

    private void Resend(NegotiationOutput output)
    {
        if (_lastSent is null) return;
        if (IsakmpMessage.TryParse(_lastSent, out var m, out _))
        {
            if (!m.IsEncrypted) AsaDebug.IkeDecodeResending(output, IpContext, m.Header.MessageId, Messages.PayloadTypes(_lastSent), _lastSent.Length);
        }
        output.Add(Datagram(_lastSent, retransmission: true));
    }

    internal void LogReceived(ReadOnlySpan<byte> plaintextMessage, NegotiationOutput output)
    {
        IsakmpMessage.TryParseDecrypted(plaintextMessage, out var m, out _);
        AsaDebug.IkeDecodeReceived(output, IpContext, m.Header.MessageId, Messages.PayloadTypes(plaintextMessage), plaintextMessage.Length);
    }

    /// <summary>NAT-T IDs newest first (how the ASA reports them), then the rest in the order received.</summary>
    private void LogVendorIds(List<KnownVendorId> vids, NegotiationOutput output)
    {
        static int Rank(KnownVendorId v) => v switch
        {
            KnownVendorId.NatTRfc3947 => 0, KnownVendorId.NatTDraft03 => 1, KnownVendorId.NatTDraft02N => 2, KnownVendorId.NatTDraft02 => 3, _ => 4,
        };
        foreach (var v in vids.OrderBy(Rank))
        {
            AsaDebug.ProcessingVidPayload(output, IpContext);
            switch (v)
            {
                case KnownVendorId.NatTRfc3947: AsaDebug.ReceivedNatTraversalRfcVid(output, IpContext); break;
                case KnownVendorId.NatTDraft03: AsaDebug.ReceivedNatTraversalVer03Vid(output, IpContext); break;
                case KnownVendorId.NatTDraft02 or KnownVendorId.NatTDraft02N: AsaDebug.ReceivedNatTraversalVer02Vid(output, IpContext); break;
                case KnownVendorId.Fragmentation: AsaDebug.ReceivedFragmentationVid(output, IpContext); break;
                case KnownVendorId.Dpd: AsaDebug.ReceivedDpdVid(output, IpContext); break;
                case KnownVendorId.CiscoUnity: AsaDebug.ReceivedCiscoUnityClientVid(output, IpContext); break;
                case KnownVendorId.Xauth: AsaDebug.ReceivedXauthV6Vid(output, IpContext); break;
                case KnownVendorId.CiscoVpn3000: AsaDebug.ReceivedAltigaVid(output, IpContext); break;
            }
        }
    }

    internal void ArmRetransmit(uint messageId, int attempt, NegotiationOutput output) =>
        output.Add(new ArmTimer(InitiatorCookie, new TimerKey(TimerKind.Retransmit, messageId), Settings.RetransmitInterval * Math.Pow(2, attempt)));

    internal void CancelRetransmit(uint messageId, NegotiationOutput output) =>
        output.Add(new CancelTimer(InitiatorCookie, new TimerKey(TimerKind.Retransmit, messageId)));

    /// <summary>RFC 2408 §3.14 / §5: an unprotected notification (before phase 1 keys exist).</summary>
    private void SendPlainNotify(NotifyMessageType type, NegotiationOutput output)
    {
        var notify = new NotificationPayload { Doi = Doi.Ipsec, ProtocolId = ProtocolId.Isakmp, NotifyType = type, Spi = Messages.CookieBytes(InitiatorCookie, ResponderCookie) };
        var bytes = Messages.Build(Header(ExchangeType.Informational, 0), [notify]);
        AsaDebug.IkeDecodeSending(output, IpContext, 0, Messages.PayloadTypes(bytes), bytes.Length);
        output.Add(Datagram(bytes));
    }

    internal void Fail(FailureReason reason, string detail, NegotiationOutput output)
    {
        if (_state == MainModeState.MM_DELETED) return;
        output.Add(new NegotiationFailed(_state == MainModeState.MM_ACTIVE ? "Quick Mode" : "Main Mode", reason, detail));
        CancelRetransmit(0, output);
        _machine.Fire(MainModeTrigger.Fail);
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, reason.ToString()));
        Dispose();
    }

    public void Dispose()
    {
        DisposeQuickModes();
        _dh?.Dispose();
        _keys?.Dispose();
        _cipher?.Dispose();
        _dh = null;
    }
}
