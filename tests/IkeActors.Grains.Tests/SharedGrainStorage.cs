using System.Collections.Concurrent;
using System.Text.Json;
using Orleans.Storage;

namespace IkeActors.Grains.Tests;

/// <summary>
/// Grain storage both silos share, copying state through JSON like a real store would (an
/// activation never holds the stored object itself), so state outlives any one silo.
/// </summary>
public sealed class SharedGrainStorage : IGrainStorage
{
    private readonly ConcurrentDictionary<string, (byte[] Json, string ETag)> _data = new();

    public int Writes;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_data.TryGetValue(stateName + "/" + grainId, out var entry))
        {
            grainState.State = JsonSerializer.Deserialize<T>(entry.Json)!;
            grainState.ETag = entry.ETag;
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var etag = Guid.NewGuid().ToString("N");
        _data[stateName + "/" + grainId] = (JsonSerializer.SerializeToUtf8Bytes(grainState.State), etag);
        grainState.ETag = etag;
        grainState.RecordExists = true;
        Interlocked.Increment(ref Writes);
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _data.TryRemove(stateName + "/" + grainId, out _);
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    public bool Contains(string text) => _data.Values.Any(v => System.Text.Encoding.UTF8.GetString(v.Json).Contains(text, StringComparison.Ordinal));
}
