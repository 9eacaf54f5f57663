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
    /// <summary>
    /// A pair. When its inbound SPI was installed alone (<see cref="AddInbound"/>), the pair completes that SA (the
    /// inbound SA already there goes on receiving, with its replay window).
    /// </summary>
    void Add(IpsecSaRecord sa);
    void Remove(uint inboundSpi, uint outboundSpi);

    /// <summary>
    /// A Quick Mode responder's new inbound SA alone, at QM2 (the record's outbound keys are empty): it receives
    /// from now on, and sends nothing until <see cref="Add"/> of its pair (same inbound SPI) at QM3;
    /// <see cref="Remove"/> takes it out if that never comes. Installed already (announced again after a
    /// restore): nothing changes. An installer that does not implement it installs the whole pair at QM3 only.
    /// </summary>
    void AddInbound(IpsecSaRecord sa)
    {
    }

    /// <summary>What the grain awaits for <see cref="AddInbound"/>.</summary>
    Task AddInboundAsync(IpsecSaRecord sa)
    {
        AddInbound(sa);
        return Task.CompletedTask;
    }

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
    private readonly ConcurrentDictionary<uint, IpsecSaRecord> _inboundOnly = new();

    /// <summary>The whole pairs (what sends and receives).</summary>
    public IReadOnlyCollection<IpsecSaRecord> Sas => _bySpi.Values.Distinct().ToList();

    /// <summary>Inbound SAs installed alone (<see cref="AddInbound"/>), not yet completed by their pair.</summary>
    public IReadOnlyCollection<IpsecSaRecord> InboundOnly => _inboundOnly.Values.ToList();

    public bool TryGet(uint spi, out IpsecSaRecord? sa) => _bySpi.TryGetValue(spi, out sa);

    /// <summary>Whether ESP with this SPI (our inbound one) would be received: a whole pair's, or an inbound SA alone.</summary>
    public bool Receives(uint inboundSpi) =>
        _inboundOnly.ContainsKey(inboundSpi) || (_bySpi.TryGetValue(inboundSpi, out var sa) && sa.InboundSpi == inboundSpi);

    public void Add(IpsecSaRecord sa)
    {
        var copy = Copy(sa);
        if (_inboundOnly.TryRemove(sa.InboundSpi, out var alone)) Zero(alone); // completed by its pair
        _bySpi[sa.InboundSpi] = copy;
        _bySpi[sa.OutboundSpi] = copy;
    }

    public void AddInbound(IpsecSaRecord sa)
    {
        if (_bySpi.ContainsKey(sa.InboundSpi)) return;
        var copy = Copy(sa);
        if (!_inboundOnly.TryAdd(sa.InboundSpi, copy)) Zero(copy); // announced again: the one there stays
    }

    public void Remove(uint inboundSpi, uint outboundSpi)
    {
        if (_inboundOnly.TryRemove(inboundSpi, out var alone)) Zero(alone);
        if (_bySpi.TryRemove(inboundSpi, out var sa)) Zero(sa);
        _bySpi.TryRemove(outboundSpi, out _);
    }

    private static IpsecSaRecord Copy(IpsecSaRecord sa) => sa with
    {
        InboundEncryptionKey = [.. sa.InboundEncryptionKey], InboundIntegrityKey = [.. sa.InboundIntegrityKey],
        OutboundEncryptionKey = [.. sa.OutboundEncryptionKey], OutboundIntegrityKey = [.. sa.OutboundIntegrityKey],
    };

    internal static void Zero(IpsecSaRecord sa)
    {
        CryptographicOperations.ZeroMemory(sa.InboundEncryptionKey);
        CryptographicOperations.ZeroMemory(sa.InboundIntegrityKey);
        CryptographicOperations.ZeroMemory(sa.OutboundEncryptionKey);
        CryptographicOperations.ZeroMemory(sa.OutboundIntegrityKey);
    }
}
