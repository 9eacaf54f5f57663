using IkeActors.Testing;
using IkeActors.Gateway.Hosting.Cluster;
using IkeActors.Grains;
using StackExchange.Redis;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// The carrier records in a real Redis (docs/cluster.md §3): a record goes in and comes back whole (keys, selectors,
/// reservation, mark); a write lands only on the epoch it expects, so of two nodes claiming a peer with the same epoch
/// exactly one wins, and a deposed carrier's late update is refused; a delete likewise; anything stored under a
/// peer's key that is not a record reads as none, without an exception.
/// </summary>
public sealed class CarrierStoreTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _connection = null!;
    private RedisCarrierStore _store = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.Start();
        _connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_redis.Port}");
        _store = new RedisCarrierStore(_connection);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private static CarrierPair Pair(uint inboundSpi, uint reserved = 65536, uint mark = 0) => new(
        new IpsecSaRecord(inboundSpi, inboundSpi + 1, [1, 2, 3], [4, 5], [6, 7, 8], [9], "esp-aes esp-sha-hmac", 28800, 4608000,
            "192.168.1.0/255.255.255.0/0/0", "192.168.2.0/255.255.255.0/0/0", "198.51.100.2", "MAP", 10)
        {
            Esp = new EspParameters(12, 128, 2, "203.0.113.10", "198.51.100.2", "198.51.100.2", 4500, 0xC0A80100, 0xC0A801FF, 0, 0, 0xC0A80200, 0xC0A802FF, 0, 0),
        }, reserved, mark);

    [Fact]
    public async Task A_record_comes_back_whole()
    {
        var record = new CarrierRecord("node-1", 1, [Pair(0x1000, 131072, 2048), Pair(0x2000)]);
        Assert.Equal(new CarrierWrite(true, 1), await _store.TryWrite("198.51.100.2", 0, record));

        var read = await _store.Read("198.51.100.2");

        Assert.NotNull(read);
        Assert.Equal(("node-1", 1L, 2), (read.Node, read.Epoch, read.Pairs.Count));
        var first = read.Pairs[0];
        Assert.Equal((131072u, 2048u), (first.OutboundReserved, first.InboundMark));
        Assert.Equal(record.Pairs[0].Sa.InboundEncryptionKey, first.Sa.InboundEncryptionKey);
        Assert.Equal(record.Pairs[0].Sa.OutboundIntegrityKey, first.Sa.OutboundIntegrityKey);
        Assert.Equal(record.Pairs[0].Sa.Esp, first.Sa.Esp);
        Assert.Equal(record.Pairs[0].Sa with { InboundEncryptionKey = [], InboundIntegrityKey = [], OutboundEncryptionKey = [], OutboundIntegrityKey = [] },
            first.Sa with { InboundEncryptionKey = [], InboundIntegrityKey = [], OutboundEncryptionKey = [], OutboundIntegrityKey = [] });
        Assert.Null(await _store.Read("198.51.100.99"));
        Assert.DoesNotContain("0x", record.ToString()); // no key material in its text
    }

    [Fact]
    public async Task Of_two_claims_on_the_same_epoch_exactly_one_lands_and_the_deposed_carrier_cannot_write()
    {
        await _store.TryWrite("198.51.100.2", 0, new CarrierRecord("node-1", 1, [Pair(0x1000)]));

        var claims = await Task.WhenAll(
            _store.TryWrite("198.51.100.2", 1, new CarrierRecord("node-2", 2, [Pair(0x1000)])),
            _store.TryWrite("198.51.100.2", 1, new CarrierRecord("node-3", 2, [Pair(0x1000)])));

        Assert.Single(claims, c => c.Written);
        Assert.Single(claims, c => !c.Written && c.Epoch == 2);
        var winner = (await _store.Read("198.51.100.2"))!;
        Assert.Equal(2, winner.Epoch);
        // node-1 did not hear of it and extends its reservation on epoch 1: refused, and told the epoch now.
        Assert.Equal(new CarrierWrite(false, 2), await _store.TryWrite("198.51.100.2", 1, new CarrierRecord("node-1", 1, [Pair(0x1000, 131072)])));
        Assert.Equal(winner.Node, (await _store.Read("198.51.100.2"))!.Node);
        // The carrier's own update on its epoch lands.
        Assert.True((await _store.TryWrite("198.51.100.2", 2, winner with { Pairs = [Pair(0x1000, 196608)] })).Written);
        Assert.Equal(196608u, (await _store.Read("198.51.100.2"))!.Pairs[0].OutboundReserved);
    }

    [Fact]
    public async Task A_delete_lands_only_on_its_epoch()
    {
        await _store.TryWrite("198.51.100.2", 0, new CarrierRecord("node-1", 3, [Pair(0x1000)]));
        Assert.False(await _store.TryDelete("198.51.100.2", 2));
        Assert.NotNull(await _store.Read("198.51.100.2"));
        Assert.True(await _store.TryDelete("198.51.100.2", 3));
        Assert.Null(await _store.Read("198.51.100.2"));
        Assert.Equal(new CarrierWrite(true, 1), await _store.TryWrite("198.51.100.2", 0, new CarrierRecord("node-2", 1, [])));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("{\"node\":\"n\",\"epoch\":1,\"pairs\":[null]}")]
    [InlineData("{\"node\":\"n\",\"epoch\":-4,\"pairs\":[]}")]
    [InlineData("[1,2,3]")]
    public async Task Anything_else_under_a_peers_key_reads_as_no_record(string stored)
    {
        await _connection.GetDatabase().HashSetAsync(RedisCarrierStore.DefaultPrefix + "198.51.100.7", [new("epoch", 1), new("record", stored)]);
        Assert.Null(await _store.Read("198.51.100.7"));
    }

    [Fact]
    public async Task A_write_below_the_expected_epoch_is_a_programming_error()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _store.TryWrite("198.51.100.2", 5, new CarrierRecord("node-1", 4, [])));
    }
}
