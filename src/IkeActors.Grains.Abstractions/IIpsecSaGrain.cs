namespace IkeActors.Grains;

/// <summary>
/// One negotiated IPsec SA pair as it crosses silos. The keys are secret: never logged or shown;
/// the record only travels inside the cluster.
/// </summary>
[GenerateSerializer]
public sealed record IpsecSaRecord(
    [property: Id(0)] uint InboundSpi,
    [property: Id(1)] uint OutboundSpi,
    [property: Id(2)] byte[] InboundEncryptionKey,
    [property: Id(3)] byte[] InboundIntegrityKey,
    [property: Id(4)] byte[] OutboundEncryptionKey,
    [property: Id(5)] byte[] OutboundIntegrityKey,
    [property: Id(6)] string Transform,
    [property: Id(7)] int LifetimeSeconds,
    [property: Id(8)] long? LifetimeKilobytes,
    [property: Id(9)] string LocalProxy,
    [property: Id(10)] string RemoteProxy,
    [property: Id(11)] string Peer,
    [property: Id(12)] string CryptoMap,
    [property: Id(13)] int Sequence)
{
    /// <summary>What the ESP data plane needs beyond the keys: algorithms, selectors, where ESP goes.</summary>
    [Id(14)] public EspParameters? Esp { get; init; }

    public override string ToString() =>
        $"IPsec SA {Peer} in 0x{InboundSpi:x8} out 0x{OutboundSpi:x8} {Transform} ({LocalProxy} <-> {RemoteProxy}, keys not shown)";
}

/// <summary>One IPsec SA pair, keyed by "peer/inbound SPI" (hex): pushes its keys to the data plane and withdraws them.</summary>
public interface IIpsecSaGrain : IGrainWithStringKey
{
    Task Install(IpsecSaRecord record);

    Task Withdraw(string reason);

    /// <summary>The IKE SA grain that owns the pair now (set on install, changed by a Phase 1 rekey's hand-over).</summary>
    Task SetOwner(string ikeSaKey);

    /// <summary>
    /// The data plane (which knows SPIs, not IKE SAs) reports the kilobytes this pair has carried, a running
    /// total; forwarded to the owning IKE SA grain without waiting (see <see cref="IIkeSaGrain.AccountTraffic"/>).
    /// </summary>
    Task AccountTraffic(long kilobytes);

    /// <summary>The data plane decapsulated packets of this pair since its last report: the peer is alive, so its
    /// IKE SA's DPD idle clock restarts (RFC 3706 §5.3: R-U-THERE only after an idle period). Forwarded without waiting.</summary>
    Task PeerTraffic();

    /// <summary>SPIs, transform, lifetimes and proxies (keys zeroed in the copy).</summary>
    Task<IpsecSaRecord?> Describe();

    public static string KeyFor(string peer, uint inboundSpi) => $"{peer}/{inboundSpi:x8}";
}

/// <summary>
/// The ESP side of an IPsec SA pair in wire terms (RFC 2407 §4.4.4 transform IDs, §4.5 attributes):
/// the data plane builds its SAs from this. Selectors are the Quick Mode proxy IDs (RFC 4301 §4.4.1:
/// address range, protocol, port; 0 = any). <c>QuickModeInitiator</c>: this side sent QM3 (installed before the peer).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record EspParameters(
    [property: Id(0)] int TransformId,
    [property: Id(1)] int KeyLengthBits,
    [property: Id(2)] int AuthAlgorithm,
    [property: Id(3)] string LocalAddress,
    [property: Id(4)] string PeerAddress,
    [property: Id(5)] string? UdpEncapsulationAddress,
    [property: Id(6)] int UdpEncapsulationPort,
    [property: Id(7)] uint LocalFirst, [property: Id(8)] uint LocalLast, [property: Id(9)] int LocalProtocol, [property: Id(10)] int LocalPort,
    [property: Id(11)] uint RemoteFirst, [property: Id(12)] uint RemoteLast, [property: Id(13)] int RemoteProtocol, [property: Id(14)] int RemotePort,
    [property: Id(15)] bool QuickModeInitiator = false)
{
    public bool IsUdpEncapsulated => UdpEncapsulationAddress is not null;
}
