using System.Net;

namespace IkeActors.Negotiation;

/// <summary>What `show crypto isakmp sa` needs of an IKE SA.</summary>
public sealed record IkeSaSummary(
    ulong InitiatorCookie, ulong ResponderCookie, IPEndPoint Peer, IkeRole Role, MainModeState State,
    string? TunnelGroup, Phase1Transform? Transform, int LifetimeSeconds, bool NatDetected);

/// <summary>One direction of an IPsec SA. The keys are secret: never printed (ToString masks them).</summary>
public sealed class IpsecSaKeys(uint spi, byte[] encryptionKey, byte[] integrityKey)
{
    public uint Spi { get; } = spi;
    public byte[] EncryptionKey { get; } = encryptionKey;
    public byte[] IntegrityKey { get; } = integrityKey;

    /// <summary>Zeroes the key buffers (on SA deletion).</summary>
    public void Clear()
    {
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(EncryptionKey);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(IntegrityKey);
    }

    public override string ToString() => $"SPI 0x{Spi:x8} (keys not shown)";
}

/// <summary>An inbound/outbound pair negotiated by one Quick Mode.</summary>
public sealed record IpsecSaPair(
    IpsecSaKeys Inbound, IpsecSaKeys Outbound, IpsecTransform Transform,
    ProxyId Local, ProxyId Remote, IPEndPoint Peer, string CryptoMap, int Sequence, string AccessList,
    int LifetimeSeconds, long? LifetimeKilobytes, uint MessageId, IkeRole Role, IPEndPoint? UdpEncapsulatedTo = null)
{
    /// <summary>ESP travels in UDP to this endpoint (RFC 3948) when the SA is UDP-encapsulated; raw ESP (IP protocol 50) to the peer otherwise.</summary>
    public bool IsUdpEncapsulated => UdpEncapsulatedTo is not null;

    /// <summary>
    /// The pair as <see cref="InstallInboundSa"/> hands it out: the inbound keys (shared with this pair) and the
    /// outbound SPI without keys, which go to the data plane only with <see cref="InstallIpsecSa"/>.
    /// </summary>
    public IpsecSaPair InboundOnly() => this with { Outbound = new IpsecSaKeys(Outbound.Spi, [], []) };
}
