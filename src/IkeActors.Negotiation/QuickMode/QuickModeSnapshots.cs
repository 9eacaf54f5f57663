namespace IkeActors.Negotiation;

/// <summary>A Quick Mode that waits for the peer, as plain data and back (an IKE SA's snapshot carries its waiting exchanges).</summary>
internal static class QuickModeSnapshots
{
    /// <summary>
    /// The exchange as plain data, or null when it cannot be kept: idle or failed, or waiting for the
    /// peer with a PFS private key (never persisted; the exchange is renegotiated after a failover).
    /// </summary>
    public static QuickModeSnapshot? From(QuickModeExchange qm, bool holdsPfsKey, int retransmits, byte[] peerPfsPublic)
    {
        if (qm.State is not (QuickModeState.QM_WAIT_MSG2 or QuickModeState.QM_WAIT_MSG3) || holdsPfsKey || qm.Match is not { } match) return null;
        var memo = qm.Memo();
        return new QuickModeSnapshot
        {
            MessageId = qm.MessageId,
            Role = qm.Role,
            State = qm.State,
            Ni = memo.Ni,
            Nr = memo.Nr,
            InboundSpi = qm.InboundSpi,
            OutboundSpi = qm.OutboundSpi,
            Transform = qm.Transform is null ? null : IpsecTransformSnapshot.From(qm.Transform),
            LifetimeSeconds = qm.LifetimeSeconds,
            LifetimeKilobytes = qm.LifetimeKilobytes,
            Local = ProxyIdSnapshot.From(qm.Local),
            Remote = ProxyIdSnapshot.From(qm.Remote),
            CryptoMap = match.Tag,
            Sequence = match.Entry.Sequence,
            LastSent = memo.LastSent?.ToArray(),
            LastReceived = memo.LastReceived?.ToArray(),
            Retransmits = retransmits,
            PeerPfsPublic = peerPfsPublic.ToArray(),
            RekeyOf = qm.RekeyOf,
        };
    }

    /// <summary>Rebuilds a waiting Quick Mode of a restored IKE SA; throws <see cref="IkeSaSnapshotException"/>.</summary>
    public static QuickModeExchange Restore(IkeSa sa, QuickModeSnapshot q)
    {
        var (transform, match) = QuickModeSnapshotCheck.Check(sa, q);
        if (q.State == QuickModeState.QM_ACTIVE) throw IkeSa.Bad($"Quick Mode 0x{q.MessageId:x8}: an installed pair is not an exchange");
        return new QuickModeExchange(sa, q, transform, match);
    }
}
