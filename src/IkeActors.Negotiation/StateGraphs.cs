using Stateless;
using Stateless.Graph;
using Stateless.Reflection;

namespace IkeActors.Negotiation;

/// <summary>The Stateless configurations of the exchanges, shared by the live machines and the exported diagrams.</summary>
public static class StateGraphs
{
    /// <summary>
    /// Main Mode (RFC 2409 §5) for one role: the initiator waits for the even messages (MM_WAIT_MSG2,
    /// 4, 6), the responder for the odd ones (MM_WAIT_MSG3, 5), grouped under the ASA's phases.
    /// Only the role's own states are configured, so each exported diagram shows one side.
    /// </summary>
    public static void ConfigureMainMode(StateMachine<MainModeState, MainModeTrigger> m, IkeRole role)
    {
        m.Configure(MainModeState.MM_NO_STATE).Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED);
        m.Configure(MainModeState.MM_SA_SETUP).Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED).Permit(MainModeTrigger.Delete, MainModeState.MM_DELETED);
        m.Configure(MainModeState.MM_KEY_EXCH).Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED).Permit(MainModeTrigger.Delete, MainModeState.MM_DELETED);
        if (role == IkeRole.Initiator)
        {
            m.Configure(MainModeState.MM_NO_STATE).Permit(MainModeTrigger.Acquire, MainModeState.MM_WAIT_MSG2);
            m.Configure(MainModeState.MM_KEY_AUTH).Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED).Permit(MainModeTrigger.Delete, MainModeState.MM_DELETED);
            m.Configure(MainModeState.MM_WAIT_MSG2).SubstateOf(MainModeState.MM_SA_SETUP)
                .Permit(MainModeTrigger.ReceivedMm2, MainModeState.MM_WAIT_MSG4).PermitReentry(MainModeTrigger.Retransmit);
            m.Configure(MainModeState.MM_WAIT_MSG4).SubstateOf(MainModeState.MM_KEY_EXCH)
                .Permit(MainModeTrigger.ReceivedMm4, MainModeState.MM_WAIT_MSG6).PermitReentry(MainModeTrigger.Retransmit);
            m.Configure(MainModeState.MM_WAIT_MSG6).SubstateOf(MainModeState.MM_KEY_AUTH)
                .Permit(MainModeTrigger.ReceivedMm6, MainModeState.MM_ACTIVE).PermitReentry(MainModeTrigger.Retransmit);
            // Aggressive Mode (RFC 2409 §5.4): AM2 authenticates the responder, the initiator sends AM3 and is done.
            m.Configure(MainModeState.MM_NO_STATE).Permit(MainModeTrigger.AcquireAggressive, MainModeState.AM_WAIT_MSG2);
            m.Configure(MainModeState.AM_WAIT_MSG2)
                .Permit(MainModeTrigger.ReceivedAm2, MainModeState.MM_ACTIVE).PermitReentry(MainModeTrigger.Retransmit)
                .Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED).Permit(MainModeTrigger.Delete, MainModeState.MM_DELETED);
        }
        else
        {
            m.Configure(MainModeState.MM_NO_STATE).Permit(MainModeTrigger.ReceivedMm1, MainModeState.MM_WAIT_MSG3);
            m.Configure(MainModeState.MM_WAIT_MSG3).SubstateOf(MainModeState.MM_SA_SETUP)
                .Permit(MainModeTrigger.ReceivedMm3, MainModeState.MM_WAIT_MSG5).PermitReentry(MainModeTrigger.Retransmit);
            // MM5 authenticates the initiator; the responder sends MM6 and is done (no wait in MM_KEY_AUTH).
            m.Configure(MainModeState.MM_WAIT_MSG5).SubstateOf(MainModeState.MM_KEY_EXCH)
                .Permit(MainModeTrigger.ReceivedMm5, MainModeState.MM_ACTIVE).PermitReentry(MainModeTrigger.Retransmit);
            // Aggressive Mode: AM1 answered with AM2; AM3's HASH_I authenticates the initiator.
            m.Configure(MainModeState.MM_NO_STATE).Permit(MainModeTrigger.ReceivedAm1, MainModeState.AM_WAIT_MSG3);
            m.Configure(MainModeState.AM_WAIT_MSG3)
                .Permit(MainModeTrigger.ReceivedAm3, MainModeState.MM_ACTIVE).PermitReentry(MainModeTrigger.Retransmit)
                .Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED).Permit(MainModeTrigger.Delete, MainModeState.MM_DELETED);
        }
        m.Configure(MainModeState.MM_ACTIVE)
            .Permit(MainModeTrigger.Delete, MainModeState.MM_DELETED)
            .Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED);
        m.Configure(MainModeState.MM_DELETED);
    }

    /// <summary>Quick Mode (RFC 2409 §5.5) for one role: the initiator waits for QM2, the responder for QM3.</summary>
    public static void ConfigureQuickMode(StateMachine<QuickModeState, QuickModeTrigger> m, IkeRole role)
    {
        var (start, wait, received) = role == IkeRole.Initiator
            ? (QuickModeTrigger.Start, QuickModeState.QM_WAIT_MSG2, QuickModeTrigger.ReceivedQm2)
            : (QuickModeTrigger.ReceivedQm1, QuickModeState.QM_WAIT_MSG3, QuickModeTrigger.ReceivedQm3);
        m.Configure(QuickModeState.QM_IDLE)
            .Permit(start, wait)
            .Permit(QuickModeTrigger.Fail, QuickModeState.QM_DELETED);
        m.Configure(wait)
            .Permit(received, QuickModeState.QM_ACTIVE)
            .PermitReentry(QuickModeTrigger.Retransmit)
            .Permit(QuickModeTrigger.Fail, QuickModeState.QM_DELETED)
            .Permit(QuickModeTrigger.Delete, QuickModeState.QM_DELETED);
        m.Configure(QuickModeState.QM_ACTIVE)
            .Permit(QuickModeTrigger.Delete, QuickModeState.QM_DELETED);
        m.Configure(QuickModeState.QM_DELETED);
    }

    /// <summary>
    /// Whether the Main Mode configuration of <paramref name="role"/> permits <paramref name="trigger"/> in
    /// <paramref name="state"/>: which message a state waits for is read from the machine's configuration, once per
    /// role (Stateless' CanFire would build the answer again for every datagram).
    /// </summary>
    public static bool Permits(IkeRole role, MainModeState state, MainModeTrigger trigger) => MainModePermitted[(int)role][(int)state].Contains(trigger);

    /// <summary>The same for Quick Mode (<see cref="ConfigureQuickMode"/>).</summary>
    public static bool Permits(IkeRole role, QuickModeState state, QuickModeTrigger trigger) => QuickModePermitted[(int)role][(int)state].Contains(trigger);

    private static readonly HashSet<MainModeTrigger>[][] MainModePermitted = [PermittedMainMode(IkeRole.Initiator), PermittedMainMode(IkeRole.Responder)];
    private static readonly HashSet<QuickModeTrigger>[][] QuickModePermitted = [PermittedQuickMode(IkeRole.Initiator), PermittedQuickMode(IkeRole.Responder)];

    private static HashSet<MainModeTrigger>[] PermittedMainMode(IkeRole role)
    {
        var state = MainModeState.MM_NO_STATE;
        var m = new StateMachine<MainModeState, MainModeTrigger>(() => state, s => state = s);
        ConfigureMainMode(m, role);
        return Permitted<MainModeState, MainModeTrigger>(m.GetInfo());
    }

    private static HashSet<QuickModeTrigger>[] PermittedQuickMode(IkeRole role)
    {
        var state = QuickModeState.QM_IDLE;
        var m = new StateMachine<QuickModeState, QuickModeTrigger>(() => state, s => state = s);
        ConfigureQuickMode(m, role);
        return Permitted<QuickModeState, QuickModeTrigger>(m.GetInfo());
    }

    /// <summary>Each state's triggers (its own transitions and its superstates'), indexed by the state's value.</summary>
    private static HashSet<TTrigger>[] Permitted<TState, TTrigger>(StateMachineInfo info) where TState : struct, Enum
    {
        var table = Enum.GetValues<TState>().Select(_ => new HashSet<TTrigger>()).ToArray();
        foreach (var s in info.States)
            for (var at = s; at is not null; at = at.Superstate)
                foreach (var t in at.FixedTransitions) table[Convert.ToInt32(s.UnderlyingState)].Add((TTrigger)t.Trigger.UnderlyingTrigger);
        return table;
    }

    /// <summary>Main Mode as a Mermaid state diagram (for the docs).</summary>
    public static string MainModeMermaid(IkeRole role)
    {
        var state = MainModeState.MM_NO_STATE;
        var m = new StateMachine<MainModeState, MainModeTrigger>(() => state, s => state = s);
        ConfigureMainMode(m, role);
        return MermaidGraph.Format(m.GetInfo());
    }

    /// <summary>Quick Mode as a Mermaid state diagram (for the docs).</summary>
    public static string QuickModeMermaid(IkeRole role)
    {
        var state = QuickModeState.QM_IDLE;
        var m = new StateMachine<QuickModeState, QuickModeTrigger>(() => state, s => state = s);
        ConfigureQuickMode(m, role);
        return MermaidGraph.Format(m.GetInfo());
    }
}
