namespace IkeActors.Grains.Tests;

/// <summary>The test-only calls of an IKE SA grain (<see cref="IGrainDiagnostics"/>), reached through its own reference.</summary>
internal static class GrainDiagnostics
{
    public static IGrainDiagnostics Diagnostics(this IIkeSaGrain grain) => grain.AsReference<IGrainDiagnostics>();

    public static Task<Guid> GetActivationId(this IIkeSaGrain grain) => grain.Diagnostics().GetActivationId();

    public static Task<string> GetSilo(this IIkeSaGrain grain) => grain.Diagnostics().GetSilo();

    public static Task Deactivate(this IIkeSaGrain grain) => grain.Diagnostics().Deactivate();
}
