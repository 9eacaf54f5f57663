using Stateless;

namespace IkeActors.Negotiation;

/// <summary>
/// The Stateless machine of one exchange kind and role, configured once per thread and fired for any SA's state: an SA
/// keeps only its state, and Stateless decides each transition from the one configuration (<see cref="StateGraphs"/>).
/// Stateless builds a machine's configuration per instance (state representations, trigger behaviours); built for every
/// new IKE SA and Quick Mode that was about 5 % of a hub node's CPU per new tunnel, and a few KB of every SA's memory.
/// </summary>
/// <remarks>
/// Safe because the configurations have no entry, exit or guard actions: a Fire is synchronous and touches nothing but
/// the state handed in, so one machine serves every SA its thread runs. A trigger the state does not permit throws as
/// before and leaves the state as it was.
/// </remarks>
internal static class SharedStateMachine<TState, TTrigger> where TState : struct, Enum where TTrigger : struct, Enum
{
    [ThreadStatic] private static TState t_state;
    [ThreadStatic] private static StateMachine<TState, TTrigger>?[]? t_byRole;

    /// <summary>Fires <paramref name="trigger"/> on <paramref name="state"/>, the configuration being <paramref name="configure"/>'s for <paramref name="role"/>.</summary>
    public static void Fire(ref TState state, IkeRole role, TTrigger trigger, Action<StateMachine<TState, TTrigger>, IkeRole> configure)
    {
        var machines = t_byRole ??= new StateMachine<TState, TTrigger>?[2];
        var machine = machines[(int)role];
        if (machine is null)
        {
            machine = new StateMachine<TState, TTrigger>(() => t_state, s => t_state = s);
            configure(machine, role);
            machines[(int)role] = machine;
        }
        t_state = state;
        machine.Fire(trigger);
        state = t_state;
    }
}
