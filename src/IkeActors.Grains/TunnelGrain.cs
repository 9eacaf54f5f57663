using System.Net;
using IkeActors.Negotiation;
using IkeActors.Negotiation.Peers;

namespace IkeActors.Grains;

/// <summary>
/// The tunnel to one peer: the host of <see cref="PeerPolicy"/> in the cluster. It describes the IKE SAs with the peer
/// it knows of (the current one, our rekey and the peer's Main Mode in flight; the SA directory's list for
/// INITIAL-CONTACT) and carries out the policy's answer. An acquire with no usable IKE SA picks a fresh cookie from the
/// gateway's environment (RFC 2408 §2.5.3) and starts the IKE SA grain of that name; with one in MM_ACTIVE it asks that
/// SA for a Quick Mode. The current IKE SA's key is stored (grain storage, like the IKE SA grains): after a silo loss
/// the tunnel still knows its IKE SA instead of starting a new Main Mode.
/// </summary>
public sealed class TunnelGrain(GatewayContext gateway, [PersistentState("tunnel")] IPersistentState<TunnelGrainState> stored) : Grain, ITunnelGrain
{
    /// <summary>How long a Main Mode may be in flight (retransmissions included) before the tunnel stops waiting for it.</summary>
    private static readonly TimeSpan MainModeBound = TimeSpan.FromMinutes(1);

    private string? _current;
    /// <summary>The current SA registered as MM_ACTIVE (else it is ours, still in Main Mode).</summary>
    private bool _currentUp;

    // Main Modes in flight (not stored: a silo loss loses a half-open Main Mode anyway). Ours: the rekey, with
    // whether this side initiated the SA it replaces; theirs: a new SA the peer started.
    private (string Old, string New, bool OldInitiatedHere, DateTime Until)? _ourRekey;
    private (string Key, DateTime Until)? _peerMainMode;

    private string Peer => this.GetPrimaryKeyString();

