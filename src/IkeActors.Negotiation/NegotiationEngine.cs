using System.Net;
using IkeActors.Negotiation.Admission;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// All IKE SAs of one gateway, without sockets: routes datagrams by initiator cookie,
/// turns key acquires into Main Mode or Quick Mode, delivers timers, and bounds half-open
/// SAs. The Orleans grains (one per SA) replace this in the cluster; tests and the
/// site-to-site sample use it directly.
/// </summary>
public sealed class NegotiationEngine(GatewayContext context) : IDisposable
{
    private readonly Dictionary<ulong, IkeSa> _sas = new();
    /// <summary>Rekeyed IKE SAs (old initiator cookie -> new): the Quick Mode timers armed under the old cookie reach the new SA.</summary>
    private readonly Dictionary<ulong, ulong> _rekeyed = new();

    /// <summary>IKE SAs still negotiating phase 1 that one gateway keeps at most (answers beyond are dropped).</summary>
    public int MaxHalfOpen
    {
        get => Admission.Ledger.Limits.MaxHalfOpen;
        set => Admission.Ledger.Limits = Admission.Ledger.Limits with { MaxHalfOpen = value };
    }

    /// <summary>Half-open IKE SAs one peer address may hold (see <see cref="HalfOpenLimits.MaxHalfOpenPerPeer"/>).</summary>
    public int MaxHalfOpenPerPeer
    {
        get => Admission.Ledger.Limits.MaxHalfOpenPerPeer;
        set => Admission.Ledger.Limits = Admission.Ledger.Limits with { MaxHalfOpenPerPeer = value };
    }

    private Mm1Admission? _admission;

    /// <summary>The half-open SAs, counted by the rule the cluster's front-end uses too (no leases: this engine sees every end).</summary>
    private Mm1Admission Admission => _admission ??= new Mm1Admission(Context, new HalfOpenLedger(new HalfOpenLimits { MaxHalfOpen = 256 }));

    public GatewayContext Context { get; } = context;

    /// <summary>The IKE SAs that are not deleted (an SA deleted directly with <see cref="IkeSa.Delete"/> is swept on the next call).</summary>
    public IReadOnlyCollection<IkeSa> Sas => _sas.Values.Where(s => s.State != MainModeState.MM_DELETED).ToList();

    /// <summary>An outbound packet with no SA (the data plane's acquire): starts negotiation if a crypto map entry wants it protected.</summary>
    public bool Acquire(IkeActors.Config.Lookup.Packet packet, NegotiationOutput output)
    {
        var start = output.Actions.Count;
        var match = Context.Lookup.MatchOutbound(packet, Context.OutsideInterface);
        if (match is null || match.Entry.Peers.Count == 0) return false;
        var peer = new IPEndPoint(match.Entry.Peers[0], IsakmpPort);
        if (!Context.Config.IsakmpPolicies.Any(p => Phase1Transform.FromPolicy(p).IsImplemented))
        {
            // RFC 2408 §3.5: a proposal carries at least one transform; with none to offer there is no MM1.
            output.Add(new NegotiationFailed("Main Mode", FailureReason.NoProposalChosen, "no ISAKMP policy this gateway can carry out (DES, RSA signatures)"));
            return true;
        }
        var existing = _sas.Values.FirstOrDefault(s => s.Peer.Equals(peer) && s.State != MainModeState.MM_DELETED);
        if (existing is not null) existing.Acquire(match, output);
        else
        {
            var sa = IkeSa.StartInitiator(Context, match, peer, output);
            Track(sa);
        }
        Collect(output, start);
        return true;
    }

