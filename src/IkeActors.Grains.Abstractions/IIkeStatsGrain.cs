namespace IkeActors.Grains;

/// <summary>The nodes' latest counters (one grain, key 0): `show crypto isakmp stats` sums them.</summary>
public interface IIkeStatsGrain : IGrainWithIntegerKey
{
    [Orleans.Concurrency.OneWay]
    Task Publish(string node, IkeNodeCounters counters);

    Task<IReadOnlyDictionary<string, IkeNodeCounters>> Nodes();
}
