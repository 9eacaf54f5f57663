using System.Text.Json;
using IkeActors.Negotiation;
using Microsoft.Extensions.Logging;

namespace IkeActors.Grains;

/// <summary>
/// Phase 1 rekey across grains: what <see cref="NegotiationEngine"/> does for the IKE SAs it holds, done
/// between the grain of the old IKE SA and the grain of the new one.
/// <list type="bullet">
/// <item>Ours: the old SA's Phase1RekeyDue asks the peer's TunnelGrain (see the Peer partial) for a new IKE SA grain (peer + fresh
/// cookie, <see cref="IkeSa.StartRekey"/>). When it is MM_ACTIVE it calls the old grain's <see cref="HandOver"/>:
/// the old grain restores a copy of the successor from its snapshot, runs the engine's hand-over onto it
/// (<see cref="IkeSa.HandOverTo"/>: pairs moved, DELETE sent, old SA deleted) and returns the moved pairs as
/// Quick Mode snapshots with their lifetime timers; the new grain merges them into its own SA.</item>
/// <item>The peer's: a new SA with the peer reaching MM_ACTIVE registers with the TunnelGrain, which names the
/// SA it replaces; that grain gets a copy of the successor (<see cref="PrepareSuccessor"/>) inside a
/// <see cref="NegotiationEngine"/> of its own, so the peer's DELETE hands the pairs over (the engine's
/// SuccessorLookup) instead of deleting them, and the pairs go to the new grain (<see cref="AdoptQuickModes"/>).</item>
/// </list>
/// The data plane is untouched throughout: IPsec SA grains keep their pairs (IKEv1 IPsec SAs outlive their IKE SA).
/// </summary>
public sealed partial class IkeSaGrain
{
    private byte[] SnapshotWithoutQuickModes()
    {
        var snapshot = _sa!.Snapshot();
        try
        {
            foreach (var qm in snapshot.QuickModes) qm.ClearSecrets();
            snapshot.QuickModes.Clear();
            snapshot.Keys?.Phase2Ivs.Clear();
            return JsonSerializer.SerializeToUtf8Bytes(snapshot);
        }
        finally
        {
            snapshot.ClearSecrets();
        }
    }

    private IkeSa RestoreCopy(byte[] json)
    {
        var snapshot = JsonSerializer.Deserialize<IkeSaSnapshot>(json) ?? throw new InvalidOperationException("empty successor snapshot");
        try
        {
            return IkeSa.Restore(gateway, snapshot);
        }
        finally
        {
            snapshot.ClearSecrets();
            Array.Clear(json);
        }
    }

    public async Task<QuickModeHandOver> HandOver(string successorKey, byte[] successorSnapshot, int debugLevel)
    {
        if (_sa is null || _sa.State != MainModeState.MM_ACTIVE) return new QuickModeHandOver();
        _successorCopy?.Dispose();
        _successorCopy = RestoreCopy(successorSnapshot);
        var output = new NegotiationOutput(debugLevel);
        var moved = _sa.HandOverTo(_successorCopy, output);
        var handOver = Collect(moved);
        await Step(output, transmit: true);
        return handOver;
    }

    public async Task PrepareSuccessor(string successorKey, byte[] successorSnapshot)
    {
        // The TunnelGrain names this SA as replaced only when no rekey of ours replaces it (none ran, or ours lost a
        // collision and was abandoned): the peer's successor takes the pairs.
        if (_sa is null || _sa.State != MainModeState.MM_ACTIVE) return;
        _rekeyedBy = null;
        BuildHandOverEngine(successorKey, successorSnapshot);
        if (_sa.CanSnapshot) await Persist();
    }

    private void BuildHandOverEngine(string successorKey, byte[] successorSnapshot)
    {
        _successorCopy?.Dispose();
        _successorCopy = RestoreCopy(successorSnapshot);
        _handOverEngine = new NegotiationEngine(gateway);
        _handOverEngine.Adopt(_sa!);
        _handOverEngine.Adopt(_successorCopy);
        _successorKey = successorKey;
    }

    /// <summary>
    /// After a reactivation the successor's copy is gone: fetched again before the next datagram (the peer's
    /// DELETE may be it). The successor does not call this grain outside its own MM_ACTIVE step: no call cycle.
    /// </summary>
    private async Task EnsureHandOverEngine()
    {
        if (_handOverEngine is not null || _successorKey is null || _sa is null || _sa.State != MainModeState.MM_ACTIVE) return;
        var snapshot = await GrainFactory.GetGrain<IIkeSaPhase1Rekey>(_successorKey).SnapshotForHandOver();
        if (snapshot is null)
        {
            _successorKey = null; // the successor is gone: a DELETE from the peer is a plain delete again
            return;
        }
        try
        {
            BuildHandOverEngine(_successorKey, snapshot);
        }
        catch (IkeSaSnapshotException e)
        {
            logger.LogWarning("successor of {Key} cannot be restored for the hand-over: {Reason}", Key, e.Message);
            _successorKey = null;
        }
    }

