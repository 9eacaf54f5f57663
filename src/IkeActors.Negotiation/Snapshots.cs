using System.Security.Cryptography;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// The persisted state of one IKE SA (<see cref="IkeSa.Snapshot"/>), from which
/// <see cref="IkeSa.Restore"/> continues it in another process: cookies, Main Mode state and
/// material, phase-1 keys, the ISAKMP cipher's IVs, the last datagrams (so a retransmitted request
/// still gets the same answer), queued acquires and every Quick Mode.
/// <para>
/// Plain data only (primitives, strings, enums, byte arrays, lists; no engine objects), so a
/// serializer (System.Text.Json, Orleans' generated serializers) can store it as it is.
/// Configuration objects are referred to by name (crypto map and sequence, tunnel group) and looked
/// up again in the restoring gateway's configuration.
/// </para>
/// <para>
/// <b>Secrets.</b> The snapshot holds the SA's derived keys by design (SKEYID, SKEYID_d/a/e, the
/// ISAKMP encryption key, and the ESP keys of installed IPsec SAs): without them the SA cannot
/// continue. It never holds the pre-shared key, g^xy or a DH private value. Storage that holds
/// snapshots (grain storage, Redis) must be protected like the keys themselves (access control,
/// encryption at rest). <see cref="ToString"/> prints no key or IV; <see cref="ClearSecrets"/> zeroes
/// the key arrays once the snapshot has been written.
/// </para>
/// <para>
/// <b>When.</b> A snapshot is taken when an exchange has completed or waits for the peer without a
/// DH private key: MM_ACTIVE in both roles; the responder's MM_WAIT_MSG3 and MM_WAIT_MSG5; the
/// initiator's MM_WAIT_MSG2 and MM_WAIT_MSG6 (<see cref="IkeSa.CanSnapshot"/>). The initiator's
/// MM_WAIT_MSG4 (between MM3 and MM4) holds the DH private key, which is never persisted: such an SA is
/// renegotiated after a failover. Likewise a Quick Mode that waits for the peer with a PFS private key is
/// left out of the snapshot (its peer retransmits or renegotiates); active Quick Modes are always in it.
/// </para>
/// </summary>
/// <summary>
/// The remote-access state of an IKE SA: who XAUTH authenticated, the address Mode Config gave, and the Transaction
/// exchange of ours waiting for an answer (its message, to retransmit). The client's credentials are never persisted.
/// </summary>
public sealed class RemoteAccessSnapshot
{
    public string? User { get; init; }
    public bool Pending { get; init; }
    public int XauthAttempts { get; init; }
    public ushort Identifier { get; init; }
    public uint PendingMessageId { get; init; }
    public byte[]? PendingMessage { get; init; }
    public int Retransmits { get; init; }
    public string? LeaseAddress { get; init; }
    public string? LeaseNetmask { get; init; }
    /// <summary>The range the address was leased from (what the session's end releases it to).</summary>
    public string? LeasePool { get; init; }
    /// <summary>Our pushed Mode Config SET waits for the client's ACK (<see cref="PendingMessage"/> is it).</summary>
    public bool Pushing { get; init; }
}

