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
    /// Our Phase 1 rekey is MM_ACTIVE: the old SA (this grain) moves its IPsec SAs to the successor, whose
    /// snapshot (engine JSON, without Quick Modes) it gets, deletes itself with a DELETE, and returns the moved pairs.
    /// </summary>
    Task<QuickModeHandOver> HandOver(string successorKey, byte[] successorSnapshot, int debugLevel);

    /// <summary>The peer is rekeying phase 1: its new SA with us is up; this (old) grain hands its pairs over on the peer's DELETE.</summary>
    Task PrepareSuccessor(string successorKey, byte[] successorSnapshot);

    /// <summary>This SA's snapshot without its Quick Modes (engine JSON), for the SA it replaces (see <see cref="PrepareSuccessor"/>).</summary>
    Task<byte[]?> SnapshotForHandOver();

    /// <summary>The old IKE SA handed its pairs over after the peer's DELETE: this grain adopts them.</summary>
    Task AdoptQuickModes(QuickModeHandOver handOver);
}
