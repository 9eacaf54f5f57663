using System.Collections.Concurrent;
using System.Globalization;
using StackExchange.Redis;

namespace IkeActors.Gateway.Hosting.Cluster;

/// <summary>
/// Messages between the nodes' carrier services (docs/cluster.md §3): "release this peer" with its answer, and "your
/// peer's record changed". Each node listens on its own channel. A request to a node that died is simply not answered:
/// the caller's deadline decides, no detector of ours.
/// </summary>
public interface ICarrierBus : IAsyncDisposable
{
    /// <summary>Starts listening for this node's messages.</summary>
    Task Listen(string node, Func<string, long, Task<bool>> release, Func<string, Task> changed);

    /// <summary>Asks <paramref name="node"/> to release <paramref name="peer"/> held at <paramref name="epoch"/>; false when it refused or did not answer in time.</summary>
    Task<bool> RequestRelease(string node, string peer, long epoch, TimeSpan deadline);

    /// <summary>Tells <paramref name="node"/> that <paramref name="peer"/>'s record changed (a pair added or removed elsewhere).</summary>
    Task Changed(string node, string peer);
}

/// <summary>The bus over Redis pub/sub (the store the nodes share already). Text messages; peers are addresses, nodes ids.</summary>
public sealed class RedisCarrierBus(IConnectionMultiplexer redis, string channelPrefix = "ikeactors:carrier-bus:") : ICarrierBus
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<bool>> _waiting = new();
    private string? _node;
    private RedisChannel? _channel;

    private RedisChannel ChannelOf(string node) => RedisChannel.Literal(channelPrefix + node);

    public async Task Listen(string node, Func<string, long, Task<bool>> release, Func<string, Task> changed)
    {
        _node = node;
        _channel = ChannelOf(node);
        var subscriber = redis.GetSubscriber();
        await subscriber.SubscribeAsync(_channel.Value, (channel, message) =>
        {
            var parts = ((string?)message ?? "").Split('|');
            switch (parts)
            {
                case ["release", var peer, var epochText, var replyTo, var id] when long.TryParse(epochText, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch):
                    _ = Task.Run(async () =>
                    {
                        bool released;
                        try { released = await release(peer, epoch); }
                        catch (Exception) { released = false; }
                        await subscriber.PublishAsync(ChannelOf(replyTo), $"released|{id}|{(released ? 1 : 0)}");
                    });
                    break;
                case ["released", var id, var ok]:
                    if (_waiting.TryRemove(id, out var waiter)) waiter.TrySetResult(ok == "1");
                    break;
                case ["changed", var peer]:
                    _ = Task.Run(() => changed(peer));
                    break;
                // anything else on our channel is not ours to act on
            }
        });
    }

    public async Task<bool> RequestRelease(string node, string peer, long epoch, TimeSpan deadline)
    {
        if (_node is null) throw new InvalidOperationException("Listen first: the answer comes on this node's channel");
        var id = Guid.NewGuid().ToString("N");
        var waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[id] = waiter;
        try
        {
            await redis.GetSubscriber().PublishAsync(ChannelOf(node), FormattableString.Invariant($"release|{peer}|{epoch}|{_node}|{id}"));
            return await waiter.Task.WaitAsync(deadline);
        }
        catch (TimeoutException) { return false; }
        finally { _waiting.TryRemove(id, out _); }
    }

    public Task Changed(string node, string peer) => redis.GetSubscriber().PublishAsync(ChannelOf(node), $"changed|{peer}");

    public async ValueTask DisposeAsync()
    {
        if (_channel is { } channel) await redis.GetSubscriber().UnsubscribeAsync(channel);
    }
}
