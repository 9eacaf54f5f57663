using System.Buffers.Binary;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// Phase 2 rekey (make-before-break) and expiry, in seconds and kilobytes. The initiator of a Quick Mode
/// rekeys its pair when the Phase2Rekey timer fires (85 % of the lifetime) or the data plane reports 85 %
/// of the kilobyte lifetime; the old pair is deleted (DELETE sent) only once the new one is installed.
/// The responder arms the same timers and leaves the rekey to the initiator (deterministic, no collision);
/// it drops the old pair on the initiator's DELETE or when its hard lifetime runs out (Phase2Expire).
/// </summary>
public sealed partial class IkeSa
{
    /// <summary>
    /// The data plane reports the kilobytes an installed pair (named by our inbound SPI) has carried so far,
    /// a running total (a smaller value than already known is ignored). At the rekey share of the kilobyte
    /// lifetime the pair is rekeyed (by the Quick Mode's initiator), at 100 % it is deleted.
    /// </summary>
    public void TrafficAccounted(uint inboundSpi, long kilobytes, NegotiationOutput output)
    {
        if (_state == MainModeState.MM_DELETED) return;
        var qm = _quickModes.Values.FirstOrDefault(q => q.InboundSpi == inboundSpi && q.State == QuickModeState.QM_ACTIVE);
        if (qm is null) return;
        if (kilobytes > qm.KilobytesUsed) qm.KilobytesUsed = kilobytes;
        if (qm.LifetimeKilobytes is not { } limit) return;
        if (qm.KilobytesUsed >= limit)
        {
            ExpireQuickMode(qm, output);
            return;
        }
        if (!qm.KilobyteSoftLimitReached && qm.KilobytesUsed >= (long)Math.Round(limit * Settings.Phase2RekeyShare))
        {
            qm.KilobyteSoftLimitReached = true;
            // The ASA's key engine signals the soft kilobyte limit to IKE as KEY_REKEY_IB.
            AsaDebug.PitcherKeyRekeyInbound(output, Context, inboundSpi);
            Phase2RekeyDue(qm, output);
        }
    }

    /// <summary>The Phase2Rekey point of a pair: its Quick Mode's initiator starts a new Quick Mode for the same entry and proxies.</summary>
    private void Phase2RekeyDue(QuickModeExchange old, NegotiationOutput output)
    {
        if (_state != MainModeState.MM_ACTIVE || old.State != QuickModeState.QM_ACTIVE || old.Match is null) return;
        if (old.RekeyedBy != 0 && _quickModes.TryGetValue(old.RekeyedBy, out var running) && running.State != QuickModeState.QM_DELETED) return;
        if (old.Role == IkeRole.Responder)
        {
            // Either side may rekey (RFC 2409 §5.5 does not say who); here the initiator of the pair always does.
            output.Add(new RekeyDue(RekeyPhase.Phase2, old.MessageId, RekeyDecision.LeftToInitiator));
            return;
        }
        var match = old.Match;
        var local = Ipv4.ToAddress(match.Local.Range.First);
        AsaDebug.InitiatorRekeyingPhase2(output, Context, _gateway.InsideInterfaceFor(local), Peer.Address, local, Ipv4.ToAddress(match.Remote.Range.First), match.Map.Name);
        var messageId = NewMessageId();
        AsaDebug.OakleyBeginQuickMode(output, Context);
        AsaDebug.InitiatorStartingQm(output, Context, messageId);
        var qm = new QuickModeExchange(this, messageId, IkeRole.Initiator) { RekeyOf = old.MessageId };
        _quickModes[messageId] = qm;
        old.RekeyedBy = messageId;
        output.Add(new Phase2RekeyStarted(messageId, old.MessageId));
        qm.Start(match, initialContact: false, output);
    }

