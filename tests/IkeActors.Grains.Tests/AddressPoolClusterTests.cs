using IkeActors.Negotiation;
using IkeActors.Testing;
using Orleans.Runtime.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace IkeActors.Grains.Tests;

/// <summary>
/// Remote-access address leases across a cluster (<see cref="ClusterAddressBook"/>: one grain per pool and per user):
/// sessions leasing at once through several silos never get one address twice, the pool's ledger survives the loss of the
/// silo that held it (the next lease does not give an address already held), and `vpn-simultaneous-logins` counts a
/// user's sessions cluster-wide. A cluster of its own (three silos, a storage all silos share, new activations kept off
/// the primary), since a silo dies here.
/// </summary>
public sealed class AddressPoolClusterTests : IAsyncLifetime
{
    private InProcessTestCluster _cluster = null!;
    private readonly SharedGrainStorage _storage = new();
    private readonly AwayFromCallerPlacement.Rules _placement = new();

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 3);
        builder.ConfigureSilo((_, silo) => silo.ConfigureServices(services =>
        {
            services.AddGrainStorage("Default", (_, _) => _storage);
            AwayFromCallerPlacement.AddTo(services, _placement);
        }));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        _placement.Avoid(_cluster.Silos[0].SiloAddress); // the primary stays: the test kills only the others
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static uint A(string address) => IkeActors.Config.Model.Ipv4.ToUInt32(System.Net.IPAddress.Parse(address));

    // Two pools in order, as `address-pool POOL-A POOL-B`: 10.20.0.1-254 (254) then 10.30.0.1-100 (100).
    private static readonly AddressRange PoolA = new("POOL-A", A("10.20.0.1"), A("10.20.0.254"));
    private static readonly AddressRange PoolB = new("POOL-B", A("10.30.0.1"), A("10.30.0.100"));

    private static AddressPlan Plan(string session, string? user = null, int logins = 3) => new(session, "RA", user, [PoolA, PoolB], logins);

    [Fact]
    public async Task Sessions_leasing_at_once_get_distinct_addresses_until_both_pools_are_spent()
    {
        var book = new ClusterAddressBook(_cluster.Client);
        var results = await Task.WhenAll(Enumerable.Range(0, 360).Select(i => AddressLeasing.LeaseAsync(book, Plan($"s{i:x16}")).AsTask()));
        var given = results.Where(r => r.Address is not null).ToList();
        Assert.Equal(254 + 100, given.Count);
        Assert.Equal(given.Count, given.Select(r => r.Address!.ToString()).Distinct().Count());
        Assert.Equal(254, given.Count(r => r.Pool == "POOL-A"));
        Assert.All(results.Where(r => r.Address is null), r => Assert.Equal("no free address in the group's pools", r.Refusal));

        // A session that ends gives its address to the next one; one asking again keeps its own.
        var first = results[0];
        await AddressLeasing.ReleaseAsync(book, new AddressRelease($"s{0:x16}", null, ["POOL-A", "POOL-B"]));
        var next = await AddressLeasing.LeaseAsync(book, Plan("late-comer"));
        Assert.Equal(first.Address, next.Address);
        Assert.Equal(results[7].Address, (await AddressLeasing.LeaseAsync(book, Plan($"s{7:x16}"))).Address);
    }

    [Fact]
    public async Task The_ledger_outlives_the_silo_that_held_it()
    {
        var book = new ClusterAddressBook(_cluster.Client);
        var before = new Dictionary<string, string>();
        for (var i = 0; i < 40; i++) before[$"a{i}"] = (await AddressLeasing.LeaseAsync(book, Plan($"a{i}"))).Address!.ToString();

        var pool = _cluster.Client.GetGrain<IAddressPoolGrain>("POOL-A");
        var diagnostics = pool.AsReference<IGrainDiagnostics>();
        var host = await diagnostics.GetSilo();
        var activation = await diagnostics.GetActivationId();
        var victim = Assert.Single(_cluster.Silos.Skip(1), s => s.Names(host));
        await _cluster.KillSiloAsync(victim);

        // Reactivated elsewhere from storage: the 40 leases are still held, the next sessions get others.
        var after = new List<string>();
        for (var i = 0; i < 40; i++) after.Add((await AddressLeasing.LeaseAsync(book, Plan($"b{i}"))).Address!.ToString());
        Assert.NotEqual(activation, await diagnostics.GetActivationId());
        Assert.False(victim.Names(await diagnostics.GetSilo()));
        Assert.Empty(after.Intersect(before.Values));
        Assert.Equal(80, (await pool.Leases()).Count);
        // A session restored on another node still holds its address: asked again, the same one; released, it is free.
        Assert.Equal(before["a3"], (await AddressLeasing.LeaseAsync(book, Plan("a3"))).Address!.ToString());
        await AddressLeasing.ReleaseAsync(book, new AddressRelease("a3", null, ["POOL-A"]));
        Assert.Equal(before["a3"], (await AddressLeasing.LeaseAsync(book, Plan("c0"))).Address!.ToString());
    }

    [Fact]
    public async Task Simultaneous_logins_are_counted_across_the_cluster()
    {
        var book = new ClusterAddressBook(_cluster.Client);
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => AddressLeasing.LeaseAsync(book, Plan($"u{i}", "alice", logins: 3)).AsTask()));
        Assert.Equal(3, results.Count(r => r.Address is not null));
        Assert.All(results.Where(r => r.Address is null), r => Assert.Equal("vpn-simultaneous-logins 3 reached for user alice", r.Refusal));
        // Refused sessions hold no address: 3 in the pool.
        Assert.Equal(3, (await _cluster.Client.GetGrain<IAddressPoolGrain>("POOL-A").Leases()).Count);
        var holder = Array.FindIndex(results, r => r.Address is not null);
        await AddressLeasing.ReleaseAsync(book, new AddressRelease($"u{holder}", "alice", ["POOL-A", "POOL-B"]));
        Assert.NotNull((await AddressLeasing.LeaseAsync(book, Plan("u-next", "alice", logins: 3))).Address);
    }
}
