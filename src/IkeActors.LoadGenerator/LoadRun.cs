using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Config.Model;
using IkeActors.Negotiation;

namespace IkeActors.LoadGenerator;

/// <summary>
/// One run of the load generator: starts the peers at the rate and concurrency asked, keeps the tunnels for the
/// hold time, prints a progress line a second, and collects the <see cref="BenchReport"/>.
/// </summary>
public sealed class LoadRun : IDisposable
{
    private readonly TextWriter _progress;
    private readonly TextWriter? _debug;
    private readonly BenchPeer?[] _peers;
    private readonly CryptoMapMatch _match;
    private readonly SemaphoreSlim _slots;
    private readonly TaskCompletionSource _allDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, int> _failures = new(StringComparer.Ordinal);
    private readonly double[] _latencyMs;
    private int _initiated, _established, _failed;
    private long _retransmits, _sendErrors, _lost;
    private long _dpdProbes, _dpdRetries, _dpdAcks, _dpdLongestWait;
    private long _firstMm1, _lastUp;

    public LoadRun(BenchSettings settings, TextWriter progress, TextWriter? debug = null)
    {
        Settings = settings;
        _progress = progress;
        _debug = debug;
        _peers = new BenchPeer?[settings.Peers];
        _latencyMs = new double[settings.Peers];
        _slots = new SemaphoreSlim(settings.Concurrency);
        var probe = new GatewayContext(settings.Config, new IPEndPoint(settings.FirstSource, 0));
        Lookup = probe.Lookup;
        _match = probe.Lookup.MatchOutbound(settings.Acquire, probe.OutsideInterface)
            ?? throw new ArgumentException("no crypto map entry protects the acquire packet", nameof(settings));
        ConfiguredPeer = new IPEndPoint(_match.Entry.Peers[0], NegotiationEngine.IsakmpPort);
    }

    public BenchSettings Settings { get; }
    internal TimerQueue Timers { get; } = new();
    /// <summary>
    /// The peers' engines: our private DH exponents are RFC 3526 §8's short ones (the responder cannot tell: the public
    /// value is as long), so the generator leaves more of a shared machine's CPU to the responder under test.
    /// </summary>
    internal NegotiationSettings NegotiationSettings { get; } = new() { DhExponent = IkeActors.Crypto.DhExponentPolicy.TwiceSecurityStrength };
    /// <summary>One crypto map lookup for every peer (they share the configuration; only their address differs).</summary>
    internal CryptoMapLookup Lookup { get; }
    /// <summary>The target as the configuration names it (its crypto map peer on UDP 500); datagrams really go to <see cref="BenchSettings.Target"/>.</summary>
    internal IPEndPoint ConfiguredPeer { get; }

    /// <summary>Peer i's acquire: the crypto map entry, with the i-th subnet of --local-ts (a /24 when they fit) as its local proxy ID.</summary>
    internal CryptoMapMatch MatchFor(int index)
    {
        if (Settings.LocalTs is not { } ts) return _match;
        var length = Settings.PeerPrefixLength;
        var subnet = new Ipv4Prefix(ts.Network + (uint)((ulong)index << (32 - length)), length);
        return _match with { Local = new ProxyId(subnet.ToRange(), _match.Local.Protocol, _match.Local.Port) };
    }

    /// <summary>Descriptors the runtime keeps for itself (epoll, eventfds, files) beyond the peers' sockets.</summary>
    public const int RuntimeDescriptors = 1024;

    /// <summary>
    /// Raises RLIMIT_NOFILE for a socket per peer, and one more per peer for NAT-T when the responder floats. Null when
    /// at least one socket per peer fits; else the error line (past the limit the runtime itself fails, with
    /// "Out of memory", once it has no descriptor left for its own needs).
    /// </summary>
    public static string? ReserveDescriptors(int peers)
    {
        var limit = FileDescriptorLimit.RaiseTo((ulong)peers * 2 + RuntimeDescriptors);
        var needed = (ulong)peers + RuntimeDescriptors;
        return limit >= needed ? null : string.Create(CultureInfo.InvariantCulture,
            $"--peers {peers}: needs {needed} file descriptors (a socket per peer), RLIMIT_NOFILE allows {limit}; raise the hard limit (ulimit -Hn; root with CAP_SYS_RESOURCE may raise it up to /proc/sys/fs/nr_open) or run fewer peers");
    }