    /// <summary>
    /// A Quick Mode installed its pair: if it is a rekey, the pair it replaces goes (make-before-break) once
    /// <see cref="NegotiationSettings.RekeyedPairGrace"/> has passed (its Phase2Expire timer, re-armed), so the
    /// peer has installed the new pair from our QM3 before the old one disappears.
    /// </summary>
    internal void QuickModeInstalled(QuickModeExchange qm, NegotiationOutput output)
    {
        if (qm.RekeyOf == 0 || !_quickModes.TryGetValue(qm.RekeyOf, out var old) || old.State != QuickModeState.QM_ACTIVE) return;
        if (Settings.RekeyedPairGrace <= TimeSpan.Zero)
        {
            DeleteQuickMode(old, notifyPeer: true, "rekeyed", output);
            return;
        }
        output.Add(new CancelTimer(InitiatorCookie, new TimerKey(TimerKind.Phase2Rekey, old.MessageId)));
        output.Add(new ArmTimer(InitiatorCookie, new TimerKey(TimerKind.Phase2Expire, old.MessageId), Settings.RekeyedPairGrace));
    }

    /// <summary>The hard lifetime (seconds or kilobytes) ran out: the key engine deletes the pair and the peer is told.</summary>
    private void ExpireQuickMode(QuickModeExchange qm, NegotiationOutput output)
    {
        if (qm.State != QuickModeState.QM_ACTIVE) return;
        // The grace after our own rekey is over: the replaced pair goes as a rekeyed one, not as an expired one.
        if (qm.RekeyedBy != 0 && _quickModes.TryGetValue(qm.RekeyedBy, out var successor) && successor.State == QuickModeState.QM_ACTIVE)
        {
            DeleteQuickMode(qm, notifyPeer: _state == MainModeState.MM_ACTIVE, "rekeyed", output);
            return;
        }
        AsaDebug.PitcherKeyDelete(output, Context, qm.InboundSpi);
        DeleteQuickMode(qm, notifyPeer: _state == MainModeState.MM_ACTIVE, "lifetime expired", output);
    }

    /// <summary>Deletes one IPsec SA pair, telling the peer (RFC 2408 §3.15: our inbound SPI), and forgets its timers.</summary>
    private void DeleteQuickMode(QuickModeExchange qm, bool notifyPeer, string reason, NegotiationOutput output)
    {
        var (remote, local) = (Ipv4.ToAddress(qm.Remote.Range.First), Ipv4.ToAddress(qm.Local.Range.First));
        if (notifyPeer && qm.State == QuickModeState.QM_ACTIVE && _cipher is not null)
        {
            var spi = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(spi, qm.InboundSpi);
            AsaDebug.ConstructingBlankHashPayload(output, Context);
            AsaDebug.ConstructingIpsecDeletePayload(output, Context);
            AsaDebug.ConstructingQmHashPayload(output, Context);
            SendInformational(new DeletePayload { Doi = Doi.Ipsec, ProtocolId = ProtocolId.IpsecEsp, SpiSize = 4, Spis = spi }, output);
        }
        AsaDebug.IkeDeletingSa(output, Context, remote, local);
        CancelQuickModeTimers(qm.MessageId, output);
        qm.Delete(output, reason);
        _quickModes.Remove(qm.MessageId);
    }

    private void CancelQuickModeTimers(uint messageId, NegotiationOutput output)
    {
        foreach (var kind in new[] { TimerKind.Retransmit, TimerKind.Phase2Rekey, TimerKind.Phase2Expire })
            output.Add(new CancelTimer(InitiatorCookie, new TimerKey(kind, messageId)));
    }

    /// <summary>Another installed pair for the same proxies and crypto map entry: a DELETE for this one is the end of a rekey.</summary>
    private QuickModeExchange? SuccessorOf(QuickModeExchange qm) =>
        _quickModes.Values.FirstOrDefault(q => q != qm && q.State == QuickModeState.QM_ACTIVE && q.Local == qm.Local && q.Remote == qm.Remote
            && q.Match?.Map.Name == qm.Match?.Map.Name && q.Match?.Entry.Sequence == qm.Match?.Entry.Sequence);

    /// <summary>Whether an installed pair already protects these proxies (a Quick Mode for them is a rekey).</summary>
    internal bool HasActivePairFor(ProxyId local, ProxyId remote) =>
        _quickModes.Values.Any(q => q.State == QuickModeState.QM_ACTIVE && q.Local == local && q.Remote == remote);
}
