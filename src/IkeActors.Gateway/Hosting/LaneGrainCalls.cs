using System.Net;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// How long a routing lane waits for a grain's answer. A grain answers within milliseconds, a Diffie-Hellman computation
/// included; one whose silo has just died answers only once Orleans has declared the silo dead and the grain is back
/// on a survivor, seconds later. The lane is shared by other peers, whose DPD would go unanswered that long: after
/// <see cref="FrontEndOptions.LaneGrainWait"/> it goes on, and the answer is handled when it comes. Beyond
/// <see cref="FrontEndOptions.MaxUnansweredGrainCalls"/> such calls at once the lanes wait again (back-pressure, not
/// memory). Thread-safe: every lane shares one.
/// </summary>
public sealed class LaneGrainCalls(FrontEndOptions options, ILogger logger, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private int _unanswered;
    private long _wentOn, _failedLate, _wentOnLogged = long.MinValue / 2, _lateLogged = long.MinValue / 2, _failedLogged = long.MinValue / 2;

    /// <summary>Calls the lanes went on from, in all.</summary>
    public long WentOn => Interlocked.Read(ref _wentOn);

    /// <summary>Calls the lanes went on from whose grain then failed (a dead silo's).</summary>
    public long FailedLate => Interlocked.Read(ref _failedLate);

    /// <summary>Calls the lanes went on from that have not answered yet.</summary>
    public int Unanswered => Volatile.Read(ref _unanswered);

    /// <summary>
    /// Awaits <paramref name="call"/> and hands its answer to <paramref name="answered"/> within the lane's turn, or, when
    /// it takes longer than the wait, returns without it and hands it over when it comes (a failure then is logged,
    /// as the lane would have). A call that fails within the wait throws here, as awaiting it would.
    /// </summary>
    public async Task Await<T>(Task<T> call, IPAddress peer, Action<T> answered)
    {
        if (!call.IsCompleted && Volatile.Read(ref _unanswered) < options.MaxUnansweredGrainCalls)
        {
            try
            {
                await call.WaitAsync(options.LaneGrainWait, _time);
            }
            catch (TimeoutException)
            {
                _ = Later(call, peer, answered);
                return;
            }
        }
        answered(await call);
    }

    private async Task Later<T>(Task<T> call, IPAddress peer, Action<T> answered)
    {
        Interlocked.Increment(ref _unanswered);
        var count = Interlocked.Increment(ref _wentOn);
        var since = _time.GetTimestamp();
        if (Once(ref _wentOnLogged))
            logger.LogWarning("lanes: {Count} IKE datagram(s) so far whose SA grain did not answer within {Ms} ms went on without waiting (the latest from {Peer}); each answer goes out when it comes",
                count, (long)options.LaneGrainWait.TotalMilliseconds, peer);
        try
        {
            answered(await call);
            var waited = _time.GetElapsedTime(since) + options.LaneGrainWait;
            if (waited >= TimeSpan.FromSeconds(2) && Once(ref _lateLogged))
                logger.LogWarning("lanes: the SA grain answered {Peer}'s datagram after about {Ms} ms", peer, (long)waited.TotalMilliseconds);
        }
#pragma warning disable CA1031 // as the lane: one datagram's failure is logged, never thrown
        catch (Exception e)
#pragma warning restore CA1031
        {
            // A dead silo's grains fail many such calls at once (ConnectionFailedException, then "silo unavailable"
            // once it is declared dead); their peers retransmit. Counted, and said once a second.
            var failed = Interlocked.Increment(ref _failedLate);
            if (Once(ref _failedLogged))
                logger.LogWarning("lanes: {Count} IKE datagram(s) so far whose SA grain answered late could not be handled (the latest from {Peer}: {Reason})",
                    failed, peer, e.Message);
        }
        finally
        {
            Interlocked.Decrement(ref _unanswered);
        }
    }

    /// <summary>True at most once a second per kind of line (a dead silo's grains make many at once).</summary>
    private bool Once(ref long last)
    {
        var now = (long)_time.GetElapsedTime(0).TotalMilliseconds;
        var seen = Interlocked.Read(ref last);
        return now - seen >= 1000 && Interlocked.CompareExchange(ref last, now, seen) == seen;
    }
}
