using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;

namespace IkeActors.LoadGenerator;

public enum PeerState { Waiting, InFlight, Up, Failed }

/// <summary>
/// One simulated initiator: its own UDP socket on (source address + i, source port), its own
/// <see cref="GatewayContext"/> and <see cref="NegotiationEngine"/>. Every input (datagram, timer) runs under the
/// peer's lock, so its engine sees one step at a time, as in a grain.
/// </summary>
internal sealed class BenchPeer(LoadRun run, int index, IPAddress source) : ITimerOwner
{
    /// <summary>Datagrams above this are not IKEv1 with PSKs as a responder sends them (no certificates): dropped.</summary>
    private const int ReceiveBuffer = 2048;
    private const int TimeoutSlot = 0;

    private readonly object _gate = new();
    private Socket? _socket;
    private Socket? _natT;
    private NegotiationEngine? _engine;
    /// <summary>The engine's timers by slot (slot = index + 1): its SA, its key, the generation armed last (0: cancelled).</summary>
    private List<(ulong Sa, TimerKey Key, long Generation)>? _timers;
    private long _generation;
    private long _timeoutGeneration;
    private bool _ending;
    private long _dpdRoundStart; // TimerQueue ticks of the current round's first R-U-THERE; 0: none unanswered

    public int Index { get; } = index;
    public PeerState State { get; private set; }
    public long StartedAt { get; private set; }

    /// <summary>Binds the socket, starts Main Mode (MM1 goes out) and the receive loop; a socket that cannot be had fails the peer.</summary>
    public void Start(CryptoMapMatch match, IPEndPoint configuredPeer)
    {
        lock (_gate)
        {
            State = PeerState.InFlight;
            StartedAt = TimerQueue.Now;
            try
            {
                _socket = Bind(run.Settings.SourcePort);
            }
            catch (SocketException e)
            {
                Fail("socket " + e.SocketErrorCode);
                return;
            }
            var context = new GatewayContext(run.Settings.Config, (IPEndPoint)_socket.LocalEndPoint!, settings: run.NegotiationSettings, lookup: run.Lookup);
            _engine = new NegotiationEngine(context);
            _timeoutGeneration = ++_generation;
            run.Timers.Arm(this, TimeoutSlot, _timeoutGeneration, run.Settings.Timeout);
            var output = NewOutput();
            _engine.Adopt(run.Settings.RemoteAccess is { } client
                ? IkeSa.StartRemoteAccessClient(context, client, configuredPeer, output)
                : IkeSa.StartInitiator(context, match, configuredPeer, output));
            Apply(output);
            if (_socket is null) return;
        }
        _ = ReceiveLoop(_socket, natT: false);
    }

    private Socket Bind(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(source, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private NegotiationOutput NewOutput() => new(Index == 0 ? run.Settings.Debug : 0);

    private async Task ReceiveLoop(Socket socket, bool natT)
    {
        var buffer = new byte[ReceiveBuffer];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (true)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) { return; }
            catch (SocketException)
            {
                if (_engine is null) return;
                continue; // ICMP port unreachable from an earlier send, a truncated datagram: the next one
            }
            var from = (IPEndPoint)r.RemoteEndPoint;
            if (!from.Address.Equals(run.Settings.Target.Address) || r.ReceivedBytes >= ReceiveBuffer) continue;
            var length = r.ReceivedBytes;
            var offset = 0;
            if (natT)
            {
                // RFC 3948 §2: a keepalive (one 0xFF octet) or ESP (a non-zero SPI first) is not IKE.
                if (length < 4 || BinaryPrimitives.ReadUInt32BigEndian(buffer) != 0) continue;
                offset = 4;
            }
            try
            {
                Receive(buffer.AsSpan(offset, length - offset), natT);
            }
            catch (Exception e)
            {
                // The engine never throws on wire input; if it ever does, say so (the type only: no key material) and go on.
                run.InputFailed(Index, e);
            }
        }
    }

    private void Receive(ReadOnlySpan<byte> datagram, bool natT)
    {
        lock (_gate)
        {
            if (_engine is null || _ending) return;
            var peer = run.ConfiguredPeer;
            var output = NewOutput();
            _engine.Receive(datagram, natT ? new IPEndPoint(peer.Address, run.Settings.TargetNatTPort) : peer, output, natT);
            Apply(output);
        }
    }

    public void Fire(int slot, long generation)
    {
        lock (_gate)
        {
            if (_engine is null) return;
            if (slot == TimeoutSlot)
            {
                if (generation == _timeoutGeneration && State == PeerState.InFlight) Fail("timeout");
                return;
            }
            var (sa, key, armed) = _timers![slot - 1];
            if (armed != generation) return;
            _timers[slot - 1] = (sa, key, 0);
            var output = NewOutput();
            _engine.TimerFired(sa, key, output);
            Apply(output);
        }
    }

