namespace IkeActors.Gateway.Hosting;

/// <summary>Which queue of a lane a datagram waits in, most urgent first.</summary>
public enum RoutingClass
{
    /// <summary>For an IKE SA that is up (MM_ACTIVE): DPD, Quick Mode, DELETE. Late, it costs a live tunnel.</summary>
    Established,

    /// <summary>The next Main Mode message of a negotiation under way here: the node already spent a DH on it.</summary>
    Negotiating,

    /// <summary>An MM1, or cookies this node does not know: new work, the first to be shed.</summary>
    New,
}

/// <summary>
/// A datagram waiting in a lane: what was received, the SA it names (<see cref="IkeActors.Grains.IIkeSaGrain.KeyFor"/>),
/// whether it is an MM1 (Identity Protection, responder cookie zero: it may start an SA), its class and when it came.
/// </summary>
public readonly record struct QueuedDatagram(ReceivedDatagram Datagram, string Key, bool Mm1, RoutingClass Class, long ReceivedAt);

/// <summary>
/// One routing lane's queues. When the node has more to do than it can, the order decides which tunnels live: an
/// established SA's datagrams go first (a DPD R-U-THERE-ACK that waits behind setups past the ASA's 8 s budget kills a
/// healthy tunnel), then negotiations under way, new ones last; and a new one that waited longer than
/// <paramref name="newBudgetMs"/> is dropped, not routed: its peer has retransmitted by then (every initiator does
/// after 2-4 s), so answering it would only double the work (strongSwan's `init_limit_job_load` refuses new IKE SAs
/// by the length of its job queue for the same reason). Each class holds at most <paramref name="capacity"/>.
/// One reader; any number of writers.
/// </summary>
public sealed class RoutingLane(int capacity, long newBudgetMs, Action? onShed = null, Func<long>? clock = null)
{
    private readonly Queue<QueuedDatagram>[] _queues = [new(), new(), new()];
    private readonly LaneSignal _waiting = new();
    private readonly Func<long> _clock = clock ?? (() => Environment.TickCount64);
    private long _shed;

    /// <summary>New datagrams dropped because they waited longer than the budget.</summary>
    public long Shed => Interlocked.Read(ref _shed);

    /// <summary>The time a lane's datagrams are stamped with (milliseconds, monotonic).</summary>
    public long Now => _clock();

    /// <summary>
    /// The class of a datagram whose cookies name an SA this node routes to in <paramref name="state"/> (null: none
    /// known, an MM1 or made-up cookies). Only the router's own table decides, never the datagram: cookies a peer sends
    /// cannot buy a place ahead of real work.
    /// </summary>
    public static RoutingClass ClassOf(string? state) => state switch
    {
        null => RoutingClass.New,
        nameof(IkeActors.Negotiation.MainModeState.MM_ACTIVE) => RoutingClass.Established,
        _ => RoutingClass.Negotiating,
    };

    /// <summary>False when the datagram's class is full (the caller drops and counts it).</summary>
    public bool TryEnqueue(in QueuedDatagram datagram)
    {
        var queue = _queues[(int)datagram.Class];
        lock (queue)
        {
            if (queue.Count >= capacity) return false;
            queue.Enqueue(datagram);
        }
        _waiting.Release();
        return true;
    }

    /// <summary>The most urgent datagram, waiting for one when there is none; new ones past their budget are dropped on the way.</summary>
    public async ValueTask<QueuedDatagram> NextAsync(CancellationToken ct)
    {
        while (true)
        {
            if (await NextOrTickAsync(ct).ConfigureAwait(false) is { } next) return next;
        }
    }

    /// <summary>
    /// The most urgent datagram, or null when <see cref="Tick"/> was called since the last null: the lane's own timers
    /// are due (<see cref="FrontEndNegotiations"/>). One clock for every lane, so waiting costs no timer of its own.
    /// </summary>
    public async ValueTask<QueuedDatagram?> NextOrTickAsync(CancellationToken ct)
    {
        while (true)
        {
            await _waiting.WaitAsync(ct).ConfigureAwait(false);
            if (TryTake(out var next)) return next;
            if (Interlocked.Exchange(ref _tick, 0) == 1) return null;
        }
    }

    /// <summary>Wakes the reader for its timers (any thread); a count of the semaphore with no datagram behind it.</summary>
    public void Tick()
    {
        if (Interlocked.Exchange(ref _tick, 1) == 0) _waiting.Release();
    }

    private int _tick;

    /// <summary>One datagram for one count of the semaphore; false when it was a new one past its budget (dropped).</summary>
    private bool TryTake(out QueuedDatagram next)
    {
        foreach (var queue in _queues)
        {
            lock (queue)
            {
                if (!queue.TryDequeue(out next)) continue;
            }
            if (next.Class == RoutingClass.New && _clock() - next.ReceivedAt > newBudgetMs)
            {
                Interlocked.Increment(ref _shed);
                onShed?.Invoke();
                return false;
            }
            return true;
        }
        // A count with no datagram: a tick, or the count of a datagram taken after an earlier tick's count.
        next = default;
        return false;
    }
}

/// <summary>
/// A count of wake-ups for one lane's single reader (a datagram queued, a tick), awaited without an allocation per wait:
/// SemaphoreSlim.WaitAsync with a token made three objects and a registration with the token on every wait, and a lane
/// waits once per datagram. The reader's token stays registered from one wait to the next.
/// </summary>
internal sealed class LaneSignal : System.Threading.Tasks.Sources.IValueTaskSource
{
    private readonly object _gate = new();
    private System.Threading.Tasks.Sources.ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _count;
    private bool _waiting;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    /// <summary>One more wake-up: the waiting reader goes on (on the thread pool), or the next wait returns at once.</summary>
    public void Release()
    {
        lock (_gate)
        {
            if (_waiting)
            {
                _waiting = false;
                _core.SetResult(true);
                return;
            }
            _count++;
        }
    }

    /// <summary>Takes one wake-up, waiting for it when there is none; throws when <paramref name="ct"/> is cancelled while it waits.</summary>
    public ValueTask WaitAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            if (_count > 0)
            {
                _count--;
                return ValueTask.CompletedTask;
            }
            ct.ThrowIfCancellationRequested();
            if (ct != _token)
            {
                _registration.Unregister();
                _token = ct;
                _registration = ct.CanBeCanceled ? ct.UnsafeRegister(static (state, token) => ((LaneSignal)state!).Cancel(token), this) : default;
                ct.ThrowIfCancellationRequested(); // cancelled while registering: the callback found no waiter
            }
            _core.Reset();
            _waiting = true;
            return new ValueTask(this, _core.Version);
        }
    }

    private void Cancel(CancellationToken token)
    {
        lock (_gate)
        {
            if (!_waiting || token != _token) return;
            _waiting = false;
            _core.SetException(new OperationCanceledException(token));
        }
    }

    public void GetResult(short token) => _core.GetResult(token);

    public System.Threading.Tasks.Sources.ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, System.Threading.Tasks.Sources.ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
