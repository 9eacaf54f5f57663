namespace IkeActors.Negotiation;

public sealed partial class QuickModeExchange
{
    /// <summary>
    /// This exchange as plain data, or null when it cannot be kept: idle or failed, or waiting for the
    /// peer with a PFS private key (never persisted; the exchange is renegotiated after a failover).
    /// </summary>
    internal QuickModeSnapshot? TrySnapshot()
    {
        if (_state is not (QuickModeState.QM_WAIT_MSG2 or QuickModeState.QM_WAIT_MSG3) || _pfs is not null || Match is null) return null;
        return new QuickModeSnapshot
        {
            MessageId = MessageId,
            Role = Role,
            State = _state,
            Ni = _ni.ToArray(),
            Nr = _nr.ToArray(),
            InboundSpi = InboundSpi,
            OutboundSpi = OutboundSpi,
            Transform = Transform is null ? null : IpsecTransformSnapshot.From(Transform),
            LifetimeSeconds = LifetimeSeconds,
            LifetimeKilobytes = LifetimeKilobytes,
            Local = ProxyIdSnapshot.From(Local),
            Remote = ProxyIdSnapshot.From(Remote),
            CryptoMap = Match.Map.Name,
            Sequence = Match.Entry.Sequence,
            LastSent = _lastSent?.ToArray(),
            LastReceived = _lastReceived?.ToArray(),
            Retransmits = _retransmits,
            PeerPfsPublic = _peerPfsPublic.ToArray(),
            RekeyOf = RekeyOf,
        };
    }

    /// <summary>Rebuilds a waiting Quick Mode of a restored IKE SA (see <see cref="IkeSa.Restore"/>); throws <see cref="IkeSaSnapshotException"/>.</summary>
    internal static QuickModeExchange Restore(IkeSa sa, QuickModeSnapshot q)
    {
        var (transform, match) = QuickModeSnapshotCheck.Check(sa, q);
        if (q.State == QuickModeState.QM_ACTIVE) throw IkeSa.Bad($"Quick Mode 0x{q.MessageId:x8}: an installed pair is not an exchange");
        var qm = new QuickModeExchange(sa, q.MessageId, q.Role)
        {
            Match = match,
            Local = match.Local,
            Remote = match.Remote,
            Transform = transform,
            InboundSpi = q.InboundSpi,
            OutboundSpi = q.OutboundSpi,
            LifetimeSeconds = q.LifetimeSeconds,
            LifetimeKilobytes = q.LifetimeKilobytes,
            RekeyOf = q.RekeyOf,
        };
        qm._state = q.State;
        qm._ni = q.Ni.ToArray();
        qm._nr = q.Nr.ToArray();
        qm._lastSent = q.LastSent?.ToArray();
        qm._lastReceived = q.LastReceived?.ToArray();
        qm._retransmits = q.Retransmits;
        qm._peerPfsPublic = q.PeerPfsPublic.ToArray();
        return qm;
    }

    /// <summary>Re-arms the retransmission timer of an exchange that waits for the peer (after a restore).</summary>
    internal void ResumeTimers(NegotiationOutput output)
    {
        if (_machine.CanFire(QuickModeTrigger.Retransmit) && _lastSent is not null)
            _sa.ArmRetransmit(MessageId, _retransmits, output);
    }
}
