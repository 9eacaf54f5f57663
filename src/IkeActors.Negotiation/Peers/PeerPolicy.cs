using System.Net;
using IkeActors.Negotiation.Admission;

namespace IkeActors.Negotiation.Peers;

/// <summary>What an acquire does with the IKE SAs a peer already has.</summary>
public enum AcquireChoice
{
    /// <summary>No live IKE SA with the peer: a new Main Mode (MM1).</summary>
    StartMainMode,
    /// <summary>An IKE SA with the peer is MM_ACTIVE: a Quick Mode on it.</summary>
    QuickMode,
    /// <summary>An IKE SA with the peer is still in Main Mode: the acquire waits for it (never a second Main Mode).</summary>
    WaitForMainMode,
}

public readonly record struct AcquireDecision(AcquireChoice Choice, PeerSa? Sa = null);

/// <summary>What a host does with the peer's MM1 for a new IKE SA (after the half-open admission).</summary>
public enum PeerMainModeChoice
{
    /// <summary>A new responder SA.</summary>
    Accept,
    /// <summary>Rekey collision, ours wins: the MM1 and its retransmissions stay unanswered.</summary>
    RefuseAsRekeyCollision,
    /// <summary>Rekey collision, the peer's wins: our rekey SA goes without a DELETE, the old SA is no longer being rekeyed, the MM1 is accepted.</summary>
    AcceptAbandoningOurRekey,
}

/// <param name="Ours">With <see cref="PeerMainModeChoice.AcceptAbandoningOurRekey"/>: our rekey SA, which goes.</param>
/// <param name="Replaced">The SA both rekeys replace.</param>
public readonly record struct PeerMainModeDecision(PeerMainModeChoice Choice, PeerSa? Ours = null, PeerSa? Replaced = null);

/// <summary>
/// The rules that concern a peer rather than one IKE SA: which SA an acquire uses, whether a Phase 1 rekey starts,
/// who wins a rekey collision, which SA takes over the IPsec SAs of the one it replaces, what INITIAL-CONTACT and a
/// dead peer remove, the half-open limits and new cookies. Pure: the hosts (<see cref="NegotiationEngine"/> and the
/// cluster's grains) describe the SAs they know as <see cref="PeerSa"/> records and carry out the answer.
/// </summary>
public static class PeerPolicy
{
    /// <summary>The half-open limits every host starts from (1,024 per node, 5 per peer address).</summary>
    public static HalfOpenLimits HalfOpenLimits { get; } = new();

    /// <summary>A fresh initiator cookie from the host's environment (RFC 2408 §2.5.3: unique, unpredictable, non-zero).</summary>
    public static ulong NewCookie(INegotiationEnvironment environment) => IkeSa.NewCookie(environment);

    /// <summary>
    /// An outbound packet for the peer and no IPsec SA: a Quick Mode on its established IKE SA (the newest not being
    /// replaced by a rekey), else wait for one in Main Mode, else a new Main Mode.
    /// </summary>
    public static AcquireDecision Acquire(IReadOnlyCollection<PeerSa> sas)
    {
        var live = sas.Where(s => s.IsLive).OrderByDescending(s => s.Order).ToList();
        if ((live.FirstOrDefault(s => s.IsEstablished && s.RekeyedBy == 0) ?? live.FirstOrDefault(s => s.IsEstablished)) is { } up)
            return new AcquireDecision(AcquireChoice.QuickMode, up);
        return live.FirstOrDefault() is { } coming ? new AcquireDecision(AcquireChoice.WaitForMainMode, coming) : new AcquireDecision(AcquireChoice.StartMainMode);
    }

    /// <summary>
    /// The Phase 1 rekey point of <paramref name="old"/> was reached: a new Main Mode only when it is MM_ACTIVE, not
    /// rekeyed yet, and no other IKE SA with the peer is coming up or up (the peer rekeys already, or the peer's
    /// Main Mode is in flight: starting ours would make a collision).
    /// </summary>
    public static bool StartsPhase1Rekey(PeerSa old, IReadOnlyCollection<PeerSa> sas) =>
        old.IsEstablished && old.RekeyedBy == 0
        && !sas.Any(o => o.InitiatorCookie != old.InitiatorCookie && o.IsLive && o.Peer.Equals(old.Peer));