    public Task<byte[]?> SnapshotForHandOver() =>
        Task.FromResult(_sa is { State: MainModeState.MM_ACTIVE, CanSnapshot: true } ? SnapshotWithoutQuickModes() : null);

    private async Task HandOverAfterPeerDelete(Phase1Rekeyed rekeyed)
    {
        var handOver = Collect(rekeyed.MovedQuickModes);
        await GrainFactory.GetGrain<IIkeSaPhase1Rekey>(_successorKey!).AdoptQuickModes(handOver);
    }

    /// <summary>The moved pairs as the successor's copy now holds them, with this grain's lifetime timers for them.</summary>
    private QuickModeHandOver Collect(IReadOnlyList<uint> moved)
    {
        var snapshot = _successorCopy!.Snapshot();
        try
        {
            var quickModes = snapshot.QuickModes.Where(q => moved.Contains(q.MessageId)).ToList();
            var timers = _due.Where(kv => moved.Contains(kv.Key.MessageId) && kv.Key.Kind is TimerKind.Phase2Rekey or TimerKind.Phase2Expire)
                .Select(kv => new StoredTimer { Kind = (int)kv.Key.Kind, MessageId = kv.Key.MessageId, DueUtc = kv.Value }).ToList();
            // The pairs live on in the successor: their timers leave this grain.
            foreach (var t in timers)
            {
                var key = new TimerKey((TimerKind)t.Kind, t.MessageId);
                if (_timers.Remove(key, out var timer)) timer.Dispose();
                _due.Remove(key);
            }
            var ivs = snapshot.Keys?.Phase2Ivs.Where(iv => moved.Contains(iv.MessageId)).ToList() ?? [];
            return new QuickModeHandOver
            {
                QuickModes = JsonSerializer.SerializeToUtf8Bytes(new MovedQuickModes { QuickModes = quickModes, Ivs = ivs }),
                Timers = timers,
                MessageIds = [.. moved],
            };
        }
        finally
        {
            snapshot.ClearSecrets();
        }
    }

    public Task AdoptQuickModes(QuickModeHandOver handOver) => Adopt(handOver);

    /// <summary>Merges handed-over pairs into this SA: its own snapshot plus theirs, restored; their timers re-armed.</summary>
    private async Task Adopt(QuickModeHandOver handOver)
    {
        if (_sa is null || _sa.State != MainModeState.MM_ACTIVE || handOver.QuickModes.Length == 0) return;
        var moved = JsonSerializer.Deserialize<MovedQuickModes>(handOver.QuickModes);
        Array.Clear(handOver.QuickModes);
        if (moved is null || moved.QuickModes.Count == 0) return;
        var own = _sa.Snapshot();
        try
        {
            var present = own.QuickModes.Select(q => q.MessageId).ToHashSet();
            own.QuickModes.AddRange(moved.QuickModes.Where(q => !present.Contains(q.MessageId)));
            if (own.Keys is { } keys)
                keys.Phase2Ivs.AddRange(moved.Ivs.Where(iv => !present.Contains(iv.MessageId) && keys.Phase2Ivs.All(k => k.MessageId != iv.MessageId)));
            var merged = IkeSa.Restore(gateway, own);
            _sa.Dispose();
            _sa = merged;
        }
        catch (IkeSaSnapshotException e)
        {
            logger.LogWarning("IPsec SAs handed over to {Key} cannot be adopted: {Reason}", Key, e.Message);
            return;
        }
        finally
        {
            own.ClearSecrets();
            foreach (var q in moved.QuickModes) q.ClearSecrets();
        }
        RearmLifetimeTimers(handOver.Timers);
        foreach (var qm in _sa.IpsecSas.Where(q => handOver.MessageIds.Contains(q.MessageId)))
            await GrainFactory.GetGrain<IIpsecSaGrain>(IIpsecSaGrain.KeyFor(PeerKey, qm.InboundSpi)).SetOwner(Key);
        // A pair whose Phase 2 rekey was running on the old IKE SA: that Quick Mode died with it, restart it here.
        var output = new NegotiationOutput(_timerDebugLevel);
        foreach (var qm in _sa.IpsecSas.Where(q => handOver.MessageIds.Contains(q.MessageId) && q.RekeyedBy != 0
                     && !_sa.UsesMessageId(q.RekeyedBy)).ToList())
            _sa.TimerFired(new TimerKey(TimerKind.Phase2Rekey, qm.MessageId), output);
        await Step(output, transmit: true);
        await PersistIfCompleted(new NegotiationOutput(0), force: true);
    }
}
