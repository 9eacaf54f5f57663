using System.Diagnostics;
using IkeActors.Negotiation;
using A = IkeActors.Grains.Telemetry.NegotiationTelemetry.Attributes;

namespace IkeActors.Grains.Telemetry;

/// <summary>
/// The measurements of one IKE SA on the instruments of <see cref="NegotiationTelemetry"/>: exchanges
/// started/completed/failed, active SAs (deltas, summed over the cluster's silos), durations, rekeys,
/// DPD and drops.
/// </summary>
internal sealed class SaMetrics(SaIdentity sa)
{
    private readonly Dictionary<uint, long> _quickModeStarted = new();
    private long _firstMessage;
    private bool _durationRecorded;

    /// <summary>The SA counts as active (a reactivated grain restores an established SA without counting it again).</summary>
    public bool Established { get; set; }

    /// <summary>A new SA in the same grain: its negotiation duration is measured again.</summary>
    public void Reset() => _durationRecorded = false;

    public void MainModeStarted()
    {
        _firstMessage = Stopwatch.GetTimestamp();
        NegotiationTelemetry.NegotiationsStarted.Add(1, Tag(A.Exchange, "main_mode"), Role);
    }

    public void QuickModeStarted(uint messageId)
    {
        _quickModeStarted[messageId] = Stopwatch.GetTimestamp();
        NegotiationTelemetry.NegotiationsStarted.Add(1, Tag(A.Exchange, "quick_mode"), Role);
    }

    public void Phase1Established()
    {
        Established = true;
        NegotiationTelemetry.ActiveIkeSas.Add(1, Role);
        NegotiationTelemetry.NegotiationsCompleted.Add(1, Tag(A.Exchange, "main_mode"), Role);
    }

    public void Installed(uint messageId)
    {
        NegotiationTelemetry.ActiveIpsecSas.Add(1, Role);
        NegotiationTelemetry.NegotiationsCompleted.Add(1, Tag(A.Exchange, "quick_mode"), Role);
        if (_quickModeStarted.Remove(messageId, out var started))
            NegotiationTelemetry.QuickModeDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, Role);
        if (!_durationRecorded && _firstMessage != 0)
        {
            _durationRecorded = true;
            NegotiationTelemetry.NegotiationDuration.Record(Stopwatch.GetElapsedTime(_firstMessage).TotalSeconds, Role);
        }
    }

    public void IpsecSaDeleted() => NegotiationTelemetry.ActiveIpsecSas.Add(-1, Role);

    public void IkeSaDeleted()
    {
        if (Established) NegotiationTelemetry.ActiveIkeSas.Add(-1, Role);
        Established = false;
    }

    public void Failed(NegotiationFailed f, uint messageId)
    {
        var mainMode = f.Exchange == IkeExchange.MainMode;
        if (!mainMode) _quickModeStarted.Remove(messageId);
        NegotiationTelemetry.NegotiationsFailed.Add(1, Tag(A.Exchange, mainMode ? "main_mode" : "quick_mode"), Role,
            Tag(A.FailureReason, f.Reason.ToString()));
    }

    public static void Dropped(string exchange) => NegotiationTelemetry.Dropped.Add(1, Tag(A.Exchange, exchange));

    /// <summary>Rekeys by phase, tagged with the engine's rekey event (the names the ASA's debug lines use).</summary>
    public static void Rekey(NegotiationAction action)
    {
        (string Phase, string Event)? rekey = action switch
        {
            RekeyDue { Phase: RekeyPhase.Phase1 } => ("1", "phase1-rekey-due"),
            RekeyDue => ("2", "phase2-rekey-due"),
            Phase2RekeyStarted => ("2", "phase2-rekey"),
            IpsecSasMoved => ("1", "phase1-rekey"),
            RekeyCollisionSettled { OursWins: false } => ("1", "phase1-rekey-collision"),
            _ => null,
        };
        if (rekey is { } r) NegotiationTelemetry.Rekeys.Add(1, Tag(A.Phase, r.Phase), Tag(A.Event, r.Event));
    }

    /// <summary>RFC 3706 §5: an R-U-THERE sent (its retransmissions included); the peer declared dead.</summary>
    public static void Dpd(NegotiationAction action)
    {
        if (action is DpdProbeSent) NegotiationTelemetry.Dpd.Add(1, Tag(A.Event, "r_u_there"));
        else if (action is PeerDead) NegotiationTelemetry.Dpd.Add(1, Tag(A.Event, "peer_dead"));
    }

    private KeyValuePair<string, object?> Role => Tag(A.Role, sa.RoleName);

    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);
}
