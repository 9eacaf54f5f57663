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

    /// <summary>An IKE SA with the peer is MM_ACTIVE: it becomes current; returns the one it replaces (null if none).</summary>
    Task<string?> Register(string ikeSaKey);

    /// <summary>
    /// The current IKE SA reached its Phase 1 rekey point: starts the new IKE SA grain (peer + fresh cookie) and
    /// returns its key, or null when another SA with the peer is already coming up or current (no rekey collision).
    /// </summary>
    Task<string?> StartPhase1Rekey(string oldKey, AcquireRequest acquire, int debugLevel);

    /// <summary>
    /// An MM1 from the peer starts the IKE SA grain <paramref name="ikeSaKey"/>: false when it collides with our Phase 1
    /// rekey and ours wins (the grain does not answer it); true otherwise (a losing rekey of ours is abandoned).
    /// </summary>
    Task<bool> AdmitPeerMainMode(string ikeSaKey);

    /// <summary>
    /// IKE SA <paramref name="ikeSaKey"/> (MM_ACTIVE; <paramref name="initiatedHere"/>: this side started it) received
    /// INITIAL-CONTACT (RFC 2407 §4.6.3.3): the peer's older IKE SAs with us go, with their IPsec SAs, without a DELETE.
    /// </summary>
    Task InitialContact(string ikeSaKey, bool initiatedHere);

    /// <summary>
    /// <see cref="InitialContact"/> then <see cref="Register"/> in one turn: an SA that came up with INITIAL-CONTACT in
    /// the same step (a peer's MM5 or first QM1 taken over from the front-end): one call instead of two.
    /// </summary>
    Task<string?> RegisterWithInitialContact(string ikeSaKey, bool initiatedHere);

    /// <summary>
    /// DPD declared the peer dead on one IKE SA: as the ASA does, every other IKE SA with the peer goes too,
    /// without a DELETE (one-way: the dead SA's grain does not wait).
    /// </summary>
    [Orleans.Concurrency.OneWay]
    Task PeerDead(string deadKey);
}