public sealed class IkeSaSnapshot
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;
    public IkeRole Role { get; init; }
    public MainModeState State { get; init; }
    /// <summary>Phase 1 was (or is) Aggressive Mode (RFC 2409 §5.4).</summary>
    public bool Aggressive { get; init; }
    public string PeerAddress { get; init; } = "";
    public int PeerPort { get; init; }
    /// <summary>The gateway's own endpoint when the snapshot was taken (the restoring gateway must have the same address).</summary>
    public string LocalAddress { get; init; } = "";
    public int LocalPort { get; init; }
    public ulong InitiatorCookie { get; init; }
    public ulong ResponderCookie { get; init; }

    /// <summary>The chosen phase-1 transform (null only for the initiator in MM_WAIT_MSG2).</summary>
    public Phase1TransformSnapshot? Transform { get; init; }
    /// <summary>SAi_b: the body of the initiator's SA payload (RFC 2409 §5, HASH_I/HASH_R input).</summary>
    public byte[] SaiBody { get; init; } = [];
    public byte[] Gxi { get; init; } = [];
    public byte[] Gxr { get; init; } = [];
    public byte[] Ni { get; init; } = [];
    public byte[] Nr { get; init; } = [];
    public byte[] IdiiBody { get; init; } = [];
    public byte[] IdirBody { get; init; } = [];
    public string? TunnelGroup { get; init; }
    public bool NatDetected { get; init; }
    /// <summary>RFC 3947: the NAT-T version both ends announced, and the peer's NAT-T endpoint once the SA floated to 4500.</summary>
    public NatTraversalVersion NatTraversal { get; init; }
    public string? NatTPeerAddress { get; init; }
    public int NatTPeerPort { get; init; }
    /// <summary>The responder's NAT-D result between MM3 and MM5 (printed with MM5); null otherwise.</summary>
    public bool? PendingPeerNatMatches { get; init; }
    public bool? PendingLocalNatMatches { get; init; }

    /// <summary>Phase-1 keys and the cipher's IV state; null before they are derived.</summary>
    public Phase1KeySnapshot? Keys { get; init; }

    /// <summary>The last phase-1 datagram sent and received (RFC 2408 §5: a repeated request gets the same answer).</summary>
    public byte[]? LastSent { get; init; }
    public byte[]? LastReceived { get; init; }
    public int Retransmits { get; init; }
    public bool InitialContactSent { get; init; }

    /// <summary>The initiator's acquire that started Main Mode, until its Quick Mode starts.</summary>
    public AcquireSnapshot? InitialAcquire { get; init; }
    /// <summary>Acquires queued while Main Mode runs.</summary>
    public List<AcquireSnapshot> PendingAcquires { get; init; } = [];
    public List<QuickModeSnapshot> QuickModes { get; init; } = [];

    /// <summary>DPD (RFC 3706): the peer sent the DPD vendor ID; the last R-U-THERE sequence number (null: none sent yet),
    /// the first of the current round, and how many R-U-THEREs of the round are unanswered.</summary>
    public bool PeerSupportsDpd { get; init; }
    public uint? DpdSequence { get; init; }
    public uint DpdRoundStart { get; init; }
    public int DpdUnanswered { get; init; }

    /// <summary>Phase 1 rekey links: the initiator cookie of the IKE SA this one replaces, and of the one replacing it (0: none).</summary>
    public ulong RekeyOf { get; init; }
    public ulong RekeyedBy { get; init; }
    /// <summary>The IKE SA the peer's Phase 1 rekey made to replace this one (<see cref="IkeSa.Successor"/>; 0: none).</summary>
    public ulong Successor { get; init; }

    /// <summary>Remote access (head-end or client); null for a LAN-to-LAN SA.</summary>
    public RemoteAccessSnapshot? RemoteAccess { get; init; }

    /// <summary>Zeroes every key array of this snapshot (phase 1 and IPsec) once it has been persisted.</summary>
    public void ClearSecrets()
    {
        Keys?.Clear();
        foreach (var qm in QuickModes) qm.ClearSecrets();
    }

    public override string ToString() =>
        $"IkeSaSnapshot({Role} {State}, peer {PeerAddress}:{PeerPort}, cookies {InitiatorCookie:x16}/{ResponderCookie:x16}, "
        + $"{QuickModes.Count} Quick Mode(s); keys not shown)";
}

/// <summary>RFC 2409 Appendix A attributes of the chosen phase-1 transform.</summary>
public sealed class Phase1TransformSnapshot
{
    public OakleyEncryption Encryption { get; init; }
    public int KeyLengthBits { get; init; }
    public OakleyHash Hash { get; init; }
    public OakleyGroup Group { get; init; }
    public OakleyAuthMethod Authentication { get; init; }
    public int LifetimeSeconds { get; init; }

    internal static Phase1TransformSnapshot From(Phase1Transform t) => new()
    {
        Encryption = t.Encryption, KeyLengthBits = t.KeyLengthBits, Hash = t.Hash, Group = t.Group,
        Authentication = t.Authentication, LifetimeSeconds = t.LifetimeSeconds,
    };

