namespace IkeActors.Negotiation;

/// <summary>Whether an IPsec SA pair is in the data plane.</summary>
public enum IpsecSaState
{
    Installed,
    Deleted,
}

/// <summary>
/// One installed IPsec SA pair, an inbound and an outbound ESP SA (RFC 2401 §4.4), made by the Quick Mode
/// of <see cref="MessageId"/> (RFC 2409 §5.5) and owned by an IKE SA until it is deleted, rekeyed or
/// expires. It outlives the exchange and, in IKEv1, the IKE SA too: a Phase 1 rekey hands it over
/// (<see cref="IkeSa.ReleaseIpsecSas(IkeSa, NegotiationOutput)"/>, <see cref="IkeSa.AdoptIpsecSas"/>).
/// </summary>
public sealed partial class IpsecSa : IDisposable
{
    internal IpsecSa(CryptoMapMatch match, IpsecSaPair pair, QuickModeMemo memo)
    {
        Match = match;
        Pair = pair;
        Memo = memo;
    }

    /// <summary>The message ID of the Quick Mode that negotiated the pair (its key in the IKE SA and in timer keys).</summary>
    public uint MessageId => Pair.MessageId;
    /// <summary>Our role in that Quick Mode: the initiator rekeys the pair (RFC 2409 §5.5 does not say who).</summary>
    public IkeRole Role => Pair.Role;
    public CryptoMapMatch Match { get; }
    public ProxyId Local => Pair.Local;
    public ProxyId Remote => Pair.Remote;
    public IpsecTransform Transform => Pair.Transform;
    public uint InboundSpi => Pair.Inbound.Spi;
    public uint OutboundSpi => Pair.Outbound.Spi;
    /// <summary>The SPIs, keys and what the data plane needs to install them.</summary>
    public IpsecSaPair Pair { get; }
    public int LifetimeSeconds => Pair.LifetimeSeconds;
    public long? LifetimeKilobytes => Pair.LifetimeKilobytes;
    public IpsecSaState State { get; private set; } = IpsecSaState.Installed;

    /// <summary>Kilobytes the pair has carried, as the data plane last reported (<see cref="IkeSa.TrafficAccounted"/>).</summary>
    public long KilobytesUsed { get; internal set; }
    /// <summary>The kilobyte soft limit (the rekey share of the kB lifetime) has been reached.</summary>
    public bool KilobyteSoftLimitReached { get; internal set; }
    /// <summary>The message ID of the pair this one replaces (a Phase 2 rekey), 0 for a new one.</summary>
    public uint RekeyOf { get; internal set; }
    /// <summary>The message ID of the Quick Mode that replaces this pair, 0 while none runs.</summary>
    public uint RekeyedBy { get; internal set; }

    /// <summary>
    /// The highest outbound ESP sequence number that may have been used (0: not tracked yet). RFC 4303 §3.3.3:
    /// a sender never reuses a sequence number under one SA, so a node that takes the pair over from
    /// another must continue above this mark.
    /// </summary>
    public ulong OutboundSequenceHighWater { get; set; }

    /// <summary>The Quick Mode that made the pair: its nonces and last request and answer (RFC 2408 §5 retransmission).</summary>
    internal QuickModeMemo Memo { get; }

    /// <summary>Whether the pair protects these proxies under the same crypto map entry as <paramref name="other"/>.</summary>
    internal bool SameTunnelAs(IpsecSa other) =>
        Local == other.Local && Remote == other.Remote && Match.Tag == other.Match.Tag && Match.Entry.Sequence == other.Match.Entry.Sequence;

    /// <summary>The pair leaves the data plane (the peer's DELETE, RFC 2408 §3.15, or ours, or expiry): announced, keys zeroed.</summary>
    internal void Delete(NegotiationOutput output, string reason)
    {
        if (State == IpsecSaState.Installed) output.Add(new IpsecSaDeleted(InboundSpi, OutboundSpi, Pair.Peer, reason));
        State = IpsecSaState.Deleted;
        Dispose();
    }

    public void Dispose()
    {
        Pair.Inbound.Clear();
        Pair.Outbound.Clear();
    }

    public override string ToString() =>
        $"IpsecSa(0x{MessageId:x8} {Role} {State}, SPIs 0x{InboundSpi:x8}/0x{OutboundSpi:x8}, {Match.Tag} {Match.Entry.Sequence}; keys not shown)";
}
