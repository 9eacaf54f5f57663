using System.Collections.Concurrent;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// Grain state of a single embedded silo, kept in this process. Orleans' memory storage keeps state in storage grains:
/// every write of every SA is a grain call (measured: about a seventh of a node's CPU per tunnel at a few hundred
/// tunnels a second). A single node needs no such hop: a dictionary holds a deep copy of each written state (the grain
/// goes on changing its own object), with the ETag check the storage contract asks for. A cluster uses Redis instead.
/// </summary>
public sealed class NodeMemoryGrainStorage(DeepCopier copier) : IGrainStorage
{
    private readonly ConcurrentDictionary<(string State, GrainId Grain), (object State, string ETag)> _states = new();
    private long _version;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_states.TryGetValue((stateName, grainId), out var stored))
        {
            grainState.State = copier.Copy((T)stored.State);
            grainState.ETag = stored.ETag;
            grainState.RecordExists = true;
        }
        else
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        var etag = Interlocked.Increment(ref _version).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var copy = copier.Copy(grainState.State)!;
        // One activation per grain writes its own state, so the check and the write need no lock of their own beyond the
        // dictionary's: a stale ETag means another activation wrote in between (the storage contract's conflict).
        var current = _states.TryGetValue(key, out var stored) ? stored.ETag : null;
        if (current != grainState.ETag)
            throw new InconsistentStateException($"ETag mismatch writing {stateName} of {grainId}", current, grainState.ETag);
        _states[key] = (copy, etag);
        grainState.ETag = etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        var current = _states.TryGetValue(key, out var stored) ? stored.ETag : null;
        if (current is not null && current != grainState.ETag)
            throw new InconsistentStateException($"ETag mismatch clearing {stateName} of {grainId}", current, grainState.ETag);
        _states.TryRemove(key, out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
        return Task.CompletedTask;
    }

    /// <summary>States held (for `show` and tests).</summary>
    public int Count => _states.Count;
}
