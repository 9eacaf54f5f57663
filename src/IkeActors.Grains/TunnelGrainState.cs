namespace IkeActors.Grains;

/// <summary>The stored state of a <see cref="TunnelGrain"/>: the key of the tunnel's current IKE SA grain.</summary>
[GenerateSerializer]
public sealed class TunnelGrainState
{
    [Id(0)] public string? Current { get; set; }

    /// <summary>This side initiated the current IKE SA (its Main Mode started here): decides a Phase 1 rekey collision.</summary>
    [Id(1)] public bool CurrentInitiatedHere { get; set; }
}
