using StackExchange.Redis;

namespace IkeActors.Gateway.Hosting.Cluster;

/// <summary>What a conditional write found: whether it was written, and the epoch the store holds now (0: no record).</summary>
public readonly record struct CarrierWrite(bool Written, long Epoch);

/// <summary>The cluster's carrier records, one per peer address (docs/cluster.md); every write is conditional on the epoch.</summary>
public interface ICarrierStore
{
    /// <summary>The peer's record; null when there is none (or what is stored is not one).</summary>
    Task<CarrierRecord?> Read(string peer);

    /// <summary>Writes <paramref name="next"/> when the stored epoch is <paramref name="expectedEpoch"/> (0: no record yet).</summary>
    Task<CarrierWrite> TryWrite(string peer, long expectedEpoch, CarrierRecord next);

    /// <summary>Removes the record when its epoch is still <paramref name="epoch"/> (the peer's last pair went).</summary>
    Task<bool> TryDelete(string peer, long epoch);
}

/// <summary>
/// Carrier records in Redis (the cluster store the nodes already share): a hash per peer with its epoch and its
/// record, written by one Lua script that compares the epoch first, so a claim and a deposed carrier's late write can
/// never both land (Redis runs a script atomically).
/// </summary>
public sealed class RedisCarrierStore(IConnectionMultiplexer redis, string keyPrefix = RedisCarrierStore.DefaultPrefix) : ICarrierStore
{
    public const string DefaultPrefix = "ikeactors:carrier:";

    private const string CompareAndSet = """
        local stored = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')
        if stored ~= tonumber(ARGV[1]) then return stored end
        redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'record', ARGV[3])
        return -1
        """;

    private const string CompareAndDelete = """
        local stored = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')
        if stored ~= tonumber(ARGV[1]) then return 0 end
        redis.call('DEL', KEYS[1])
        return 1
        """;

    private RedisKey Key(string peer) => keyPrefix + peer;

    public async Task<CarrierRecord?> Read(string peer)
    {
        var value = await redis.GetDatabase().HashGetAsync(Key(peer), "record");
        return value.IsNull ? null : CarrierRecord.FromJson((byte[])value!);
    }

    public async Task<CarrierWrite> TryWrite(string peer, long expectedEpoch, CarrierRecord next)
    {
        // A claim raises the epoch; a carrier's own update (a reservation, a mark, a pair) keeps it.
        if (next.Epoch < Math.Max(1, expectedEpoch)) throw new ArgumentException("the record's epoch is below the expected one", nameof(next));
        var result = (long)await redis.GetDatabase().ScriptEvaluateAsync(CompareAndSet, [Key(peer)], [expectedEpoch, next.Epoch, next.ToJson()]);
        return result == -1 ? new CarrierWrite(true, next.Epoch) : new CarrierWrite(false, result);
    }

    public async Task<bool> TryDelete(string peer, long epoch) =>
        (long)await redis.GetDatabase().ScriptEvaluateAsync(CompareAndDelete, [Key(peer)], [epoch]) == 1;
}
