namespace IkeActors.Grains;

/// <summary>
/// Phase 1 rekey between the grain of the old IKE SA and the grain of the new one (same key as <see cref="IIkeSaGrain"/>);
/// called by the TunnelGrain and the IKE SA grains only.
/// </summary>
public interface IIkeSaPhase1Rekey : IGrainWithStringKey
{
    /// <summary>
    /// Phase 1 rekey started by this side: the grain named by its key becomes the new IKE SA with the peer,
    /// replacing <paramref name="rekeyOfKey"/> (MM1 goes out through the transmitter).
    /// </summary>
    Task StartRekey(string rekeyOfKey, AcquireRequest acquire, int debugLevel);

    /// <summary>
    /// Our Phase 1 rekey is MM_ACTIVE: the old SA (this grain) releases its IPsec SA pairs to the successor (the
    /// message IDs it uses stay here), deletes itself with a DELETE (the peer then hands its own pairs over too), and
    /// returns the pairs with their lifetime timers.
    /// </summary>
    Task<IpsecSaHandOver> HandOver(string successorKey, List<uint> successorMessageIds, int debugLevel);

    /// <summary>The peer is rekeying phase 1: its new SA with us is up; this (old) grain releases its pairs to it on the peer's DELETE.</summary>
    Task PrepareSuccessor(string successorKey);

    /// <summary>The old IKE SA released its pairs (our rekey, or the peer's DELETE after its rekey): this grain adopts them.</summary>
    Task AdoptIpsecSas(IpsecSaHandOver handOver);
}
