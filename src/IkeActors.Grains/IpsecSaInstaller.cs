using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace IkeActors.Grains;

/// <summary>
/// The node's ESP data plane as the IPsec SA grains see it: a negotiated pair is installed into its SA database
/// (RFC 4301 §4.4.2 SAD) and removed from it. The gateway's implementation feeds the userspace ESP data plane
/// (IkeActors.Esp's EspSaDatabase, TUN and sockets); <see cref="InMemoryIpsecSaInstaller"/> serves negotiation-only nodes and tests.
/// </summary>
public interface IIpsecSaInstaller
{
    void Add(IpsecSaRecord sa);
    void Remove(uint inboundSpi, uint outboundSpi);

    /// <summary>What the grain awaits: an installer that writes to the cluster first (the carrier's) overrides it.</summary>
    Task AddAsync(IpsecSaRecord sa)
    {
        Add(sa);
        return Task.CompletedTask;
    }

    /// <summary>What the grain awaits before it zeroes the record's keys.</summary>
    Task RemoveAsync(IpsecSaRecord sa)
    {
        Remove(sa.InboundSpi, sa.OutboundSpi);
        return Task.CompletedTask;
    }

    /// <summary>
    /// A pair known only by its peer and inbound SPI (its grain was lost with a node and woke without the record): a
    /// cluster's installer removes it wherever it is carried; a single node has nothing to remove (it died with the grain).
    /// </summary>
    Task RemoveAsync(string peer, uint inboundSpi) => Task.CompletedTask;
}

/// <summary>An SA database in memory: lookups by SPI, keys copied in and zeroed on removal.</summary>
public sealed class InMemoryIpsecSaInstaller : IIpsecSaInstaller
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
