using IkeActors.Negotiation;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// One Stateless machine per role and thread serves every SA (SharedStateMachine): each SA's state must move exactly as
/// its own machine would move it (RFC 2409 §5: the responder waits for MM3, then MM5), whatever other SAs the thread
/// fires in between, and a trigger the state does not permit must change nothing.
/// </summary>
public class SharedStateMachineTests
{
    private static void Fire(ref MainModeState state, IkeRole role, MainModeTrigger trigger) =>
        SharedStateMachine<MainModeState, MainModeTrigger>.Fire(ref state, role, trigger, StateGraphs.ConfigureMainMode);

    [Fact]
    public void Interleaved_SAs_of_both_roles_keep_their_own_states()
    {
        var a = MainModeState.MM_NO_STATE;
        var b = MainModeState.MM_NO_STATE;
        var i = MainModeState.MM_NO_STATE;

        Fire(ref a, IkeRole.Responder, MainModeTrigger.ReceivedMm1);
        Fire(ref i, IkeRole.Initiator, MainModeTrigger.Acquire);
        Fire(ref b, IkeRole.Responder, MainModeTrigger.ReceivedMm1);
        Fire(ref a, IkeRole.Responder, MainModeTrigger.ReceivedMm3);
        Fire(ref i, IkeRole.Initiator, MainModeTrigger.ReceivedMm2);
        Fire(ref a, IkeRole.Responder, MainModeTrigger.ReceivedMm5);

        Assert.Equal(MainModeState.MM_ACTIVE, a);
        Assert.Equal(MainModeState.MM_WAIT_MSG3, b);
        Assert.Equal(MainModeState.MM_WAIT_MSG4, i);
    }

    [Fact]
    public void A_trigger_the_state_does_not_permit_throws_and_changes_nothing()
    {
        var state = MainModeState.MM_WAIT_MSG3;
        var other = MainModeState.MM_NO_STATE;
        Fire(ref other, IkeRole.Responder, MainModeTrigger.ReceivedMm1);

        // MM5 before MM3; a responder's trigger fired as an initiator.
        Assert.Throws<InvalidOperationException>(() => Fire(ref state, IkeRole.Responder, MainModeTrigger.ReceivedMm5));
        Assert.Equal(MainModeState.MM_WAIT_MSG3, state);
        var fresh = MainModeState.MM_NO_STATE;
        Assert.Throws<InvalidOperationException>(() => Fire(ref fresh, IkeRole.Initiator, MainModeTrigger.ReceivedMm1));
        Assert.Equal(MainModeState.MM_NO_STATE, fresh);

        // The machine is not left mid-fire: the next SA's transition works.
        Fire(ref other, IkeRole.Responder, MainModeTrigger.ReceivedMm3);
        Assert.Equal(MainModeState.MM_WAIT_MSG5, other);
    }

    [Fact]
    public async Task Threads_firing_at_once_never_see_each_others_states()
    {
        var errors = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var n = 0; n < 2_000; n++)
            {
                var s = MainModeState.MM_NO_STATE;
                Fire(ref s, IkeRole.Responder, MainModeTrigger.ReceivedMm1);
                Fire(ref s, IkeRole.Responder, MainModeTrigger.Retransmit);
                Fire(ref s, IkeRole.Responder, MainModeTrigger.ReceivedMm3);
                if (s != MainModeState.MM_WAIT_MSG5) Interlocked.Increment(ref errors);
            }
        })));
        Assert.Equal(0, errors);
    }
}
