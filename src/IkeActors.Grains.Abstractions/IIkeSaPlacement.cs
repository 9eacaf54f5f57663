namespace IkeActors.Grains;

/// <summary>Where an IKE SA grain lives in a cluster with a data plane (the same grain as <see cref="IIkeSaGrain"/>, same key).</summary>
public interface IIkeSaPlacement : IGrainWithStringKey
{
    /// <summary>
    /// The node whose silo is <paramref name="carrier"/> carries this SA's peer now (docs/cluster.md §3): the grain moves
    /// there (so its timers, datagrams and `show` counters are the carrier's) and reports itself to the SA directory
    /// again (a partition that lived on a dead node starts empty). A grain activated by this call without an SA ends.
    /// Answered at once (the move happens once the grain is idle); it fails while the grain's dead node is not yet
    /// declared dead, and the caller tries again.
    /// </summary>
    Task CarriedBy(SiloAddress carrier);

    /// <summary>
    /// A node died (its SA directory partitions start empty): the report this SA's directory partition is to hear again
    /// (null: none). The caller sends it (<see cref="SaDirectory.ForKey"/>) and asks again if the partition, being brought
    /// back on a survivor, refuses it: the grain itself never waits for the directory here.
    /// </summary>
    Task<SaDirectoryUpdate?> Reannounce();
}
