using System.Net;
using IkeActors.Gateway.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IkeActors.Gateway.Tests.Routing;

/// <summary>
/// A routing lane and a grain that does not answer (its silo just died): the lane waits up to its limit, then goes on to
/// the other peers' datagrams, and the answer is still handled when it comes. Seen in a cluster before: a lane stuck on
/// one such call left its other peers' DPD unanswered until they were declared dead.
/// </summary>
public class LaneGrainCallsTests
{
    private static readonly IPAddress Peer = IPAddress.Parse("10.1.0.7");
    private readonly FakeTimeProvider _time = new();

    private LaneGrainCalls Calls(int max = 4096) =>
        new(new FrontEndOptions { LaneGrainWait = TimeSpan.FromMilliseconds(500), MaxUnansweredGrainCalls = max }, NullLogger.Instance, _time);

    private static async Task Done(Task task) => await task.WaitAsync(TimeSpan.FromSeconds(10));

    [Fact]
    public async Task An_answer_that_comes_within_the_wait_is_handled_in_the_lane_s_turn()
    {
        var calls = Calls();
        var grain = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var answers = new List<string>();
        var lane = calls.Await(grain.Task, Peer, answers.Add);
        Assert.False(lane.IsCompleted);

        grain.SetResult("MM_ACTIVE");
        await Done(lane);

        Assert.Equal(["MM_ACTIVE"], answers);
        Assert.Equal(0, calls.WentOn);
    }

    [Fact]
    public async Task A_grain_silent_past_the_wait_frees_the_lane_and_its_answer_is_still_handled_when_it_comes()
    {
        var calls = Calls();
        var grain = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var answers = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var lane = calls.Await(grain.Task, Peer, answers.Enqueue);

        _time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(lane.IsCompleted);             // still within the wait
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await Done(lane);                           // the lane goes on without the answer
        Assert.Empty(answers);
        Assert.Equal(1, calls.WentOn);
        Assert.Equal(1, calls.Unanswered);

        grain.SetResult("MM_ACTIVE");               // the survivor's grain answers seconds later
        await WaitFor(() => calls.Unanswered == 0);
        Assert.Equal(["MM_ACTIVE"], answers);
    }

    [Fact]
    public async Task A_late_failure_is_logged_not_thrown_and_a_failure_within_the_wait_reaches_the_lane_as_before()
    {
        var calls = Calls();
        var late = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lane = calls.Await(late.Task, Peer, _ => Assert.Fail("no answer"));
        _time.Advance(TimeSpan.FromMilliseconds(500));
        await Done(lane);
        late.SetException(new TimeoutException("silo unavailable"));
        await WaitFor(() => calls.Unanswered == 0);
        Assert.Equal(1, calls.FailedLate);

        var early = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lane = calls.Await(early.Task, Peer, _ => Assert.Fail("no answer"));
        early.SetException(new InvalidOperationException("grain refused"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Done(lane));
    }

    [Fact]
    public async Task Beyond_the_limit_of_unanswered_calls_lanes_wait_again_for_their_grain()
    {
        var calls = Calls(max: 1);
        var first = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lane = calls.Await(first.Task, Peer, _ => { });
        _time.Advance(TimeSpan.FromMilliseconds(500));
        await Done(lane);
        Assert.Equal(1, calls.Unanswered);

        var second = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var answers = new List<string>();
        lane = calls.Await(second.Task, Peer, answers.Add);
        _time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(50);
        Assert.False(lane.IsCompleted);             // waits: the room for unanswered calls is full
        second.SetResult("MM_ACTIVE");
        await Done(lane);
        Assert.Equal(["MM_ACTIVE"], answers);
        Assert.Equal(1, calls.WentOn);
        first.SetResult("MM_ACTIVE");
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition());
    }
}
