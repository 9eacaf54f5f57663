using IkeActors.Crypto;
using IkeActors.Protocol;
using static IkeActors.Negotiation.QuickModePayloads;

namespace IkeActors.Negotiation;

/// <summary>
/// One Quick Mode exchange (RFC 2409 §5.5), identified by its message ID, in either role:
/// HASH(1) SA Ni [KE] IDci IDcr -> HASH(2) SA Nr [KE] IDci IDcr -> HASH(3). Transient: once it
/// completes (QM_ACTIVE) its pair is an <see cref="IpsecSa"/> of the IKE SA and the exchange is
/// forgotten, as it is when it fails.
/// </summary>
public sealed partial class QuickModeExchange : IDisposable
{
    private readonly IkeSa _sa;
    private readonly IpsecProposals _proposals;
    private readonly QuickModeKeys _keys;
    private QuickModeState _state = QuickModeState.QM_IDLE;
    private byte[] _ni = [], _nr = [];
    private byte[]? _lastSent;
    private byte[]? _lastReceived;
    private int _retransmits;
    private DhKeyPair? _pfs;
    private byte[] _peerPfsPublic = [];
    /// <summary>The keys from KEYMAT, between <see cref="DeriveKeys"/> (the responder's QM2, the initiator's QM2 in) and <see cref="Complete"/>.</summary>
    private IpsecSaPair? _pair;
    /// <summary>The responder's inbound SA is in the data plane (<see cref="InstallInboundSa"/>) and not yet part of an installed pair.</summary>
    private bool _inboundInstalled;

    internal QuickModeExchange(IkeSa sa, uint messageId, IkeRole role)
    {
        _sa = sa;
        _proposals = new IpsecProposals(sa);
        _keys = new QuickModeKeys(sa);
        MessageId = messageId;
        Role = role;
    }

    /// <summary>Quick Mode's transition (<see cref="StateGraphs.ConfigureQuickMode"/>) on this exchange's state.</summary>
    private void Fire(QuickModeTrigger trigger) =>
        SharedStateMachine<QuickModeState, QuickModeTrigger>.Fire(ref _state, Role, trigger, StateGraphs.ConfigureQuickMode);

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
    private IpsecSaLifetime Lifetime
    {
        get => new(LifetimeSeconds, LifetimeKilobytes);
        set => (LifetimeSeconds, LifetimeKilobytes) = (value.Seconds, value.Kilobytes);
    }
    /// <summary>The message ID of the pair this exchange replaces (a Phase 2 rekey), 0 for a new one.</summary>
    public uint RekeyOf { get; internal init; }

    private DebugContext Context => _sa.Context;
    private DebugContext IpContext => _sa.IpContext;
    private IkeHashAlgorithm HashAlgorithm => _sa.Transform!.CryptoHash;
    private int HashLength => IkeAlgorithms.HashLength(HashAlgorithm);

    internal void Receive(ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        if (_lastReceived is not null && datagram.SequenceEqual(_lastReceived))
        {
            // A retransmitted request: the same answer again, not a new computation.
            if (_lastSent is not null) output.Add(_sa.Datagram(_lastSent, retransmission: true));
            return;
        }
        if (!IsakmpMessages.TryDecrypt(datagram, _sa.Cipher!, MessageId, out var plain))
        {
            output.Add(new MessageDropped(IkeExchange.QuickMode, MessageId, DropReason.DecryptionFailed, "did not decrypt to valid payloads"));
            return;
        }
        // The receive trigger the machine permits now chooses the handler (StateGraphs.ConfigureQuickMode, per role).
        if (StateGraphs.Permits(Role, _state, QuickModeTrigger.ReceivedQm2))
        {
            _lastReceived = datagram.ToArray();
            output.Add(new MessageReceived(ExchangeMessage.QuickMode(2, MessageId)));
            ReceiveQm2(plain, datagram, output);
        }
        else if (StateGraphs.Permits(Role, _state, QuickModeTrigger.ReceivedQm3))
        {
            output.Add(new MessageReceived(ExchangeMessage.QuickMode(3, MessageId)));
            ReceiveQm3(plain, datagram, output);
        }
        else
        {
            output.Add(new MessageDropped(IkeExchange.QuickMode, MessageId, DropReason.UnexpectedMessage, $"unexpected message in {_state}"));
        }
    }

    private QuickModePayloads ReadPayloads(byte[] plain, QuickModeMessage message, NegotiationOutput output)
    {
        var q = QuickModePayloads.Read(plain, message, Context, output);
        if (q.KeyExchange is { } ke) _peerPfsPublic = ke;
        return q;
    }

