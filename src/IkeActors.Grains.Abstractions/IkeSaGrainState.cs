namespace IkeActors.Grains;

/// <summary>
/// The stored state of an IKE SA grain: the engine's snapshot as JSON (the engine knows nothing
/// of Orleans). It holds derived keys (never the pre-shared key): the storage must be protected.
/// </summary>
[GenerateSerializer]
public sealed class IkeSaGrainState
{
    [Id(0)] public byte[]? Snapshot { get; set; }

    /// <summary>The IKE SA's trace context (W3C traceparent): a reactivation continues its trace.</summary>
    [Id(1)] public string? TraceParent { get; set; }

    /// <summary>
    /// Due times of the lifetime timers (Phase1Rekey, Phase2Rekey, Phase2Expire): the engine has no clock and
    /// re-arms only retransmissions and DPD on restore, so the grain keeps these and re-arms them itself.
    /// </summary>
    [Id(2)] public List<StoredTimer> Timers { get; set; } = [];

    /// <summary>The key of the IKE SA grain that rekeys this one (phase 1), once started.</summary>
    [Id(3)] public string? RekeyedBy { get; set; }

    /// <summary>
    /// The peer's new IKE SA that replaces this one (phase 1 rekey by the peer): a reactivation fetches its
    /// snapshot again, so the peer's DELETE still hands the IPsec SAs over.
    /// </summary>
    [Id(4)] public string? SuccessorKey { get; set; }
}
