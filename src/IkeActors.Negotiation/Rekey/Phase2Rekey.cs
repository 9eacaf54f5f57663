using IkeActors.Config.Model;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// Phase 2 rekey (make-before-break) and expiry, in seconds and kilobytes. The initiator of a Quick Mode
/// rekeys its pair when the Phase2Rekey timer fires (85 % of the lifetime) or the data plane reports 85 %
/// of the kilobyte lifetime; the old pair is deleted (DELETE sent) only once the new one is installed.
/// The responder arms the same timers and leaves the rekey to the initiator (deterministic, no collision);
/// it drops the old pair on the initiator's DELETE or when its hard lifetime runs out (Phase2Expire).
/// </summary>
internal sealed class Phase2Rekey(IkeSa sa, IpsecSaTable table)
{
    /// <summary>The data plane's running kilobyte total for a pair (our inbound SPI): rekey at the share, delete at 100 %.</summary>
    public void TrafficAccounted(uint inboundSpi, long kilobytes, NegotiationOutput output)
    {
        var ipsecSa = table.Installed.Values.FirstOrDefault(s => s.InboundSpi == inboundSpi);
        if (ipsecSa is null) return;
        if (kilobytes > ipsecSa.KilobytesUsed) ipsecSa.KilobytesUsed = kilobytes;
        if (ipsecSa.LifetimeKilobytes is not { } limit) return;
        if (ipsecSa.KilobytesUsed >= limit)
        {
            Expire(ipsecSa, output);
            return;
        }
        if (!ipsecSa.KilobyteSoftLimitReached && ipsecSa.KilobytesUsed >= (long)Math.Round(limit * sa.Settings.Phase2RekeyShare))
        {
            ipsecSa.KilobyteSoftLimitReached = true;
            // The ASA's key engine signals the soft kilobyte limit to IKE as KEY_REKEY_IB.
            AsaDebug.PitcherKeyRekeyInbound(output, sa.Context, inboundSpi);
            Due(ipsecSa, output);
        }
    }

    /// <summary>The Phase2Rekey point of a pair: the initiator of its Quick Mode starts a new one for the same entry and proxies.</summary>
    public void Due(IpsecSa old, NegotiationOutput output)
    {
        if (sa.State != MainModeState.MM_ACTIVE || old.State != IpsecSaState.Installed) return;
        if (old.RekeyedBy != 0 && (table.QuickModes.ContainsKey(old.RekeyedBy) || table.Installed.ContainsKey(old.RekeyedBy))) return;
        if (old.Role == IkeRole.Responder)
        {
            // Either side may rekey (RFC 2409 §5.5 does not say who); here the initiator of the pair always does.
            output.Add(new RekeyDue(RekeyPhase.Phase2, old.MessageId, RekeyDecision.LeftToInitiator));
            return;
        }
        var match = old.Match;
        var local = Ipv4.ToAddress(match.Local.Range.First);
        AsaDebug.InitiatorRekeyingPhase2(output, sa.Context, sa.Gateway.InsideInterfaceFor(local), sa.Peer.Address, local, Ipv4.ToAddress(match.Remote.Range.First), match.Tag);
        var messageId = sa.NewMessageId();
        AsaDebug.OakleyBeginQuickMode(output, sa.Context);
        AsaDebug.InitiatorStartingQm(output, sa.Context, messageId);
        var qm = new QuickModeExchange(sa, messageId, IkeRole.Initiator) { RekeyOf = old.MessageId };
        table.QuickModes[messageId] = qm;
        old.RekeyedBy = messageId;
        output.Add(new Phase2RekeyStarted(messageId, old.MessageId));
        qm.Start(match, initialContact: false, output);
    }

    /// <summary>
    /// A pair is installed: if it is a rekey, the pair it replaces goes (make-before-break) once
    /// <see cref="NegotiationSettings.RekeyedPairGrace"/> has passed (its Phase2Expire timer, re-armed), so the
    /// peer has installed the new pair from our QM3 before the old one disappears.
    /// </summary>
    public void Installed(IpsecSa ipsecSa, NegotiationOutput output)
    {
        if (ipsecSa.RekeyOf == 0 || !table.Installed.TryGetValue(ipsecSa.RekeyOf, out var old)) return;
        if (sa.Settings.RekeyedPairGrace <= TimeSpan.Zero)
        {
            table.Delete(old, notifyPeer: true, "rekeyed", output);
            return;
        }
        output.Add(new CancelTimer(sa.InitiatorCookie, new TimerKey(TimerKind.Phase2Rekey, old.MessageId)));
        output.Add(new ArmTimer(sa.InitiatorCookie, new TimerKey(TimerKind.Phase2Expire, old.MessageId), sa.Settings.RekeyedPairGrace));
    }

    /// <summary>The hard lifetime (seconds or kilobytes) ran out: the key engine deletes the pair and the peer is told.</summary>
    public void Expire(IpsecSa ipsecSa, NegotiationOutput output)
    {
        if (ipsecSa.State != IpsecSaState.Installed) return;
        // The grace after our own rekey is over: the replaced pair goes as a rekeyed one, not as an expired one.
        if (ipsecSa.RekeyedBy != 0 && table.Installed.ContainsKey(ipsecSa.RekeyedBy))
        {
            table.Delete(ipsecSa, notifyPeer: sa.State == MainModeState.MM_ACTIVE, "rekeyed", output);
            return;
        }
        AsaDebug.PitcherKeyDelete(output, sa.Context, ipsecSa.InboundSpi);
        table.Delete(ipsecSa, notifyPeer: sa.State == MainModeState.MM_ACTIVE, "lifetime expired", output);
    }
}