    internal Phase1Transform ToTransform() => new(Encryption, KeyLengthBits, Hash, Group, Authentication, LifetimeSeconds);

    public override string ToString() => $"{Encryption}/{KeyLengthBits} {Hash} group {(int)Group} {Authentication} {LifetimeSeconds}s";
}

/// <summary>
/// Phase-1 key material (RFC 2409 §5, appendix B) and the ISAKMP cipher's current IVs. Secret.
/// The initial phase-1 IV is not stored: it is hash(g^xi | g^xr), recomputed on restore.
/// </summary>
public sealed class Phase1KeySnapshot
{
    public byte[] Skeyid { get; init; } = [];
    public byte[] SkeyidD { get; init; } = [];
    public byte[] SkeyidA { get; init; } = [];
    public byte[] SkeyidE { get; init; } = [];
    /// <summary>Ka, the ISAKMP encryption key.</summary>
    public byte[] EncryptionKey { get; init; } = [];
    /// <summary>The current phase-1 IV: the last CBC block of Main Mode.</summary>
    public byte[] Phase1Iv { get; init; } = [];
    /// <summary>The current IV of every phase-2 exchange (Quick Mode, Informational) that has one.</summary>
    public List<MessageIvSnapshot> Phase2Ivs { get; init; } = [];

    public void Clear()
    {
        foreach (var b in new[] { Skeyid, SkeyidD, SkeyidA, SkeyidE, EncryptionKey })
            if (b is not null) CryptographicOperations.ZeroMemory(b);
    }

    public override string ToString() => $"Phase1KeySnapshot({EncryptionKey?.Length * 8}-bit key, {Phase2Ivs?.Count} phase-2 IVs; not shown)";
}

public sealed class MessageIvSnapshot
{
    public uint MessageId { get; init; }
    public byte[] Iv { get; init; } = [];

    public override string ToString() => $"IV of message ID 0x{MessageId:x8}";
}

/// <summary>A Quick Mode proxy identity (an IPv4 range, protocol, port), as <c>ProxyId</c>.</summary>
public sealed class ProxyIdSnapshot
{
    public uint First { get; init; }
    public uint Last { get; init; }
    public int Protocol { get; init; }
    public int Port { get; init; }

    internal static ProxyIdSnapshot From(ProxyId p) => new() { First = p.Range.First, Last = p.Range.Last, Protocol = p.Protocol, Port = p.Port };

    internal ProxyId ToProxyId() => new(new Ipv4Range(First, Last), Protocol, Port);

    public override string ToString() => ToProxyId().ToString();
}

/// <summary>A crypto map entry and the proxies of traffic that wants an SA; looked up again in the configuration on restore.</summary>
public sealed class AcquireSnapshot
{
    public string CryptoMap { get; init; } = "";
    public int Sequence { get; init; }
    public ProxyIdSnapshot Local { get; init; } = new();
    public ProxyIdSnapshot Remote { get; init; } = new();

    internal static AcquireSnapshot From(CryptoMapMatch m) => new()
    {
        CryptoMap = m.Tag, Sequence = m.Entry.Sequence, Local = ProxyIdSnapshot.From(m.Local), Remote = ProxyIdSnapshot.From(m.Remote),
    };

    public override string ToString() => $"{CryptoMap} {Sequence}: {Local} -> {Remote}";
}

/// <summary>An ESP transform (RFC 2407 §4.5) as <c>IpsecTransform</c>.</summary>
public sealed class IpsecTransformSnapshot
{
    public EspTransformId Cipher { get; init; }
    public int KeyLengthBits { get; init; }
    public IpsecAuthAlgorithm Integrity { get; init; }
    public EncapsulationMode Mode { get; init; }
    public int LifetimeSeconds { get; init; }
    public long? LifetimeKilobytes { get; init; }
    public OakleyGroup? PfsGroup { get; init; }

