using IkeActors.Negotiation;

namespace IkeActors.Grains;

// An SA negotiated by the front-end comes here once it is up (FrontEndHandOver).
public sealed partial class IkeSaGrain
{
    /// <summary>
    /// Takes over an SA the front-end negotiated: the live SA when it was parked on this silo, else restored from its
    /// snapshot like a reactivation; then the step that brought it up is finished here, where the SA's host does it:
    /// Phase 1 established (directory, tunnel registration, the older SA it may replace), INITIAL-CONTACT carried out,
    /// its installed pairs to their IPsec SA grains. The front-end's telemetry already recorded the wire; the spans
    /// continue its trace.
    /// </summary>
    public async Task<IkeStepResult> TakeOver(FrontEndHandOver handOver)
    {
        if (_sa is not null) return new IkeStepResult([], [], _sa.State.ToString());
        if (handOver.Parked)
        {
            // Same node: the live SA, nothing serialized or rebuilt.
            _sa = transmitter.TakeParked(Key);
            if (_sa is null)
            {
                DeactivateOnIdle();
                return new IkeStepResult([], [], FrontEndHandOver.SnapshotNeeded);
            }
        }
        else if (!Restore(handOver.Snapshot, "handed over by the front-end"))
        {
            DeactivateOnIdle();
            return new IkeStepResult([], [], nameof(MainModeState.MM_NO_STATE));
        }
        _telemetry.Resume(handOver.TraceParent);
        _timerDebugLevel = handOver.DebugLevel;
        var output = Output(handOver.DebugLevel);
        _sa.ResumeTimers(output); // DPD; a Quick Mode still waiting for the peer
        RearmLifetimeTimers(handOver.Timers);
        if (_sa.State == MainModeState.MM_ACTIVE)
        {
            output.Add(new Phase1Established(_sa.Summary));
            if (handOver.InitialContact) output.Add(new InitialContactReceived(_sa.InitiatorCookie, _sa.Peer.Address));
            foreach (var pair in _sa.IpsecSas) output.Add(new InstallIpsecSa(pair.Pair));
        }
        var result = await Step(output, transmit: false);
        // `show`'s times are the front-end's, not this call's.
        _phase1At = handOver.Phase1At;
        _lastInstall = handOver.LastInstall ?? _lastInstall;
        return result;
    }
}
