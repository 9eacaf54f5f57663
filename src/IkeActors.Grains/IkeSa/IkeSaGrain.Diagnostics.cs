namespace IkeActors.Grains;

// For tests only (IGrainDiagnostics): which activation, on which silo; deactivate on request.
public sealed partial class IkeSaGrain
{
    public Task<Guid> GetActivationId() => Task.FromResult(_activation);

    public Task<string> GetSilo() => Task.FromResult(RuntimeIdentity);

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
