using System.Buffers.Binary;
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

    /// <summary>
    /// An IKE SA grain of this silo changed state (MM_NO_STATE or MM_DELETED: it is gone), whatever moved it: a
    /// datagram, a timer (retransmissions exhausted), DPD, a DELETE, an operator. The front-end's half-open count
    /// and routing table hear every end here.
    /// </summary>
    /// <param name="initiator">This side started the SA.</param>
    /// <param name="phase1Failure">For an SA that ended before MM_ACTIVE: why Main Mode failed (a FailureReason name), if it did.</param>
    void SaStateChanged(string ikeSaKey, string state, bool initiator, string? phase1Failure) { }
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
        _telemetry.Export = ServiceProvider.GetService(typeof(Telemetry.DebugLogExport)) as Telemetry.DebugLogExport;
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
            RearmLifetimeTimers(stored.State.Timers);
            _backstopRegistered = _sa.State == MainModeState.MM_ACTIVE; // registered by the previous activation
            _rekeyedBy = stored.State.RekeyedBy;
            _successorKey = stored.State.SuccessorKey;
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
        var output = Output(debugLevel);
        var from = new IPEndPoint(IPAddress.Parse(datagram.Address), datagram.Port);
        await EnsureHandOverEngine();
        if (await RefusedAsRekeyCollision(datagram)) return new IkeStepResult([], [], nameof(MainModeState.MM_NO_STATE));
        _telemetry.Received(datagram.Bytes, from);
        if (_sa is not null) _sa.TraceParent = _telemetry.TraceParent; // carried to an IkeActors responder in MM5
        if (_sa is null || _sa.State == MainModeState.MM_DELETED)
        {
            // MM1 from an unknown peer: the key names the SA the initiator's cookie starts.
            _sa = IkeSa.AcceptMainMode1(gateway, from, datagram.Bytes, output);
        }
        else if (_handOverEngine is not null)
        {
            // The peer rekeys phase 1: its DELETE of this SA hands the IPsec SAs to the successor's copy.
            _handOverEngine.Receive(datagram.Bytes, from, output, datagram.NatT);
        }
        else
        {
            _sa.Receive(datagram.Bytes, output, from, datagram.NatT);
        }
        _timerDebugLevel = debugLevel;
        var result = await Step(output, transmit: false);
        // A datagram that started nothing (not an acceptable MM1, cookies of no SA): the activation goes at once,
        // so datagrams with made-up cookies cost no memory.
        if (_sa is null) DeactivateOnIdle();
        return result;
    }

    public async Task<IkeStepResult> StartInitiator(AcquireRequest acquire, int debugLevel)
    {
        var output = Output(debugLevel);
        var (peer, cookie) = ParseKey(this.GetPrimaryKeyString());
        var match = gateway.Lookup.MatchOutbound(ToPacket(acquire), gateway.OutsideInterface);
        if (_sa is null && match is not null)
            _sa = IkeSa.StartInitiator(gateway, match, new IPEndPoint(peer, NegotiationEngine.IsakmpPort), output, cookie);
        _timerDebugLevel = debugLevel;
        return await Step(output, transmit: false);
    }

    public async Task<IkeStepResult> Acquire(AcquireRequest acquire, int debugLevel)
    {
        var output = Output(debugLevel);
        var match = gateway.Lookup.MatchOutbound(ToPacket(acquire), gateway.OutsideInterface);
        if (_sa is not null && match is not null) _sa.Acquire(match, output);
        return await Step(output, transmit: false);
    }

    public async Task AccountTraffic(uint inboundSpi, long kilobytes)
    {
        if (_sa is null) return;
        var output = Output(_timerDebugLevel);
        _sa.TrafficAccounted(inboundSpi, kilobytes, output);
        await Step(output, transmit: true);
    }

    public async Task TrafficReceived()
    {
        if (_sa is null) return;
        var output = Output(_timerDebugLevel);
        _sa.TrafficReceived(output);
        await Step(output, transmit: true);
    }

    /// <summary>
    /// One engine step's effects: actions applied (timers, datagrams), IPsec SAs published, Phase 1 rekey
    /// coordinated with other grains, state persisted; datagrams sent by the transmitter when no front-end
    /// request is waiting for them.
    /// </summary>
    private async Task<IkeStepResult> Step(NegotiationOutput output, bool transmit)
    {
        var result = Apply(output);
        await PersistIfCompleted(output);
        if (transmit) Transmit(result);
        await CoordinatePhase1Rekey(output);
        await UpdateBackstop();
        return result;
    }

    /// <summary>The step's datagrams, its debug lines printed once (with the first, or alone when nothing is sent).</summary>
    private void Transmit(IkeStepResult result)
    {
        var lines = result.DebugLines;
        foreach (var d in result.Send)
        {
            transmitter.Send(d, lines);
            lines = [];
        }
        if (result.Send.Count == 0 && lines.Count > 0) transmitter.Send(new Datagram([], "", 0), lines);
    }

    /// <summary>
    /// Design: the grain persists its state after every completed exchange (phase 1 up, an IPsec SA
    /// installed or deleted) and every other change of state a reactivation must see (DPD rounds, rekeys
    /// started or finished, lifetime timers armed), and forgets it when the IKE SA is gone.
    /// </summary>
    private async Task PersistIfCompleted(NegotiationOutput output, bool force = false)
    {
        await PublishIpsecSas(output);
        if (_sa is null) return;
        if (output.Actions.Any(a => a is IkeSaDeleted d && d.InitiatorCookie == _sa.InitiatorCookie) || _sa.State == MainModeState.MM_DELETED)
        {
            if (stored.RecordExists) await stored.ClearStateAsync();
            return;
        }
        var dpdChanged = _sa.DpdUnanswered != _persistedDpdUnanswered; // an ACK ended a round, or an R-U-THERE went out
        if (!(force || dpdChanged || output.Actions.Any(ChangesState)) || !_sa.CanSnapshot) return;
        await Persist();
    }

    private int _persistedDpdUnanswered;

    private async Task Persist()
    {
        var snapshot = _sa!.Snapshot();
        _persistedDpdUnanswered = _sa.DpdUnanswered;
        try
        {
            stored.State.Snapshot = JsonSerializer.SerializeToUtf8Bytes(snapshot);
            stored.State.TraceParent = _telemetry.TraceParent;
            stored.State.Timers = _due.Select(kv => new StoredTimer { Kind = (int)kv.Key.Kind, MessageId = kv.Key.MessageId, DueUtc = kv.Value }).ToList();
            stored.State.RekeyedBy = _rekeyedBy;
            stored.State.SuccessorKey = _successorKey;
            await stored.WriteStateAsync();
        }
        finally
        {
            snapshot.ClearSecrets();
        }
    }

    /// <summary>Actions after which the stored snapshot would be stale (retransmissions and debug lines are not).</summary>
    private bool ChangesState(NegotiationAction a) => a switch
    {
        Phase1Established or InstallIpsecSa or IpsecSaDeleted or Phase1RekeyDue or Phase1Rekeyed or IkeActors.Negotiation.PeerDead => true,
        SendDatagram s => !s.IsRetransmission && _sa?.State == MainModeState.MM_ACTIVE, // DPD sequence, QM started, DELETE
        // DPD's idle timer restarts on every valid message and data-plane report: not worth a write by itself (a
        // round's start and end change DpdUnanswered, checked by the caller).
        ArmTimer t => t.Key.Kind is not (TimerKind.Retransmit or TimerKind.Dpd),
        CancelTimer c => IsLifetime(c.Key.Kind),
        _ => false,
    };

    private static bool IsLifetime(TimerKind kind) => kind is TimerKind.Phase1Rekey or TimerKind.Phase2Rekey or TimerKind.Phase2Expire;

    /// <summary>Lifetime timers due (absolute, UTC): stored with the snapshot, re-armed after a restore.</summary>
    private readonly Dictionary<TimerKey, DateTime> _due = new();

    private void RearmLifetimeTimers(IEnumerable<StoredTimer> timers)
    {
        var now = DateTime.UtcNow;
        foreach (var t in timers)
        {
            var key = new TimerKey((TimerKind)t.Kind, t.MessageId);
            if (!IsLifetime(key.Kind) || _timers.ContainsKey(key)) continue;
            var due = t.DueUtc > now ? t.DueUtc - now : TimeSpan.Zero;
            Arm(key, due);
        }
    }

    private void Arm(TimerKey key, TimeSpan due)
    {
        if (_timers.Remove(key, out var old)) old.Dispose();
        _timers[key] = this.RegisterGrainTimer(() => Fire(key), new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan));
        if (IsLifetime(key.Kind)) _due[key] = DateTime.UtcNow + due;
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

    /// <summary>The engine formats at the console's level or the log export's, whichever is higher; Apply returns the console's.</summary>
    private NegotiationOutput Output(int consoleLevel)
    {
        _consoleLevel = consoleLevel;
        return _raised = new NegotiationOutput(Math.Max(consoleLevel, _telemetry.ExportLevel));
    }

    private int _consoleLevel;
    private NegotiationOutput? _raised;

    private IkeStepResult Apply(NegotiationOutput output)
    {
        _telemetry.Step(_sa, output);
        var send = new List<Datagram>();
        foreach (var action in output.Actions)
        {
            switch (action)
            {
                case SendDatagram s when s.Datagram.Length < 8 || _sa is null || BinaryPrimitives.ReadUInt64BigEndian(s.Datagram) == _sa.InitiatorCookie:
                    // (A successor's copy used for a Phase 1 hand-over never speaks: only this SA's datagrams go out.)
                    send.Add(new Datagram(s.Datagram, s.To.Address.ToString(), s.To.Port, s.NatT));
                    break;
                case ArmTimer t when t.Sa == _sa?.InitiatorCookie:
                    Arm(t.Key, t.Due);
                    break;
                case CancelTimer c when c.Sa == _sa?.InitiatorCookie:
                    if (_timers.Remove(c.Key, out var timer)) timer.Dispose();
                    _due.Remove(c.Key);
                    break;
                case IkeSaDeleted d when d.InitiatorCookie == _sa?.InitiatorCookie:
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
                    if (f.Exchange == "Main Mode") _phase1Failure ??= f.Reason.ToString();
                    break;
            }
        }
        var lines = output.Actions.OfType<DebugEvent>().Where(d => d.Message.Level <= (ReferenceEquals(output, _raised) ? _consoleLevel : output.Level)).Select(d => d.ConsoleLine).ToList();
        var state = _sa?.State.ToString() ?? nameof(MainModeState.MM_NO_STATE);
        ReportState(state);
        return new IkeStepResult(send, lines, state);
    }

    private string? _reportedState, _phase1Failure;

    /// <summary>
    /// Every change of this SA's state, whatever caused it, is reported from here and only here: to the cluster's SA
    /// directory (operator commands, Active/Previous Tunnels) and to this silo's front-end (half-open count, routing).
    /// </summary>
    private void ReportState(string state)
    {
        if (state == _reportedState) return;
        var ended = state is nameof(MainModeState.MM_NO_STATE) or nameof(MainModeState.MM_DELETED);
        if (ended && _reportedState is null) return; // never started: nothing to report
        _reportedState = state;
        var key = this.GetPrimaryKeyString();
        var directory = GrainFactory.GetGrain<ISaDirectoryGrain>(0);
        (ended ? directory.Remove(key) : directory.Set(key, state)).Ignore();
        transmitter.SaStateChanged(key, state, _sa?.Role == IkeRole.Initiator, _phase1Failure);
    }

    private async Task Fire(TimerKey key)
    {
        _timers.Remove(key);
        _due.Remove(key);
        if (_sa is null) return;
        var output = Output(_timerDebugLevel);
        _sa.TimerFired(key, output);
        await Step(output, transmit: true);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        foreach (var t in _timers.Values) t.Dispose();
        _telemetry.Dispose();
        _successorCopy?.Dispose();
        _sa?.Dispose();
        return Task.CompletedTask;
    }
}