    /// <summary>
    /// A datagram from the network: from UDP 500, or (<paramref name="natT"/>) from the NAT-T socket on
    /// UDP 4500 with the non-ESP marker already removed (RFC 3948 §2.2).
    /// </summary>
    public void Receive(ReadOnlySpan<byte> datagram, IPEndPoint from, NegotiationOutput output, bool natT = false)
    {
        var start = output.Actions.Count;
        if (!IsakmpMessage.TryParse(datagram, out var message, out var error))
        {
            output.Add(new MessageDropped(IkeExchange.Isakmp, 0, DropReason.Malformed, error.ToString()));
            return;
        }
        var header = message.Header;
        if (_sas.TryGetValue(header.InitiatorCookie, out var sa) && sa.Peer.Address.Equals(from.Address))
        {
            sa.Receive(datagram, output, from, natT);
        }
        else if (header.ResponderCookie == 0 && header.ExchangeType == ExchangeType.IdentityProtection && !_sas.ContainsKey(header.InitiatorCookie))
        {
            var key = HalfOpenKey(header.InitiatorCookie);
            var verdict = Admission.Admit(key, from.Address, output);
            if (!verdict.Admitted)
            {
                output.Add(verdict.Refusal == Mm1Refusal.NoPreSharedKey
                    ? new MessageDropped(IkeExchange.MainMode, 0, DropReason.NoPreSharedKey, "no pre-shared key for the peer")
                    : new MessageDropped(IkeExchange.MainMode, 0, DropReason.HalfOpenLimit, "half-open SA limit reached"));
                return;
            }
            // Under pressure the oldest half-open SA of the busiest address gave way: it goes without a word.
            if (verdict.Evicted is { } evicted && _sas.TryGetValue(ulong.Parse(evicted, System.Globalization.NumberStyles.HexNumber), out var given))
                given.Delete(output, notifyPeer: false);
            if (RefusedAsRekeyCollision(from, output)) { Admission.Ledger.Release(key); return; }
            var accepted = IkeSa.AcceptMainMode1(Context, new IPEndPoint(from.Address, from.Port), datagram, output);
            if (accepted is not null) Track(accepted);
            else Admission.Ledger.Release(key);
        }
        else
        {
            output.Add(new MessageDropped(IkeExchange.Isakmp, header.MessageId, DropReason.NoSa, "no SA for these cookies"));
        }
        Collect(output, start);
    }

    public void TimerFired(ulong sa, TimerKey key, NegotiationOutput output)
    {
        var start = output.Actions.Count;
        if (_sas.TryGetValue(sa, out var ike)) ike.TimerFired(key, output);
        else if (key.Kind is TimerKind.Phase2Rekey or TimerKind.Phase2Expire || (key.Kind == TimerKind.Retransmit && key.MessageId != 0))
        {
            // A Quick Mode moved to the SA that rekeyed its IKE SA keeps the timers armed under the old cookie.
            for (var hops = 0; hops < 16 && _rekeyed.TryGetValue(sa, out var next); hops++)
            {
                if (_sas.TryGetValue(next, out var successor))
                {
                    if (successor.UsesMessageId(key.MessageId)) successor.TimerFired(key, output);
                    break;
                }
                sa = next;
            }
        }
        Collect(output, start);
    }

    /// <summary>The data plane received traffic from a peer: DPD's idle clock restarts on its IKE SAs (RFC 3706 §5.3).</summary>
    public void TrafficReceived(IPAddress peer, NegotiationOutput output)
    {
        var start = output.Actions.Count;
        foreach (var sa in _sas.Values.Where(s => s.Peer.Address.Equals(peer) && s.State == MainModeState.MM_ACTIVE).ToList()) sa.TrafficReceived(output);
        Collect(output, start);
    }

    /// <summary>The data plane reports the kilobytes an IPsec SA pair (our inbound SPI) has carried: rekey at the soft limit, delete at the hard one.</summary>
    public void TrafficAccounted(uint inboundSpi, long kilobytes, NegotiationOutput output)
    {
        var start = output.Actions.Count;
        var sa = _sas.Values.FirstOrDefault(s => s.State != MainModeState.MM_DELETED
            && s.IpsecSas.Any(p => p.InboundSpi == inboundSpi));
        sa?.TrafficAccounted(inboundSpi, kilobytes, output);
        Collect(output, start);
    }

    /// <summary>Deletes every SA, telling the peers (used on shutdown).</summary>
    public void DeleteAll(NegotiationOutput output)
    {
        var start = output.Actions.Count;
        foreach (var sa in _sas.Values.ToList()) sa.Delete(output);
        Collect(output, start);
    }

