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
