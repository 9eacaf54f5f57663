using Orleans.Concurrency;

namespace IkeActors.Grains;

/// <summary>
/// `debug crypto ikev1 N` for the whole cluster (one grain, key 0): every node's front-end
/// publishes the lines it sees; operator sessions subscribe with the level they asked for.
/// </summary>
public interface IDebugHubGrain : IGrainWithIntegerKey
{
    /// <summary>Subscribes (or renews: observers must renew within a minute) at a level of 1-255.</summary>
    Task Subscribe(IDebugObserver observer, int level);

    Task Unsubscribe(IDebugObserver observer);

    /// <summary>The highest level any session asked for (0 = nobody is listening).</summary>
    Task<int> GetLevel();

    [OneWay]
    Task Publish(IReadOnlyList<string> lines);
}
