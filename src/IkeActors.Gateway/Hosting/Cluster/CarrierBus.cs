using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using IkeActors.Grains;
using StackExchange.Redis;

namespace IkeActors.Gateway.Hosting.Cluster;

/// <summary>
/// Messages between the nodes' carrier services (docs/cluster.md §3): "release this peer" with its answer, "your
/// peer's record changed", a hand-over's inside packets, and a Quick Mode responder's inbound SA alone for the node that
/// carries its peer ("install it", with its answer, and "withdraw it"). Each node listens on its own channel. A request
/// to a node that died is simply not answered: the caller's deadline decides, no detector of ours.
/// </summary>
public interface ICarrierBus : IAsyncDisposable
{
    /// <summary>
    /// Starts listening for this node's messages: <paramref name="release"/> (peer, epoch, the node that claims it),
    /// <paramref name="changed"/> (peer), <paramref name="forwarded"/> (peer, an inside packet a node that released the
    /// peer received in its hand-over's grace), <paramref name="inboundAlone"/> (peer, an inbound SA alone to install; true
    /// when installed), <paramref name="inboundWithdrawn"/> (peer, the inbound SPI of one to take out).
    /// </summary>
    Task Listen(string node, Func<string, long, string, Task<bool>> release, Func<string, Task> changed, Action<string, byte[]> forwarded,
        Func<string, IpsecSaRecord, Task<bool>> inboundAlone, Func<string, uint, Task> inboundWithdrawn);

    /// <summary>Asks <paramref name="node"/> to release <paramref name="peer"/> held at <paramref name="epoch"/>; false when it refused or did not answer in time.</summary>
    Task<bool> RequestRelease(string node, string peer, long epoch, TimeSpan deadline);

    /// <summary>Tells <paramref name="node"/> that <paramref name="peer"/>'s record changed (a pair added or removed elsewhere).</summary>
    Task Changed(string node, string peer);

    /// <summary>Hands <paramref name="node"/>, which now carries <paramref name="peer"/>, an inside packet for it (fire and forget).</summary>
    Task Forward(string node, string peer, byte[] innerPacket);

    /// <summary>
    /// Asks <paramref name="node"/>, which carries <paramref name="peer"/>, to install <paramref name="sa"/>'s inbound SA
    /// alone (a Quick Mode responder's at QM2; its keys travel as the carrier record's do); false when it refused (it
    /// does not carry the peer) or did not answer in time.
    /// </summary>
    Task<bool> InstallInbound(string node, string peer, IpsecSaRecord sa, TimeSpan deadline);

    /// <summary>Tells <paramref name="node"/> to take out <paramref name="peer"/>'s inbound SA alone with this SPI (fire and forget).</summary>
    Task WithdrawInbound(string node, string peer, uint inboundSpi);
}

