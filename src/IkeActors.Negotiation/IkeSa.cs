using System.Buffers.Binary;
using System.Net;
using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// One IKE (ISAKMP) SA, long-lived: cookies, peer, role, phase-1 transform, keys and cipher, its Quick
/// Modes and IPsec SAs, and sending and resending its messages. The exchanges and concerns live apart,
/// as objects it owns: the <see cref="MainModeExchange"/> (RFC 2409 §5, dropped at MM_ACTIVE), NAT
/// detection (<see cref="NatDetection"/>, RFC 3947), the peer's vendor IDs (<see cref="VendorIdHandler"/>),
/// Dead Peer Detection (<see cref="DpdMonitor"/>, RFC 3706), Quick Mode and Informational
/// (<see cref="InformationalExchange"/>, RFC 2409 §5.7) exchanges.
/// Pure: every input (datagram, acquire, timer) returns its effects through a <see cref="NegotiationOutput"/>;
/// randomness and DH keys come from the injected environment.
/// </summary>
public sealed partial class IkeSa : IDisposable
{
    private readonly GatewayContext _gateway;
    private MainModeState _state = MainModeState.MM_NO_STATE;

    /// <summary>The running Main Mode or Aggressive Mode; null once MM_ACTIVE (or restored there): its transcript stays.</summary>
    private Phase1Exchange? _phase1;
    private MainModeTranscript _transcript = new();

    // Secrets live in Phase1Keys and are disposed with the SA.
    private Phase1Keys? _keys;
    private IsakmpCipher? _cipher;

    // Retransmission and duplicate detection (RFC 2408 §5: a retransmitted request gets the last response).
    private byte[]? _lastSent;
    private byte[]? _lastReceived;
    private int _retransmits;

    private readonly List<CryptoMapMatch> _pendingAcquires = new();
    private CryptoMapMatch? _initialAcquire;

    internal IkeSa(GatewayContext gateway, IkeRole role, IPEndPoint peer, ulong initiatorCookie)
    {
        _gateway = gateway;
        Role = role;
        Peer = peer;
        InitiatorCookie = initiatorCookie;
        Nat = new NatDetection(this);
        Vendors = new VendorIdHandler(this);
        Dpd = new DpdMonitor(this);
        Informational = new InformationalExchange(this);
        RemoteAccess = new RemoteAccessSession(this);
        Table = new IpsecSaTable(this);
        Phase2Rekey = new Phase2Rekey(this, Table);
        _phase1Rekey = new Phase1Rekey(this, Table);
    }

    public IkeRole Role { get; }
    public IPEndPoint Peer { get; }
    public ulong InitiatorCookie { get; }
    public ulong ResponderCookie { get; internal set; }
    public MainModeState State => _state;
    public string? TunnelGroup { get; internal set; }

    /// <summary>Phase 1 ran as Aggressive Mode (RFC 2409 §5.4) rather than Main Mode; `show crypto isakmp sa` says AM_ACTIVE.</summary>
    public bool Aggressive { get; internal set; }

    /// <summary>The state as `show crypto isakmp sa` names it: Aggressive Mode's established state is AM_ACTIVE.</summary>
    public string ShowState => Aggressive && _state == MainModeState.MM_ACTIVE ? "AM_ACTIVE" : _state.ToString();
    public Phase1Transform? Transform { get; internal set; }
    public IReadOnlyCollection<QuickModeExchange> QuickModes => Table.QuickModes.Values;

    /// <summary>Phase 1 rekey links (initiator cookies; 0: none): the SA this one replaces, the SA replacing this one.</summary>
    public ulong RekeyOf { get; internal set; }
    public ulong RekeyedBy { get; internal set; }

    internal NatDetection Nat { get; }
    internal VendorIdHandler Vendors { get; }
    internal DpdMonitor Dpd { get; }
    internal InformationalExchange Informational { get; }
    internal RemoteAccessSession RemoteAccess { get; }

    /// <summary>The user XAUTH authenticated on this SA; null without XAUTH.</summary>
    public string? User => RemoteAccess.User;

