using System.Net;
using IkeActors.Gateway.Hosting;

namespace IkeActors.Gateway.Tests.Routing;

/// <summary>
/// A routing lane under more work than the node can do: an established SA's datagrams (a DPD R-U-THERE-ACK must be
/// answered within the ASA's 8 s or a healthy tunnel dies) go before negotiations under way, those before new MM1s, and
/// a new one that waited past its budget is dropped and counted, never one of the other two classes.
/// </summary>
public class RoutingLaneTests
{
    private long _now = 1_000;

    private RoutingLane Lane(int capacity = 16, long budgetMs = 1_000, Action? shed = null) => new(capacity, budgetMs, shed, () => _now);

    private QueuedDatagram Datagram(string key, RoutingClass kind) =>
        new(new ReceivedDatagram([1], new IPEndPoint(IPAddress.Loopback, 500), false), key, kind == RoutingClass.New, kind, _now);

    private static async Task<string> Next(RoutingLane lane)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        return (await lane.NextAsync(cts.Token)).Key;
    }

    [Theory]
    [InlineData(null, RoutingClass.New)]
    [InlineData("MM_ACTIVE", RoutingClass.Established)]
    [InlineData("MM_WAIT_MSG3", RoutingClass.Negotiating)]
    [InlineData("MM_WAIT_MSG5", RoutingClass.Negotiating)]
    [InlineData("MM_WAIT_MSG2", RoutingClass.Negotiating)]
    public void The_class_comes_from_what_the_router_knows_of_the_SA_the_cookies_name(string? state, RoutingClass expected) =>
        Assert.Equal(expected, RoutingLane.ClassOf(state));

    [Fact]
    public async Task An_established_SA_s_datagram_goes_before_negotiations_and_those_before_new_ones_whatever_the_arrival_order()
    {
        var lane = Lane();
        Assert.True(lane.TryEnqueue(Datagram("mm1-a", RoutingClass.New)));
        Assert.True(lane.TryEnqueue(Datagram("mm3-b", RoutingClass.Negotiating)));
        Assert.True(lane.TryEnqueue(Datagram("mm1-c", RoutingClass.New)));
        Assert.True(lane.TryEnqueue(Datagram("dpd-ack-d", RoutingClass.Established)));
        Assert.True(lane.TryEnqueue(Datagram("mm5-e", RoutingClass.Negotiating)));

        string[] order = [await Next(lane), await Next(lane), await Next(lane), await Next(lane), await Next(lane)];

        // Within a class, first come first served (one peer's datagrams of one SA keep their order).
        Assert.Equal(["dpd-ack-d", "mm3-b", "mm5-e", "mm1-a", "mm1-c"], order);
    }

    [Fact]
    public async Task A_new_SA_s_datagram_that_waited_past_the_budget_is_dropped_and_counted_the_others_are_routed_however_late()
    {
        var shed = 0;
        var lane = Lane(budgetMs: 1_000, shed: () => shed++);
        lane.TryEnqueue(Datagram("old-mm1", RoutingClass.New));
        lane.TryEnqueue(Datagram("old-mm3", RoutingClass.Negotiating));
        lane.TryEnqueue(Datagram("old-qm1", RoutingClass.Established));
        _now += 1_001;
        lane.TryEnqueue(Datagram("fresh-mm1", RoutingClass.New));

        Assert.Equal("old-qm1", await Next(lane));
        Assert.Equal("old-mm3", await Next(lane));
        Assert.Equal("fresh-mm1", await Next(lane));
        Assert.Equal(1, shed);
        Assert.Equal(1, lane.Shed);
    }

    [Fact]
    public async Task An_MM1_exactly_at_its_budget_is_still_routed()
    {
        var lane = Lane(budgetMs: 1_000);
        lane.TryEnqueue(Datagram("mm1", RoutingClass.New));
        _now += 1_000;
        Assert.Equal("mm1", await Next(lane));
        Assert.Equal(0, lane.Shed);
    }

    [Fact]
    public async Task Each_class_has_its_own_room_a_flood_of_new_ones_cannot_take_an_established_SA_s_place()
    {
        var lane = Lane(capacity: 2);
        Assert.True(lane.TryEnqueue(Datagram("mm1-1", RoutingClass.New)));
        Assert.True(lane.TryEnqueue(Datagram("mm1-2", RoutingClass.New)));
        Assert.False(lane.TryEnqueue(Datagram("mm1-3", RoutingClass.New)));
        Assert.True(lane.TryEnqueue(Datagram("dpd", RoutingClass.Established)));
        Assert.True(lane.TryEnqueue(Datagram("mm3", RoutingClass.Negotiating)));

        Assert.Equal("dpd", await Next(lane));
        Assert.True(lane.TryEnqueue(Datagram("dpd-2", RoutingClass.Established)));
        Assert.Equal("dpd-2", await Next(lane));
        Assert.Equal("mm3", await Next(lane));
        Assert.Equal("mm1-1", await Next(lane));
        Assert.Equal("mm1-2", await Next(lane));
    }

    [Fact]
    public async Task A_reader_waits_for_the_next_datagram_and_stops_when_cancelled()
    {
        var lane = Lane();
        var waiting = lane.NextAsync(CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        lane.TryEnqueue(Datagram("late", RoutingClass.Established));
        Assert.Equal("late", (await waiting.WaitAsync(TimeSpan.FromSeconds(5))).Key);

        using var cts = new CancellationTokenSource();
        var idle = lane.NextAsync(cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => idle);
    }

    [Fact]
    public async Task Writers_on_many_threads_lose_nothing_within_the_room()
    {
        var lane = Lane(capacity: 10_000);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 1_000; i++) Assert.True(lane.TryEnqueue(Datagram($"{t}-{i}", (RoutingClass)(i % 3))));
        })));
        var seen = new HashSet<string>();
        for (var i = 0; i < 4_000; i++) seen.Add(await Next(lane));
        Assert.Equal(4_000, seen.Count);
    }
}
