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
        var ipsecSa = _ipsecSas.Values.FirstOrDefault(s => s.InboundSpi == inboundSpi);
        if (ipsecSa is null) return;
        if (kilobytes > ipsecSa.KilobytesUsed) ipsecSa.KilobytesUsed = kilobytes;
        if (ipsecSa.LifetimeKilobytes is not { } limit) return;
        if (ipsecSa.KilobytesUsed >= limit)
        {
            ExpireIpsecSa(ipsecSa, output);
            return;
        }
        if (!ipsecSa.KilobyteSoftLimitReached && ipsecSa.KilobytesUsed >= (long)Math.Round(limit * Settings.Phase2RekeyShare))
        {
            ipsecSa.KilobyteSoftLimitReached = true;
            // The ASA's key engine signals the soft kilobyte limit to IKE as KEY_REKEY_IB.
            AsaDebug.PitcherKeyRekeyInbound(output, Context, inboundSpi);
            Phase2RekeyDue(ipsecSa, output);
        }
    }

    /// <summary>The Phase2Rekey point of a pair: the initiator of its Quick Mode starts a new one for the same entry and proxies.</summary>
    private void Phase2RekeyDue(IpsecSa old, NegotiationOutput output)
    {
        if (_state != MainModeState.MM_ACTIVE || old.State != IpsecSaState.Installed) return;
        if (old.RekeyedBy != 0 && (_quickModes.ContainsKey(old.RekeyedBy) || _ipsecSas.ContainsKey(old.RekeyedBy))) return;
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
    /// A pair is installed: if it is a rekey, the pair it replaces goes (make-before-break) once
    /// <see cref="NegotiationSettings.RekeyedPairGrace"/> has passed (its Phase2Expire timer, re-armed), so the
    /// peer has installed the new pair from our QM3 before the old one disappears.
    /// </summary>
    private void IpsecSaInstalled(IpsecSa ipsecSa, NegotiationOutput output)
    {
        if (ipsecSa.RekeyOf == 0 || !_ipsecSas.TryGetValue(ipsecSa.RekeyOf, out var old)) return;
        if (Settings.RekeyedPairGrace <= TimeSpan.Zero)
        {
            DeleteIpsecSa(old, notifyPeer: true, "rekeyed", output);
            return;
        }
        output.Add(new CancelTimer(InitiatorCookie, new TimerKey(TimerKind.Phase2Rekey, old.MessageId)));
        output.Add(new ArmTimer(InitiatorCookie, new TimerKey(TimerKind.Phase2Expire, old.MessageId), Settings.RekeyedPairGrace));
    }

    /// <summary>The hard lifetime (seconds or kilobytes) ran out: the key engine deletes the pair and the peer is told.</summary>
    private void ExpireIpsecSa(IpsecSa ipsecSa, NegotiationOutput output)
    {
        if (ipsecSa.State != IpsecSaState.Installed) return;
        // The grace after our own rekey is over: the replaced pair goes as a rekeyed one, not as an expired one.
        if (ipsecSa.RekeyedBy != 0 && _ipsecSas.ContainsKey(ipsecSa.RekeyedBy))
        {
            DeleteIpsecSa(ipsecSa, notifyPeer: _state == MainModeState.MM_ACTIVE, "rekeyed", output);
            return;
        }
        AsaDebug.PitcherKeyDelete(output, Context, ipsecSa.InboundSpi);
        DeleteIpsecSa(ipsecSa, notifyPeer: _state == MainModeState.MM_ACTIVE, "lifetime expired", output);
    }

    /// <summary>Deletes one IPsec SA pair, telling the peer (RFC 2408 §3.15: our inbound SPI), and forgets its timers.</summary>
    private void DeleteIpsecSa(IpsecSa ipsecSa, bool notifyPeer, string reason, NegotiationOutput output)
    {
        var (remote, local) = (Ipv4.ToAddress(ipsecSa.Remote.Range.First), Ipv4.ToAddress(ipsecSa.Local.Range.First));
        if (notifyPeer && ipsecSa.State == IpsecSaState.Installed && _cipher is not null)
            Informational.SendEspDelete([ipsecSa.InboundSpi], output);
        AsaDebug.IkeDeletingSa(output, Context, remote, local);
        CancelQuickModeTimers(ipsecSa.MessageId, output);
        ipsecSa.Delete(output, reason);
        _ipsecSas.Remove(ipsecSa.MessageId);
    }

    private void CancelQuickModeTimers(uint messageId, NegotiationOutput output)
    {
        foreach (var kind in new[] { TimerKind.Retransmit, TimerKind.Phase2Rekey, TimerKind.Phase2Expire })
            output.Add(new CancelTimer(InitiatorCookie, new TimerKey(kind, messageId)));
    }

    /// <summary>Another installed pair for the same proxies and crypto map entry: a DELETE for this one is the end of a rekey.</summary>
    private IpsecSa? SuccessorOf(IpsecSa ipsecSa) => _ipsecSas.Values.FirstOrDefault(s => s != ipsecSa && s.SameTunnelAs(ipsecSa));

    /// <summary>Whether an installed pair already protects these proxies (a Quick Mode for them is a rekey).</summary>
    internal bool HasActivePairFor(ProxyId local, ProxyId remote) => _ipsecSas.Values.Any(s => s.Local == local && s.Remote == remote);
}
