using System.Net;
using IkeActors.Negotiation;
using IkeActors.Negotiation.Peers;
using Microsoft.Extensions.Logging;

namespace IkeActors.Grains;

// One engine step per call: a datagram, an acquire, a data-plane report; its actions applied and reported.
public sealed partial class IkeSaGrain
{
    public async Task<IkeStepResult> Receive(Datagram datagram, int debugLevel)
    {
        var output = Output(debugLevel);
        var from = new IPEndPoint(IPAddress.Parse(datagram.Address), datagram.Port);
        if (await RefusedAsRekeyCollision(datagram)) return new IkeStepResult([], [], nameof(MainModeState.MM_NO_STATE));
        _telemetry.Received(datagram.Bytes, from);
        if (_sa is not null) _sa.TraceParent = _telemetry.TraceParent; // carried to an IkeActors responder in MM5
        if (_sa is null || _sa.State == MainModeState.MM_DELETED)
        {
            // MM1 from an unknown peer: the key names the SA the initiator's cookie starts.
            _sa = IkeSa.AcceptFirstMessage(gateway, from, datagram.Bytes, output);
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
        var output = Output(TimerDebugLevel);
        _sa.TrafficAccounted(inboundSpi, kilobytes, output);
        await Step(output, transmit: true);
    }

    public async Task TrafficReceived()
    {
        if (_sa is null) return;
        var output = Output(TimerDebugLevel);
        _sa.TrafficReceived(output);
        await Step(output, transmit: true);
    }

    public Task<string> GetState() => Task.FromResult(_sa?.State.ToString() ?? nameof(MainModeState.MM_NO_STATE));

    /// <summary>The engine formats at the console's level or the log export's, whichever is higher; Apply returns the console's.</summary>
    private NegotiationOutput Output(int consoleLevel)
    {
        _consoleLevel = consoleLevel;
        return _raised = new NegotiationOutput(Math.Max(consoleLevel, _telemetry.ExportLevel));
    }

    /// <summary>
    /// One engine step's effects: actions applied (timers, datagrams), IPsec SAs published, the peer's other IKE SAs
    /// coordinated (Phase 1 rekey, INITIAL-CONTACT, dead peer), state persisted; datagrams sent by the transmitter
    /// when no front-end request is waiting for them.
    /// </summary>
    private async Task<IkeStepResult> Step(NegotiationOutput output, bool transmit)
    {
        await LeaseAddresses(output);
        var result = Apply(output);
        await PersistIfCompleted(output);
        if (transmit) Transmit(result);
        await CoordinateWithPeer(output);
        await UpdateBackstop();
        return result;
    }

    /// <summary>
    /// Address leases the step asked for or gave back, carried out against the cluster's pool and user grains within this
    /// turn (the client's next message finds its address decided); the answer's own actions (the Mode Config reply, or
    /// the delete and its release) join the step's.
    /// </summary>
    private async Task LeaseAddresses(NegotiationOutput output) =>
        await AddressLeasing.CarryOutAsync(AddressBook, output, cookie => cookie == _sa?.InitiatorCookie ? _sa : null,
            failed: (e, session) => logger.LogWarning(e, "Address lease or release for session {Session} failed", session));

    private ClusterAddressBook AddressBook => _addressBook ??= new ClusterAddressBook(GrainFactory);

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

    private IkeStepResult Apply(NegotiationOutput output)
    {
        _telemetry.Step(_sa, output);
        var send = new List<Datagram>();
        foreach (var action in output.Actions)
        {
            switch (action)
            {
                case SendDatagram s:
                    send.Add(new Datagram(s.Datagram, s.To.Address.ToString(), s.To.Port, s.NatT));
                    break;
                case ArmTimer t when t.Sa == _sa?.InitiatorCookie:
                    Arm(t.Key, t.Due);
                    break;
                case CancelTimer c when c.Sa == _sa?.InitiatorCookie:
                    Disarm(c.Key);
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
                    if (f.Exchange == IkeExchange.MainMode) _phase1Failure ??= f.Reason.ToString();
                    break;
            }
        }
        var lines = output.Actions.OfType<DebugEvent>().Where(d => d.Message.Level <= (ReferenceEquals(output, _raised) ? _consoleLevel : output.Level)).Select(d => d.ConsoleLine).ToList();
        var state = _sa?.State.ToString() ?? nameof(MainModeState.MM_NO_STATE);
        ReportState(state);
        return new IkeStepResult(send, lines, state);
    }

    /// <summary>
    /// Every change of this SA's state, whatever caused it, is reported from here and only here: to the SA directory's
    /// partition of this peer (operator commands, Active/Previous Tunnels, the peer rules) and to this silo's front-end
    /// (half-open count, routing). The directory hears only real changes: state, Phase 1 rekey due time, IPsec pair
    /// count, not one call per datagram.
    /// </summary>
    private void ReportState(string state) => Report(state).Ignore();

    /// <summary><see cref="ReportState"/>, with the directory's call to await (one-way unless awaited).</summary>
    private Task Report(string state)
    {
        if (PrepareReport(state) is not var (update, ended)) return Task.CompletedTask;
        var directory = SaDirectory.ForKey(GrainFactory, update.Key);
        return ended ? directory.Ended(update.Key, update.Sequence) : directory.Set(update);
    }

    /// <summary>
    /// What the directory is to hear of this SA now (null: nothing new), as sent: its sequence taken, the front-end told of
    /// a change of state. <c>Ended</c>: the SA is gone (the directory's <c>Ended</c>, not <c>Set</c>).
    /// </summary>
    private (SaDirectoryUpdate Update, bool Ended)? PrepareReport(string state)
    {
        var ended = state is nameof(MainModeState.MM_NO_STATE) or nameof(MainModeState.MM_DELETED);
        if (ended && _reportedEntry is null) return null; // never started, or already removed: nothing to report
        var key = Key;
        var initiator = _sa?.Role == IkeRole.Initiator;
        var update = new SaDirectoryUpdate(key, state, initiator, _sa is { RekeyOf: not 0 },
            _due.TryGetValue(new TimerKey(TimerKind.Phase1Rekey, 0), out var due) ? due : null, _sa?.IpsecSas.Count ?? 0, Aggressive: _sa?.Aggressive == true,
            RemoteAccess: _sa is not null && IkeActors.Negotiation.Show.ShowCommands.IsRemoteAccess(_sa), RemoteAccessPending: _sa?.RemoteAccessPending == true);
        if (update == _reportedEntry) return null;
        var stateChanged = state != _reportedState;
        _reportedEntry = ended ? null : update;
        _reportedState = state;
        // Reports are one-way: the sequence lets the directory drop one that arrives after a newer one (it grows with the
        // clock across activations, so a reactivated grain's reports are newer than its earlier ones).
        var sequence = _reportSequence = Math.Max(_reportSequence + 1, DateTime.UtcNow.Ticks);
        var sent = update with { AdoptedIpsecSas = _adoptedUnreported, Sequence = sequence };
        _adoptedUnreported = 0;
        if (stateChanged) transmitter.SaStateChanged(key, state, initiator, _phase1Failure);
        return (sent, ended);
    }
}
