using System.Buffers.Binary;
using System.Security.Cryptography;
using IkeActors.Negotiation;

namespace IkeActors.Grains;

/// <summary>
/// The tunnel to one peer. An acquire with no usable IKE SA picks a fresh random cookie
/// (RFC 2408 §3.1: non-zero, unpredictable) and starts the IKE SA grain of that name; with one
/// in MM_ACTIVE it asks that SA for a Quick Mode.
/// </summary>
public sealed class TunnelGrain : Grain, ITunnelGrain
{
    private string? _current;

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
        Span<byte> bytes = stackalloc byte[8];
        ulong cookie;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            cookie = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        } while (cookie == 0);
        _current = IIkeSaGrain.KeyFor(this.GetPrimaryKeyString(), cookie);
        return await GrainFactory.GetGrain<IIkeSaGrain>(_current).StartInitiator(acquire, debugLevel);
    }

    public Task<string?> GetCurrentIkeSa() => Task.FromResult(_current);
}
