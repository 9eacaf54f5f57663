using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace IkeActors.Grains;

/// <summary>
/// The ESP data plane's SA database as the grains see it (RFC 4301 §4.4.2 SAD): the ESP issue
/// implements it over TUN and sockets; <see cref="InMemoryEspSaDatabase"/> serves until then.
/// </summary>
public interface IEspSaDatabase
{
    void Add(IpsecSaRecord sa);
    void Remove(uint inboundSpi, uint outboundSpi);
}

/// <summary>An SA database in memory: lookups by SPI, keys copied in and zeroed on removal.</summary>
public sealed class InMemoryEspSaDatabase : IEspSaDatabase
{
    private readonly ConcurrentDictionary<uint, IpsecSaRecord> _bySpi = new();

    public IReadOnlyCollection<IpsecSaRecord> Sas => _bySpi.Values.Distinct().ToList();

    public bool TryGet(uint spi, out IpsecSaRecord? sa) => _bySpi.TryGetValue(spi, out sa);

    public void Add(IpsecSaRecord sa)
    {
        var copy = sa with
        {
            InboundEncryptionKey = [.. sa.InboundEncryptionKey], InboundIntegrityKey = [.. sa.InboundIntegrityKey],
            OutboundEncryptionKey = [.. sa.OutboundEncryptionKey], OutboundIntegrityKey = [.. sa.OutboundIntegrityKey],
        };
        _bySpi[sa.InboundSpi] = copy;
        _bySpi[sa.OutboundSpi] = copy;
    }

    public void Remove(uint inboundSpi, uint outboundSpi)
    {
        if (_bySpi.TryRemove(inboundSpi, out var sa)) Zero(sa);
        _bySpi.TryRemove(outboundSpi, out _);
    }

    internal static void Zero(IpsecSaRecord sa)
    {
        CryptographicOperations.ZeroMemory(sa.InboundEncryptionKey);
        CryptographicOperations.ZeroMemory(sa.InboundIntegrityKey);
        CryptographicOperations.ZeroMemory(sa.OutboundEncryptionKey);
        CryptographicOperations.ZeroMemory(sa.OutboundIntegrityKey);
    }
}

/// <summary>One IPsec SA pair: holds it while it lives, pushes it to the silo's data plane, withdraws and zeroes it.</summary>
public sealed class IpsecSaGrain(IServiceProvider services) : Grain, IIpsecSaGrain
{
    // A silo without a data plane (an IKE-only node, a test cluster) keeps the record only.
    private readonly IEspSaDatabase? _dataPlane = services.GetService(typeof(IEspSaDatabase)) as IEspSaDatabase;
    private IpsecSaRecord? _sa;

    public Task Install(IpsecSaRecord record)
    {
        _sa = record;
        _dataPlane?.Add(record);
        return Task.CompletedTask;
    }

    public Task Withdraw(string reason)
    {
        if (_sa is not null)
        {
            _dataPlane?.Remove(_sa.InboundSpi, _sa.OutboundSpi);
            InMemoryEspSaDatabase.Zero(_sa);
            _sa = null;
        }
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    private string? _owner;

    public Task SetOwner(string ikeSaKey)
    {
        _owner = ikeSaKey;
        return Task.CompletedTask;
    }

    /// <summary>Not awaited: the IKE SA grain may be waiting on this grain (Install/Withdraw), a call cycle otherwise.</summary>
    public Task AccountTraffic(long kilobytes)
    {
        if (_owner is not null && _sa is not null)
            GrainFactory.GetGrain<IIkeSaGrain>(_owner).AccountTraffic(_sa.InboundSpi, kilobytes).Ignore();
        return Task.CompletedTask;
    }

    public Task PeerTraffic()
    {
        if (_owner is not null && _sa is not null)
            GrainFactory.GetGrain<IIkeSaGrain>(_owner).TrafficReceived().Ignore();
        return Task.CompletedTask;
    }

    public Task<IpsecSaRecord?> Describe() => Task.FromResult(_sa is null ? null : _sa with
    {
        InboundEncryptionKey = [], InboundIntegrityKey = [], OutboundEncryptionKey = [], OutboundIntegrityKey = [],
    });
}