    /// <summary>The address Mode Config gave the client of this SA; null without Mode Config.</summary>
    public ModeConfigLease? ModeConfig => RemoteAccess.Lease;

    /// <summary>A remote-access group's head-end SA after phase 1 whose XAUTH or Mode Config has not finished (Quick Mode waits).</summary>
    public bool RemoteAccessPending => RemoteAccess.Pending;
    internal IpsecSaTable Table { get; }
    internal Phase2Rekey Phase2Rekey { get; }
    private readonly Phase1Rekey _phase1Rekey;

    /// <summary>A NAT between the peers (RFC 3947 §3.2: a NAT-D hash did not match).</summary>
    public bool NatDetected => Nat.Detected;

    /// <summary>The NAT-Traversal version both ends announced in MM1/MM2 (RFC 3947 §3.1); None: no NAT-D, no float.</summary>
    public NatTraversalVersion NatTraversal => Nat.Version;

    /// <summary>Where the peer's NAT-T socket is once the SA has floated to UDP 4500 (RFC 3947 §4); null: still UDP 500.</summary>
    public IPEndPoint? NatTPeer => Nat.NatTPeer;

    /// <summary>Where this SA's messages go: the peer's NAT-T endpoint after the float, its ISAKMP endpoint before.</summary>
    public IPEndPoint Destination => Nat.NatTPeer ?? Peer;

    /// <summary>ESP of this SA's Quick Modes travels in UDP (RFC 3948): a NAT was detected and the SA floated.</summary>
    public bool UsesUdpEncapsulation => Nat.UsesUdpEncapsulation;

    /// <summary>The UDP port of NAT-T (RFC 3947 §4).</summary>
    public const int NatTPort = NatDetection.Port;

    /// <summary>R-U-THERE retransmissions the ASA makes before declaring the peer dead (not configurable on the ASA).</summary>
    public const int DpdRetransmissions = DpdMonitor.Retransmissions;

    /// <summary>The tunnel group's `isakmp keepalive` (the ASA default before the group is known).</summary>
    public IkeActors.Config.Model.IsakmpKeepalive Keepalive => Dpd.Keepalive;

    /// <summary>Both sides sent the DPD vendor ID (RFC 3706 §5.1): R-U-THERE may be exchanged.</summary>
    public bool DpdNegotiated => Dpd.Negotiated;

    /// <summary>R-U-THEREs sent in the current round without an answer (0: the peer is known alive).</summary>
    public int DpdUnanswered => Dpd.Unanswered;

    /// <summary>The host's trace context for this SA (W3C traceparent) to carry to an IkeActors responder; null: none.</summary>
    public string? TraceParent { get => Vendors.TraceParent; set => Vendors.TraceParent = value; }

    internal GatewayContext Gateway => _gateway;
    internal Phase1Keys? Keys => _keys;
    internal IsakmpCipher? Cipher => _cipher;
    internal NegotiationSettings Settings => _gateway.Settings;
    internal MainModeTranscript Transcript => _transcript;

    public IkeSaSummary Summary => new(InitiatorCookie, ResponderCookie, Peer, Role, _state, TunnelGroup, Transform,
        Transform?.LifetimeSeconds ?? 0, NatDetected);

    /// <summary>"IP = peer, ": IKE_DECODE and a few other lines always use the address alone.</summary>
    internal DebugContext IpContext => new(Peer.Address);

    /// <summary>"Group = g, IP = peer, " once the tunnel group is known.</summary>
    internal DebugContext Context => new(Peer.Address, TunnelGroup, RemoteAccess.PrintableUser);

    // ------------------------------------------------------------------ entry points

    /// <summary>Starts Main Mode as initiator for traffic that hit a crypto map entry (the ASA's key acquire).</summary>
    public static IkeSa StartInitiator(GatewayContext gateway, CryptoMapMatch acquire, IPEndPoint peer, NegotiationOutput output) =>
        StartInitiator(gateway, acquire, peer, output, NewCookie(gateway.Environment));

