using System.Net;
using System.Net.Sockets;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;

namespace IkeActors.Gateway.Tests.Flood;

/// <summary>
/// The seed's initiator ASA as our negotiation engine on a loopback socket, talking to an `ikeactors run` responder
/// that maps it with --peer-map: it answers datagrams, fires the engine's timers (retransmissions) and says when
/// phase 2 is up. A peer whose timing the test controls to the millisecond.
/// </summary>
internal sealed class LoopbackPeer : IDisposable
{
    private readonly NegotiationEngine _engine;
    private readonly UdpClient _socket;
    private readonly IPEndPoint _responder;
    private readonly IPEndPoint _configuredResponder;
    private readonly Lock _lock = new();
    private readonly List<(DateTime Due, ulong Sa, TimerKey Key)> _timers = [];
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _phase2 = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _receive, _tick;

    public LoopbackPeer(string initiatorConfig, IPEndPoint local, IPEndPoint responder, IPAddress configuredResponder)
    {
        var loaded = IkeActors.Config.AsaConfigLoader.Load(initiatorConfig);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        _engine = new NegotiationEngine(new GatewayContext(loaded.Config, new IPEndPoint(IPAddress.Parse("10.0.0.1"), 500)));
        _socket = new UdpClient(local);
        _responder = responder;
        _configuredResponder = new IPEndPoint(configuredResponder, 500);
        _receive = Task.Run(Receive);
        _tick = Task.Run(Tick);
    }

    public int Port => ((IPEndPoint)_socket.Client.LocalEndPoint!).Port;
    public List<string> Lines { get; } = [];
    public int Retransmissions { get; private set; }

    /// <summary>The seed's interesting traffic (192.168.1.10 -> 192.168.2.10, ICMP): Main Mode and Quick Mode start.</summary>
    public void Start() => Step(o => _engine.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), o));

    /// <summary>Completes when phase 2 is installed on this side.</summary>
    public Task Phase2 => _phase2.Task;

    /// <summary>Tears the tunnel down (DELETEs to the responder, RFC 2408 §3.15) and starts a new one.</summary>
    public void Reconnect()
    {
        lock (_lock) _phase2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Step(o => _engine.DeleteAll(o));
        Start();
    }

    private void Step(Action<NegotiationOutput> input)
    {
        lock (_lock)
        {
            var output = new NegotiationOutput(127);
            input(output);
            foreach (var a in output.Actions)
                switch (a)
                {
                    case SendDatagram s:
                        if (s.IsRetransmission) Retransmissions++;
                        try { _socket.Send(s.Datagram, _responder); } catch (SocketException) { }
                        break;
                    case ArmTimer t:
                        _timers.RemoveAll(x => x.Sa == t.Sa && x.Key == t.Key);
                        _timers.Add((DateTime.UtcNow + t.Due, t.Sa, t.Key));
                        break;
                    case CancelTimer c:
                        _timers.RemoveAll(x => x.Sa == c.Sa && x.Key == c.Key);
                        break;
                    case InstallIpsecSa:
                        _phase2.TrySetResult();
                        break;
                }
            Lines.AddRange(output.DebugLines);
        }
    }

    private async Task Receive()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult r;
            try { r = await _socket.ReceiveAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (SocketException) { continue; }
            catch (ObjectDisposedException) { return; }
            Step(o => _engine.Receive(r.Buffer, _configuredResponder, o));
        }
    }

    private async Task Tick()
    {
        while (!_stop.IsCancellationRequested)
        {
            try { await Task.Delay(50, _stop.Token); } catch (OperationCanceledException) { return; }
            List<(DateTime Due, ulong Sa, TimerKey Key)> due;
            lock (_lock)
            {
                var now = DateTime.UtcNow;
                due = _timers.Where(t => t.Due <= now).ToList();
                _timers.RemoveAll(t => t.Due <= now);
            }
            foreach (var t in due) Step(o => _engine.TimerFired(t.Sa, t.Key, o));
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        try { Task.WaitAll([_receive, _tick], 2000); } catch (AggregateException) { }
        _engine.Dispose();
    }
}
