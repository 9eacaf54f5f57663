using System.Diagnostics;
using IkeActors.Grains.Telemetry;
using OpenTelemetry.Trace;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// Which spans start a trace on a node: negotiations (the key acquire, the MM1 that creates an IKE SA) and operator
/// commands do; the node's upkeep does not. Upkeep is a grain call made inside <see cref="UntracedCalls.Begin"/> (the
/// front-end's rounds and routing of known SAs, the data plane's accounting) or one of <see cref="UpkeepCalls"/>, the
/// bookkeeping the grains do for themselves. Such a call, made as a root, is dropped with everything under it (its
/// context still travels, unsampled, so the grain side drops it too). Below a root the parent decides, except that a
/// negotiation span is always kept: an IKE SA's phase spans never disappear with the call that happened to carry them.
/// </summary>
public sealed class TraceRootSampler : Sampler
{
    /// <summary>Orleans names a grain call's span INTERFACE/METHOD.</summary>
    public static readonly IReadOnlySet<string> UpkeepCalls = new HashSet<string>(StringComparer.Ordinal)
    {
        "IDebugHubGrain/GetLevel", "IDebugHubGrain/Publish",
        "IIkeStatsGrain/Publish",
        "ISaDirectoryGrain/Set", "ISaDirectoryGrain/Remove", // from each IKE SA grain to its peer's directory partition
    };

    private static readonly SamplingResult Keep = new(SamplingDecision.RecordAndSample);
    private static readonly SamplingResult Drop = new(SamplingDecision.Drop);

    public TraceRootSampler() => Description = nameof(TraceRootSampler);

    public override SamplingResult ShouldSample(in SamplingParameters parameters)
    {
        var parent = parameters.ParentContext;
        if (parent.TraceId != default)
            return (parent.TraceFlags & ActivityTraceFlags.Recorded) != 0 || IsNegotiationSpan(parameters.Name) ? Keep : Drop;
        return UntracedCalls.Active || UpkeepCalls.Contains(parameters.Name) ? Drop : Keep;
    }

    private static bool IsNegotiationSpan(string name) =>
        name is NegotiationTelemetry.MainModeSpan or NegotiationTelemetry.QuickModeSpan or NegotiationTelemetry.InformationalSpan;
}

/// <summary>
/// Grain calls this node makes for its own upkeep: inside <see cref="Begin"/> they start no trace
/// (<see cref="TraceRootSampler"/>). The scope flows with the async calls started inside it.
/// </summary>
public static class UntracedCalls
{
    private static readonly AsyncLocal<bool> Inside = new();

    public static bool Active => Inside.Value;

    public static Scope Begin()
    {
        var outer = Inside.Value;
        Inside.Value = true;
        return new Scope(outer);
    }

    /// <summary>Restores the state before <see cref="Begin"/>; the default value changes nothing.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly bool? _outer;

        internal Scope(bool outer) => _outer = outer;

        public void Dispose()
        {
            if (_outer is { } outer) Inside.Value = outer;
        }
    }
}
