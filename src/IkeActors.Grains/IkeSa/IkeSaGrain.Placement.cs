using IkeActors.Negotiation;
using Orleans.Runtime.Placement;

namespace IkeActors.Grains;

public sealed partial class IkeSaGrain
{
    public async Task CarriedBy(SiloAddress carrier)
    {
        if (_sa is null || _sa.State == MainModeState.MM_DELETED)
        {
            DeactivateOnIdle(); // woken by this call from storage that holds no SA
            return;
        }
        if (carrier.Equals(GrainContext.Address.SiloAddress)) return; // here already (the usual case when a pair is installed)
        _reportedEntry = null; // the directory hears of this SA again, whatever it was told before
        ReportState(_sa.State.ToString());
        // Orleans' live migration to the carrier's silo carries the persistent state in memory: a fresh snapshot
        // first (the one read at activation was zeroed once restored), written as every change is.
        if (_sa.CanSnapshot) await WriteSnapshot();
        RequestContext.Set(IPlacementDirector.PlacementHintKey, carrier);
        MigrateOnIdle();
    }

    public Task<SaDirectoryUpdate?> Reannounce()
    {
        if (_sa is null)
        {
            DeactivateOnIdle(); // woken by this call: nothing to report
            return Task.FromResult<SaDirectoryUpdate?>(null);
        }
        _reportedEntry = null;
        // Returned, not sent from here: waiting for a partition that is coming back on a survivor would keep this grain
        // from its peer's datagrams (a DPD R-U-THERE unanswered for seconds) while the repair waits for the directory.
        return Task.FromResult(PrepareReport(_sa.State.ToString()) is ({ } update, false) ? update : null);
    }
}
