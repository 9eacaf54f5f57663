using System.Buffers.Binary;
using System.Security.Cryptography;
using IkeActors.Negotiation;

namespace IkeActors.Grains;

/// <summary>
/// The tunnel to one peer. An acquire with no usable IKE SA picks a fresh random cookie
/// (RFC 2408 §3.1: non-zero, unpredictable) and starts the IKE SA grain of that name; with one
/// in MM_ACTIVE it asks that SA for a Quick Mode. The current IKE SA's key is stored (grain storage, like the
/// IKE SA grains): after a silo loss the tunnel still knows its IKE SA instead of starting a new Main Mode.
/// </summary>
public sealed class TunnelGrain([PersistentState("tunnel")] IPersistentState<TunnelGrainState> stored) : Grain, ITunnelGrain
{
    private string? _current;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _current = stored.State.Current;
        return Task.CompletedTask;
    }

    /// <summary>Stores the current IKE SA's key when it changed (an unchanged key costs no write).</summary>
    private async Task SetCurrent(string? key)
    {
        _current = key;
        if (stored.State.Current == key) return;
        stored.State.Current = key;
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
        await SetCurrent(key);
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
        await SetCurrent(ikeSaKey);
        return previous;
    }

    /// <summary>
    /// The engine's rule (NegotiationEngine.StartPhase1Rekey) across grains: no rekey when another IKE SA with the
    /// peer is current (the peer rekeys already, or ours runs). Calls only the new grain, which calls nobody back.
    /// </summary>
    public async Task<string?> StartPhase1Rekey(string oldKey, AcquireRequest acquire, int debugLevel)
    {
        if (_current is not null && _current != oldKey) return null;
        var key = IIkeSaGrain.KeyFor(this.GetPrimaryKeyString(), NewCookie());
        await SetCurrent(key);
        await GrainFactory.GetGrain<IIkeSaGrain>(key).StartRekey(oldKey, acquire, debugLevel);
        return key;
    }

    public async Task PeerDead(string deadKey)
    {
        // One-way to the IKE SA grains as well: one of them may be waiting on this grain (Register).
        if (_current is not null && _current != deadKey) GrainFactory.GetGrain<IIkeSaGrain>(_current).PeerDead().Ignore();
        await SetCurrent(null);
    }
}

/// <summary>The stored state of a <see cref="TunnelGrain"/>: the key of the tunnel's current IKE SA grain.</summary>
[GenerateSerializer]
public sealed class TunnelGrainState
{
    [Id(0)] public string? Current { get; set; }
}
