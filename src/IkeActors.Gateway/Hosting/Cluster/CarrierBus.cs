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
    /// <summary>
    /// Starts listening for this node's messages: <paramref name="release"/> (peer, epoch, the node that claims it),
    /// <paramref name="changed"/> (peer), <paramref name="forwarded"/> (peer, an inside packet a node that released the
    /// peer received in its hand-over's grace).
    /// </summary>
    Task Listen(string node, Func<string, long, string, Task<bool>> release, Func<string, Task> changed, Action<string, byte[]> forwarded);

    /// <summary>Asks <paramref name="node"/> to release <paramref name="peer"/> held at <paramref name="epoch"/>; false when it refused or did not answer in time.</summary>
    Task<bool> RequestRelease(string node, string peer, long epoch, TimeSpan deadline);

    /// <summary>Tells <paramref name="node"/> that <paramref name="peer"/>'s record changed (a pair added or removed elsewhere).</summary>
    Task Changed(string node, string peer);

    /// <summary>Hands <paramref name="node"/>, which now carries <paramref name="peer"/>, an inside packet for it (fire and forget).</summary>
    Task Forward(string node, string peer, byte[] innerPacket);
}

/// <summary>The bus over Redis pub/sub (the store the nodes share already). Text messages; peers are addresses, nodes ids.</summary>
public sealed class RedisCarrierBus(IConnectionMultiplexer redis, string channelPrefix = "ikeactors:carrier-bus:") : ICarrierBus
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<bool>> _waiting = new();
    private string? _node;
    private RedisChannel? _channel;

    private RedisChannel ChannelOf(string node) => RedisChannel.Literal(channelPrefix + node);

    private static readonly byte[] ForwardTag = "forward|"u8.ToArray();

    public async Task Listen(string node, Func<string, long, string, Task<bool>> release, Func<string, Task> changed, Action<string, byte[]> forwarded)
    {
        _node = node;
        _channel = ChannelOf(node);
        var subscriber = redis.GetSubscriber();
        await subscriber.SubscribeAsync(_channel.Value, (channel, message) =>
        {
            // forward|PEER|<the packet's bytes>: binary after the second bar.
            if (((byte[]?)message) is { } raw && raw.AsSpan().StartsWith(ForwardTag))
            {
                var rest = raw.AsSpan(ForwardTag.Length);
                var bar = rest.IndexOf((byte)'|');
                if (bar > 0 && bar <= 15 && rest.Length > bar + 20)
                    forwarded(System.Text.Encoding.ASCII.GetString(rest[..bar]), rest[(bar + 1)..].ToArray());
                return;
            }
            var parts = ((string?)message ?? "").Split('|');
            switch (parts)
            {
                case ["release", var peer, var epochText, var replyTo, var id] when long.TryParse(epochText, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch):
                    _ = Task.Run(async () =>
                    {
                        bool released;
                        try { released = await release(peer, epoch, replyTo); }
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

    public Task Forward(string node, string peer, byte[] innerPacket)
    {
        var peerBytes = System.Text.Encoding.ASCII.GetBytes(peer);
        var message = new byte[ForwardTag.Length + peerBytes.Length + 1 + innerPacket.Length];
        ForwardTag.CopyTo(message, 0);
        peerBytes.CopyTo(message, ForwardTag.Length);
        message[ForwardTag.Length + peerBytes.Length] = (byte)'|';
        innerPacket.CopyTo(message, ForwardTag.Length + peerBytes.Length + 1);
        return redis.GetSubscriber().PublishAsync(ChannelOf(node), message, CommandFlags.FireAndForget);
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is { } channel) await redis.GetSubscriber().UnsubscribeAsync(channel);
    }
}
