using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using IkeActors.Negotiation;

namespace SiteToSite;

/// <summary>
/// One gateway of the lab: a negotiation engine behind a real UDP socket on 127.0.0.1.
/// The engine speaks in the configuration's addresses (10.0.0.1:500, 10.0.0.2:500); the
/// address book maps them to the loopback ports the two sockets really use. All inputs
/// (datagrams, timers, acquires) go through one channel, so the engine runs on one thread.
/// </summary>
public sealed class LoopbackGateway : IAsyncDisposable
{
    private readonly UdpClient _socket;
    private readonly Channel<Func<NegotiationOutput, Task>> _inputs = Channel.CreateUnbounded<Func<NegotiationOutput, Task>>(new() { SingleReader = true });
    private readonly ConcurrentDictionary<(ulong, TimerKey), Timer> _timers = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = new();
    private readonly TextWriter? _log;
    private readonly object _consoleLock;
    private readonly int _level;

    public LoopbackGateway(string name, NegotiationEngine engine, int debugLevel, TextWriter? log, object consoleLock)
    {
        Name = name;
        Engine = engine;
        _level = debugLevel;
        _log = log;
        _consoleLock = consoleLock;
        _socket = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        Bound = (IPEndPoint)_socket.Client.LocalEndPoint!;
    }

    public string Name { get; }
    public NegotiationEngine Engine { get; }
    public IPEndPoint Bound { get; }
    public Dictionary<IPEndPoint, IPEndPoint> AddressBook { get; } = new();
    public TaskCompletionSource<IpsecSaPair> Phase2 { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public TaskCompletionSource<string> Failed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public DateTime? InstalledAt { get; private set; }

    public void Start()
    {
        _loops.Add(Task.Run(ReceiveLoop));
        _loops.Add(Task.Run(ProcessLoop));
    }

    public void Post(Action<NegotiationOutput> input) => _inputs.Writer.TryWrite(o => { input(o); return Task.CompletedTask; });

    private async Task ReceiveLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult r;
            try { r = await _socket.ReceiveAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (SocketException) { continue; }
            var from = AddressBook.FirstOrDefault(kv => kv.Value.Equals(r.RemoteEndPoint)).Key ?? r.RemoteEndPoint;
            var bytes = r.Buffer;
            Post(o => Engine.Receive(bytes, from, o));
        }
    }

    private async Task ProcessLoop()
    {
        await foreach (var input in _inputs.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
        {
            var output = new NegotiationOutput(_level);
            await input(output);
            await Apply(output);
        }
    }

    private async Task Apply(NegotiationOutput output)
    {
        foreach (var action in output.Actions)
        {
            switch (action)
            {
                case DebugEvent d:
                    _log?.WriteLine(d.ConsoleLine);
                    lock (_consoleLock) Console.WriteLine($"{Name,-6}| {d.ConsoleLine}");
                    break;
                case SendDatagram s:
                    var to = AddressBook.TryGetValue(s.To, out var real) ? real : s.To;
                    await _socket.SendAsync(s.Datagram, to);
                    break;
                case ArmTimer t:
                    var key = (t.Sa, t.Key);
                    if (_timers.TryRemove(key, out var old)) old.Dispose();
                    _timers[key] = new Timer(_ => Post(o => Engine.TimerFired(key.Item1, key.Item2, o)), null, t.Due, Timeout.InfiniteTimeSpan);
                    break;
                case CancelTimer c:
                    if (_timers.TryRemove((c.Sa, c.Key), out var timer)) timer.Dispose();
                    break;
                case InstallIpsecSa install:
                    InstalledAt = DateTime.UtcNow;
                    Phase2.TrySetResult(install.Pair);
                    break;
                case NegotiationFailed failed:
                    Failed.TrySetResult($"{failed.Exchange}: {failed.Reason}: {failed.Detail}");
                    break;
            }
        }
        _log?.Flush();
    }

    /// <summary>Runs a function on the engine's thread (for show commands).</summary>
    public Task<T> Query<T>(Func<T> query)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(_ => result.SetResult(query()));
        return result.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _inputs.Writer.TryComplete();
        try { await Task.WhenAll(_loops); } catch (OperationCanceledException) { }
        foreach (var t in _timers.Values) t.Dispose();
        _socket.Dispose();
        Engine.Dispose();
        _log?.Dispose();
    }
}