    public async Task<BenchReport> RunAsync(CancellationToken ct)
    {
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var managedBefore = GC.GetTotalMemory(forceFullCollection: true);
        process.Refresh();
        var rssBefore = process.WorkingSet64;
        var clock = Stopwatch.StartNew();
        using var stopProgress = new CancellationTokenSource();
        var progress = ReportProgress(clock, stopProgress.Token);
        var interrupted = false;
        try
        {
            await StartPeers(clock, ct);
            await _allDone.Task.WaitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            interrupted = true;
        }
        var managedAfter = GC.GetTotalMemory(forceFullCollection: true);
        process.Refresh();
        var rssAfter = process.WorkingSet64;
        if (!interrupted && Settings.Hold > TimeSpan.Zero)
        {
            try { await Task.Delay(Settings.Hold, ct); }
            catch (OperationCanceledException) { }
        }
        foreach (var peer in _peers)
        {
            if (peer is null) continue;
            peer.End(Settings.DeleteAtEnd);
        }
        await stopProgress.CancelAsync();
        await progress;
        process.Refresh();
        // Per tunnel up at the measurement (failed peers have closed theirs); per requested peer when none came up.
        var live = _established > 0 ? _established : Settings.Peers;
        var latencies = new List<double>(_established);
        foreach (var peer in _peers)
            if (peer?.State == PeerState.Up) latencies.Add(_latencyMs[peer.Index]);
        return new BenchReport
        {
            Requested = Settings.Peers,
            Established = _established,
            Failed = Settings.Peers - _established,
            SetupSeconds = _established == 0 ? 0 : (double)(_lastUp - _firstMm1) / Stopwatch.Frequency,
            LatenciesMs = latencies,
            Failures = NotStarted(new Dictionary<string, int>(_failures, StringComparer.Ordinal)),
            Retransmissions = Interlocked.Read(ref _retransmits),
            LostDuringHold = Interlocked.Read(ref _lost),
            LostPeers = [.. _lostPeers],
            AddressesAssigned = Volatile.Read(ref _assigned),
            DistinctAddresses = _addresses.Count,
            Dpd = new DpdFigures(Interlocked.Read(ref _dpdProbes), Interlocked.Read(ref _dpdRetries), Interlocked.Read(ref _dpdAcks),
                (double)Interlocked.Read(ref _dpdLongestWait) * 1000 / Stopwatch.Frequency),
            CpuSeconds = (process.TotalProcessorTime - cpuBefore).TotalSeconds,
            ManagedBytesPerPeer = Math.Max(0, managedAfter - managedBefore) / (double)live,
            RssBytesPerPeer = Math.Max(0, rssAfter - rssBefore) / (double)live,
        };
    }

    /// <summary>Peers an interrupted run never started are failures too, under their own name.</summary>
    private Dictionary<string, int> NotStarted(Dictionary<string, int> failures)
    {
        var never = Settings.Peers - _initiated;
        if (never > 0) failures["not started (interrupted)"] = never;
        return failures;
    }

    private async Task StartPeers(Stopwatch clock, CancellationToken ct)
    {
        var first = Ipv4.ToUInt32(Settings.FirstSource);
        for (var i = 0; i < Settings.Peers; i++)
        {
            await _slots.WaitAsync(ct);
            if (Settings.Rate > 0)
            {
                var due = TimeSpan.FromSeconds(i / Settings.Rate) - clock.Elapsed;
                if (due > TimeSpan.FromMilliseconds(1)) await Task.Delay(due, ct);
            }
            var peer = new BenchPeer(this, i, Ipv4.ToAddress(first + (uint)i));
            _peers[i] = peer;
            if (Interlocked.Increment(ref _initiated) == 1) _firstMm1 = TimerQueue.Now;
            peer.Start(MatchFor(i), ConfiguredPeer);
        }
    }