    /// <summary>
    /// Snapshots of the SAs that can be captured now (<see cref="IkeSa.CanSnapshot"/>); an SA in the
    /// initiator's MM_WAIT_MSG4 is left out and would be renegotiated after a restore.
    /// </summary>
    public IReadOnlyList<IkeSaSnapshot> Snapshot() =>
        _sas.Values.Where(s => s.State != MainModeState.MM_DELETED && s.CanSnapshot).Select(s => s.Snapshot()).ToList();

    /// <summary>
    /// Rebuilds an IKE SA from a snapshot on this engine's gateway and takes it over (see
    /// <see cref="IkeSa.Restore"/> and <see cref="IkeSa.ResumeTimers"/>: the retransmission timers of
    /// waiting exchanges go to <paramref name="output"/>). Throws <see cref="IkeSaSnapshotException"/>.
    /// </summary>
    public IkeSa Restore(IkeSaSnapshot snapshot, NegotiationOutput output)
    {
        var sa = IkeSa.Restore(Context, snapshot);
        try
        {
            Adopt(sa);
        }
        catch
        {
            sa.Dispose();
            throw;
        }
        sa.ResumeTimers(output);
        return sa;
    }

    /// <summary>Takes over an IKE SA built elsewhere (restored) for this engine's gateway; its initiator cookie must be new here.</summary>
    public void Adopt(IkeSa sa)
    {
        ArgumentNullException.ThrowIfNull(sa);
        if (sa.Gateway != Context) throw new ArgumentException("the SA belongs to another gateway context", nameof(sa));
        if (sa.State == MainModeState.MM_DELETED) throw new ArgumentException("the SA is deleted", nameof(sa));
        if (_sas.TryGetValue(sa.InitiatorCookie, out var existing) && existing.State != MainModeState.MM_DELETED)
            throw new InvalidOperationException($"an IKE SA with initiator cookie {sa.InitiatorCookie:x16} is already here");
        Track(sa);
    }

    public const int IsakmpPort = 500;

    private void Track(IkeSa sa)
    {
        _sas[sa.InitiatorCookie] = sa;
        // The peer's DELETE of an IKE SA it has rekeyed: the newer MM_ACTIVE SA with the same peer takes the IPsec SAs.
        sa.SuccessorLookup = old =>
            _sas.Values.Where(o => o != old && o.State == MainModeState.MM_ACTIVE && o.Peer.Address.Equals(old.Peer.Address) && o.RekeyedBy == 0)
                .OrderByDescending(o => o.RekeyOf == old.InitiatorCookie).FirstOrDefault();
    }

    /// <summary>
    /// A Phase 1 rekey collision: the peer's MM1 arrives while our own rekey of an IKE SA with it is
    /// still in Main Mode. IKEv1 has no rule for it (RFC 2409 is silent); as the grains do, the rekey
    /// started by the end that initiated the old IKE SA wins. We initiated it: the peer's MM1 goes
    /// unanswered (its half-open SA times out). The peer did: ours is dropped without a DELETE, the old
    /// SA is no longer being rekeyed, and the peer's Main Mode takes over (its DELETE of the old SA hands
    /// the IPsec SAs to the new one).
    /// </summary>
    private bool RefusedAsRekeyCollision(IPEndPoint from, NegotiationOutput output)
    {
        var ours = _sas.Values.FirstOrDefault(s => s.Peer.Address.Equals(from.Address) && s.RekeyOf != 0 && s.Role == IkeRole.Initiator
            && s.State is not (MainModeState.MM_ACTIVE or MainModeState.MM_DELETED));
        if (ours is null || !_sas.TryGetValue(ours.RekeyOf, out var old) || old.State != MainModeState.MM_ACTIVE) return false;
        if (old.Role == IkeRole.Initiator)
        {
            output.Add(new RekeyCollisionSettled(OursWins: true));
            output.Add(new MessageDropped(IkeExchange.MainMode, 0, DropReason.RekeyCollision, "Phase 1 rekey collision: our rekey wins (we initiated the SA both replace)"));
            return true;
        }
        output.Add(new RekeyCollisionSettled(OursWins: false));
        ours.Delete(output, notifyPeer: false);
        old.RekeyedBy = 0;
        return false;
    }

