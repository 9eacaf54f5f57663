using IkeActors.Negotiation;

namespace IkeActors.Grains;

/// <summary>
/// Design: the grain persists its state after every completed exchange (phase 1 up, an IPsec SA
/// installed or deleted) and every other change of state a reactivation must see (DPD rounds, rekeys
/// started or finished, lifetime timers armed), and forgets it when the IKE SA is gone. With a store in the node's own
/// memory (<see cref="SaStateStoreOptions.WriteOnDeactivation"/>) that write waits for the deactivation.
/// </summary>
public sealed partial class IkeSaGrain
{
    private async Task PersistIfCompleted(NegotiationOutput output, bool force = false)
    {
        await PublishIpsecSas(output);
        if (_sa is null) return;
        if (output.Actions.Any(a => a is IkeSaDeleted d && d.InitiatorCookie == _sa.InitiatorCookie) || _sa.State == MainModeState.MM_DELETED)
        {
            _unsaved = false;
            if (stored.RecordExists) await stored.ClearStateAsync();
            return;
        }
        var dpdChanged = _sa.DpdUnanswered != _persistedDpdUnanswered; // an ACK ended a round, or an R-U-THERE went out
        if (!(force || dpdChanged || output.Actions.Any(ChangesState)) || !_sa.CanSnapshot) return;
        await Persist();
    }

    private async Task Persist()
    {
        _persistedDpdUnanswered = _sa!.DpdUnanswered;
        if (_writeOnDeactivation)
        {
            _unsaved = true;
            return;
        }
        await WriteSnapshot();
    }

    /// <summary>A deactivation while the process stays (the store in its memory): the SA's last state is written now.</summary>
    private async Task WriteUnsaved()
    {
        if (!_unsaved || _sa is not { CanSnapshot: true } || _sa.State == MainModeState.MM_DELETED) return;
        _unsaved = false;
        await WriteSnapshot();
    }

    private async Task WriteSnapshot()
    {
        var snapshot = _sa!.Snapshot();
        try
        {
            stored.State.Snapshot = IkeSaSnapshotJson.Serialize(snapshot);
            stored.State.TraceParent = _telemetry.TraceParent;
            stored.State.Timers = _due.Select(kv => new StoredTimer { Kind = (int)kv.Key.Kind, MessageId = kv.Key.MessageId, DueUtc = kv.Value }).ToList();
            stored.State.RekeyedBy = _rekeyedBy;
            stored.State.SuccessorKey = _successorKey;
            await stored.WriteStateAsync();
        }
        finally
        {
            snapshot.ClearSecrets();
        }
    }

    /// <summary>Actions after which the stored snapshot would be stale (retransmissions and debug lines are not).</summary>
    private bool ChangesState(NegotiationAction a) => a switch
    {
        Phase1Established or InstallIpsecSa or IpsecSaDeleted or Phase1RekeyDue or Phase1Rekeyed or IkeActors.Negotiation.PeerDead => true,
        // A responder's Quick Mode waiting for QM3 (its inbound SA in), or over without it (a restore must not announce it again).
        InstallInboundSa or InboundSaDeleted => true,
        SendDatagram s => !s.IsRetransmission && _sa?.State == MainModeState.MM_ACTIVE, // DPD sequence, QM started, DELETE
        // DPD's idle timer restarts on every valid message and data-plane report: not worth a write by itself (a
        // round's start and end change DpdUnanswered, checked by the caller).
        ArmTimer t => t.Key.Kind is not (TimerKind.Retransmit or TimerKind.Dpd),
        CancelTimer c => c.Key.Kind.IsLifetime(),
        _ => false,
    };
}
