using IkeActors.Negotiation;
using IkeActors.Negotiation.Show;

namespace IkeActors.Grains;

public sealed partial class IkeSaGrain : IIkeSaReport
{
    private DateTime? _lastInstall;
    private DateTime? _phase1At;

    public Task<string?> ShowIsakmpDetail(int number) =>
        Task.FromResult(_sa is null || _sa.State == MainModeState.MM_DELETED ? null
            : ShowCommands.IsakmpEntryDetail(number, _sa, DateTime.UtcNow - (_phase1At ?? DateTime.UtcNow)));

    public Task<string?> ShowVpnSessionDetail(int index)
    {
        if (_sa is null || _sa.State != MainModeState.MM_ACTIVE) return Task.FromResult<string?>(null);
        var now = DateTime.UtcNow;
        return Task.FromResult<string?>(ShowCommands.VpnSessionDetail(index, _sa, _phase1At ?? now, now - (_lastInstall ?? now), now, DataPlaneCounters()));
    }

    public Task<string?> ShowVpnSession(int index)
    {
        if (_sa is null || _sa.State != MainModeState.MM_ACTIVE) return Task.FromResult<string?>(null);
        var now = DateTime.UtcNow;
        return Task.FromResult<string?>(ShowCommands.VpnSessionSummary(index, _sa, _phase1At ?? now, now, DataPlaneCounters()));
    }

    /// <summary>The counters of this silo's data plane by SA pair (null on a node without one: the views show zeros).</summary>
    private Func<IpsecSaPair, ShowCommands.EspCounters>? DataPlaneCounters()
    {
        var readings = (ServiceProvider.GetService(typeof(Telemetry.IEspCounterSource)) as Telemetry.IEspCounterSource)?.Read()
            .ToDictionary(r => r.InboundSpi);
        return readings is null ? null : p => readings.TryGetValue(p.Inbound.Spi, out var r)
            ? new ShowCommands.EspCounters(r.PacketsOut, r.PacketsIn, r.SendErrors, r.ReceiveErrors, r.BytesIn / 1024, r.BytesOut / 1024, r.ReplayBitmap, r.BytesIn, r.BytesOut)
            : new ShowCommands.EspCounters(0, 0);
    }

    public Task<string> GetSilo() => Task.FromResult(RuntimeIdentity);

    public Task<string?> ShowIsakmpEntry(int number) =>
        Task.FromResult(_sa is null || _sa.State == MainModeState.MM_DELETED ? null : ShowCommands.IsakmpEntry(number, _sa));

    public Task<string> ShowIpsecSa()
    {
        if (_sa is null || _sa.IpsecSas.Count == 0) return Task.FromResult("");
        var elapsed = DateTime.UtcNow - (_lastInstall ?? DateTime.UtcNow);
        // The counters are the data plane's of this silo (a node without one shows zeros).
        return Task.FromResult(ShowCommands.CryptoIpsecSa(gateway.Config, gateway.Local.Address, [_sa], elapsed, DataPlaneCounters()));
    }
}

/// <summary>The directory of IKE SA grains (in memory: the SA grains register again at their next change of state).</summary>
public sealed class SaDirectoryGrain : Grain, ISaDirectoryGrain
{
    private readonly SortedDictionary<string, string> _sas = new(StringComparer.Ordinal);
    private long _previous;

    public Task Set(string ikeSaKey, string state)
    {
        _sas[ikeSaKey] = state;
        return Task.CompletedTask;
    }

    public Task Remove(string ikeSaKey)
    {
        if (_sas.Remove(ikeSaKey, out var last) && last == nameof(MainModeState.MM_ACTIVE)) _previous++;
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>(_sas.Keys.ToList());

    public Task<SaDirectorySummary> Summary()
    {
        var active = _sas.Values.Count(s => s == nameof(MainModeState.MM_ACTIVE));
        return Task.FromResult(new SaDirectorySummary(active, _sas.Count - active, _previous));
    }
}

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