    // A store in the node's own memory is written when the activation goes (SaStateStoreOptions); a write is owed.
    private bool _writeOnDeactivation, _unsaved;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _current = stored.State.Current;
        _currentUp = _current is not null;
        _writeOnDeactivation = SaStateStoreOptions.WritesOnDeactivation(ServiceProvider);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unsaved) await stored.WriteStateAsync();
    }

    /// <summary>Stores the current IKE SA's key when it changed (an unchanged key costs no write).</summary>
    private async Task SetCurrent(string? key, bool initiatedHere, bool up)
    {
        _current = key;
        _currentUp = up;
        if (stored.State.Current == key && stored.State.CurrentInitiatedHere == initiatedHere) return;
        stored.State.Current = key;
        stored.State.CurrentInitiatedHere = initiatedHere;
        if (_writeOnDeactivation) _unsaved = true;
        else await stored.WriteStateAsync();
    }

    /// <summary>An IKE SA grain as the peer rules see it.</summary>
    private static PeerSa Describe(string key, MainModeState state, bool initiatedHere, long order, string? rekeyOf = null, string? rekeyedBy = null)
    {
        var (peer, cookie) = IkeSaGrain.ParseKey(key);
        return new PeerSa(cookie, peer, initiatedHere ? IkeRole.Initiator : IkeRole.Responder, state, order,
            rekeyOf is null ? 0 : IkeSaGrain.ParseKey(rekeyOf).Cookie, rekeyedBy is null ? 0 : IkeSaGrain.ParseKey(rekeyedBy).Cookie);
    }

    private string NewKey() => IIkeSaGrain.KeyFor(Peer, PeerPolicy.NewCookie(gateway.Environment));

    private bool OurRekeyRuns(DateTime now) => _ourRekey is { } ours && ours.Until > now;

    public async Task<IkeStepResult> Acquire(AcquireRequest acquire, int debugLevel)
    {
        List<PeerSa> sas = [];
        if (_current is not null)
        {
            var state = Enum.Parse<MainModeState>(await GrainFactory.Reference<IIkeSaGrain>(_current).GetState());
            sas.Add(Describe(_current, state, stored.State.CurrentInitiatedHere, 1));
        }
        var decision = PeerPolicy.Acquire(sas);
        if (decision.Choice == AcquireChoice.QuickMode) return await GrainFactory.Reference<IIkeSaGrain>(_current!).Acquire(acquire, debugLevel);
        // Still negotiating: the IKE SA grain starts its Quick Mode when it is up; nothing is queued twice.
        if (decision.Choice == AcquireChoice.WaitForMainMode) return new IkeStepResult([], [], decision.Sa!.State.ToString());
        var key = NewKey();
        await SetCurrent(key, initiatedHere: true, up: false);
        return await GrainFactory.Reference<IIkeSaGrain>(key).StartInitiator(acquire, debugLevel);
    }

    public Task<string?> GetCurrentIkeSa() => Task.FromResult(_current);

    /// <summary>Makes no grain calls (IKE SA grains call it from their own turns: no call cycle).</summary>
    public async Task<string?> Register(string ikeSaKey)
    {
        var previous = _current == ikeSaKey ? null : _current;
        if (_ourRekey?.New == ikeSaKey) _ourRekey = null;
        if (_peerMainMode?.Key == ikeSaKey) _peerMainMode = null;
        // The key this tunnel named current is one it initiated; any other registering SA was started by the peer.
        await SetCurrent(ikeSaKey, previous is null ? stored.State.CurrentInitiatedHere : false, up: true);
        return previous;
    }

    /// <summary>
    /// The older SAs go (<see cref="InitialContact"/>) before the new one registers, so none of them is named its
    /// predecessor; the directory is the only grain called.
    /// </summary>
    public async Task<string?> RegisterWithInitialContact(string ikeSaKey, bool initiatedHere)
    {
        await InitialContact(ikeSaKey, initiatedHere);
        return await Register(ikeSaKey);
    }

    /// <summary>
    /// <see cref="PeerPolicy.StartsPhase1Rekey"/> over the SAs this grain knows: the old one, another current one, the
    /// peer's Main Mode in flight. Calls only the new grain, which calls nobody back.
    /// </summary>
    public async Task<string?> StartPhase1Rekey(string oldKey, AcquireRequest acquire, int debugLevel)
    {
        var now = DateTime.UtcNow;
        var old = Describe(oldKey, MainModeState.MM_ACTIVE, _current == oldKey && stored.State.CurrentInitiatedHere, 1,
            rekeyedBy: OurRekeyRuns(now) && _ourRekey!.Value.Old == oldKey ? _ourRekey.Value.New : null);
        List<PeerSa> sas = [old];
        if (_current is not null && _current != oldKey)
            sas.Add(Describe(_current, _currentUp ? MainModeState.MM_ACTIVE : MainModeState.MM_SA_SETUP, stored.State.CurrentInitiatedHere, 2));
        if (_peerMainMode is { } theirs && theirs.Until > now) sas.Add(Describe(theirs.Key, MainModeState.MM_SA_SETUP, false, 3));
        if (!PeerPolicy.StartsPhase1Rekey(old, sas)) return null;
        var key = NewKey();
        _ourRekey = (oldKey, key, stored.State.CurrentInitiatedHere, now + MainModeBound);
        await SetCurrent(key, initiatedHere: true, up: false);
        await GrainFactory.Reference<IIkeSaPhase1Rekey>(key).StartRekey(oldKey, acquire, debugLevel);
        return key;
    }

    /// <summary><see cref="PeerPolicy.PeerMainMode"/> for the peer's MM1 against our rekey in flight, if any.</summary>
    public async Task<bool> AdmitPeerMainMode(string ikeSaKey)
    {
        var now = DateTime.UtcNow;
        if (OurRekeyRuns(now) && _ourRekey is { } ours && ours.New != ikeSaKey)
        {
            var decision = PeerPolicy.PeerMainMode(IkeSaGrain.ParseKey(ikeSaKey).Peer,
                [Describe(ours.Old, MainModeState.MM_ACTIVE, ours.OldInitiatedHere, 1, rekeyedBy: ours.New),
                 Describe(ours.New, MainModeState.MM_SA_SETUP, true, 2, rekeyOf: ours.Old)]);
            if (decision.Choice == PeerMainModeChoice.RefuseAsRekeyCollision) return false;
            if (decision.Choice == PeerMainModeChoice.AcceptAbandoningOurRekey)
            {
                // Ours goes (no DELETE: it has no keys yet) and the old SA is current again, so the peer's new SA is
                // named its successor when it registers.
                _ourRekey = null;
                GrainFactory.Reference<IIkeSaTeardown>(ours.New).PeerDead().Ignore();
                await SetCurrent(ours.Old, initiatedHere: false, up: true);
            }
        }
        _peerMainMode = (ikeSaKey, now + MainModeBound);
        return true;
    }

    public async Task PeerDead(string deadKey)
    {
        List<PeerSa> sas = _current is null ? [] : [Describe(_current, _currentUp ? MainModeState.MM_ACTIVE : MainModeState.MM_SA_SETUP, stored.State.CurrentInitiatedHere, 1)];
        // One-way to the IKE SA grains as well: one of them may be waiting on this grain (Register).
        foreach (var other in PeerPolicy.PeerDead(Describe(deadKey, MainModeState.MM_DELETED, false, 0), sas))
            GrainFactory.Reference<IIkeSaTeardown>(IIkeSaGrain.KeyFor(Peer, other.InitiatorCookie)).PeerDead().Ignore();
        await SetCurrent(null, initiatedHere: false, up: false);
    }

    /// <summary>
    /// <see cref="PeerPolicy.InitialContact"/> over the peer's SAs in the cluster's directory (the SA that received it is
    /// MM_ACTIVE: it says so itself, the directory may not have heard yet). The older SAs go one-way.
    /// </summary>
    public async Task InitialContact(string ikeSaKey, bool initiatedHere)
    {
        var entries = await SaDirectory.ForPeer(GrainFactory, Peer).ListPeer(Peer);
        var sas = entries.Where(e => e.Key != ikeSaKey)
            .Select(e => Describe(e.Key, Enum.TryParse<MainModeState>(e.State, out var s) ? s : MainModeState.MM_NO_STATE, e.Initiator, e.Order)).ToList();
        if (_current is not null && _current != ikeSaKey && entries.All(e => e.Key != _current))
            sas.Add(Describe(_current, MainModeState.MM_ACTIVE, stored.State.CurrentInitiatedHere, 0)); // not listed (yet): older than any
        var order = entries.FirstOrDefault(e => e.Key == ikeSaKey)?.Order ?? (entries.Count == 0 ? 1 : entries.Max(e => e.Order) + 1);
        var contact = Describe(ikeSaKey, MainModeState.MM_ACTIVE, initiatedHere, order);
        sas.Add(contact);
        var gone = PeerPolicy.InitialContact(contact.InitiatorCookie, contact.Peer, sas).Select(s => IIkeSaGrain.KeyFor(Peer, s.InitiatorCookie)).ToList();
        foreach (var key in gone) GrainFactory.Reference<IIkeSaTeardown>(key).InitialContact().Ignore();
        if (_ourRekey is { } ours && (gone.Contains(ours.Old) || gone.Contains(ours.New))) _ourRekey = null;
        if (_peerMainMode is { } theirs && gone.Contains(theirs.Key)) _peerMainMode = null;
        // The SA it replaces is gone: the contact SA registers as the first of a new life, not as a successor.
        if (_current is not null && gone.Contains(_current)) await SetCurrent(null, initiatedHere, up: false);
    }
}
