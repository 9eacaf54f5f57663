namespace IkeActors.Grains;

/// <summary>
/// The tunnel to one peer, keyed by the peer's address: turns acquires into a new IKE SA or a
/// Quick Mode on the current one, and remembers which IKE SA is current.
/// </summary>
public interface ITunnelGrain : IGrainWithStringKey
{
    Task<IkeStepResult> Acquire(AcquireRequest acquire, int debugLevel);

    /// <summary>The key of the current IKE SA grain, if any.</summary>
    Task<string?> GetCurrentIkeSa();
}
