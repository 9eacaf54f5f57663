namespace IkeActors.Grains;

/// <summary>
/// Which node carries a peer's traffic in a cluster with a data plane (docs/cluster.md): the gateway's carrier
/// service reads it from the cluster's carrier record. Absent on a single node.
/// </summary>
public interface ICarrierDirectory
{
    /// <summary>The carrying node's id (its advertised address and silo port), or null when no node carries the peer.</summary>
    Task<string?> CarrierOf(string peer);
}
