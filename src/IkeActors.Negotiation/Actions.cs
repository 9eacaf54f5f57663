using System.Net;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>What a negotiation step asks its host to do. The machines return these and touch nothing else.</summary>
public abstract record NegotiationAction;

/// <summary>
/// Send a datagram to the peer. <paramref name="NatT"/>: from the NAT-T socket (UDP 4500) with the
/// 4-byte non-ESP marker in front (RFC 3948 §2.2), once the IKE SA has floated (RFC 3947 §4).
/// </summary>
public sealed record SendDatagram(byte[] Datagram, IPEndPoint To, bool IsRetransmission = false, bool NatT = false) : NegotiationAction;

/// <summary>An ASA debug line, already formatted, with its catalog entry.</summary>
public sealed record DebugEvent(DebugMessageInfo Message, string Text) : NegotiationAction
{
    public string ConsoleLine => Message.Tag + Text;
}

public enum TimerKind
{
    /// <summary>Resend the last message of an exchange that waits for an answer.</summary>
    Retransmit,
    /// <summary>Phase 1 lifetime elapsed (rekey point).</summary>
    Phase1Rekey,
    /// <summary>Phase 2 lifetime elapsed (rekey point).</summary>
    Phase2Rekey,
    /// <summary>Phase 2 hard lifetime (100 %): the IPsec SA pair is deleted.</summary>
    Phase2Expire,
    /// <summary>Dead Peer Detection (RFC 3706): the idle threshold or the retry interval elapsed.</summary>
    Dpd,
}

/// <summary>What the hosts need to know of a timer kind.</summary>
public static class TimerKinds
{
    /// <summary>
    /// A lifetime timer (a rekey point or the hard expiry): kept as an absolute time across a snapshot and a hand-over,
    /// where the short ones (retransmission, DPD) are armed again by the engine as it resumes.
    /// </summary>
    public static bool IsLifetime(this TimerKind kind) => kind is TimerKind.Phase1Rekey or TimerKind.Phase2Rekey or TimerKind.Phase2Expire;
}

/// <summary>Timers are named by kind and message ID (0 for phase 1).</summary>
public readonly record struct TimerKey(TimerKind Kind, uint MessageId);

/// <summary>Arm (or re-arm) a timer of the IKE SA with this initiator cookie.</summary>
public sealed record ArmTimer(ulong Sa, TimerKey Key, TimeSpan Due) : NegotiationAction;

public sealed record CancelTimer(ulong Sa, TimerKey Key) : NegotiationAction;

/// <summary>
/// The peer sent INITIAL-CONTACT (RFC 2407 §4.6.3.3): it has rebooted, so SAs older than this
/// IKE SA with the same peer are stale and go without a DELETE.
/// </summary>
public sealed record InitialContactReceived(ulong Sa, IPAddress Peer) : NegotiationAction;

/// <summary>Phase 1 finished: the IKE SA is MM_ACTIVE.</summary>
public sealed record Phase1Established(IkeSaSummary Sa) : NegotiationAction;

/// <summary>
/// Quick Mode finished: install these two SAs in the data plane. When we were the responder, the inbound SA of the
/// pair is there already (<see cref="InstallInboundSa"/>, same inbound SPI): the pair completes it, and its outbound
/// SA is the one traffic for the proxies takes from now on.
/// </summary>
public sealed record InstallIpsecSa(IpsecSaPair Pair) : NegotiationAction;

/// <summary>
/// The Quick Mode responder sends QM2: install the new inbound SA alone (<see cref="IpsecSaPair.InboundOnly"/>: the
/// outbound carries the peer's SPI and no keys), so it can receive before QM3 arrives. RFC 2409 §5.5: the initiator
/// has the keys once it has QM2 and strongSwan sends on its new outbound SA as soon as its QM3 is out, while the
/// responder sends on the new SA only once QM3 tells it the initiator has the keys (Libreswan installs the
/// responder's inbound SA at QM2 too). Not an installed pair yet: <see cref="InstallIpsecSa"/> with the same inbound
/// SPI completes it when QM3 verifies; <see cref="InboundSaDeleted"/> removes it if the exchange ends without that.
/// </summary>
public sealed record InstallInboundSa(IpsecSaPair Pair) : NegotiationAction;

/// <summary>An installed IPsec SA pair is gone (the peer's DELETE, a local delete, its IKE SA deleted): remove it from the data plane.</summary>
public sealed record IpsecSaDeleted(uint InboundSpi, uint OutboundSpi, IPEndPoint Peer, string Reason) : NegotiationAction;

