using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using IkeActors.Negotiation;
using Microsoft.Extensions.Logging;

namespace IkeActors.Grains;

/// <summary>
/// Sends datagrams the grains produce outside a request (retransmissions, rekeys, DPD):
/// the gateway's UDP front-end implements it; tests use an in-memory one.
/// </summary>
public interface IDatagramTransmitter
{
    void Send(Datagram datagram, IReadOnlyList<string> debugLines);
}

/// <summary>
/// One IKE SA as a grain. It owns an <see cref="IkeSa"/> (the pure Stateless machines of the
/// negotiation) and turns its actions into effects: datagrams returned to the front-end,
/// timers registered with the grain runtime, debug lines returned to the caller.
/// </summary>
public sealed partial class IkeSaGrain(
    GatewayContext gateway,
    IDatagramTransmitter transmitter,
    ILogger<IkeSaGrain> logger,
    [PersistentState("ikesa")] IPersistentState<IkeSaGrainState> stored) : Grain, IIkeSaGrain
{
    private IkeSa? _sa;
    private readonly Dictionary<TimerKey, IGrainTimer> _timers = new();
    private int _timerDebugLevel = 127;
    private readonly Telemetry.IkeSaTelemetry _telemetry = new();

    /// <summary>A reactivation (after a silo loss or idle deactivation) continues the stored SA.</summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (stored.State.Snapshot is not { } json) return;
        var snapshot = JsonSerializer.Deserialize<IkeSaSnapshot>(json);
        CryptographicOperations.ZeroMemory(json);
        if (snapshot is null) return;
        try
        {
            _sa = IkeSa.Restore(gateway, snapshot);
            var output = new NegotiationOutput(0);
            _sa.ResumeTimers(output);
            _telemetry.Resume(stored.State.TraceParent);
            Apply(output);
        }
        catch (IkeSaSnapshotException e)
        {
            logger.LogWarning("stored IKE SA {Key} cannot be restored: {Reason}", this.GetPrimaryKeyString(), e.Message);
            await stored.ClearStateAsync(cancellationToken);
        }
        finally
        {
            snapshot.ClearSecrets();
        }
    }

    public async Task<IkeStepResult> Receive(Datagram datagram, int debugLevel)
    {
        var output = new NegotiationOutput(debugLevel);
        var from = new IPEndPoint(IPAddress.Parse(datagram.Address), datagram.Port);
        _telemetry.Received(datagram.Bytes, from);
        if (_sa is null || _sa.State == MainModeState.MM_DELETED)
        {
            // MM1 from an unknown peer: the key names the SA the initiator's cookie starts.
            _sa = IkeSa.AcceptMainMode1(gateway, from, datagram.Bytes, output);
        }
        else
        {
            _sa.Receive(datagram.Bytes, output);
        }
        _timerDebugLevel = debugLevel;
        var result = Apply(output);
        await PersistIfCompleted(output);
        return result;
    }

    public async Task<IkeStepResult> StartInitiator(AcquireRequest acquire, int debugLevel)
    {
        var output = new NegotiationOutput(debugLevel);
        var (peer, cookie) = ParseKey(this.GetPrimaryKeyString());
        var match = gateway.Lookup.MatchOutbound(ToPacket(acquire), gateway.OutsideInterface);
        if (_sa is null && match is not null)
            _sa = IkeSa.StartInitiator(gateway, match, new IPEndPoint(peer, NegotiationEngine.IsakmpPort), output, cookie);
        _timerDebugLevel = debugLevel;
        var result = Apply(output);
        await PersistIfCompleted(output);
        return result;
    }

    public async Task<IkeStepResult> Acquire(AcquireRequest acquire, int debugLevel)
    {
        var output = new NegotiationOutput(debugLevel);
        var match = gateway.Lookup.MatchOutbound(ToPacket(acquire), gateway.OutsideInterface);
        if (_sa is not null && match is not null) _sa.Acquire(match, output);
        var result = Apply(output);
        await PersistIfCompleted(output);
        return result;
    }

    /// <summary>
    /// Design: the grain persists its state after every completed exchange (phase 1 up, an IPsec SA
    /// installed or deleted), and forgets it when the IKE SA is gone.
    /// </summary>
    private async Task PersistIfCompleted(NegotiationOutput output)
    {
        await PublishIpsecSas(output);
        if (_sa is null) return;
        if (output.Actions.Any(a => a is IkeSaDeleted) || _sa.State == MainModeState.MM_DELETED)
        {
            if (stored.RecordExists) await stored.ClearStateAsync();
            return;
        }
        if (!output.Actions.Any(a => a is Phase1Established or InstallIpsecSa or IpsecSaDeleted) || !_sa.CanSnapshot) return;
        var snapshot = _sa.Snapshot();
        try
        {
            stored.State.Snapshot = JsonSerializer.SerializeToUtf8Bytes(snapshot);
            stored.State.TraceParent = _telemetry.TraceParent;
            await stored.WriteStateAsync();
        }
        finally
        {
            snapshot.ClearSecrets();
        }
    }

    internal static (IPAddress Peer, ulong Cookie) ParseKey(string key)
    {
        var slash = key.LastIndexOf('/');
        return (IPAddress.Parse(key[..slash]), Convert.ToUInt64(key[(slash + 1)..], 16));
    }

    internal static IkeActors.Config.Lookup.Packet ToPacket(AcquireRequest a) =>
        new(IPAddress.Parse(a.Source), IPAddress.Parse(a.Destination), a.Protocol, a.SourcePort, a.DestinationPort);

    private readonly Guid _activation = Guid.NewGuid();

    public Task<Guid> GetActivationId() => Task.FromResult(_activation);

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task<string> GetState() => Task.FromResult(_sa?.State.ToString() ?? nameof(MainModeState.MM_NO_STATE));

    private IkeStepResult Apply(NegotiationOutput output)
    {
        _telemetry.Step(_sa, output);
        var send = new List<Datagram>();
        foreach (var action in output.Actions)
        {
            switch (action)
            {
                case SendDatagram s:
                    send.Add(new Datagram(s.Datagram, s.To.Address.ToString(), s.To.Port));
                    break;
                case ArmTimer t:
                    if (_timers.Remove(t.Key, out var old)) old.Dispose();
                    var key = t.Key;
                    _timers[key] = this.RegisterGrainTimer(() => Fire(key), new GrainTimerCreationOptions(t.Due, Timeout.InfiniteTimeSpan));
                    break;
                case CancelTimer c:
                    if (_timers.Remove(c.Key, out var timer)) timer.Dispose();
                    break;
                case IkeSaDeleted:
                    DeactivateOnIdle();
                    break;
                case InstallIpsecSa:
                    _lastInstall = DateTime.UtcNow;
                    break;
                case Phase1Established:
                    _phase1At = DateTime.UtcNow;
                    break;
                case NegotiationFailed f:
                    logger.LogInformation("{Exchange} with {Peer} failed: {Reason}", f.Exchange, _sa?.Peer, f.Reason);
                    break;
            }
        }
        var lines = output.Actions.OfType<DebugEvent>().Select(d => d.ConsoleLine).ToList();
        return new IkeStepResult(send, lines, _sa?.State.ToString() ?? nameof(MainModeState.MM_NO_STATE));
    }

    private async Task Fire(TimerKey key)
    {
        _timers.Remove(key);
        if (_sa is null) return;
        var output = new NegotiationOutput(_timerDebugLevel);
        _sa.TimerFired(key, output);
        var result = Apply(output);
        await PersistIfCompleted(output);
        foreach (var d in result.Send) transmitter.Send(d, result.DebugLines);
        if (result.Send.Count == 0 && result.DebugLines.Count > 0) transmitter.Send(new Datagram([], "", 0), result.DebugLines);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        foreach (var t in _timers.Values) t.Dispose();
        _telemetry.Dispose();
        _sa?.Dispose();
        return Task.CompletedTask;
    }
}
