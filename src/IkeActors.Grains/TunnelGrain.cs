using System.Buffers.Binary;
using System.Security.Cryptography;
using IkeActors.Negotiation;

namespace IkeActors.Grains;

/// <summary>
/// The tunnel to one peer. An acquire with no usable IKE SA picks a fresh random cookie
/// (RFC 2408 §3.1: non-zero, unpredictable) and starts the IKE SA grain of that name; with one
/// in MM_ACTIVE it asks that SA for a Quick Mode. The current IKE SA's key is stored (grain storage, like the
/// IKE SA grains): after a silo loss the tunnel still knows its IKE SA instead of starting a new Main Mode.
/// <para>
/// Phase 1 rekey collisions (both sides' rekey timers fire before either sees the other's MM1): IKEv1 has no rule
/// for them (RFC 7296 §2.8.1 gives IKEv2 one), so, deterministically, the rekey started by the side that initiated the
/// old IKE SA wins. The winner's side leaves the loser's MM1 unanswered; the loser's side abandons its own Main Mode
/// (silently: it has no keys to protect a DELETE) and lets the winner's SA take the pairs on the peer's DELETE.
/// </para>
/// </summary>
public sealed class TunnelGrain([PersistentState("tunnel")] IPersistentState<TunnelGrainState> stored) : Grain, ITunnelGrain
{
    private string? _current;

    /// <summary>How long a Main Mode may be in flight (retransmissions included) before the tunnel stops waiting for it.</summary>
    private static readonly TimeSpan MainModeBound = TimeSpan.FromMinutes(1);

    // Main Modes in flight (not stored: a silo loss loses a half-open Main Mode anyway). Ours: the rekey, with
    // whether this side initiated the SA it replaces; theirs: a new SA the peer started.
    private (string Old, string New, bool OldInitiatedHere, DateTime Until)? _ourRekey;
    private (string Key, DateTime Until)? _peerMainMode;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _current = stored.State.Current;
        return Task.CompletedTask;
    }

    /// <summary>Stores the current IKE SA's key when it changed (an unchanged key costs no write).</summary>
    private async Task SetCurrent(string? key, bool initiatedHere)
    {
        _current = key;
        if (stored.State.Current == key && stored.State.CurrentInitiatedHere == initiatedHere) return;
        stored.State.Current = key;
        stored.State.CurrentInitiatedHere = initiatedHere;
        await stored.WriteStateAsync();
    }

    public async Task<IkeStepResult> Acquire(AcquireRequest acquire, int debugLevel)
    {
        if (_current is not null)
        {
            var sa = GrainFactory.GetGrain<IIkeSaGrain>(_current);
            var state = await sa.GetState();
            if (state == nameof(MainModeState.MM_ACTIVE)) return await sa.Acquire(acquire, debugLevel);
            if (state is not (nameof(MainModeState.MM_DELETED) or nameof(MainModeState.MM_NO_STATE)))
                return new IkeStepResult([], [], state); // still negotiating: the engine queues nothing twice
        }
        var key = IIkeSaGrain.KeyFor(this.GetPrimaryKeyString(), NewCookie());
        await SetCurrent(key, initiatedHere: true);
        return await GrainFactory.GetGrain<IIkeSaGrain>(key).StartInitiator(acquire, debugLevel);
    }

    private static ulong NewCookie()
    {
        Span<byte> bytes = stackalloc byte[8];
        ulong cookie;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            cookie = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        } while (cookie == 0);
        return cookie;
    }

    public Task<string?> GetCurrentIkeSa() => Task.FromResult(_current);

    /// <summary>Makes no grain calls (IKE SA grains call it from their own turns: no call cycle).</summary>
    public async Task<string?> Register(string ikeSaKey)
    {
        var previous = _current == ikeSaKey ? null : _current;
        if (_ourRekey?.New == ikeSaKey) _ourRekey = null;
        if (_peerMainMode?.Key == ikeSaKey) _peerMainMode = null;
        // The key this tunnel named current is one it initiated; any other registering SA was started by the peer.
        await SetCurrent(ikeSaKey, previous is null ? stored.State.CurrentInitiatedHere : false);
        return previous;
    }

    /// <summary>
    /// The engine's rule (NegotiationEngine.StartPhase1Rekey) across grains: no rekey when another IKE SA with the
    /// peer is current (the peer rekeys already, or ours runs). Calls only the new grain, which calls nobody back.
    /// </summary>
    public async Task<string?> StartPhase1Rekey(string oldKey, AcquireRequest acquire, int debugLevel)
    {
        if (_current is not null && _current != oldKey) return null;
        if (_peerMainMode is { } theirs && theirs.Until > DateTime.UtcNow) return null; // the peer is rekeying already
        var key = IIkeSaGrain.KeyFor(this.GetPrimaryKeyString(), NewCookie());
        _ourRekey = (oldKey, key, stored.State.CurrentInitiatedHere, DateTime.UtcNow + MainModeBound);
        await SetCurrent(key, initiatedHere: true);
        await GrainFactory.GetGrain<IIkeSaGrain>(key).StartRekey(oldKey, acquire, debugLevel);
        return key;
    }

    public async Task<bool> AdmitPeerMainMode(string ikeSaKey)
    {
        var now = DateTime.UtcNow;
        if (_ourRekey is { } ours && ours.Until > now && ours.New != ikeSaKey)
        {
            if (ours.OldInitiatedHere) return false; // our rekey wins: the peer's Main Mode goes unanswered
            // The peer's rekey wins: ours is abandoned (no DELETE: it has no keys yet) and the old SA is current again,
            // so the peer's new SA is named its successor when it registers.
            _ourRekey = null;
            GrainFactory.GetGrain<IIkeSaGrain>(ours.New).PeerDead().Ignore();
            await SetCurrent(ours.Old, initiatedHere: false);
        }
        _peerMainMode = (ikeSaKey, now + MainModeBound);
        return true;
    }

    public async Task PeerDead(string deadKey)
    {
        // One-way to the IKE SA grains as well: one of them may be waiting on this grain (Register).
        if (_current is not null && _current != deadKey) GrainFactory.GetGrain<IIkeSaGrain>(_current).PeerDead().Ignore();
        await SetCurrent(null, initiatedHere: false);
    }
}

/// <summary>The stored state of a <see cref="TunnelGrain"/>: the key of the tunnel's current IKE SA grain.</summary>
[GenerateSerializer]
public sealed class TunnelGrainState
{
    [Id(0)] public string? Current { get; set; }

    /// <summary>This side initiated the current IKE SA (its Main Mode started here): decides a Phase 1 rekey collision.</summary>
    [Id(1)] public bool CurrentInitiatedHere { get; set; }
}