    /// <summary>
    /// Starts Main Mode with an initiator cookie chosen by the host (a cluster names the SA's grain
    /// by peer and cookie before the SA exists). The cookie must be random and non-zero (RFC 2408 §3.1).
    /// </summary>
    public static IkeSa StartInitiator(GatewayContext gateway, CryptoMapMatch acquire, IPEndPoint peer, NegotiationOutput output, ulong initiatorCookie)
    {
        ArgumentOutOfRangeException.ThrowIfZero(initiatorCookie);
        var sa = new IkeSa(gateway, IkeRole.Initiator, peer, initiatorCookie);
        sa._initialAcquire = acquire;
        sa.SendFirstMessage(acquire, output);
        return sa;
    }

    /// <summary>
    /// Our phase 1 as initiator for a crypto map entry, a new SA's or a rekey's: Main Mode (MM1), or Aggressive Mode (AM1)
    /// when the entry says `set ikev1 phase1-mode aggressive`.
    /// </summary>
    private void SendFirstMessage(CryptoMapMatch acquire, NegotiationOutput output)
    {
        if (acquire.Entry.AggressiveModeGroup is { } group)
        {
            // `set ikev1 phase1-mode aggressive`: the tunnel group (and its key) is the peer's, known before AM1.
            Aggressive = true;
            TunnelGroup = _gateway.Config.TunnelGroupForPeer(Peer.Address)?.Name;
            var am = new AggressiveModeExchange(this, _transcript);
            _phase1 = am;
            // `crypto isakmp identity key-id NAME`: the ASA names itself by key ID (a remote-access group) instead of its address.
            var identity = _gateway.Config.Identity;
            am.SendAggressive1(acquire, group, identity.Kind == IkeActors.Config.Model.IsakmpIdentity.KeyId ? identity.KeyId : null, output);
            return;
        }
        var mm = new MainModeExchange(this, _transcript);
        _phase1 = mm;
        mm.SendMainMode1(acquire, output);
    }

    /// <summary>
    /// Our own remote-access client dialling a head-end (the EzVPN client role): Aggressive Mode naming the group as
    /// ID_KEY_ID in DH group <paramref name="group"/>, authenticated with the group key, then XAUTH with the user's
    /// credentials and Mode Config pulled; <see cref="ModeConfigCompleted"/> says which address it got.
    /// </summary>
    public static IkeSa StartRemoteAccessClient(GatewayContext gateway, RemoteAccessCredentials credentials, IPEndPoint headEnd, NegotiationOutput output) =>
        StartRemoteAccessClient(gateway, credentials, headEnd, output, NewCookie(gateway.Environment), credentials.DhGroup);

    /// <inheritdoc cref="StartRemoteAccessClient(GatewayContext, RemoteAccessCredentials, IPEndPoint, NegotiationOutput)"/>
    public static IkeSa StartRemoteAccessClient(GatewayContext gateway, RemoteAccessCredentials credentials, IPEndPoint headEnd, NegotiationOutput output,
        ulong initiatorCookie, int group = 2)
    {
        ArgumentOutOfRangeException.ThrowIfZero(initiatorCookie);
        var sa = new IkeSa(gateway, IkeRole.Initiator, headEnd, initiatorCookie) { Aggressive = true, TunnelGroup = credentials.Group };
        sa.RemoteAccess.Credentials = credentials;
        var am = new AggressiveModeExchange(sa, sa._transcript);
        sa._phase1 = am;
        am.SendAggressive1(acquire: null, group, credentials.Group, output);
        return sa;
    }

    /// <summary>
    /// The host's answer to this SA's <see cref="AddressLeaseRequested"/> (head-end): the client's waiting Mode Config
    /// request is answered with the address, or the session ends ("Cannot obtain an IP address"). An answer nobody asked
    /// for changes nothing.
    /// </summary>
    public void AddressLeaseDecided(AddressLeaseResult result, NegotiationOutput output) => RemoteAccess.AddressLeaseDecided(result, output);

    /// <summary>The first message of a phase 1 from a peer without an SA here (RFC 2408 §3.1: responder cookie zero): MM1 or AM1.</summary>
    public static bool IsFirstMessage(in IsakmpHeaderView header) => IsFirstMessage(header.InitiatorCookie, header.ResponderCookie, header.ExchangeType);

