using IkeActors.Negotiation;

namespace IkeActors.Grains;

// The engine's timers as grain timers; lifetime timers also keep an absolute due time (stored, re-armed on activation).
public sealed partial class IkeSaGrain
{
    private static bool IsLifetime(TimerKind kind) => kind is TimerKind.Phase1Rekey or TimerKind.Phase2Rekey or TimerKind.Phase2Expire;

    private void RearmLifetimeTimers(IEnumerable<StoredTimer> timers)
    {
        var now = DateTime.UtcNow;
        foreach (var t in timers)
        {
            var key = new TimerKey((TimerKind)t.Kind, t.MessageId);
            if (!IsLifetime(key.Kind) || _timers.ContainsKey(key)) continue;
            var due = t.DueUtc > now ? t.DueUtc - now : TimeSpan.Zero;
            Arm(key, due);
        }
    }

    private void Arm(TimerKey key, TimeSpan due)
    {
        if (_timers.Remove(key, out var old)) old.Dispose();
        _timers[key] = this.RegisterGrainTimer(() => Fire(key), new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan));
        if (IsLifetime(key.Kind)) _due[key] = DateTime.UtcNow + due;
    }

    private async Task Fire(TimerKey key)
    {
        _timers.Remove(key);
        _due.Remove(key);
        if (_sa is null) return;
        var output = Output(TimerDebugLevel);
        _sa.TimerFired(key, output);
        await Step(output, transmit: true);
    }
}
