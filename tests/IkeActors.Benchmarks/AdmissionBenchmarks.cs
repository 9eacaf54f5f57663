using System.Net;
using BenchmarkDotNet.Attributes;
using IkeActors.Negotiation.Admission;

namespace IkeActors.Benchmarks;

/// <summary>
/// The half-open ledger under a flood (docs/half-open.md): what one MM1 costs the front-end before any grain is
/// involved. Refused: an address already at its share (the common case in a flood from few addresses); no key;
/// admitted and released (a legitimate negotiation's bookkeeping); admitted into a full node, where the oldest
/// of the busiest address gives way (a flood spread over many addresses).
/// </summary>
[MemoryDiagnoser]
public class AdmissionBenchmarks
{
    private static readonly IPAddress Flooder = IPAddress.Parse("198.51.100.7");
    private HalfOpenLedger _atShare = null!, _full = null!, _empty = null!;
    private IPAddress[] _many = null!;
    private string[] _keys = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _atShare = new HalfOpenLedger(new HalfOpenLimits(), TimeProvider.System);
        for (var i = 0; i < 5; i++) _atShare.TryAdmit($"held/{i}", Flooder, true);
        _empty = new HalfOpenLedger(new HalfOpenLimits(), TimeProvider.System);
        _full = new HalfOpenLedger(new HalfOpenLimits { MaxHalfOpen = 1024 }, TimeProvider.System);
        _many = Enumerable.Range(0, 4096).Select(i => new IPAddress([10, 1, (byte)(i / 256), (byte)(i % 256)])).ToArray();
        _keys = Enumerable.Range(0, 1 << 16).Select(i => $"10.1.0.0/{i:x16}").ToArray();
        for (var i = 0; i < 1024; i++) _full.TryAdmit($"fill/{i}", _many[i % 256], true);
    }

    [Benchmark(Baseline = true)]
    public bool RefusedAtPeerShare() => _atShare.TryAdmit("10.9.9.9/00000000deadbeef", Flooder, true).Admitted;

    [Benchmark]
    public bool RefusedNoKey() => _empty.TryAdmit("10.9.9.9/00000000deadbeef", Flooder, false).Admitted;

    [Benchmark]
    public bool AdmittedAndReleased()
    {
        var ok = _empty.TryAdmit("10.9.9.9/00000000cafef00d", Flooder, true).Admitted;
        _empty.Release("10.9.9.9/00000000cafef00d");
        return ok;
    }

    /// <summary>A full node (1,024 from 256 addresses): each newcomer from a fresh address evicts the busiest's oldest.</summary>
    [Benchmark]
    public bool AdmittedIntoFullNodeByGivingWay()
    {
        var i = _next++ & 0xFFFF;
        return _full.TryAdmit(_keys[i], _many[256 + (i % 3840)], true).Admitted;
    }
}
