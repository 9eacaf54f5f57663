namespace IkeActors.Negotiation;

public sealed partial class IpsecSa
{
    /// <summary>
    /// The pair as plain data (a <see cref="QuickModeSnapshot"/> in QM_ACTIVE, as in <see cref="IkeSaSnapshot.QuickModes"/>),
    /// to store it or hand it to an IKE SA in another process (<see cref="FromSnapshot"/>). Holds the keys.
    /// </summary>
    public QuickModeSnapshot ToSnapshot() => new()
    {
        MessageId = MessageId,
        Role = Role,
        State = QuickModeState.QM_ACTIVE,
        Ni = Memo.Ni.ToArray(),
        Nr = Memo.Nr.ToArray(),
        InboundSpi = InboundSpi,
        OutboundSpi = OutboundSpi,
        Transform = IpsecTransformSnapshot.From(Transform),
        LifetimeSeconds = LifetimeSeconds,
        LifetimeKilobytes = LifetimeKilobytes,
        Local = ProxyIdSnapshot.From(Local),
        Remote = ProxyIdSnapshot.From(Remote),
        CryptoMap = Match.Tag,
        Sequence = Match.Entry.Sequence,
        LastSent = Memo.LastSent?.ToArray(),
        LastReceived = Memo.LastReceived?.ToArray(),
        Inbound = KeysOf(Pair.Inbound),
        Outbound = KeysOf(Pair.Outbound),
        RekeyOf = RekeyOf,
        RekeyedBy = RekeyedBy,
        KilobytesUsed = KilobytesUsed,
        KilobyteSoftLimitReached = KilobyteSoftLimitReached,
        OutboundSequenceHighWater = OutboundSequenceHighWater,
    };

    private static IpsecSaKeySnapshot KeysOf(IpsecSaKeys k) => new() { Spi = k.Spi, EncryptionKey = k.EncryptionKey.ToArray(), IntegrityKey = k.IntegrityKey.ToArray() };

    /// <summary>
    /// The pair of a snapshot (QM_ACTIVE), for the IKE SA <paramref name="owner"/> (its gateway's crypto maps,
    /// its peer and NAT-T endpoint); not yet owned: <see cref="IkeSa.AdoptIpsecSas"/> takes it. Throws
    /// <see cref="IkeSaSnapshotException"/> for an inconsistent snapshot.
    /// </summary>
    public static IpsecSa FromSnapshot(IkeSa owner, QuickModeSnapshot q)
    {
        var (transform, match) = QuickModeSnapshotCheck.Check(owner, q);
        var where = $"Quick Mode 0x{q.MessageId:x8}";
        if (q.State != QuickModeState.QM_ACTIVE) throw IkeSa.Bad($"{where}: {q.State} is not an installed pair");
        var inbound = CheckKeys(q.Inbound, q.InboundSpi, "inbound");
        IpsecSaPair pair;
        try
        {
            var outbound = CheckKeys(q.Outbound, q.OutboundSpi, "outbound");
            pair = new IpsecSaPair(inbound, outbound, transform!, match.Local, match.Remote, owner.Peer, match.Tag, match.Entry.Sequence,
                match.AccessList?.Name ?? "", q.LifetimeSeconds, q.LifetimeKilobytes, q.MessageId, q.Role, transform!.IsUdpEncapsulated ? owner.Destination : null);
        }
        catch
        {
            inbound.Clear();
            throw;
        }
        var memo = new QuickModeMemo(q.MessageId, QuickModeState.QM_ACTIVE, match, q.Ni.ToArray(), q.Nr.ToArray(), q.LastReceived?.ToArray(), q.LastSent?.ToArray());
        return new IpsecSa(match, pair, memo)
        {
            RekeyOf = q.RekeyOf,
            RekeyedBy = q.RekeyedBy,
            KilobytesUsed = q.KilobytesUsed,
            KilobyteSoftLimitReached = q.KilobyteSoftLimitReached,
            OutboundSequenceHighWater = q.OutboundSequenceHighWater,
        };

        IpsecSaKeys CheckKeys(IpsecSaKeySnapshot? k, uint spi, string direction)
        {
            if (k is null || k.EncryptionKey is null || k.IntegrityKey is null) throw IkeSa.Bad($"{where}: {direction} keys missing in QM_ACTIVE");
            if (k.Spi != spi) throw IkeSa.Bad($"{where}: {direction} key SPI 0x{k.Spi:x8} is not the SA's 0x{spi:x8}");
            if (k.EncryptionKey.Length != transform!.EncryptionKeyBytes || k.IntegrityKey.Length != transform.IntegrityKeyBytes)
                throw IkeSa.Bad($"{where}: {direction} keys are {k.EncryptionKey.Length}/{k.IntegrityKey.Length} bytes, {transform.AsaText} needs {transform.EncryptionKeyBytes}/{transform.IntegrityKeyBytes}");
            return new IpsecSaKeys(spi, k.EncryptionKey.ToArray(), k.IntegrityKey.ToArray());
        }
    }
}
