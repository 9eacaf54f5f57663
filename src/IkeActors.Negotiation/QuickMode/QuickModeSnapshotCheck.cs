namespace IkeActors.Negotiation;

/// <summary>The checks a <see cref="QuickModeSnapshot"/> passes before it becomes an exchange or an <see cref="IpsecSa"/>.</summary>
internal static class QuickModeSnapshotCheck
{
    /// <summary>Throws <see cref="IkeSaSnapshotException"/> for an inconsistent snapshot; returns its transform and crypto map match.</summary>
    internal static (IpsecTransform? Transform, CryptoMapMatch Match) Check(IkeSa sa, QuickModeSnapshot q)
    {
        var where = $"Quick Mode 0x{q.MessageId:x8}";
        if (q.MessageId == 0) throw IkeSa.Bad("a Quick Mode has message ID 0");
        if (!Enum.IsDefined(q.Role)) throw IkeSa.Bad($"{where}: unknown role {(int)q.Role}");
        if (!Enum.IsDefined(q.State)) throw IkeSa.Bad($"{where}: unknown state {(int)q.State}");
        var waiting = q.Role == IkeRole.Initiator ? QuickModeState.QM_WAIT_MSG2 : QuickModeState.QM_WAIT_MSG3;
        if (q.State != QuickModeState.QM_ACTIVE && q.State != waiting) throw IkeSa.Bad($"{where}: {q.State} is not a state a {q.Role} Quick Mode is snapshotted in");
        var active = q.State == QuickModeState.QM_ACTIVE;
        var chosen = active || q.Role == IkeRole.Responder; // the transform, Nr and the peer's SPI are known
        if (q.Ni is null || q.Ni.Length is < 8 or > 256) throw IkeSa.Bad($"{where}: Ni missing or of a wrong length");
        if (q.Nr is null || (chosen && q.Nr.Length is < 8 or > 256)) throw IkeSa.Bad($"{where}: Nr missing or of a wrong length");
        if (q.InboundSpi < 256 || (chosen && q.OutboundSpi < 256)) throw IkeSa.Bad($"{where}: SPI missing or reserved (RFC 4303 §2.1)");
        if (q.Retransmits < 0 || q.Retransmits > sa.Settings.RetransmitLimit) throw IkeSa.Bad($"{where}: retransmit count {q.Retransmits} out of range");
        if (q.KilobytesUsed < 0) throw IkeSa.Bad($"{where}: {q.KilobytesUsed} kilobytes used");
        if (q.RekeyOf == q.MessageId || q.RekeyedBy == q.MessageId) throw IkeSa.Bad($"{where}: rekeys itself");
        if (q.LifetimeSeconds <= 0) throw IkeSa.Bad($"{where}: lifetime {q.LifetimeSeconds} s");
        if (q.PeerPfsPublic is null) throw IkeSa.Bad($"{where}: peer PFS value field missing");
        if (q.Local is null || q.Remote is null) throw IkeSa.Bad($"{where}: proxy IDs missing");
        IpsecTransform? transform = null;
        if (q.Transform is { } t) transform = t.ToTransform();
        else if (chosen) throw IkeSa.Bad($"{where}: transform missing in {q.State}");
        if (transform?.PfsGroup is not null && !active)
            throw IkeSa.Bad($"{where}: waits with PFS, whose private key is never persisted");
        if (!active && (q.Inbound is not null || q.Outbound is not null)) throw IkeSa.Bad($"{where}: installed keys in {q.State}");
        if (!active && q.LastSent is null) throw IkeSa.Bad($"{where}: waits for the peer without the message to retransmit");
        if (!active && sa.Cipher is not null && !HasIv(sa, q.MessageId)) throw IkeSa.Bad($"{where}: waits for the peer but has no IV");
        return (transform, IkeSa.ResolveMatch(sa.Gateway, q.CryptoMap, q.Sequence, q.Local, q.Remote, sa.Peer.Address));
    }

    private static bool HasIv(IkeSa sa, uint messageId) => sa.Cipher!.ExportIvs().Phase2Ivs.Any(kv => kv.Key == messageId);
}