    /// <summary>The retransmission timer (RFC 2408 §5: the last message again, up to the retransmit limit).</summary>
    internal void TimerFired(TimerKey key, NegotiationOutput output)
    {
        if (!StateGraphs.Permits(Role, _state, QuickModeTrigger.Retransmit) || _lastSent is null) return;
        if (_retransmits >= _sa.Settings.RetransmitLimit)
        {
            FailExchange(FailureReason.RetransmissionsExhausted, $"no answer in {_state} after {_retransmits} retransmissions", output, notify: null);
            return;
        }
        _retransmits++;
        Fire(QuickModeTrigger.Retransmit);
        output.Add(_sa.Datagram(_lastSent, retransmission: true));
        _sa.ArmRetransmit(MessageId, _retransmits, output);
    }

    /// <summary>KEYMAT for both directions (RFC 2409 §5.5), kept in <see cref="_pair"/> for <see cref="Complete"/>; once per exchange.</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(_pair))]
    private bool DeriveKeys(NegotiationOutput output)
    {
        if (_pair is not null) return true;
        SecretBuffer? pfsSecret = null;
        if (_pfs is not null && _pfs.ComputeSharedSecret(_peerPfsPublic, out pfsSecret) != DhStatus.Ok)
        {
            FailExchange(FailureReason.InvalidKeyExchange, "invalid PFS public value", output, notify: NotifyMessageType.InvalidKeyInformation);
            return false;
        }
        using (pfsSecret) _pair = _keys.Pair(this, pfsSecret is null ? ReadOnlySpan<byte>.Empty : pfsSecret.ReadOnlySpan, _ni, _nr);
        return true;
    }

    /// <summary>
    /// The responder's new inbound SA into the data plane, before QM2 goes out (RFC 2409 §5.5: the initiator may
    /// send on it once it has QM2; we send on the pair only after QM3, <see cref="Complete"/>).
    /// </summary>
    private void InstallInbound(NegotiationOutput output)
    {
        _inboundInstalled = true;
        output.Add(new InstallInboundSa(_pair!.InboundOnly()));
    }

    /// <summary>The early inbound SA of an exchange that ends without its pair leaves the data plane (no SPI left behind).</summary>
    private void RemoveInbound(string reason, NegotiationOutput output)
    {
        if (!_inboundInstalled) return;
        _inboundInstalled = false;
        output.Add(new InboundSaDeleted(InboundSpi, OutboundSpi, _sa.Peer, reason));
    }

    /// <summary>The pair is complete (the initiator's QM2, the responder's QM3): the ASA's lines, and the key log.</summary>
    private bool Install(NegotiationOutput output)
    {
        AsaDebug.LoadingAllIpsecSas(output, Context);
        AsaDebug.GeneratingQuickModeKey(output, Context);
        if (!DeriveKeys(output)) return false;
        if (_sa.Gateway.KeyLog is { } keyLog)
        {
            var (local, peer) = (_sa.Gateway.Local.Address, _pair.Peer.Address);
            keyLog.EspSa(peer, local, _pair.Inbound, _pair.Transform);
            keyLog.EspSa(local, peer, _pair.Outbound, _pair.Transform);
        }
        var match = Match!;
        if (match.AccessList is { } acl) AsaDebug.NpEncryptRuleLookup(output, Context, match.Tag, match.Entry.Sequence, acl.Name);
        if (Role == IkeRole.Initiator)
            AsaDebug.SecurityNegotiationCompleteL2LInitiator(output, Context, _sa.TunnelGroup ?? "", InboundSpi, OutboundSpi);
        else
            if (_sa.User is { } user) AsaDebug.SecurityNegotiationCompleteUserResponder(output, Context, RemoteAccessSession.Printable(user), InboundSpi, OutboundSpi);
            else AsaDebug.SecurityNegotiationCompleteL2LResponder(output, Context, _sa.TunnelGroup ?? "", InboundSpi, OutboundSpi);
        return true;
    }

