using System.Collections.Concurrent;
using IkeActors.LoadGenerator;

namespace IkeActors.Gateway.Tests.Bench;

/// <summary>The one timer thread of a bench run: due order, no early firing, and a re-armed timer's old entry is told apart.</summary>
public class TimerQueueTests
{
    private sealed class Recorder : ITimerOwner
    {
        public ConcurrentQueue<(int Slot, long Generation, DateTime At)> Fired { get; } = new();
        public void Fire(int slot, long generation) => Fired.Enqueue((slot, generation, DateTime.UtcNow));
    }

    [Fact]
    public void Timers_fire_in_due_order_and_not_before_they_are_due()
    {
        using var queue = new TimerQueue();
        var owner = new Recorder();
        var armed = DateTime.UtcNow;
        queue.Arm(owner, 3, 1, TimeSpan.FromMilliseconds(300));
        queue.Arm(owner, 1, 1, TimeSpan.FromMilliseconds(100));
        queue.Arm(owner, 2, 1, TimeSpan.FromMilliseconds(200));
        SpinWait.SpinUntil(() => owner.Fired.Count == 3, TimeSpan.FromSeconds(5));
        var fired = owner.Fired.ToArray();
        Assert.Equal([1, 2, 3], fired.Select(f => f.Slot));
        Assert.True(fired[0].At - armed >= TimeSpan.FromMilliseconds(95), $"fired after {(fired[0].At - armed).TotalMilliseconds} ms");
        Assert.True(fired[2].At - armed >= TimeSpan.FromMilliseconds(295), $"fired after {(fired[2].At - armed).TotalMilliseconds} ms");
    }

    [Fact]
    public void An_earlier_timer_armed_later_wakes_the_thread()
    {
        using var queue = new TimerQueue();
        var owner = new Recorder();
        queue.Arm(owner, 1, 1, TimeSpan.FromSeconds(30));
        Thread.Sleep(50);
        queue.Arm(owner, 2, 7, TimeSpan.FromMilliseconds(50));
        Assert.True(SpinWait.SpinUntil(() => !owner.Fired.IsEmpty, TimeSpan.FromSeconds(3)), "the 50 ms timer waited for the 30 s one");
        Assert.Equal((2, 7L), (owner.Fired.Single().Slot, owner.Fired.Single().Generation));
    }
}
