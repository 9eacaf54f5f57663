using System.Net;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

public sealed partial class IkeSa
{
    /// <summary>
    /// Whether <see cref="Snapshot"/> can capture this SA now: MM_ACTIVE, or waiting for the peer
    /// without a DH private key (responder MM_WAIT_MSG3/MM_WAIT_MSG5, initiator MM_WAIT_MSG2/MM_WAIT_MSG6).
    /// False in the initiator's MM_WAIT_MSG4 (the DH private key is never persisted), before MM1 and once deleted.
    /// </summary>
    public bool CanSnapshot => IkeSaSnapshots.IsSnapshotState(Role, _state);

    /// <summary>
    /// The SA's state as plain data, to persist after an exchange and continue elsewhere with
    /// <see cref="Restore"/>. Contains derived keys (see <see cref="IkeSaSnapshot"/>). Quick Modes that
    /// wait for the peer with a PFS private key are left out, with their IVs. Throws
    /// <see cref="InvalidOperationException"/> when <see cref="CanSnapshot"/> is false.
    /// </summary>
    public IkeSaSnapshot Snapshot() => IkeSaSnapshots.Snapshot(this);

    /// <summary>
    /// Rebuilds an IKE SA from a snapshot, in the saved state, on this gateway: the Stateless machines,
    /// the phase-1 keys and cipher with its IVs, the Quick Modes with their installed keys. Crypto map
    /// entries are looked up again in <paramref name="gateway"/>'s configuration. Nothing is sent and no
    /// timer is armed: call <see cref="ResumeTimers"/> for the retransmission timers of waiting exchanges
    /// (rekey timers are the host's, which knows when the SA was established). Installed IPsec SAs are
    /// not announced again (the data plane of a cluster keeps them); <see cref="IpsecSas"/> has them.
    /// Throws <see cref="IkeSaSnapshotException"/> for a snapshot that is inconsistent, for another
    /// gateway address, or that names configuration this gateway does not have.
    /// </summary>
    public static IkeSa Restore(GatewayContext gateway, IkeSaSnapshot snapshot) => IkeSaSnapshots.Restore(gateway, snapshot);

    internal static CryptoMapMatch ResolveMatch(GatewayContext gateway, string? mapName, int sequence, ProxyIdSnapshot local, ProxyIdSnapshot remote, IPAddress peer) =>
        IkeSaSnapshots.ResolveMatch(gateway, mapName, sequence, local, remote, peer);

    internal static IkeSaSnapshotException Bad(string message) => IkeSaSnapshots.Bad(message);

    // What a snapshot carries besides the public state.
    internal byte[]? LastSent { get => _lastSent; set => _lastSent = value; }
    internal byte[]? LastReceived { get => _lastReceived; set => _lastReceived = value; }
    internal int Retransmits { get => _retransmits; set => _retransmits = value; }
    internal bool InitialContactSent { get => _initialContactSent; set => _initialContactSent = value; }
    internal CryptoMapMatch? InitialAcquire { get => _initialAcquire; set => _initialAcquire = value; }
    internal List<CryptoMapMatch> PendingAcquires => _pendingAcquires;

    /// <summary>A restored SA takes up its saved state; a waiting Main Mode continues from its transcript (the DH private value is never persisted: see CanSnapshot).</summary>
    internal void ResumeAt(MainModeState state)
    {
        _state = state;
        if (state != MainModeState.MM_ACTIVE) _phase1 = Aggressive ? new AggressiveModeExchange(this, _transcript) : new MainModeExchange(this, _transcript);
    }

    /// <summary>
    /// After <see cref="Restore"/> (or when another host takes the live SA over): re-arms the retransmission timers of
    /// the exchanges that wait for the peer (Main Mode and Quick Modes), counting the retransmissions already made; a
    /// Quick Mode responder waiting for QM3 announces its inbound SA again (<see cref="InstallInboundSa"/>).
    /// </summary>
    public void ResumeTimers(NegotiationOutput output)
    {
        if (_state is not (MainModeState.MM_ACTIVE or MainModeState.MM_DELETED or MainModeState.MM_NO_STATE) && _lastSent is not null)
            ArmRetransmit(0, _retransmits, output);
        foreach (var qm in Table.QuickModes.Values) qm.ResumeTimers(output);
        RemoteAccess.ResumeTimers(output);
        // DPD restarts its wait: the idle threshold, or the retry interval when R-U-THEREs are unanswered.
        Dpd.Resume(output);
    }
}