    internal static IpsecTransformSnapshot From(IpsecTransform t) => new()
    {
        Cipher = t.Cipher, KeyLengthBits = t.KeyLengthBits, Integrity = t.Integrity, Mode = t.Mode,
        LifetimeSeconds = t.LifetimeSeconds, LifetimeKilobytes = t.LifetimeKilobytes, PfsGroup = t.PfsGroup,
    };

    internal IpsecTransform ToTransform() => new(Cipher, KeyLengthBits, Integrity, Mode, LifetimeSeconds, LifetimeKilobytes, PfsGroup);

    public override string ToString() => ToTransform().AsaText;
}

/// <summary>One direction of an installed IPsec SA: SPI and keys (secret).</summary>
public sealed class IpsecSaKeySnapshot
{
    public uint Spi { get; init; }
    public byte[] EncryptionKey { get; init; } = [];
    public byte[] IntegrityKey { get; init; } = [];

    public void Clear()
    {
        if (EncryptionKey is not null) CryptographicOperations.ZeroMemory(EncryptionKey);
        if (IntegrityKey is not null) CryptographicOperations.ZeroMemory(IntegrityKey);
    }

    public override string ToString() => $"SPI 0x{Spi:x8} (keys not shown)";
}

/// <summary>One Quick Mode exchange (RFC 2409 §5.5) of an IKE SA, active or waiting for the peer.</summary>
public sealed class QuickModeSnapshot
{
    public uint MessageId { get; init; }
    public IkeRole Role { get; init; }
    public QuickModeState State { get; init; }
    public byte[] Ni { get; init; } = [];
    public byte[] Nr { get; init; } = [];
    public uint InboundSpi { get; init; }
    public uint OutboundSpi { get; init; }
    /// <summary>The chosen transform (null while the initiator waits for QM2).</summary>
    public IpsecTransformSnapshot? Transform { get; init; }
    public int LifetimeSeconds { get; init; }
    public long? LifetimeKilobytes { get; init; }
    public ProxyIdSnapshot Local { get; init; } = new();
    public ProxyIdSnapshot Remote { get; init; } = new();
    public string CryptoMap { get; init; } = "";
    public int Sequence { get; init; }
    public byte[]? LastSent { get; init; }
    public byte[]? LastReceived { get; init; }
    public int Retransmits { get; init; }
    /// <summary>The peer's PFS public value (KE body), if any; never our private value.</summary>
    public byte[] PeerPfsPublic { get; init; } = [];
    /// <summary>The installed pair (QM_ACTIVE only): our inbound and outbound SPI and keys.</summary>
    public IpsecSaKeySnapshot? Inbound { get; init; }
    public IpsecSaKeySnapshot? Outbound { get; init; }
    /// <summary>Phase 2 rekey links: the message ID of the pair this one replaces, and of the Quick Mode replacing it (0: none).</summary>
    public uint RekeyOf { get; init; }
    public uint RekeyedBy { get; init; }
    /// <summary>Kilobytes carried as last reported by the data plane, and whether the kB soft limit was signalled.</summary>
    public long KilobytesUsed { get; init; }
    public bool KilobyteSoftLimitReached { get; init; }
    /// <summary>The pair's outbound ESP sequence-number high-water mark (RFC 4303 §3.3.3; 0: not tracked).</summary>
    public ulong OutboundSequenceHighWater { get; init; }

    public void ClearSecrets()
    {
        Inbound?.Clear();
        Outbound?.Clear();
    }

    public override string ToString() =>
        $"QuickModeSnapshot(0x{MessageId:x8} {Role} {State}, SPIs 0x{InboundSpi:x8}/0x{OutboundSpi:x8}, {CryptoMap} {Sequence}; keys not shown)";
}

/// <summary>
/// A snapshot cannot be restored: it is inconsistent (wrong key or IV lengths, unknown state,
/// missing fields), belongs to another gateway address, or names configuration that no longer exists.
/// Snapshots come from our own storage, so this signals corruption or a configuration change,
/// not a peer's input; the host should drop the SA (the peer renegotiates).
/// </summary>
public sealed class IkeSaSnapshotException : Exception
{
    public IkeSaSnapshotException(string message) : base(message) { }
    public IkeSaSnapshotException(string message, Exception inner) : base(message, inner) { }
}