    /// <summary>Ends the peer: DELETEs for its SAs first (RFC 2408 §3.15) when asked, then the sockets close.</summary>
    public void End(bool delete)
    {
        lock (_gate)
        {
            // Ctrl+C (or the end) with this negotiation still under way: it did not come up.
            if (State == PeerState.InFlight) Fail("interrupted");
            if (_engine is null) return;
            _ending = true;
            if (delete && State == PeerState.Up)
            {
                var output = new NegotiationOutput(0);
                _engine.DeleteAll(output);
                Apply(output);
            }
            Close();
        }
    }

    private void Apply(NegotiationOutput output)
    {
        foreach (var action in output.Actions)
        {
            switch (action)
            {
                case DebugEvent d:
                    run.DebugLine(d.ConsoleLine);
                    break;
                case SendDatagram s:
                    Send(s);
                    break;
                case ArmTimer t:
                    Arm(t);
                    break;
                case CancelTimer c:
                    if (_timers is not null)
                        for (var i = 0; i < _timers.Count; i++)
                            if (_timers[i].Sa == c.Sa && _timers[i].Key == c.Key) _timers[i] = (c.Sa, c.Key, 0);
                    break;
                case InstallIpsecSa when State == PeerState.InFlight && !_ending:
                    State = PeerState.Up;
                    run.Established(this, TimerQueue.Now);
                    break;
                case NegotiationFailed f when State == PeerState.InFlight && !_ending:
                    Fail(FailureNames.Of(f));
                    break;
                case ModeConfigCompleted m:
                    run.AddressAssigned(m.Address);
                    break;
                case PeerDead when State == PeerState.Up && !_ending:
                    run.LostAfterUp(source);
                    break;
                case DpdProbeSent probe:
                    // RFC 3706 §5.5: a round is the first R-U-THERE and its retransmissions, until an ACK.
                    if (probe.Retransmission == 0 || _dpdRoundStart == 0) _dpdRoundStart = TimerQueue.Now;
                    run.DpdProbe(probe.Retransmission > 0);
                    break;
                case DpdAckReceived:
                    if (_dpdRoundStart != 0) run.DpdAnswered(TimerQueue.Now - _dpdRoundStart);
                    _dpdRoundStart = 0;
                    break;
            }
        }
        if (State == PeerState.Failed) Close();
    }

    private void Arm(ArmTimer t)
    {
        _timers ??= new List<(ulong, TimerKey, long)>(2);
        var slot = -1;
        for (var i = 0; i < _timers.Count && slot < 0; i++)
            if (_timers[i].Sa == t.Sa && _timers[i].Key == t.Key) slot = i;
        if (slot < 0)
            for (var i = 0; i < _timers.Count && slot < 0; i++)
                if (_timers[i].Generation == 0) slot = i;
        var generation = ++_generation;
        if (slot < 0) { _timers.Add((t.Sa, t.Key, generation)); slot = _timers.Count - 1; }
        else _timers[slot] = (t.Sa, t.Key, generation);
        run.Timers.Arm(this, slot + 1, generation, t.Due);
    }

    private void Send(SendDatagram s)
    {
        if (s.IsRetransmission) run.Retransmitted();
        try
        {
            if (!s.NatT)
            {
                _socket?.SendTo(s.Datagram, run.Settings.Target);
                return;
            }
            // RFC 3947 §4: the responder floated to 4500; IKE there goes behind the non-ESP marker (RFC 3948 §2.2).
            if (_natT is null)
            {
                _natT = Bind(run.Settings.SourcePort == 500 ? 4500 : 0);
                _ = ReceiveLoop(_natT, natT: true);
            }
            var marked = new byte[s.Datagram.Length + 4];
            s.Datagram.CopyTo(marked, 4);
            _natT.SendTo(marked, new IPEndPoint(run.Settings.Target.Address, run.Settings.TargetNatTPort));
        }
        catch (SocketException)
        {
            run.SendFailed();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void Fail(string reason)
    {
        if (State == PeerState.Failed) return;
        var wasInFlight = State == PeerState.InFlight;
        State = PeerState.Failed;
        if (wasInFlight) run.Failed(this, reason);
    }

    private void Close()
    {
        _engine?.Dispose();
        _engine = null;
        _timers = null;
        _socket?.Dispose();
        _natT?.Dispose();
        _socket = null;
        _natT = null;
    }
}
