using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using IkeActors.Gateway.Commands;
using IkeActors.Grains;

namespace IkeActors.Benchmarks;

/// <summary>
/// `show crypto isakmp sa` on a hub of 100,000 SAs, from the SA directory's entries: the listing as it renders now
/// (<see cref="IsakmpSaView"/>: every entry appended to one builder) against the way it was built before (each
/// entry as its own strings, then appended), kept here as the baseline.
/// </summary>
[MemoryDiagnoser]
public class ShowBenchmarks
{
    private List<SaDirectoryEntry> _sas = null!;

    [Params(100_000)]
    public int Sas { get; set; }

    [GlobalSetup]
    public void Setup() => _sas = Enumerable.Range(0, Sas)
        .Select(i => new SaDirectoryEntry($"127.{1 + i / 65536}.{i / 256 % 256}.{i % 256}/{(ulong)i * 2654435761UL:x16}", "MM_ACTIVE", false, i))
        .ToList();

    [Benchmark(Baseline = true)]
    public int EntryStrings()
    {
        var text = new StringBuilder(120 * _sas.Count + 200);
        for (var i = 0; i < _sas.Count; i++)
            text.Append(string.Create(CultureInfo.InvariantCulture, $"{i + 1,-3} IKE Peer: {_sas[i].Peer}\n")
                + string.Create(CultureInfo.InvariantCulture, $"    Type    : {"L2L",-15} Role    : {(_sas[i].Initiator ? "initiator" : "responder")}\n")
                + string.Create(CultureInfo.InvariantCulture, $"    Rekey   : {"no",-15} State   : {_sas[i].State}\n"));
        return text.Length;
    }

    [Benchmark]
    public int IsakmpSa() => IsakmpSaView.Render(_sas).Length;
}