    /// <summary>
    /// The peer's MM1 for a new IKE SA while our Phase 1 rekey of an SA with it may still be in Main Mode (both
    /// rekey timers fired). IKEv1 has no rule for the collision (RFC 2409 is silent; RFC 7296 §2.8.1 has one for
    /// IKEv2): the rekey started by the end that initiated the old IKE SA wins. We initiated it: the peer's MM1 goes
    /// unanswered (its half-open SA times out, its old SA hands the pairs to ours on our DELETE). The peer did: ours
    /// is dropped silently (no keys for a DELETE yet) and the peer's new SA replaces the old one.
    /// </summary>
    public static PeerMainModeDecision PeerMainMode(IPAddress peer, IReadOnlyCollection<PeerSa> sas)
    {
        var ours = sas.Where(s => s.Peer.Equals(peer) && s.RekeyOf != 0 && s.Role == IkeRole.Initiator && s.IsHalfOpen)
            .OrderByDescending(s => s.Order).FirstOrDefault();
        if (ours is null) return new PeerMainModeDecision(PeerMainModeChoice.Accept);
        var old = sas.FirstOrDefault(s => s.InitiatorCookie == ours.RekeyOf && s.Peer.Equals(peer));
        if (old is null || !old.IsEstablished) return new PeerMainModeDecision(PeerMainModeChoice.Accept);
        return old.Role == IkeRole.Initiator
            ? new PeerMainModeDecision(PeerMainModeChoice.RefuseAsRekeyCollision, Replaced: old)
            : new PeerMainModeDecision(PeerMainModeChoice.AcceptAbandoningOurRekey, ours, old);
    }

    /// <summary>
    /// <paramref name="fresh"/> reached MM_ACTIVE as our own Phase 1 rekey: the SA it replaces (still MM_ACTIVE) hands
    /// its IPsec SAs over and is deleted with a DELETE (make-before-break). Null when it replaces nothing.
    /// </summary>
    public static PeerSa? ReplacedByOurRekey(PeerSa fresh, IReadOnlyCollection<PeerSa> sas) =>
        fresh.RekeyOf == 0 || !fresh.IsEstablished ? null
        : sas.FirstOrDefault(s => s.InitiatorCookie == fresh.RekeyOf && s.Peer.Equals(fresh.Peer) && s.IsEstablished);

    /// <summary>
    /// The peer deleted <paramref name="old"/> after rekeying it: the SA that takes its IPsec SAs (which outlive their
    /// IKE SA in IKEv1), the newer MM_ACTIVE SA with the same peer that is not itself being replaced, the one that
    /// names <paramref name="old"/> as replaced first. Null: the pairs go with the SA.
    /// </summary>
    public static PeerSa? SuccessorOf(PeerSa old, IReadOnlyCollection<PeerSa> sas) =>
        sas.Where(o => o.InitiatorCookie != old.InitiatorCookie && o.IsEstablished && o.Peer.Equals(old.Peer) && o.RekeyedBy == 0)
            .OrderByDescending(o => o.RekeyOf == old.InitiatorCookie).ThenBy(o => o.Order).FirstOrDefault();

    /// <summary>
    /// RFC 2407 §4.6.3.3: the peer sent INITIAL-CONTACT on IKE SA <paramref name="contact"/> (from
    /// <paramref name="from"/>): it has no memory of earlier SAs, so every older IKE SA with that peer goes, with its
    /// IPsec SAs, without a DELETE (the peer could not read it). Only an authenticated SA (MM_ACTIVE) speaks for the
    /// peer, and only for the address it was negotiated with: otherwise nothing is deleted.
    /// </summary>
    public static IReadOnlyList<PeerSa> InitialContact(ulong contact, IPAddress from, IReadOnlyCollection<PeerSa> sas)
    {
        var sender = sas.FirstOrDefault(s => s.InitiatorCookie == contact && s.Peer.Equals(from));
        if (sender is null || !sender.IsEstablished) return [];
        return sas.Where(s => s.InitiatorCookie != contact && s.Peer.Equals(sender.Peer) && s.IsLive && s.Order < sender.Order)
            .OrderBy(s => s.Order).ToList();
    }

    /// <summary>DPD declared the peer dead on <paramref name="dead"/>: as the ASA does, every other IKE SA with it goes too, without a DELETE.</summary>
    public static IReadOnlyList<PeerSa> PeerDead(PeerSa dead, IReadOnlyCollection<PeerSa> sas) =>
        sas.Where(s => s.InitiatorCookie != dead.InitiatorCookie && s.Peer.Equals(dead.Peer) && s.IsLive).OrderBy(s => s.Order).ToList();
}