    /// <summary>A progress line every second, and one when the run ends (a run shorter than a second gets one too).</summary>
    private async Task ReportProgress(Stopwatch clock, CancellationToken ct)
    {
        var (lastEstablished, lastAt) = (0, TimeSpan.Zero);
        void Report()
        {
            var established = Volatile.Read(ref _established);
            var failed = Volatile.Read(ref _failed);
            var initiated = Volatile.Read(ref _initiated);
            var now = clock.Elapsed;
            var rate = (established - lastEstablished) / Math.Max((now - lastAt).TotalSeconds, 0.001);
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{now.TotalSeconds,6:F0}s  initiated {initiated}  established {established}  failed {failed}  in flight {initiated - established - failed}  retransmits {Interlocked.Read(ref _retransmits)}  rate {rate:F0}/s");
            if (Interlocked.Read(ref _dpdProbes) > 0)
                line += string.Create(CultureInfo.InvariantCulture, $"  dpd acks {Interlocked.Read(ref _dpdAcks)} retries {Interlocked.Read(ref _dpdRetries)}");
            // The debug lines may go to the same writer from the peers' threads: one lock for both.
            lock (_progress) _progress.WriteLine(line);
            (lastEstablished, lastAt) = (established, now);
        }
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(ct)) Report();
        }
        catch (OperationCanceledException)
        {
        }
        Report();
    }

    internal void Established(BenchPeer peer, long at)
    {
        _latencyMs[peer.Index] = (double)(at - peer.StartedAt) * 1000 / Stopwatch.Frequency;
        InterlockedMax(ref _lastUp, at);
        Interlocked.Increment(ref _established);
        Finished();
    }

    internal void Failed(BenchPeer peer, string reason)
    {
        _failures.AddOrUpdate(reason, 1, (_, n) => n + 1);
        Interlocked.Increment(ref _failed);
        Finished();
    }

    private void Finished()
    {
        _slots.Release();
        if (Volatile.Read(ref _established) + Volatile.Read(ref _failed) >= Settings.Peers) _allDone.TrySetResult();
    }

    internal void Retransmitted() => Interlocked.Increment(ref _retransmits);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<IPAddress, int> _addresses = new();
    private int _assigned;

    /// <summary>Mode Config gave a peer this address (remote-access profile): counted, and any address given twice shows.</summary>
    internal void AddressAssigned(IPAddress address)
    {
        Interlocked.Increment(ref _assigned);
        _addresses.AddOrUpdate(address, 1, (_, n) => n + 1);
    }
    internal void SendFailed() => Interlocked.Increment(ref _sendErrors);
    internal void LostAfterUp(IPAddress source)
    {
        Interlocked.Increment(ref _lost);
        if (_lostPeers.Count < 20) _lostPeers.Add($"{source} at {DateTime.UtcNow:HH:mm:ss.fff}");
    }

    private readonly System.Collections.Concurrent.ConcurrentBag<string> _lostPeers = [];

    internal void DpdProbe(bool retransmission)
    {
        Interlocked.Increment(ref _dpdProbes);
        if (retransmission) Interlocked.Increment(ref _dpdRetries);
    }

    /// <summary>An R-U-THERE-ACK, <paramref name="waited"/> ticks after the round's first R-U-THERE.</summary>
    internal void DpdAnswered(long waited)
    {
        Interlocked.Increment(ref _dpdAcks);
        InterlockedMax(ref _dpdLongestWait, waited);
    }

    internal void InputFailed(int peer, Exception e)
    {
        lock (_progress) _progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peer {peer}: a datagram from the target failed in the engine: {e.GetType().Name}"));
    }

    internal void DebugLine(string line)
    {
        if (_debug is null) return;
        lock (_debug) _debug.WriteLine(line);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var seen = Interlocked.Read(ref target);
        while (value > seen)
        {
            var previous = Interlocked.CompareExchange(ref target, value, seen);
            if (previous == seen) return;
            seen = previous;
        }
    }

    public void Dispose()
    {
        Timers.Dispose();
        _slots.Dispose();
    }
}