    /// <inheritdoc cref="IsFirstMessage(in IsakmpHeaderView)"/>
    public static bool IsFirstMessage(ulong initiatorCookie, ulong responderCookie, ExchangeType exchange) =>
        responderCookie == 0 && initiatorCookie != 0 && exchange is ExchangeType.IdentityProtection or ExchangeType.Aggressive;

    /// <summary>
    /// A first phase 1 message from an unknown peer (<see cref="IsFirstMessage"/>): returns the responder SA when MM1 or
    /// AM1 is acceptable (MM2 or AM2 is in the output), or null after answering with the notify the RFC requires.
    /// </summary>
    public static IkeSa? AcceptFirstMessage(GatewayContext gateway, IPEndPoint peer, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (!IsakmpMessage.TryParse(datagram, out var message, out _) || message.IsEncrypted || !IsFirstMessage(message.Header))
            return null;
        var sa = new IkeSa(gateway, IkeRole.Responder, peer, message.Header.InitiatorCookie);
        bool accepted;
        if (message.Header.ExchangeType == ExchangeType.Aggressive)
        {
            sa.Aggressive = true;
            var am = new AggressiveModeExchange(sa, sa._transcript);
            sa._phase1 = am;
            accepted = am.ReceiveAggressive1(datagram, output);
        }
        else
        {
            var mm = new MainModeExchange(sa, sa._transcript);
            sa._phase1 = mm;
            accepted = mm.ReceiveMainMode1(datagram, output);
        }
        if (!accepted)
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
        Nat.NoteSource(datagram, from, natT);
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
            // Main Mode: the responder answers every repeat. Aggressive Mode: the responder a repeated AM1 (with AM2), the
            // initiator a repeated AM2 (its AM3 was lost: AM3 again); a repeated AM3 has no answer.
            var answers = Aggressive ? Role == IkeRole.Responder != (_state == MainModeState.MM_ACTIVE) : Role == IkeRole.Responder;
            if (_lastSent is not null && answers)
            {
                AsaDebug.DuplicatePhase1Packet(output, IpContext);
                Resend(output);
            }
            return;
        }

        if (header.InitiatorCookie != InitiatorCookie || (header.ResponderCookie != ResponderCookie && !(_state is MainModeState.MM_WAIT_MSG2 or MainModeState.AM_WAIT_MSG2 && header.ResponderCookie != 0)))
        {
            output.Add(new MessageDropped(IkeExchange.Isakmp, header.MessageId, DropReason.CookieMismatch, "cookies do not match this SA"));
            return;
        }

