using IkeActors.Negotiation;

namespace IkeActors.Grains;

// The engine's timers on one grain timer per SA, armed for the earliest of them; lifetime timers also keep an absolute
// due time (stored, re-armed on activation).
public sealed partial class IkeSaGrain
{
    private void RearmLifetimeTimers(IEnumerable<StoredTimer> timers)
    {
        var now = DateTime.UtcNow;
        foreach (var t in timers)
        {
            var key = new TimerKey((TimerKind)t.Kind, t.MessageId);
            if (!key.Kind.IsLifetime() || _timerDue.ContainsKey(key)) continue;
            var due = t.DueUtc > now ? t.DueUtc - now : TimeSpan.Zero;
            Arm(key, due, t.DueUtc); // the stored point itself: moves and reactivations never shift it
        }
    }

    private void Arm(TimerKey key, TimeSpan due, DateTime? dueUtc = null)
    {
        _timerDue[key] = Environment.TickCount64 + (long)Math.Ceiling(due.TotalMilliseconds);
        if (key.Kind.IsLifetime()) _due[key] = dueUtc ?? DateTime.UtcNow + due;
        Reschedule();
    }

    private void Disarm(TimerKey key)
    {
        _due.Remove(key);
        if (_timerDue.Remove(key)) Reschedule();
    }

    /// <summary>
    /// The SA's one grain timer follows its earliest engine timer. A grain timer per engine timer (Phase 1 rekey, DPD,
    /// each pair's rekey and expiry: four a tunnel) put 400,000 .NET timers in a 100,000-tunnel node's timer queue, which
    /// the runtime walks every 333 ms (3.8 % of a hub's CPU per new tunnel at 4,000 tunnels, perf).
    /// </summary>
    private void Reschedule()
    {
        var next = long.MaxValue;
        foreach (var at in _timerDue.Values) next = Math.Min(next, at);
        if (next == _clockAt) return;
        _clockAt = next;
        var wait = next == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(0, next - Environment.TickCount64));
        if (_clock is not null) _clock.Change(wait, Timeout.InfiniteTimeSpan);
        else if (next != long.MaxValue) _clock = this.RegisterGrainTimer(Tick, new GrainTimerCreationOptions(wait, Timeout.InfiniteTimeSpan));
    }

    /// <summary>The engine timers now due, earliest first, each one step; then the clock follows the next.</summary>
    private async Task Tick()
    {
        _clockAt = long.MaxValue;
        var now = Environment.TickCount64;
        List<(long At, TimerKey Key)>? due = null;
        foreach (var (key, at) in _timerDue)
            if (at <= now) (due ??= []).Add((at, key));
        due?.Sort((a, b) => a.At.CompareTo(b.At));
        foreach (var (_, key) in due ?? [])
        {
            if (!_timerDue.Remove(key)) continue; // cancelled by an earlier one's step
            _due.Remove(key);
            if (_sa is null) break;
            var output = Output(TimerDebugLevel);
            _sa.TimerFired(key, output);
            await Step(output, transmit: true);
        }
        Reschedule();
    }
}
