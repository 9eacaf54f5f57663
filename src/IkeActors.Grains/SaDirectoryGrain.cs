using IkeActors.Negotiation;

namespace IkeActors.Grains;

/// <summary>The directory of IKE SA grains (in memory: the SA grains register again at their next change of state).</summary>
public sealed class SaDirectoryGrain : Grain, ISaDirectoryGrain
{
    private readonly SortedDictionary<string, SaDirectoryEntry> _sas = new(StringComparer.Ordinal);
    private long _previous, _reported;

    public Task Set(string ikeSaKey, string state, bool initiator)
    {
        var order = _sas.TryGetValue(ikeSaKey, out var known) ? known.Order : ++_reported;
        _sas[ikeSaKey] = new SaDirectoryEntry(ikeSaKey, state, initiator, order);
        return Task.CompletedTask;
    }

    public Task Remove(string ikeSaKey)
    {
        if (_sas.Remove(ikeSaKey, out var last) && last.State == nameof(MainModeState.MM_ACTIVE)) _previous++;
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>(_sas.Keys.ToList());

    public Task<IReadOnlyList<SaDirectoryEntry>> ListPeer(string peerAddress)
    {
        // Keys are "peer/cookie": one peer's SAs are one run of the sorted keys.
        var prefix = peerAddress + "/";
        return Task.FromResult<IReadOnlyList<SaDirectoryEntry>>(_sas.Values.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(e => e.Order).ToList());
    }

    public Task<SaDirectorySummary> Summary()
    {
        var active = _sas.Values.Count(s => s.State == nameof(MainModeState.MM_ACTIVE));
        return Task.FromResult(new SaDirectorySummary(active, _sas.Count - active, _previous));
    }
}
