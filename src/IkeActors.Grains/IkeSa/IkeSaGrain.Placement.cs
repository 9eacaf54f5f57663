using IkeActors.Negotiation;
using Orleans.Runtime.Placement;

namespace IkeActors.Grains;

public sealed partial class IkeSaGrain
{
    public Task CarriedBy(SiloAddress carrier)
    {
        if (_sa is null || _sa.State == MainModeState.MM_DELETED)
        {
            DeactivateOnIdle(); // woken by this call from storage that holds no SA
            return Task.CompletedTask;
        }
        _reportedEntry = null; // the directory hears of this SA again, whatever it was told before
        ReportState(_sa.State.ToString());
        if (!carrier.Equals(GrainContext.Address.SiloAddress))
        {
            // Orleans' live migration (its state goes with it) to the carrier's silo.
            RequestContext.Set(IPlacementDirector.PlacementHintKey, carrier);
            MigrateOnIdle();
        }
        return Task.CompletedTask;
    }

    public Task Reannounce()
    {
        if (_sa is null) DeactivateOnIdle(); // woken by this call: nothing to report
        else
        {
            _reportedEntry = null;
            ReportState(_sa.State.ToString());
        }
        return Task.CompletedTask;
    }
}