/// <summary>
/// A Quick Mode whose inbound SA went in early (<see cref="InstallInboundSa"/>) ended without QM3 (it failed, its
/// retransmissions ran out, the peer refused it, its IKE SA went): remove that inbound SA from the data plane. It was
/// never an installed pair, so nothing else (counts, directory) changes.
/// </summary>
public sealed record InboundSaDeleted(uint InboundSpi, uint OutboundSpi, IPEndPoint Peer, string Reason) : NegotiationAction;

/// <summary>
/// The Phase 1 rekey point of an IKE SA was reached and this side rekeys: a new Main Mode with the
/// same peer (<see cref="NegotiationEngine"/> starts it itself; a host that keeps one IKE SA per grain
/// starts it from this action). The old SA stays until the new one is MM_ACTIVE.
/// </summary>
public sealed record Phase1RekeyDue(ulong Sa, IPEndPoint Peer, string CryptoMap, int Sequence) : NegotiationAction;

/// <summary>
/// A Phase 1 rekey finished: the old IKE SA is gone and its IPsec SAs (and their Phase2Rekey /
/// Phase2Expire timers, by message ID) now belong to the new one (IKEv1 IPsec SAs outlive their IKE SA).
/// </summary>
public sealed record Phase1Rekeyed(ulong OldSa, ulong NewSa, IPEndPoint Peer, IReadOnlyList<uint> MovedQuickModes) : NegotiationAction;

/// <summary>
/// The peer deleted an IKE SA its Phase 1 rekey replaced: its installed IPsec SAs now belong to <paramref name="To"/>
/// (initiator cookie), which the host gives them to (<see cref="IkeSa.AdoptIpsecSas"/>, in another process through
/// <see cref="IpsecSa.ToSnapshot"/>). They hold keys: the host disposes them once handed on.
/// </summary>
public sealed record IpsecSasReleased(ulong From, ulong To, IReadOnlyList<IpsecSa> IpsecSas) : NegotiationAction;

/// <summary>DPD (RFC 3706) declared the peer dead: its IKE SA and IPsec SAs are deleted without a DELETE.</summary>
public sealed record PeerDead(ulong Sa, IPEndPoint Peer) : NegotiationAction;

/// <summary>
/// A remote-access client asked Mode Config for its address: the host leases one as <paramref name="Plan"/> says from
/// its address book (<see cref="AddressLeasing.LeaseAsync"/>; one process, or the cluster's ledgers) and gives the outcome
/// to <see cref="IkeSa.AddressLeaseDecided"/>. The Mode Config reply waits for it.
/// </summary>
public sealed record AddressLeaseRequested(ulong Sa, AddressPlan Plan) : NegotiationAction;

/// <summary>A remote-access session ended (DELETE, DPD, clear, failure): its address and login go back (<see cref="AddressLeasing.ReleaseAsync"/>).</summary>
public sealed record AddressLeaseReleased(ulong Sa, AddressRelease Release) : NegotiationAction;

/// <summary>A negotiation failed; the reason is one an operator can filter on.</summary>
public sealed record NegotiationFailed(IkeExchange Exchange, FailureReason Reason, string Detail) : NegotiationAction;

/// <summary>The IKE SA is gone (deleted, failed, or dead peer): its host may forget it.</summary>
public sealed record IkeSaDeleted(ulong InitiatorCookie, ulong ResponderCookie, string Reason) : NegotiationAction;

public enum FailureReason
{
    NoProposalChosen,
    AuthenticationFailed,
    ProxyIdMismatch,
    TransformSetMismatch,
    RetransmissionsExhausted,
    MalformedMessage,
    NoTunnelGroup,
    PeerNotified,
    InvalidKeyExchange,
    DeadPeer,
    /// <summary>An Aggressive Mode refused by `crypto ikev1 am-disable`.</summary>
    AggressiveModeDisabled,
    /// <summary>Mode Config could give the client no address (pool exhausted, simultaneous logins exceeded).</summary>
    NoAddress,
}

/// <summary>
/// Collects the actions of one step; it is also the debug sink the generated AsaDebug
/// methods write to, so debug lines interleave with datagrams in the order they happen.
/// </summary>
public sealed class NegotiationOutput(int debugLevel = 127) : IDebugSink
{
    private readonly List<NegotiationAction> _actions = new();

    public int Level { get; set; } = debugLevel;

    public IReadOnlyList<NegotiationAction> Actions => _actions;

    public void Add(NegotiationAction action) => _actions.Add(action);

    public void Write(in DebugLine line) => _actions.Add(new DebugEvent(line.Message, line.Text.ToString()));

    public IEnumerable<string> DebugLines => _actions.OfType<DebugEvent>().Select(d => d.ConsoleLine);

    public IEnumerable<T> OfType<T>() where T : NegotiationAction => _actions.OfType<T>();

    public void Clear() => _actions.Clear();
}
