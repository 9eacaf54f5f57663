using System.Net;
using IkeActors.Config;
using IkeActors.Config.Lookup;
using IkeActors.Crypto;
using IkeActors.Negotiation;

namespace IkeActors.Negotiation.Tests.Support;

/// <summary>Seeded randomness so a run can be repeated; DH key pairs still come from the crypto library.</summary>
public sealed class SeededEnvironment(int seed) : INegotiationEnvironment
{
    private readonly Random _random = new(seed);
    public void Fill(Span<byte> destination) => _random.NextBytes(destination);
    public DhKeyPair CreateKeyPair(DhGroup group) => group.GenerateKeyPair();
}

/// <summary>
/// Two gateways wired back to back in memory: every datagram one sends is delivered to the
/// other (unless a test drops, duplicates or alters it). Timers are recorded, and fired on demand.
/// </summary>
public sealed class Lab : IDisposable
{
    public static readonly IPEndPoint LeftAddress = new(IPAddress.Parse("10.0.0.1"), 500);
    public static readonly IPEndPoint RightAddress = new(IPAddress.Parse("10.0.0.2"), 500);
    public const int NatTPort = 4500;

    public Lab(string leftConfig, string rightConfig, int seed = 1, NegotiationSettings? settings = null)
    {
        Left = new NegotiationEngine(new GatewayContext(Load(leftConfig), LeftAddress, new SeededEnvironment(seed), settings));
        Right = new NegotiationEngine(new GatewayContext(Load(rightConfig), RightAddress, new SeededEnvironment(seed + 1000), settings));
    }

    /// <summary>The two gateways; a test may replace one (e.g. with an engine restored from snapshots) between runs.</summary>
    public NegotiationEngine Left { get; set; }
    public NegotiationEngine Right { get; set; }
    public NegotiationOutput LeftOutput { get; } = new();
    public NegotiationOutput RightOutput { get; } = new();

    /// <summary>Decides what happens to a datagram in flight: return it (maybe changed), or null to drop it.</summary>
    public Func<bool, int, byte[], byte[]?>? Tamper { get; set; }

    /// <summary>
    /// Where a datagram seems to come from at the receiver (a NAT in between rewrites it); by default the
    /// sender's address with port 500, or 4500 for what it sends from its NAT-T socket.
    /// </summary>
    public Func<bool, SendDatagram, IPEndPoint>? SourceSeen { get; set; }

    /// <summary>Datagrams (after <see cref="Tamper"/>) for which this returns true are delivered twice in a row.</summary>
    public Func<bool, byte[], bool>? Duplicate { get; set; }

    private int _delivered;
    private int _leftSeen, _rightSeen;

    public static IkeActors.Config.Model.AsaConfig Load(string textOrPath)
    {
        var result = File.Exists(textOrPath) ? AsaConfigLoader.LoadFile(textOrPath) : AsaConfigLoader.Load(textOrPath);
        if (!result.IsValid) throw new InvalidOperationException(string.Join("\n", result.Errors));
        return result.Config;
    }

    public static string SampleConfig(string name) => Path.Combine(RepoRoot, "samples", "SiteToSite", name);

    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IkeActors.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("IkeActors.sln not found");
    }

    /// <summary>Left sees ICMP from 192.168.1.10 to 192.168.2.10 (the seed's trigger) and the two gateways talk until quiet.</summary>
    public void AcquireAndRun(int maxDatagrams = 100)
    {
        Left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), LeftOutput);
        Run(maxDatagrams);
    }

    /// <summary>Delivers datagrams both ways until none are in flight.</summary>
    public void Run(int maxDatagrams = 100)
    {
        while (_delivered < maxDatagrams)
        {
            var moved = false;
            moved |= Deliver(fromLeft: true);
            moved |= Deliver(fromLeft: false);
            if (!moved) break;
        }
    }

    private bool Deliver(bool fromLeft)
    {
        var output = fromLeft ? LeftOutput : RightOutput;
        var seen = fromLeft ? _leftSeen : _rightSeen;
        var sends = output.Actions.Skip(seen).ToList();
        if (fromLeft) _leftSeen = output.Actions.Count; else _rightSeen = output.Actions.Count;
        var moved = false;
        foreach (var send in sends.OfType<SendDatagram>())
        {
            var bytes = Tamper is null ? send.Datagram : Tamper(fromLeft, _delivered, send.Datagram);
            _delivered++;
            if (bytes is null) continue;
            var sender = fromLeft ? LeftAddress : RightAddress;
            var from = SourceSeen?.Invoke(fromLeft, send) ?? (send.NatT ? new IPEndPoint(sender.Address, NatTPort) : sender);
            (fromLeft ? Right : Left).Receive(bytes, from, fromLeft ? RightOutput : LeftOutput, send.NatT);
            if (Duplicate?.Invoke(fromLeft, bytes) == true)
                (fromLeft ? Right : Left).Receive(bytes, from, fromLeft ? RightOutput : LeftOutput, send.NatT);
            moved = true;
        }
        return moved;
    }

    /// <summary>Fires every timer of a kind that is armed and not cancelled on one side.</summary>
    public void FireTimers(bool left, TimerKind kind)
    {
        var output = left ? LeftOutput : RightOutput;
        var armed = new Dictionary<(ulong, TimerKey), bool>();
        foreach (var a in output.Actions)
        {
            if (a is ArmTimer arm && arm.Key.Kind == kind) armed[(arm.Sa, arm.Key)] = true;
            if (a is CancelTimer cancel) armed.Remove((cancel.Sa, cancel.Key));
        }
        foreach (var (sa, key) in armed.Keys) (left ? Left : Right).TimerFired(sa, key, output);
    }

    public IReadOnlyList<string> LeftLines => LeftOutput.DebugLines.ToList();
    public IReadOnlyList<string> RightLines => RightOutput.DebugLines.ToList();

    public void Dispose()
    {
        Left.Dispose();
        Right.Dispose();
    }
}
