using IkeActors.Negotiation;
using IkeActors.Negotiation.Show;

namespace IkeActors.Grains;

public sealed partial class IkeSaGrain
{
    public Task<string?> ShowIsakmpDetail(int number) =>
        Task.FromResult(_sa is null || _sa.State == MainModeState.MM_DELETED ? null
            : ShowCommands.IsakmpEntryDetail(number, _sa, DateTime.UtcNow - (_phase1At ?? DateTime.UtcNow)));

    public async Task<string?> ShowVpnSessionDetail(int index)
    {
        if (_sa is null || _sa.State != MainModeState.MM_ACTIVE || ShowCommands.IsRemoteAccess(_sa)) return null;
        // In a cluster with a data plane: which node carries this peer's traffic (docs/cluster.md).
        var carrier = ServiceProvider.GetService(typeof(ICarrierDirectory)) is ICarrierDirectory directory
            ? await directory.CarrierOf(_sa.Peer.Address.ToString()) ?? "none"
            : null;
        if (_sa is null || _sa.State != MainModeState.MM_ACTIVE) return null; // deleted while the record was read
        var now = DateTime.UtcNow;
        return ShowCommands.VpnSessionDetail(index, _sa, _phase1At ?? now, now - (_lastInstall ?? now), now, DataPlaneCounters(), carrier);
    }

    public Task<string?> ShowVpnSessionRemote(int index, bool detailed)
    {
        if (_sa is null || _sa.State != MainModeState.MM_ACTIVE || !ShowCommands.IsRemoteAccess(_sa)) return Task.FromResult<string?>(null);
        var now = DateTime.UtcNow;
        return Task.FromResult<string?>(ShowCommands.VpnSessionRemote(index, _sa, _phase1At ?? now, now, detailed, DataPlaneCounters()));
    }

    public Task<string?> ShowVpnSession(int index)
    {
        if (_sa is null || _sa.State != MainModeState.MM_ACTIVE || ShowCommands.IsRemoteAccess(_sa)) return Task.FromResult<string?>(null);
        var now = DateTime.UtcNow;
        return Task.FromResult<string?>(ShowCommands.VpnSessionSummary(index, _sa, _phase1At ?? now, now, DataPlaneCounters()));
    }

    /// <summary>The counters of this silo's data plane by SA pair (null on a node without one: the views show zeros).</summary>
    private Func<IpsecSaPair, ShowCommands.EspCounters>? DataPlaneCounters()
    {
        var readings = (ServiceProvider.GetService(typeof(Telemetry.IEspCounterSource)) as Telemetry.IEspCounterSource)?.Read()
            .ToDictionary(r => r.InboundSpi);
        return readings is null ? null : p => readings.TryGetValue(p.Inbound.Spi, out var r)
            ? new ShowCommands.EspCounters(r.PacketsOut, r.PacketsIn, r.SendErrors, r.ReceiveErrors, r.BytesIn / 1024, r.BytesOut / 1024, r.ReplayBitmap, r.BytesIn, r.BytesOut,
                r.Fragmentation.PreFragSuccesses, r.Fragmentation.PreFragFailures, r.Fragmentation.FragmentsCreated, r.Fragmentation.PmtusSent)
            : new ShowCommands.EspCounters(0, 0);
    }

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
