namespace IkeActors.Grains;

/// <summary>
/// The backstop reminder's period (default 5 minutes). It must not be below the reminder service's
/// <c>ReminderOptions.MinimumReminderPeriod</c> (1 minute by default); tests lower both.
/// </summary>
public sealed class IkeSaBackstopOptions
{
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromMinutes(5);
    public TimeSpan Period { get; set; } = DefaultPeriod;
}
