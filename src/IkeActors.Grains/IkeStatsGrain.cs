namespace IkeActors.Grains;

/// <summary>The nodes' latest IKE counters (in memory: each node publishes again every few seconds).</summary>
public sealed class IkeStatsGrain : Grain, IIkeStatsGrain
{
    private readonly Dictionary<string, IkeNodeCounters> _nodes = new(StringComparer.Ordinal);

    public Task Publish(string node, IkeNodeCounters counters)
    {
        _nodes[node] = counters;
        return Task.CompletedTask;
    }

    public Task<IReadOnlyDictionary<string, IkeNodeCounters>> Nodes() =>
        Task.FromResult<IReadOnlyDictionary<string, IkeNodeCounters>>(new Dictionary<string, IkeNodeCounters>(_nodes));
}
