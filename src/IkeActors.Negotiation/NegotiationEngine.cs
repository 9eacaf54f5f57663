using System.Net;
using IkeActors.Negotiation.Admission;
using IkeActors.Negotiation.Peers;
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
    /// <summary>When each SA was taken in (larger is newer): the <see cref="PeerSa.Order"/> the peer rules compare.</summary>
    private readonly Dictionary<ulong, long> _order = new();
    private long _taken;

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
    private Mm1Admission Admission => _admission ??= new Mm1Admission(Context, new HalfOpenLedger(PeerPolicy.HalfOpenLimits));

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
            output.Add(new NegotiationFailed(IkeExchange.MainMode, FailureReason.NoProposalChosen, "no ISAKMP policy this gateway can carry out (DES, RSA signatures)"));
            return true;
        }
        // One IKE SA per peer: a Quick Mode on the one it has, or queued on the one in Main Mode.
        var decision = PeerPolicy.Acquire(PeerSas(peer.Address));
        if (decision.Sa is { } existing) _sas[existing.InitiatorCookie].Acquire(match, output);
        else Track(IkeSa.StartInitiator(Context, match, peer, output, PeerPolicy.NewCookie(Context.Environment)));
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
            // The peer's DELETE of an IKE SA it has rekeyed comes in an Informational: the SA the peer rules name takes the IPsec SAs.
            if (header.ExchangeType == ExchangeType.Informational)
                sa.Successor = PeerPolicy.SuccessorOf(Describe(sa), PeerSas(sa.Peer.Address))?.InitiatorCookie ?? 0;
            sa.Receive(datagram, output, from, natT);
        }
        else if (IkeSa.IsFirstMessage(header) && !_sas.ContainsKey(header.InitiatorCookie))
        {
            var key = HalfOpenKey(header.InitiatorCookie);
            var verdict = Admission.Admit(key, from.Address, output, aggressive: header.ExchangeType == ExchangeType.Aggressive);
            if (!verdict.Admitted)
            {
                output.Add(verdict.Refusal switch
                {
                    Mm1Refusal.NoPreSharedKey => new MessageDropped(IkeExchange.MainMode, 0, DropReason.NoPreSharedKey, "no pre-shared key for the peer"),
                    Mm1Refusal.AggressiveModeDisabled => new MessageDropped(IkeExchange.AggressiveMode, 0, DropReason.AggressiveModeDisabled, "Aggressive Mode is disabled (crypto ikev1 am-disable)"),
                    _ => new MessageDropped(IkeExchange.MainMode, 0, DropReason.HalfOpenLimit, "half-open SA limit reached"),
                });
                return;
            }
            // Under pressure the oldest half-open SA of the busiest address gave way: it goes without a word.
            if (verdict.Evicted is { } evicted && _sas.TryGetValue(ulong.Parse(evicted, System.Globalization.NumberStyles.HexNumber), out var given))
                given.Delete(output, notifyPeer: false);
            if (RefusedAsRekeyCollision(from.Address, output)) { Admission.Ledger.Release(key); return; }
            var accepted = IkeSa.AcceptFirstMessage(Context, new IPEndPoint(from.Address, from.Port), datagram, output);
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
        _order[sa.InitiatorCookie] = ++_taken;
    }

    /// <summary>The live IKE SAs with a peer as the peer rules see them.</summary>
    private List<PeerSa> PeerSas(IPAddress peer) =>
        _sas.Values.Where(s => s.State != MainModeState.MM_DELETED && s.Peer.Address.Equals(peer)).Select(Describe).ToList();

    private PeerSa Describe(IkeSa sa) => PeerSa.Of(sa, _order.GetValueOrDefault(sa.InitiatorCookie));

    /// <summary>The peer's MM1 while our Phase 1 rekey with it is in Main Mode (<see cref="PeerPolicy.PeerMainMode"/>).</summary>
    private bool RefusedAsRekeyCollision(IPAddress from, NegotiationOutput output)
    {
        var decision = PeerPolicy.PeerMainMode(from, PeerSas(from));
        switch (decision.Choice)
        {
            case PeerMainModeChoice.RefuseAsRekeyCollision:
                output.Add(new RekeyCollisionSettled(OursWins: true));
                output.Add(new MessageDropped(IkeExchange.MainMode, 0, DropReason.RekeyCollision, "Phase 1 rekey collision: our rekey wins (we initiated the SA both replace)"));
                return true;
            case PeerMainModeChoice.AcceptAbandoningOurRekey:
                output.Add(new RekeyCollisionSettled(OursWins: false));
                _sas[decision.Ours!.InitiatorCookie].Delete(output, notifyPeer: false);
                _sas[decision.Replaced!.InitiatorCookie].RekeyedBy = 0;
                return false;
            default:
                return false;
        }
    }

    /// <summary>Starts the Main Mode that rekeys an IKE SA, unless the peer rules say otherwise (<see cref="PeerPolicy.StartsPhase1Rekey"/>).</summary>
    private void StartPhase1Rekey(Phase1RekeyDue due, NegotiationOutput output)
    {
        if (!_sas.TryGetValue(due.Sa, out var old) || old.State != MainModeState.MM_ACTIVE || old.RekeyedBy != 0 || old.RekeyMatch is not { } match) return;
        if (!PeerPolicy.StartsPhase1Rekey(Describe(old), PeerSas(old.Peer.Address)))
        {
            // Another SA with the peer is coming up or up: the peer rekeys already (avoids a rekey collision).
            output.Add(new RekeyDue(RekeyPhase.Phase1, 0, RekeyDecision.AnotherSaExists));
            return;
        }
        var fresh = IkeSa.StartRekey(Context, match, old.Peer, output, PeerPolicy.NewCookie(Context.Environment), old.InitiatorCookie);
        old.RekeyedBy = fresh.InitiatorCookie;
        Track(fresh);
    }

    /// <summary>The other SAs with a dead peer: gone without a DELETE.</summary>
    private void DeleteSilently(IEnumerable<PeerSa> sas, NegotiationOutput output)
    {
        foreach (var sa in sas)
            if (_sas.TryGetValue(sa.InitiatorCookie, out var gone)) gone.Delete(output, notifyPeer: false);
    }

    /// <summary>Forgets deleted SAs, whichever way they were deleted (failure, peer, IkeSa.Delete, DeleteAll).</summary>
    private void Collect(NegotiationOutput output, int start)
    {
        // Address leases against this process's book, answered within the step.
        AddressLeasing.CarryOut(Context.AddressBook, output, cookie => _sas.GetValueOrDefault(cookie), start);
        if (Of<Phase1RekeyDue>(output, start) is { } dues) foreach (var due in dues) StartPhase1Rekey(due, output);
        // A rekeying SA is MM_ACTIVE: the SA it replaces hands over its IPsec SAs and is deleted (make-before-break).
        if (Of<Phase1Established>(output, start) is { } established)
            foreach (var up in established)
                if (_sas.TryGetValue(up.Sa.InitiatorCookie, out var fresh)
                    && PeerPolicy.ReplacedByOurRekey(Describe(fresh), PeerSas(fresh.Peer.Address)) is { } replaced)
                {
                    var old = _sas[replaced.InitiatorCookie];
                    var pairs = old.ReleaseIpsecSas(fresh, output);
                    old.Delete(output, notifyPeer: true);
                    fresh.AdoptIpsecSas(pairs, output);
                }
        if (Of<IpsecSasReleased>(output, start) is { } releases)
            foreach (var released in releases)
                if (_sas.TryGetValue(released.To, out var successor) && successor.State == MainModeState.MM_ACTIVE) successor.AdoptIpsecSas(released.IpsecSas, output);
                else foreach (var orphan in released.IpsecSas) orphan.Delete(output, "its IKE SA was deleted");
        if (Of<Phase1Rekeyed>(output, start) is { } rekeyed) foreach (var moved in rekeyed) _rekeyed[moved.OldSa] = moved.NewSa;
        // RFC 2407 §4.6.3.3: on INITIAL-CONTACT, the older SAs with that peer belong to its previous life.
        if (Of<InitialContactReceived>(output, start) is { } contacts)
            foreach (var contact in contacts)
                foreach (var stale in PeerPolicy.InitialContact(contact.Sa, contact.Peer, PeerSas(contact.Peer)))
                    if (_sas.TryGetValue(stale.InitiatorCookie, out var gone)) PeerTeardown.InitialContact(gone, output);
        // ASA: a peer lost by DPD loses its whole connection, every IKE SA with it (no DELETE: nobody would read it).
        if (Of<PeerDead>(output, start) is { } deaths)
            foreach (var dead in deaths)
                DeleteSilently(PeerPolicy.PeerDead(new PeerSa(dead.Sa, dead.Peer.Address, IkeRole.Initiator, MainModeState.MM_DELETED, 0), PeerSas(dead.Peer.Address)), output);
        if (AnyDeleted())
            foreach (var cookie in _sas.Where(kv => kv.Value.State == MainModeState.MM_DELETED).Select(kv => kv.Key).ToList())
            {
                _sas.Remove(cookie);
                _order.Remove(cookie);
                _admission?.Ledger.Release(HalfOpenKey(cookie));
            }
        if (Of<Phase1Established>(output, start) is { } up1) foreach (var up in up1) _admission?.Ledger.Release(HalfOpenKey(up.Sa.InitiatorCookie));
    }

    /// <summary>The step's actions of one kind (null: none, and nothing allocated: most steps have none).</summary>
    private static List<T>? Of<T>(NegotiationOutput output, int start) where T : NegotiationAction
    {
        List<T>? found = null;
        var actions = output.Actions;
        for (var i = start; i < actions.Count; i++)
            if (actions[i] is T action) (found ??= []).Add(action);
        return found;
    }

    private bool AnyDeleted()
    {
        foreach (var sa in _sas.Values)
            if (sa.State == MainModeState.MM_DELETED) return true;
        return false;
    }

    private static string HalfOpenKey(ulong initiatorCookie) => initiatorCookie.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        foreach (var sa in _sas.Values) sa.Dispose();
        _sas.Clear();
    }
}