    /// <summary>QM_ACTIVE: the pair's timers, the install action, and the pair becomes an <see cref="IpsecSa"/> of the IKE SA.</summary>
    private void Complete(NegotiationOutput output)
    {
        AsaDebug.IkeGotKeyAddMsg(output, Context, InboundSpi);
        var rekey = (int)Math.Round(LifetimeSeconds * _sa.Settings.Phase2RekeyShare);
        rekey = Math.Max(1, rekey - (LifetimeSeconds - TimerJitter.Earlier(LifetimeSeconds, _sa.Settings.RekeyJitter, _sa.Gateway.Environment)));
        AsaDebug.StartingP2RekeyTimer(output, Context, rekey);
        output.Add(new ArmTimer(_sa.InitiatorCookie, new TimerKey(TimerKind.Phase2Rekey, MessageId), TimeSpan.FromSeconds(rekey)));
        // The hard lifetime: the pair is deleted when it runs out (RFC 2407 §4.5 SA Life Duration).
        output.Add(new ArmTimer(_sa.InitiatorCookie, new TimerKey(TimerKind.Phase2Expire, MessageId), TimeSpan.FromSeconds(LifetimeSeconds)));
        Fire(Role == IkeRole.Initiator ? QuickModeTrigger.ReceivedQm2 : QuickModeTrigger.ReceivedQm3);
        AsaDebug.Phase2Completed(output, Context, MessageId);
        var pair = _pair!;
        _pair = null;
        _inboundInstalled = false; // the pair's now: IpsecSaDeleted takes it out
        output.Add(new InstallIpsecSa(pair));
        var ipsecSa = new IpsecSa(Match!, pair, Memo()) { RekeyOf = RekeyOf };
        _sa.QuickModeCompleted(this, ipsecSa, output);
    }

    private void FailExchange(FailureReason reason, string detail, NegotiationOutput output, NotifyMessageType? notify)
    {
        if (_state == QuickModeState.QM_DELETED) return;
        if (_state is not QuickModeState.QM_IDLE) _sa.CancelRetransmit(MessageId, output);
        AsaDebug.QmFsmError(output, Context, (ulong)GetHashCode(), MessageId);
        Fire(QuickModeTrigger.Fail);
        RemoveInbound(detail, output);
        output.Add(new NegotiationFailed(IkeExchange.QuickMode, reason, detail));
        if (notify is { } n) _sa.SendNotify(n, ProtocolId.IpsecEsp, InboundSpi == 0 ? [] : SpiBytes(InboundSpi), output);
        _sa.QuickModeFailed(this);
    }

    /// <summary>In progress (not yet installed) with proxy IDs that overlap the traffic an acquire is for.</summary>
    internal bool Covers(CryptoMapMatch acquire) =>
        _state is QuickModeState.QM_WAIT_MSG2 or QuickModeState.QM_WAIT_MSG3
        && Overlaps(Local, acquire.Local) && Overlaps(Remote, acquire.Remote);

    /// <summary>Address ranges that meet, and protocol and port equal or one of them any (0).</summary>
    internal static bool Overlaps(ProxyId a, ProxyId b) =>
        a.Range.First <= b.Range.Last && b.Range.First <= a.Range.Last
        && (a.Protocol == 0 || b.Protocol == 0 || a.Protocol == b.Protocol) && (a.Port == 0 || b.Port == 0 || a.Port == b.Port);

    /// <summary>What is left of the exchange once it is over: its last request and answer (a retransmitted request is answered again).</summary>
    internal QuickModeMemo Memo() => new(MessageId, _state, Match, _ni.ToArray(), _nr.ToArray(), _lastReceived, _lastSent);

    /// <summary>Ends the exchange without a result (the IKE SA goes, or the peer refused it); an early inbound SA goes too.</summary>
    internal void Abandon(string reason, NegotiationOutput output)
    {
        if (_state != QuickModeState.QM_DELETED) Fire(_state == QuickModeState.QM_IDLE ? QuickModeTrigger.Fail : QuickModeTrigger.Delete);
        RemoveInbound(reason, output);
        Dispose();
    }

    public void Dispose()
    {
        _pfs?.Dispose();
        _pfs = null;
        _pair?.Inbound.Clear();
        _pair?.Outbound.Clear();
        _pair = null;
    }

    /// <summary>Our inbound SPI from the key engine (RFC 4303 §2.1), with the ASA's lines before the SA payload of QM1/QM2.</summary>
    private void TakeInboundSpi(NegotiationOutput output)
    {
        InboundSpi = _keys.NewSpi();
        AsaDebug.IpsecNewEmbryonicSa(output, InboundSpi.ToString("X8"));
        AsaDebug.IkeGotSpiFromKeyEngine(output, Context, InboundSpi);
        AsaDebug.OakleyConstructingQuickMode(output, Context);
        AsaDebug.ConstructingBlankHashPayload(output, Context);
    }
}
