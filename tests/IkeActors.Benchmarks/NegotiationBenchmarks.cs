using System.Net;
using BenchmarkDotNet.Attributes;
using IkeActors.Config;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;
using IkeActors.Protocol;

namespace IkeActors.Benchmarks;

/// <summary>
/// A whole negotiation of the seed's tunnel (MM1-MM6, QM1-QM3, both gateways, 3DES/SHA1/group 2
/// phase 1, AES/SHA1 phase 2) in memory: the CPU cost of one tunnel, both ends together.
/// With debug at level 127 (every line formatted) and with debugging off.
/// </summary>
[MemoryDiagnoser]
public class NegotiationBenchmarks
{
    private static readonly IPEndPoint Left = new(IPAddress.Parse("10.0.0.1"), 500);
    private static readonly IPEndPoint Right = new(IPAddress.Parse("10.0.0.2"), 500);
    private static readonly Packet Icmp = new(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1);
    private IkeActors.Config.Model.AsaConfig _left = null!, _right = null!;

    [Params(0, 127)]
    public int DebugLevel { get; set; }

    /// <summary>Our private MODP exponents: as long as the prime, or RFC 3526 §8's sizes (`--dh-exponent short`).</summary>
    [Params(IkeActors.Crypto.DhExponentPolicy.FullLength, IkeActors.Crypto.DhExponentPolicy.TwiceSecurityStrength)]
    public IkeActors.Crypto.DhExponentPolicy DhExponent { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _left = Load("asa1-initiator.cfg");
        _right = Load("asa2-responder.cfg");
        if (!Negotiate()) throw new InvalidOperationException("the seed's tunnel did not come up");
    }

    [Benchmark]
    public bool Negotiate()
    {
        var settings = new NegotiationSettings { DhExponent = DhExponent };
        using var left = new NegotiationEngine(new GatewayContext(_left, Left, settings: settings));
        using var right = new NegotiationEngine(new GatewayContext(_right, Right, settings: settings));
        var lo = new NegotiationOutput(DebugLevel);
        var ro = new NegotiationOutput(DebugLevel);
        left.Acquire(Icmp, lo);
        int ls = 0, rs = 0;
        for (var round = 0; round < 10; round++)
        {
            var moved = false;
            for (; ls < lo.Actions.Count; ls++)
                if (lo.Actions[ls] is SendDatagram s) { right.Receive(s.Datagram, Left, ro); moved = true; }
            for (; rs < ro.Actions.Count; rs++)
                if (ro.Actions[rs] is SendDatagram s) { left.Receive(s.Datagram, Right, lo); moved = true; }
            if (!moved) break;
        }
        return lo.Actions.OfType<InstallIpsecSa>().Any() && ro.Actions.OfType<InstallIpsecSa>().Any();
    }

    private static IkeActors.Config.Model.AsaConfig Load(string resource)
    {
        using var stream = typeof(NegotiationBenchmarks).Assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return AsaConfigLoader.Load(reader.ReadToEnd(), resource).Config;
    }
}

/// <summary>The cost of one debug line: filtered out (level below it) and formatted.</summary>
[MemoryDiagnoser]
public class DebugLineBenchmarks
{
    private static readonly DebugContext Context = new(IPAddress.Parse("10.0.0.2"), "10.0.0.2");
    private readonly CountingSink _off = new(0), _on = new(127);

    [Benchmark]
    public int FilteredOut()
    {
        AsaDebug.SecurityNegotiationCompleteL2LInitiator(_off, Context, "10.0.0.2", 0xfd2d851f, 0xdde50931);
        return _off.Count;
    }

    [Benchmark]
    public int Formatted()
    {
        AsaDebug.SecurityNegotiationCompleteL2LInitiator(_on, Context, "10.0.0.2", 0xfd2d851f, 0xdde50931);
        return _on.Count;
    }

    private sealed class CountingSink(int level) : IDebugSink
    {
        public int Count;
        public int Level { get; } = level;
        public void Write(in DebugLine line) => Count += line.Text.Length;
    }
}
