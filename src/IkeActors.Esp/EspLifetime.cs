namespace IkeActors.Esp;

/// <summary>Where an SA stands against its kilobyte lifetime (RFC 4301 §4.4.2.1 "lifetime of this SA").</summary>
public enum EspLifetimeState
{
    Ok,
    /// <summary>Soft limit passed: time to rekey (the ASA rekeys at about 90 % of the volume).</summary>
    Soft,
    /// <summary>Hard limit passed: the SA carries no more traffic.</summary>
    Hard,
}

/// <summary>Kilobyte lifetime limits of one SA direction; 0 means no limit.</summary>
/// <param name="SoftKilobytes">raise <see cref="EspSa.SoftLifetimeReached"/> and report Soft from here on</param>
/// <param name="HardKilobytes">refuse traffic from here on</param>
public readonly record struct EspLifetime(long SoftKilobytes, long HardKilobytes)
{
    public static EspLifetime Unlimited => default;

    /// <summary>The ASA's way: hard = the configured <c>lifetime kilobytes</c>, soft at 90 % of it.</summary>
    public static EspLifetime FromAsaKilobytes(long kilobytes) => new(kilobytes * 9 / 10, kilobytes);
}
