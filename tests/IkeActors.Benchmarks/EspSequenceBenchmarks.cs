using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using IkeActors.Esp;

namespace IkeActors.Benchmarks;

/// <summary>
/// What the cluster's sequence-number rules (docs/cluster.md) cost per packet: encapsulation of a 64-byte packet
/// (AES-128/SHA-1) with no reservation (a single node) and with one (a carrier: a comparison, and every 32,768
/// packets the call for the next reservation, a no-op here). --filter '*EspSequence*'
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class EspSequenceBenchmarks
{
    [Params(false, true)]
    public bool Reserved;

    private EspSa _outbound = null!;
    private byte[] _inner = null!, _out = null!;

    [GlobalSetup]
    public void Setup()
    {
        _outbound = new EspSa(0x1001, EspDirection.Outbound, EspCipher.Aes128Cbc, RandomNumberGenerator.GetBytes(16),
            EspIntegrity.HmacSha1_96, RandomNumberGenerator.GetBytes(20));
        if (Reserved)
        {
            _outbound.ReserveUpTo(uint.MaxValue - 1);
            _outbound.ReservationLow += static (_, _) => { };
        }
        _inner = new byte[64];
        _inner[0] = 0x45;
        _out = new byte[_outbound.MaxPacketSize(64)];
    }

    [GlobalCleanup]
    public void Cleanup() => _outbound.Dispose();

    [Benchmark(Description = "encapsulate 64 B (AES-128/SHA-1)")]
    public int Encapsulate() => _outbound.Encapsulate(_inner, _out);
}
