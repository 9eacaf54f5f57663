using IkeActors.Grains;
using Orleans.Utilities;

namespace IkeActors.Gateway.Hosting;

/// <summary>Fans debug lines out to operator sessions (Orleans observers that expire unless renewed).</summary>
public sealed class DebugHubGrain : Grain, IDebugHubGrain
{
    private readonly ObserverManager<IDebugObserver> _observers;
    private readonly Dictionary<IDebugObserver, int> _levels = new();

    public DebugHubGrain(Microsoft.Extensions.Logging.ILogger<DebugHubGrain> logger) =>
        _observers = new ObserverManager<IDebugObserver>(TimeSpan.FromMinutes(1), logger);

    public Task Subscribe(IDebugObserver observer, int level)
    {
        _observers.Subscribe(observer, observer);
        _levels[observer] = Math.Clamp(level, 1, 255);
        return Task.CompletedTask;
    }

    public Task Unsubscribe(IDebugObserver observer)
    {
        _observers.Unsubscribe(observer);
        _levels.Remove(observer);
        return Task.CompletedTask;
    }

    public Task<int> GetLevel()
    {
        _observers.ClearExpired();
        foreach (var gone in _levels.Keys.Where(o => !_observers.Observers.ContainsKey(o)).ToList()) _levels.Remove(gone);
        return Task.FromResult(_levels.Count == 0 ? 0 : _levels.Values.Max());
    }

    public Task Publish(IReadOnlyList<string> lines)
    {
        if (lines.Count > 0) _observers.Notify(o => o.OnLines(lines));
        return Task.CompletedTask;
    }
}
