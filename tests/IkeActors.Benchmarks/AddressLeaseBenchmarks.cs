using BenchmarkDotNet.Attributes;
using IkeActors.Negotiation;

namespace IkeActors.Benchmarks;

/// <summary>
/// The address lease rule a remote-access session runs at Mode Config (<see cref="AddressLeasing"/>): the user's login,
/// then a pool's first free address, and the release when the session ends, against a half-full /16 pool (32,767 of
/// 65,534 leased, the free ones scattered). <c>Ledger</c> is one pool's bookkeeping alone (what a pool grain does per
/// call); <c>LocalBook</c> the whole rule in one process (what the engine host does). A cluster adds two grain calls.
/// </summary>
[MemoryDiagnoser]
public class AddressLeaseBenchmarks
{
    private static readonly AddressRange Pool = new("RAPOOL", 0x0A000001, 0x0A00FFFE);
    private AddressPoolLedger _ledger = null!;
    private LocalAddressBook _book = null!;
    private AddressPlan _plan = null!;
    private AddressRelease _release = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ledger = new AddressPoolLedger();
        _book = new LocalAddressBook();
        var held = new List<string>();
        for (var i = 0; i < 65_534; i++)
        {
            var session = i.ToString("x16");
            _ledger.Lease(Pool, session);
            AddressLeasing.Lease(_book, new AddressPlan(session, "RA", null, [Pool], 3));
            if (i % 2 == 1) held.Add(session);
        }
        // Every other address back: the free ones scattered, the lowest-free mark at the pool's start.
        foreach (var session in held)
        {
            _ledger.Release(session);
            AddressLeasing.Release(_book, new AddressRelease(session, null, ["RAPOOL"]));
        }
        _plan = new AddressPlan("bench-session", "RA", "benchuser", [Pool], 1000);
        _release = new AddressRelease("bench-session", "benchuser", ["RAPOOL"]);
    }

    [Benchmark]
    public uint? Ledger()
    {
        var address = _ledger.Lease(Pool, "bench-session");
        _ledger.Release("bench-session");
        return address;
    }

    [Benchmark]
    public AddressLeaseResult LocalBook()
    {
        var result = AddressLeasing.Lease(_book, _plan);
        AddressLeasing.Release(_book, _release);
        return result;
    }
}
