using Stateless;
using Stateless.Graph;

namespace IkeActors.Negotiation;

/// <summary>The Stateless configurations of the exchanges, shared by the live machines and the exported diagrams.</summary>
public static class StateGraphs
{
    public static void ConfigureMainMode(StateMachine<MainModeState, MainModeTrigger> m, IkeRole role)
    {
        m.Configure(MainModeState.MM_NO_STATE)
            .PermitIf(MainModeTrigger.Acquire, MainModeState.MM_WAIT_MSG2, () => role == IkeRole.Initiator)
            .PermitIf(MainModeTrigger.ReceivedMm1, MainModeState.MM_WAIT_MSG3, () => role == IkeRole.Responder)
            .Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED);
        m.Configure(MainModeState.MM_SA_SETUP).Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED).Permit(MainModeTrigger.Delete, MainModeState.MM_DELETED);
        m.Configure(MainModeState.MM_KEY_EXCH).Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED).Permit(MainModeTrigger.Delete, MainModeState.MM_DELETED);
        m.Configure(MainModeState.MM_KEY_AUTH).Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED).Permit(MainModeTrigger.Delete, MainModeState.MM_DELETED);
        m.Configure(MainModeState.MM_WAIT_MSG2).SubstateOf(MainModeState.MM_SA_SETUP)
            .Permit(MainModeTrigger.ReceivedMm2, MainModeState.MM_WAIT_MSG4).PermitReentry(MainModeTrigger.Retransmit);
        m.Configure(MainModeState.MM_WAIT_MSG3).SubstateOf(MainModeState.MM_SA_SETUP)
            .Permit(MainModeTrigger.ReceivedMm3, MainModeState.MM_WAIT_MSG5).PermitReentry(MainModeTrigger.Retransmit);
        m.Configure(MainModeState.MM_WAIT_MSG4).SubstateOf(MainModeState.MM_KEY_EXCH)
            .Permit(MainModeTrigger.ReceivedMm4, MainModeState.MM_WAIT_MSG6).PermitReentry(MainModeTrigger.Retransmit);
        m.Configure(MainModeState.MM_WAIT_MSG5).SubstateOf(MainModeState.MM_KEY_EXCH)
            .Permit(MainModeTrigger.ReceivedMm5, MainModeState.MM_ACTIVE).PermitReentry(MainModeTrigger.Retransmit);
        m.Configure(MainModeState.MM_WAIT_MSG6).SubstateOf(MainModeState.MM_KEY_AUTH)
            .Permit(MainModeTrigger.ReceivedMm6, MainModeState.MM_ACTIVE).PermitReentry(MainModeTrigger.Retransmit);
        m.Configure(MainModeState.MM_ACTIVE)
            .Permit(MainModeTrigger.Delete, MainModeState.MM_DELETED)
            .Permit(MainModeTrigger.Fail, MainModeState.MM_DELETED);
        m.Configure(MainModeState.MM_DELETED);
    }

    public static void ConfigureQuickMode(StateMachine<QuickModeState, QuickModeTrigger> m, IkeRole role)
    {
        m.Configure(QuickModeState.QM_IDLE)
            .PermitIf(QuickModeTrigger.Start, QuickModeState.QM_WAIT_MSG2, () => role == IkeRole.Initiator)
            .PermitIf(QuickModeTrigger.ReceivedQm1, QuickModeState.QM_WAIT_MSG3, () => role == IkeRole.Responder)
            .Permit(QuickModeTrigger.Fail, QuickModeState.QM_DELETED);
        m.Configure(QuickModeState.QM_WAIT_MSG2)
            .Permit(QuickModeTrigger.ReceivedQm2, QuickModeState.QM_ACTIVE)
            .PermitReentry(QuickModeTrigger.Retransmit)
            .Permit(QuickModeTrigger.Fail, QuickModeState.QM_DELETED)
            .Permit(QuickModeTrigger.Delete, QuickModeState.QM_DELETED);
        m.Configure(QuickModeState.QM_WAIT_MSG3)
            .Permit(QuickModeTrigger.ReceivedQm3, QuickModeState.QM_ACTIVE)
            .PermitReentry(QuickModeTrigger.Retransmit)
            .Permit(QuickModeTrigger.Fail, QuickModeState.QM_DELETED)
            .Permit(QuickModeTrigger.Delete, QuickModeState.QM_DELETED);
        m.Configure(QuickModeState.QM_ACTIVE)
            .Permit(QuickModeTrigger.Delete, QuickModeState.QM_DELETED);
        m.Configure(QuickModeState.QM_DELETED);
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
