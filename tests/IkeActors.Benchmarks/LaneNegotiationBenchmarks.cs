using BenchmarkDotNet.Attributes;
using IkeActors.Gateway.Hosting;
using IkeActors.Negotiation;

namespace IkeActors.Benchmarks;

/// <summary>
/// One whole tunnel (MM1-MM6, QM1-QM3; 3DES/SHA1/group 2 and AES/SHA1, a dynamic crypto map) the way a node's
/// routing lane negotiates it: the responder is a <see cref="FrontEndNegotiations"/> (the engine, its telemetry, the
/// lane's timers) and its hand-over is serialized to JSON and restored as the IKE SA grain restores it
/// (<see cref="InMemoryLaneTunnel"/>). Both ends together, like <see cref="NegotiationBenchmarks"/>: the
/// difference between the two is what the lane path adds to the engine.
/// </summary>
[MemoryDiagnoser]
public class LaneNegotiationBenchmarks
{
    private InMemoryLaneTunnel.Tunnel _tunnel = null!;

    [Params(0, 127)]
    public int DebugLevel { get; set; }

    [Params(IkeActors.Crypto.DhExponentPolicy.TwiceSecurityStrength)]
    public IkeActors.Crypto.DhExponentPolicy DhExponent { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _tunnel = InMemoryLaneTunnel.Tunnel.Create(new NegotiationSettings { DhExponent = DhExponent })
            ?? throw new InvalidOperationException("the tunnel's configurations did not load");
        if (!LaneTunnel()) throw new InvalidOperationException("the tunnel did not come up");
    }

    [Benchmark]
    public bool LaneTunnel() => _tunnel.Run(DebugLevel);
}
