using IkeActors.Negotiation;

namespace IkeActors.Grains;

public sealed partial class IkeSaGrain
{
    public async Task<bool> Clear()
    {
        if (_sa is null || _sa.State == MainModeState.MM_DELETED) return false;
        var output = new NegotiationOutput(TimerDebugLevel);
        _sa.Delete(output);
        var result = Apply(output);
        await PersistIfCompleted(output);
        Transmit(result); // sent before the call returns: a stopping node closes its sockets only after
        await UpdateBackstop(); // a deleted SA holds no reminder
        return true;
    }

    public Task Abandon()
    {
        if (_sa is null || _sa.State is MainModeState.MM_ACTIVE or MainModeState.MM_DELETED) return Task.CompletedTask;
        var output = new NegotiationOutput(TimerDebugLevel);
        _sa.Delete(output, notifyPeer: false);
        Apply(output);
        return PersistIfCompleted(output);
    }
}