    /// <summary>Starts the Main Mode that rekeys an IKE SA, unless a rekey with that peer already runs (the peer's, or ours).</summary>
    private void StartPhase1Rekey(Phase1RekeyDue due, NegotiationOutput output)
    {
        if (!_sas.TryGetValue(due.Sa, out var old) || old.State != MainModeState.MM_ACTIVE || old.RekeyedBy != 0 || old.RekeyMatch is not { } match) return;
        if (_sas.Values.Any(o => o != old && o.State != MainModeState.MM_DELETED && o.Peer.Address.Equals(old.Peer.Address)))
        {
            // Another SA with the peer is coming up or up: the peer rekeys already (avoids a rekey collision).
            output.Add(new RekeyDue(RekeyPhase.Phase1, 0, RekeyDecision.AnotherSaExists));
            return;
        }
        var fresh = IkeSa.StartRekey(Context, match, old.Peer, output, IkeSa.NewCookie(Context.Environment), old.InitiatorCookie);
        old.RekeyedBy = fresh.InitiatorCookie;
        Track(fresh);
    }

    /// <summary>Forgets deleted SAs, whichever way they were deleted (failure, peer, IkeSa.Delete, DeleteAll).</summary>
    private void Collect(NegotiationOutput output, int start)
    {
        foreach (var due in output.Actions.Skip(start).OfType<Phase1RekeyDue>().ToList()) StartPhase1Rekey(due, output);
        // A rekeying SA is MM_ACTIVE: the SA it replaces hands over its IPsec SAs and is deleted (make-before-break).
        foreach (var up in output.Actions.Skip(start).OfType<Phase1Established>().ToList())
            if (_sas.TryGetValue(up.Sa.InitiatorCookie, out var fresh) && fresh.RekeyOf != 0 && fresh.State == MainModeState.MM_ACTIVE
                && _sas.TryGetValue(fresh.RekeyOf, out var old) && old.State == MainModeState.MM_ACTIVE)
            {
                var pairs = old.ReleaseIpsecSas(fresh, output);
                old.Delete(output, notifyPeer: true);
                fresh.AdoptIpsecSas(pairs, output);
            }
        foreach (var moved in output.Actions.Skip(start).OfType<Phase1Rekeyed>().ToList()) _rekeyed[moved.OldSa] = moved.NewSa;
        // RFC 2407 §4.6.3.3: on INITIAL-CONTACT, every other SA with that peer belongs to its previous life.
        foreach (var contact in output.Actions.Skip(start).OfType<InitialContactReceived>().ToList())
            foreach (var stale in _sas.Values.Where(s => s.InitiatorCookie != contact.Sa && s.Peer.Address.Equals(contact.Peer)
                         && s.State != MainModeState.MM_DELETED).ToList())
                stale.Delete(output, notifyPeer: false);
        // ASA: a peer lost by DPD loses its whole connection, every IKE SA with it (no DELETE: nobody would read it).
        foreach (var dead in output.Actions.Skip(start).OfType<PeerDead>().ToList())
            foreach (var other in _sas.Values.Where(s => s.InitiatorCookie != dead.Sa && s.Peer.Address.Equals(dead.Peer.Address)
                         && s.State != MainModeState.MM_DELETED).ToList())
                other.Delete(output, notifyPeer: false);
        foreach (var cookie in _sas.Where(kv => kv.Value.State == MainModeState.MM_DELETED).Select(kv => kv.Key).ToList())
        {
            _sas.Remove(cookie);
            _admission?.Ledger.Release(HalfOpenKey(cookie));
        }
        foreach (var up in output.Actions.Skip(start).OfType<Phase1Established>()) _admission?.Ledger.Release(HalfOpenKey(up.Sa.InitiatorCookie));
    }

    private static string HalfOpenKey(ulong initiatorCookie) => initiatorCookie.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        foreach (var sa in _sas.Values) sa.Dispose();
        _sas.Clear();
    }
}
