using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using IkeActors.Negotiation;

namespace IkeActors.Grains;

/// <summary>
/// The backstop: grain timers die with their silo, and nothing reactivates an IKE SA whose peer stays
/// quiet, so an established SA holds a reminder (minutes). Its tick only needs to activate the grain: activation
/// restores the snapshot and re-arms retransmission, DPD and the stored lifetime timers (a rekey point missed
/// while no silo held the SA fires at once). Silos without a reminder service (the embedded single node, most
/// tests) skip it.
/// </summary>
public sealed partial class IkeSaGrain
{
    private const string BackstopReminder = "ikesa-backstop";
    private TimeSpan BackstopPeriod => ServiceProvider.GetService<IOptions<IkeSaBackstopOptions>>()?.Value.Period ?? IkeSaBackstopOptions.DefaultPeriod;

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // The SA is gone (deleted while the reminder could not be dropped): the reminder goes too.
        if (reminderName == BackstopReminder && _sa is not { State: MainModeState.MM_ACTIVE })
        {
            _backstopRegistered = true;
            await UpdateBackstop();
        }
    }

    /// <summary>After a persisted step: an MM_ACTIVE SA holds the reminder, a deleted one drops it.</summary>
    private async Task UpdateBackstop()
    {
        if (_noReminderService) return;
        var active = _sa is { State: MainModeState.MM_ACTIVE };
        if (active == _backstopRegistered) return;
        // No reminder service on this silo: known without the exception each new SA would otherwise throw and catch.
        if (ServiceProvider.GetService<Orleans.Timers.IReminderRegistry>() is null)
        {
            _noReminderService = true;
            return;
        }
        try
        {
            if (active)
            {
                await this.RegisterOrUpdateReminder(BackstopReminder, BackstopPeriod, BackstopPeriod);
                _backstopRegistered = true;
            }
            else
            {
                if (await this.GetReminder(BackstopReminder) is { } reminder) await this.UnregisterReminder(reminder);
                _backstopRegistered = false;
            }
        }
        catch (Exception e) when (e is OrleansException or InvalidOperationException)
        {
            _noReminderService = true;
            logger.LogDebug("no reminder service on this silo: IKE SA {Key} has no backstop ({Reason})", this.GetPrimaryKeyString(), e.Message);
        }
    }
}
