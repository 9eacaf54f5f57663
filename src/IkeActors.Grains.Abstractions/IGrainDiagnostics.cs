namespace IkeActors.Grains;

/// <summary>
/// What tests ask a grain about its activation (reached with <c>AsReference&lt;IGrainDiagnostics&gt;()</c> on the grain's
/// own reference); no production code calls it.
/// </summary>
public interface IGrainDiagnostics : IGrainWithStringKey
{
    /// <summary>Identifies this activation (a reactivation after a silo loss gets a new one).</summary>
    Task<Guid> GetActivationId();

    /// <summary>The silo this activation lives on.</summary>
    Task<string> GetSilo();

    /// <summary>Lets the runtime deactivate the grain (its state stays in storage; the next message reactivates it).</summary>
    Task Deactivate();
}
