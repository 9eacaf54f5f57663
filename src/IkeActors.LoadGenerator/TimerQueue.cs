using System.Diagnostics;

namespace IkeActors.LoadGenerator;

/// <summary>
/// Every timer of every peer (retransmission, DPD, rekey, the per-tunnel timeout) in one priority queue served by
/// one thread: 100,000 peers cost 100,000 queue entries, not 100,000 OS timers. Cancelling is lazy: an entry
/// carries its generation and the owner ignores a stale one when it fires.
/// </summary>
public sealed class TimerQueue : IDisposable
{
    private readonly PriorityQueue<Entry, long> _queue = new();
    private readonly object _gate = new();
    private readonly Thread _thread;
    private bool _stopped;

    /// <summary>A timer that came due: the owner checks <paramref name="Generation"/> against the one it armed last.</summary>
    public readonly record struct Entry(ITimerOwner Owner, int Slot, long Generation);

    public TimerQueue()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "bench timers" };
        _thread.Start();
    }

    public int Count { get { lock (_gate) return _queue.Count; } }

    public static long Now => Stopwatch.GetTimestamp();

    public void Arm(ITimerOwner owner, int slot, long generation, TimeSpan due)
    {
        var at = Now + (long)(Math.Max(0, due.TotalSeconds) * Stopwatch.Frequency);
        lock (_gate)
        {
            var wake = !_queue.TryPeek(out _, out var first) || at < first;
            _queue.Enqueue(new Entry(owner, slot, generation), at);
            if (wake) Monitor.Pulse(_gate);
        }
    }

    private void Run()
    {
        var due = new List<Entry>();
        while (true)
        {
            lock (_gate)
            {
                while (true)
                {
                    if (_stopped) return;
                    if (_queue.TryPeek(out _, out var at))
                    {
                        var wait = at - Now;
                        if (wait <= 0) break;
                        Monitor.Wait(_gate, TimeSpan.FromSeconds(Math.Min(1.0, (double)wait / Stopwatch.Frequency) + 0.0005));
                    }
                    else Monitor.Wait(_gate, 1000);
                }
                var now = Now;
                while (due.Count < 256 && _queue.TryPeek(out _, out var at) && at <= now) due.Add(_queue.Dequeue());
            }
            foreach (var e in due) e.Owner.Fire(e.Slot, e.Generation);
            due.Clear();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            _queue.Clear();
            Monitor.Pulse(_gate);
        }
        _thread.Join();
    }
}

/// <summary>Something with timers in a <see cref="TimerQueue"/>.</summary>
public interface ITimerOwner
{
    void Fire(int slot, long generation);
}
