using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Placement;

namespace IkeActors.Grains.Tests;

/// <summary>
/// A test cluster's default placement: a new activation goes to a silo other than the one asking for it
/// (the silo of the caller, or of the client's gateway) and other than the silos in <see cref="Avoid"/>,
/// so "the front-end on silo A, the grain on silo B" is a fact of the test rather than luck. When no such
/// silo is left it falls back to any other silo, then to the caller's.
/// </summary>
[GenerateSerializer]
public sealed class AwayFromCallerPlacement : PlacementStrategy
{
    /// <summary>Silos new activations keep off (e.g. the primary, which a test cannot kill). Shared by every silo of a test cluster.</summary>
    public sealed class Rules
    {
        private readonly Lock _lock = new();
        private readonly HashSet<SiloAddress> _avoid = new();

        public void Avoid(SiloAddress silo) { lock (_lock) _avoid.Add(silo); }
        public bool Avoids(SiloAddress silo) { lock (_lock) return _avoid.Contains(silo); }
    }

    public static void AddTo(IServiceCollection services, Rules rules)
    {
        services.AddSingleton(rules);
        services.AddSingleton<PlacementStrategy, AwayFromCallerPlacement>();
        services.AddPlacementDirector<AwayFromCallerPlacement, Director>();
    }

    private sealed class Director(Rules rules) : IPlacementDirector
    {
        public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
        {
            var others = context.GetCompatibleSilos(target).Where(s => !s.Equals(context.LocalSilo)).OrderBy(s => s.ToString()).ToList();
            var pick = others.FirstOrDefault(s => !rules.Avoids(s)) ?? others.FirstOrDefault() ?? context.LocalSilo;
            return Task.FromResult(pick);
        }
    }
}

/// <summary>Which silo of an in-process cluster a grain's <c>RuntimeIdentity</c> names.</summary>
internal static class SiloNames
{
    public static bool Names(this Orleans.TestingHost.InProcessSiloHandle silo, string runtimeIdentity) =>
        runtimeIdentity.Contains(silo.SiloAddress.ToString(), StringComparison.Ordinal)
        || silo.SiloAddress.ToString().Contains(runtimeIdentity, StringComparison.Ordinal);
}
