namespace IkeActors.Negotiation;

public sealed partial class QuickModeExchange
{
    /// <summary>This exchange as plain data, or null when it cannot be kept (<see cref="QuickModeSnapshots.From"/>).</summary>
    internal QuickModeSnapshot? TrySnapshot() => QuickModeSnapshots.From(this, holdsPfsKey: _pfs is not null, _retransmits, _peerPfsPublic);

    /// <summary>Rebuilds a waiting Quick Mode of a restored IKE SA (see <see cref="IkeSa.Restore"/>); throws <see cref="IkeSaSnapshotException"/>.</summary>
    internal static QuickModeExchange Restore(IkeSa sa, QuickModeSnapshot q) => QuickModeSnapshots.Restore(sa, q);

    /// <summary>A waiting exchange from its snapshot, once <see cref="QuickModeSnapshotCheck"/> has passed it.</summary>
    internal QuickModeExchange(IkeSa sa, QuickModeSnapshot q, IpsecTransform? transform, CryptoMapMatch match) : this(sa, q.MessageId, q.Role)
    {
        (Match, Local, Remote, Transform, RekeyOf) = (match, match.Local, match.Remote, transform, q.RekeyOf);
        (InboundSpi, OutboundSpi, LifetimeSeconds, LifetimeKilobytes) = (q.InboundSpi, q.OutboundSpi, q.LifetimeSeconds, q.LifetimeKilobytes);
        (_state, _ni, _nr, _retransmits, _peerPfsPublic) = (q.State, q.Ni.ToArray(), q.Nr.ToArray(), q.Retransmits, q.PeerPfsPublic.ToArray());
        (_lastSent, _lastReceived) = (q.LastSent?.ToArray(), q.LastReceived?.ToArray());
    }

    /// <summary>
    /// After a restore or a move to another host: re-arms the retransmission timer of an exchange that waits for the
    /// peer, and a responder waiting for QM3 installs its inbound SA again (<see cref="SendQm2"/>: the host now holding
    /// the exchange may not have it; hosts take a second install of the same inbound SPI as done). A snapshot never
    /// holds a PFS exchange, so the keys are derived again from the nonces, SPIs and SKEYID_d alone.
    /// </summary>
    internal void ResumeTimers(NegotiationOutput output)
    {
        if (StateGraphs.Permits(Role, _state, QuickModeTrigger.Retransmit) && _lastSent is not null)
            _sa.ArmRetransmit(MessageId, _retransmits, output);
        if (Role == IkeRole.Responder && _state == QuickModeState.QM_WAIT_MSG3 && DeriveKeys(output)) InstallInbound(output);
    }
}
