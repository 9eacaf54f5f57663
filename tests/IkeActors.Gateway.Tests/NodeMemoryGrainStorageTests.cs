using IkeActors.Gateway.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using Xunit;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// The single node's grain storage keeps the storage contract Orleans' providers keep: a read gives what was last written
/// (a copy, not the grain's live object), a write or clear with a stale ETag is refused, a cleared state reads as absent.
/// </summary>
public sealed class NodeMemoryGrainStorageTests
{
    [GenerateSerializer]
    public sealed class Counter
    {
        [Id(0)] public int Value { get; set; }
        [Id(1)] public List<string> Names { get; set; } = [];
    }

    private sealed class Stored<T> : IGrainState<T> where T : new()
    {
        [System.Diagnostics.CodeAnalysis.AllowNull]
        public T State { get; set; } = new();
        public string? ETag { get; set; }
        public bool RecordExists { get; set; }
    }

    private static readonly GrainId Grain = GrainId.Create("ikesa", "10.0.0.1/0011223344556677");

    private static NodeMemoryGrainStorage Storage()
    {
        var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        return new NodeMemoryGrainStorage(services.GetRequiredService<DeepCopier>());
    }

    [Fact]
    public async Task A_read_gives_the_last_write_as_a_copy_the_writer_can_no_longer_change()
    {
        var storage = Storage();
        var written = new Stored<Counter> { State = { Value = 7, Names = ["MM_ACTIVE"] } };
        await storage.WriteStateAsync("ikesa", Grain, written);
        written.State.Value = 8;
        written.State.Names.Add("changed after the write");

        var read = new Stored<Counter>();
        await storage.ReadStateAsync("ikesa", Grain, read);
        Assert.True(read.RecordExists);
        Assert.Equal(7, read.State.Value);
        Assert.Equal(["MM_ACTIVE"], read.State.Names);
        Assert.Equal(written.ETag, read.ETag);
    }

    [Fact]
    public async Task A_state_never_written_reads_as_absent()
    {
        var read = new Stored<Counter>();
        await Storage().ReadStateAsync("ikesa", Grain, read);
        Assert.False(read.RecordExists);
        Assert.Null(read.ETag);
    }

    [Fact]
    public async Task A_write_with_a_stale_ETag_is_refused_and_the_stored_state_stays()
    {
        var storage = Storage();
        var first = new Stored<Counter> { State = { Value = 1 } };
        await storage.WriteStateAsync("ikesa", Grain, first);
        var stale = new Stored<Counter> { State = { Value = 2 }, ETag = null }; // an activation that never read
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("ikesa", Grain, stale));
        var read = new Stored<Counter>();
        await storage.ReadStateAsync("ikesa", Grain, read);
        Assert.Equal(1, read.State.Value);
    }

    [Fact]
    public async Task A_cleared_state_reads_as_absent_and_a_stale_clear_is_refused()
    {
        var storage = Storage();
        var state = new Stored<Counter> { State = { Value = 3 } };
        await storage.WriteStateAsync("ikesa", Grain, state);
        var stale = new Stored<Counter> { ETag = "not the stored one" };
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("ikesa", Grain, stale));
        await storage.ClearStateAsync("ikesa", Grain, state);
        Assert.False(state.RecordExists);
        var read = new Stored<Counter>();
        await storage.ReadStateAsync("ikesa", Grain, read);
        Assert.False(read.RecordExists);
        Assert.Equal(0, storage.Count);
    }

    [Fact]
    public async Task Two_grains_and_two_state_names_are_kept_apart()
    {
        var storage = Storage();
        var other = GrainId.Create("ikesa", "10.0.0.2/0011223344556677");
        await storage.WriteStateAsync("ikesa", Grain, new Stored<Counter> { State = { Value = 1 } });
        await storage.WriteStateAsync("ikesa", other, new Stored<Counter> { State = { Value = 2 } });
        await storage.WriteStateAsync("tunnel", Grain, new Stored<Counter> { State = { Value = 3 } });
        foreach (var (name, grain, value) in new[] { ("ikesa", Grain, 1), ("ikesa", other, 2), ("tunnel", Grain, 3) })
        {
            var read = new Stored<Counter>();
            await storage.ReadStateAsync(name, grain, read);
            Assert.Equal(value, read.State.Value);
        }
    }
}
