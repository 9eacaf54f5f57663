namespace IkeActors.Grains;

/// <summary>
/// The installed IPsec SA pairs one IKE SA grain hands to the one that replaces it in a Phase 1 rekey (IKEv1 IPsec SAs
/// outlive their IKE SA), with their lifetime timers. They hold keys: cluster-internal only, never logged.
/// </summary>
[GenerateSerializer]
public sealed class IpsecSaHandOver
{
    [Id(0)] public List<IpsecSaTransfer> Pairs { get; set; } = [];
    [Id(1)] public List<StoredTimer> Timers { get; set; } = [];
}

/// <summary>
/// One installed IPsec SA pair as it travels between grains: what the engine's pair snapshot holds (the Quick Mode's
/// message ID, role and nonces, the crypto map entry and proxies, the negotiated transform and lifetimes, both SPIs and
/// their keys, the kilobytes used, rekey links and the outbound sequence-number high-water mark, RFC 4303 §3.3.3).
/// Enums travel as their numbers.
/// </summary>
[GenerateSerializer]
public sealed class IpsecSaTransfer
{
    [Id(0)] public uint MessageId { get; set; }
    [Id(1)] public int Role { get; set; }
    [Id(2)] public byte[] Ni { get; set; } = [];
    [Id(3)] public byte[] Nr { get; set; } = [];
    [Id(4)] public string CryptoMap { get; set; } = "";
    [Id(5)] public int Sequence { get; set; }
    [Id(6)] public uint LocalFirst { get; set; }
    [Id(7)] public uint LocalLast { get; set; }
    [Id(8)] public int LocalProtocol { get; set; }
    [Id(9)] public int LocalPort { get; set; }
    [Id(10)] public uint RemoteFirst { get; set; }
    [Id(11)] public uint RemoteLast { get; set; }
    [Id(12)] public int RemoteProtocol { get; set; }
    [Id(13)] public int RemotePort { get; set; }
    [Id(14)] public int Cipher { get; set; }
    [Id(15)] public int KeyLengthBits { get; set; }
    [Id(16)] public int Integrity { get; set; }
    [Id(17)] public int Mode { get; set; }
    [Id(18)] public int TransformLifetimeSeconds { get; set; }
    [Id(19)] public long? TransformLifetimeKilobytes { get; set; }
    [Id(20)] public int? PfsGroup { get; set; }
    [Id(21)] public int LifetimeSeconds { get; set; }
    [Id(22)] public long? LifetimeKilobytes { get; set; }
    [Id(23)] public uint InboundSpi { get; set; }
    [Id(24)] public byte[] InboundEncryptionKey { get; set; } = [];
    [Id(25)] public byte[] InboundIntegrityKey { get; set; } = [];
    [Id(26)] public uint OutboundSpi { get; set; }
    [Id(27)] public byte[] OutboundEncryptionKey { get; set; } = [];
    [Id(28)] public byte[] OutboundIntegrityKey { get; set; } = [];
    [Id(29)] public uint RekeyOf { get; set; }
    [Id(30)] public uint RekeyedBy { get; set; }
    [Id(31)] public long KilobytesUsed { get; set; }
    [Id(32)] public bool KilobyteSoftLimitReached { get; set; }
    [Id(33)] public ulong OutboundSequenceHighWater { get; set; }

    /// <summary>Zeroes the four keys once the pair has been adopted (or could not be).</summary>
    public void ClearKeys()
    {
        Array.Clear(InboundEncryptionKey);
        Array.Clear(InboundIntegrityKey);
        Array.Clear(OutboundEncryptionKey);
        Array.Clear(OutboundIntegrityKey);
    }

    public override string ToString() => $"IPsec SA pair 0x{InboundSpi:x8}/0x{OutboundSpi:x8} (keys not shown)";
}
