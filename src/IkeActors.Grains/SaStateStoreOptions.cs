namespace IkeActors.Grains;

/// <summary>
/// Where the SA grains' state is kept. A cluster's store (Redis) outlives a silo: the IKE SA and tunnel grains write
/// after every completed exchange, so that another silo continues the SA. A single node's store is its own memory
/// (<c>NodeMemoryGrainStorage</c>): it dies with the process, so a write matters only when an activation goes while
/// the process stays. With <see cref="WriteOnDeactivation"/> the grains write their state when deactivated instead
/// (no JSON snapshot and deep copy per handshake, no second copy of every SA's state on the heap: part of the change
/// measured in tests/IkeActors.Benchmarks/README.md, "Handshake cost, second round").
/// </summary>
public sealed class SaStateStoreOptions
{
    public bool WriteOnDeactivation { get; init; }

    internal static bool WritesOnDeactivation(IServiceProvider services) =>
        (services.GetService(typeof(SaStateStoreOptions)) as SaStateStoreOptions)?.WriteOnDeactivation == true;
}
