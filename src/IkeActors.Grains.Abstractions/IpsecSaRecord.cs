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

    /// <summary>The key of the IKE SA grain that negotiated it (a cluster's new carrier brings that grain to itself).</summary>
    [Id(15)] public string? Owner { get; init; }

    public override string ToString() =>
        $"IPsec SA {Peer} in 0x{InboundSpi:x8} out 0x{OutboundSpi:x8} {Transform} ({LocalProxy} <-> {RemoteProxy}, keys not shown)";
}
