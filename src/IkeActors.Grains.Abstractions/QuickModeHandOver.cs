namespace IkeActors.Grains;

/// <summary>
/// IPsec SA pairs (Quick Modes) one IKE SA grain hands to the one that replaces it: the engine's Quick Mode
/// snapshots and phase-2 IVs as JSON (they hold keys: cluster-internal only), and their lifetime timers.
/// </summary>
[GenerateSerializer]
public sealed class QuickModeHandOver
{
    [Id(0)] public byte[] QuickModes { get; set; } = [];
    [Id(1)] public List<StoredTimer> Timers { get; set; } = [];
    [Id(2)] public List<uint> MessageIds { get; set; } = [];
}