        switch (header.ExchangeType)
        {
            case ExchangeType.IdentityProtection when !Aggressive:
                ReceiveMainMode(datagram, message.IsEncrypted, output);
                break;
            case ExchangeType.Aggressive when Aggressive:
                ReceiveAggressive(datagram, message.IsEncrypted, output);
                break;
            case ExchangeType.QuickMode:
                Table.ReceiveQuickMode(datagram, header.MessageId, output);
                break;
            case ExchangeType.Informational:
                Informational.Receive(datagram, header.MessageId, message.IsEncrypted, output);
                break;
            case ExchangeType.Transaction:
                RemoteAccess.Receive(datagram, header.MessageId, output);
                break;
            default:
                output.Add(new MessageDropped(IkeExchange.Isakmp, header.MessageId, DropReason.ExchangeNotSupported, $"exchange type {header.ExchangeType} not supported"));
                break;
        }
    }

    /// <summary>
    /// MM2..MM6: the machine says which message the SA waits for (the one receive trigger its state permits);
    /// a message it does not permit is refused without a change.
    /// </summary>
    private void ReceiveMainMode(ReadOnlySpan<byte> datagram, bool encrypted, NegotiationOutput output)
    {
        if (_state == MainModeState.MM_ACTIVE && encrypted && Role == IkeRole.Responder && _lastSent is not null)
        {
            // The initiator did not get MM6 and resent MM5 (RFC 2408 §5): answer with MM6 again.
            AsaDebug.DuplicatePhase1Packet(output, IpContext);
            Resend(output);
            return;
        }
        var expected = MainModeExchange.Inbound.FirstOrDefault(m => m.Encrypted == encrypted && StateGraphs.Permits(Role, _state, m.Trigger));
        if (_phase1 is not MainModeExchange mm || expected.Number == 0)
        {
            output.Add(new MessageDropped(IkeExchange.MainMode, 0, DropReason.UnexpectedMessage, $"unexpected message in {_state}"));
            return;
        }
        output.Add(new MessageReceived(ExchangeMessage.MainMode(expected.Number)));
        mm.Receive(expected.Trigger, datagram, output);
    }

    /// <summary>AM2 (initiator, in the clear) or AM3 (responder, encrypted or not: RFC 2409 §5.4 leaves it open, strongSwan accepts both).</summary>
    private void ReceiveAggressive(ReadOnlySpan<byte> datagram, bool encrypted, NegotiationOutput output)
    {
        if (_phase1 is not AggressiveModeExchange am
            || (Role == IkeRole.Initiator ? encrypted || !StateGraphs.Permits(Role, _state, MainModeTrigger.ReceivedAm2) : !StateGraphs.Permits(Role, _state, MainModeTrigger.ReceivedAm3)))
        {
            output.Add(new MessageDropped(IkeExchange.AggressiveMode, 0, DropReason.UnexpectedMessage, $"unexpected message in {_state}"));
            return;
        }
        if (Role == IkeRole.Initiator)
        {
            output.Add(new MessageReceived(ExchangeMessage.Aggressive(2)));
            am.ReceiveAggressive2(datagram, output);
        }
        else
        {
            output.Add(new MessageReceived(ExchangeMessage.Aggressive(3)));
            am.ReceiveAggressive3(datagram, encrypted, output);
        }
    }

    /// <summary>The pre-shared key of this SA's tunnel group (RFC 2409 §5: SKEYID's key); null: none configured.</summary>
    internal IkeActors.Config.Model.PreSharedKey? PreSharedKey() =>
        RemoteAccess.Credentials?.GroupKey ?? (TunnelGroup is null ? null : _gateway.Config.FindTunnelGroup(TunnelGroup)?.PreSharedKey);

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
                Fire(MainModeTrigger.Retransmit);
                Resend(output);
                ArmRetransmit(0, _retransmits, output);
                break;
            case TimerKind.Retransmit:
                if (Table.QuickModes.TryGetValue(key.MessageId, out var qm)) qm.TimerFired(key, output);
                else RemoteAccess.TimerFired(key.MessageId, output);
                break;
            case TimerKind.Phase2Rekey:
                if (Table.Installed.TryGetValue(key.MessageId, out var due)) Phase2Rekey.Due(due, output);
                break;
            case TimerKind.Phase2Expire:
                if (Table.Installed.TryGetValue(key.MessageId, out var expired)) Phase2Rekey.Expire(expired, output);
                break;
            case TimerKind.Dpd:
                Dpd.TimerFired(output);
                break;
            case TimerKind.Phase1Rekey:
                _phase1Rekey.TimerFired(output);
                break;
        }
    }

    /// <summary>Traffic for another crypto map entry: a new Quick Mode now, or when phase 1 completes.</summary>
    public void Acquire(CryptoMapMatch acquire, NegotiationOutput output)
    {
        if (_state == MainModeState.MM_ACTIVE)
        {
            // A Quick Mode for this traffic is already under way (ours, or the peer's waiting for its QM3, whose pair is not
            // installed yet): a second would make a duplicate pair. The data plane holds the packet and asks again if the
            // pair that comes does not cover it (strongSwan likewise ignores an acquire for a CHILD_SA being established).
            if (Table.QuickModes.Values.Any(q => q.Covers(acquire))) return;
            // A pair that covers it is installed (the acquire was raised while that pair was on its way to the data plane).
            if (Table.Installed.Values.Any(p => p.State == IpsecSaState.Installed && p.RekeyedBy == 0
                && QuickModeExchange.Overlaps(p.Local, acquire.Local) && QuickModeExchange.Overlaps(p.Remote, acquire.Remote))) return;
            StartQuickMode(acquire, output);
        }
        else if (_state != MainModeState.MM_DELETED)
        {
            AsaDebug.KeyAcquireQueued(output, Context);
            _pendingAcquires.Add(acquire);
        }
    }

    /// <summary>The data plane received traffic from the peer (ESP on one of its SAs): proof of liveness, the idle clock restarts.</summary>
    public void TrafficReceived(NegotiationOutput output) => PeerAlive(output);

    /// <summary>Anything valid from the peer (a verified ISAKMP message, data-plane traffic) restarts DPD's idle threshold (RFC 3706 §5.3).</summary>
    internal void PeerAlive(NegotiationOutput output)
    {
        Nat.AcceptNatTPeer(); // called for every message that authenticated after phase 1
        Dpd.PeerAlive(output);
    }

    // ------------------------------------------------------------------ what the Main Mode exchange reports

    /// <summary>Main Mode's transition (<see cref="StateGraphs.ConfigureMainMode"/>) on this SA's state.</summary>
    internal void Fire(MainModeTrigger trigger) =>
        SharedStateMachine<MainModeState, MainModeTrigger>.Fire(ref _state, Role, trigger, StateGraphs.ConfigureMainMode);

    internal void KeysDerived(Phase1Keys keys, IsakmpCipher cipher)
    {
        _keys = keys;
        _cipher = cipher;
    }

    /// <summary>The message just processed was accepted: a repeat of it gets the same answer (RFC 2408 §5).</summary>
    internal void RememberReceived(ReadOnlySpan<byte> datagram) => _lastReceived = datagram.ToArray();

    /// <summary>MM6 accepted (initiator): the ASA announces the first Quick Mode before PHASE 1 COMPLETED, then starts it and the queued ones.</summary>
    internal void InitiatorEstablished(NegotiationOutput output)
    {
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

    /// <summary>MM_ACTIVE: the Main Mode exchange is done and dropped; the rekey timer and DPD start.</summary>
    internal void Phase1Complete(NegotiationOutput output)
    {
        _phase1?.Dispose();
        _phase1 = null;
        AsaDebug.Phase1Completed(output, Context);
        Dpd.StartKeepalives(output);
        var share = Role == IkeRole.Initiator ? Settings.InitiatorPhase1RekeyShare : Settings.ResponderPhase1RekeyShare;
        var rekey = (int)Math.Round(Transform!.LifetimeSeconds * share);
        // Jitter by a share of the lifetime, not of the rekey point (the ASA's own points are shares of the lifetime).
        rekey = Math.Max(1, rekey - (Transform.LifetimeSeconds - TimerJitter.Earlier(Transform.LifetimeSeconds, Settings.RekeyJitter, Gateway.Environment)));
        AsaDebug.StartingP1RekeyTimer(output, Context, rekey);
        output.Add(new ArmTimer(InitiatorCookie, new TimerKey(TimerKind.Phase1Rekey, 0), TimeSpan.FromSeconds(rekey)));
        Dpd.ArmFirst(output);
        output.Add(new Phase1Established(Summary));
        // A remote-access group's client is authenticated (XAUTH) and configured (Mode Config) before its Quick Mode.
        if (Role == IkeRole.Responder) RemoteAccess.Begin(output);
    }

    internal void Fail(FailureReason reason, string detail, NegotiationOutput output)
    {
        if (_state == MainModeState.MM_DELETED) return;
        output.Add(new NegotiationFailed(_state == MainModeState.MM_ACTIVE ? IkeExchange.QuickMode : Aggressive ? IkeExchange.AggressiveMode : IkeExchange.MainMode, reason, detail));
        CancelRetransmit(0, output);
        RemoteAccess.End(output);
        Fire(MainModeTrigger.Fail);
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, reason.ToString()));
        Dispose();
    }

    public void Dispose()
    {
        Table.Dispose();
        _phase1?.Dispose();
        _keys?.Dispose();
        _cipher?.Dispose();
    }
}
