namespace IkeActors.Grains;

/// <summary>
/// An IKE SA a node's front-end negotiated itself (a responder's Main Mode and first Quick Mode, see the Gateway's
/// FrontEndNegotiations), handed to its grain once it is up: the live SA itself when the grain is on the same node
/// (<see cref="Parked"/>), else the engine's snapshot (JSON, keys included: the receiver zeroes it); the absolute due
/// times of its lifetime timers, its trace, and what its steps left for the SA's host to do (INITIAL-CONTACT to carry
/// out, the times `show` reports).
/// </summary>
[GenerateSerializer]
public sealed class FrontEndHandOver
{
    [Id(0)] public byte[] Snapshot { get; set; } = [];
    [Id(1)] public List<StoredTimer> Timers { get; set; } = [];
    [Id(2)] public string? TraceParent { get; set; }
    /// <summary>The peer sent INITIAL-CONTACT (RFC 2407 §4.6.3.3): its older SAs with us go.</summary>
    [Id(3)] public bool InitialContact { get; set; }
    /// <summary>The console's `debug crypto ikev1` level of the last datagram (the level of the grain's own steps).</summary>
    [Id(4)] public int DebugLevel { get; set; }
    [Id(5)] public DateTime Phase1At { get; set; }
    [Id(6)] public DateTime? LastInstall { get; set; }

    /// <summary>
    /// The live SA waits on the negotiating node (its silo's IDatagramTransmitter.TakeParked) and
    /// <see cref="Snapshot"/> is empty: a grain activated on another node answers <see cref="SnapshotNeeded"/> and
    /// is called again with the snapshot.
    /// </summary>
    [Id(7)] public bool Parked { get; set; }

    /// <summary>The state a grain answers when the SA was parked on another node.</summary>
    public const string SnapshotNeeded = "SNAPSHOT_NEEDED";
}