/// <summary>The bus over Redis pub/sub (the store the nodes share already). Text messages; peers are addresses, nodes ids.</summary>
public sealed class RedisCarrierBus(IConnectionMultiplexer redis, string channelPrefix = "ikeactors:carrier-bus:") : ICarrierBus
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<bool>> _waiting = new();
    private string? _node;
    private RedisChannel? _channel;

    private RedisChannel ChannelOf(string node) => RedisChannel.Literal(channelPrefix + node);

    private static readonly byte[] ForwardTag = "forward|"u8.ToArray();
    private static readonly byte[] InboundTag = "inbound|"u8.ToArray();

    public async Task Listen(string node, Func<string, long, string, Task<bool>> release, Func<string, Task> changed, Action<string, byte[]> forwarded,
        Func<string, IpsecSaRecord, Task<bool>> inboundAlone, Func<string, uint, Task> inboundWithdrawn)
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
            // inbound|ID|REPLY-TO|PEER|<the record as JSON, keys included>
            if (((byte[]?)message) is { } bytes && bytes.AsSpan().StartsWith(InboundTag))
            {
                var request = ParseInbound(bytes);
                CryptographicOperations.ZeroMemory(bytes);
                if (request is not { } parsed) return;
                var (id, replyTo, peer, sa) = parsed;
                _ = Task.Run(async () =>
                {
                    bool installed;
                    try { installed = await inboundAlone(peer, sa); }
                    catch (Exception) { installed = false; }
                    finally { Zero(sa); } // the data plane holds its own copy of the keys
                    await subscriber.PublishAsync(ChannelOf(replyTo), $"installed|{id}|{(installed ? 1 : 0)}");
                });
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
                case ["released" or "installed", var id, var ok]:
                    if (_waiting.TryRemove(id, out var waiter)) waiter.TrySetResult(ok == "1");
                    break;
                case ["withdraw-inbound", var peer, var spiText] when uint.TryParse(spiText, NumberStyles.None, CultureInfo.InvariantCulture, out var spi):
                    _ = Task.Run(() => inboundWithdrawn(peer, spi));
                    break;
                case ["changed", var peer]:
                    _ = Task.Run(() => changed(peer));
                    break;
                // anything else on our channel is not ours to act on
            }
        });
    }

    public Task<bool> RequestRelease(string node, string peer, long epoch, TimeSpan deadline) =>
        Ask(node, (id, me) => FormattableString.Invariant($"release|{peer}|{epoch}|{me}|{id}"), deadline);

    public Task<bool> InstallInbound(string node, string peer, IpsecSaRecord sa, TimeSpan deadline) =>
        Ask(node, (id, me) =>
        {
            var head = Encoding.ASCII.GetBytes($"{id}|{me}|{peer}|");
            var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(sa, CarrierJson.Default.IpsecSaRecord);
            var message = new byte[InboundTag.Length + head.Length + json.Length];
            InboundTag.CopyTo(message, 0);
            head.CopyTo(message, InboundTag.Length);
            json.CopyTo(message, InboundTag.Length + head.Length);
            CryptographicOperations.ZeroMemory(json);
            return message;
        }, deadline);

    public Task WithdrawInbound(string node, string peer, uint inboundSpi) =>
        redis.GetSubscriber().PublishAsync(ChannelOf(node), FormattableString.Invariant($"withdraw-inbound|{peer}|{inboundSpi}"));

    /// <summary>Publishes a request naming this node as where the answer goes; its answer, or false after <paramref name="deadline"/>.</summary>
    private async Task<bool> Ask(string node, Func<string, string, RedisValue> request, TimeSpan deadline)
    {
        if (_node is null) throw new InvalidOperationException("Listen first: the answer comes on this node's channel");
        var id = Guid.NewGuid().ToString("N");
        var waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[id] = waiter;
        try
        {
            await redis.GetSubscriber().PublishAsync(ChannelOf(node), request(id, _node));
            return await waiter.Task.WaitAsync(deadline);
        }
        catch (TimeoutException) { return false; }
        finally { _waiting.TryRemove(id, out _); }
    }

    /// <summary>An install request's parts; null for anything malformed (a foreign or damaged message is no reason to throw).</summary>
    private static (string Id, string ReplyTo, string Peer, IpsecSaRecord Sa)? ParseInbound(byte[] message)
    {
        var rest = message.AsSpan(InboundTag.Length);
        var fields = new string[3];
        for (var i = 0; i < 3; i++)
        {
            var bar = rest.IndexOf((byte)'|');
            if (bar <= 0 || bar > 64) return null;
            fields[i] = Encoding.ASCII.GetString(rest[..bar]);
            rest = rest[(bar + 1)..];
        }
        try
        {
            var sa = System.Text.Json.JsonSerializer.Deserialize(rest, CarrierJson.Default.IpsecSaRecord);
            return sa is { Esp: not null } && sa.Peer == fields[2] ? (fields[0], fields[1], fields[2], sa) : null;
        }
        catch (System.Text.Json.JsonException) { return null; }
        catch (NotSupportedException) { return null; }
    }

    private static void Zero(IpsecSaRecord sa)
    {
        CryptographicOperations.ZeroMemory(sa.InboundEncryptionKey);
        CryptographicOperations.ZeroMemory(sa.InboundIntegrityKey);
        CryptographicOperations.ZeroMemory(sa.OutboundEncryptionKey);
        CryptographicOperations.ZeroMemory(sa.OutboundIntegrityKey);
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
