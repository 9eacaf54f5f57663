using IkeActors.Config.Model;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// The Phase 2 state of one IKE SA: its Quick Modes (started, or dispatched by message ID) in progress, the installed pairs they made (by
/// message ID), and what is left of failed exchanges (their message IDs stay taken and a repeated
/// request is answered as before, RFC 2408 §5). Deleting pairs, one or all, with their timers.
/// </summary>
internal sealed class IpsecSaTable(IkeSa sa)
{
    public Dictionary<uint, QuickModeExchange> QuickModes { get; } = new();
    public Dictionary<uint, IpsecSa> Installed { get; } = new();
    public Dictionary<uint, QuickModeMemo> Failed { get; } = new();

    /// <summary>RFC 2409 §5.5: a message ID is unique among running, installed and failed Quick Modes.</summary>
    public bool UsesMessageId(uint messageId) =>
        QuickModes.ContainsKey(messageId) || Installed.ContainsKey(messageId) || Failed.ContainsKey(messageId);

    /// <summary>Starts a Quick Mode for a crypto map entry (phase 1 must be MM_ACTIVE).</summary>
    public QuickModeExchange StartQuickMode(CryptoMapMatch acquire, NegotiationOutput output, uint messageId = 0)
    {
        if (messageId == 0)
        {
            messageId = sa.NewMessageId();
            AsaDebug.InitiatorNewPhase2(output, sa.IpContext, sa.Gateway.InsideInterfaceFor(Ipv4.ToAddress(acquire.Local.Range.First)),
                sa.Peer.Address, Ipv4.ToAddress(acquire.Local.Range.First), Ipv4.ToAddress(acquire.Remote.Range.First), acquire.Map.Name);
            AsaDebug.OakleyBeginQuickMode(output, sa.Context);
            AsaDebug.InitiatorStartingQm(output, sa.Context, messageId);
        }
        var qm = new QuickModeExchange(sa, messageId, IkeRole.Initiator);
        QuickModes[messageId] = qm;
        // The ASA sends INITIAL-CONTACT with the first Quick Mode of an IKE SA it initiated.
        qm.Start(acquire, initialContact: sa.Role == IkeRole.Initiator && !sa.InitialContactSent, output);
        sa.InitialContactSent = true;
        return qm;
    }

    /// <summary>A Quick Mode datagram (RFC 2409 §5.5): to its exchange, a finished one's memo, or a new responder exchange.</summary>
    public void ReceiveQuickMode(ReadOnlySpan<byte> datagram, uint messageId, NegotiationOutput output)
    {
        if (sa.State != MainModeState.MM_ACTIVE || sa.Cipher is null || messageId == 0)
        {
            output.Add(new MessageDropped(IkeExchange.QuickMode, messageId, DropReason.BeforePhase1, $"Quick Mode before phase 1 completed ({sa.State})"));
            return;
        }
        if (QuickModes.TryGetValue(messageId, out var existing))
        {
            existing.Receive(datagram, output);
            return;
        }
        if (sa.RemoteAccess.HoldsQuickMode(output))
        {
            // A remote-access client's Quick Mode waits for XAUTH and Mode Config (the client retransmits it).
            output.Add(new MessageDropped(IkeExchange.QuickMode, messageId, DropReason.BeforePhase1, "XAUTH or Mode Config in progress"));
            return;
        }
        if (ReceiveForFinished(messageId, datagram, output)) return;
        // Bounded resources: a peer cannot open unlimited half-finished Quick Modes.
        if (QuickModes.Values.Count(q => q.State is QuickModeState.QM_WAIT_MSG2 or QuickModeState.QM_WAIT_MSG3) >= sa.Settings.MaxConcurrentQuickModes)
        {
            output.Add(new MessageDropped(IkeExchange.QuickMode, messageId, DropReason.TooManyQuickModes, "too many Quick Modes in progress"));
            return;
        }
        if (!IsakmpMessages.TryDecrypt(datagram, sa.Cipher, messageId, out var plain))
        {
            sa.Cipher.ForgetMessageId(messageId);
            output.Add(new MessageDropped(IkeExchange.QuickMode, messageId, DropReason.DecryptionFailed, "did not decrypt to valid payloads"));
            return;
        }
        var qm = new QuickModeExchange(sa, messageId, IkeRole.Responder);
        if (qm.ReceiveQm1(plain, datagram, output)) QuickModes[messageId] = qm;
        else
        {
            sa.Cipher.ForgetMessageId(messageId);
            qm.Dispose();
        }
    }

    /// <summary>A Quick Mode reached QM_ACTIVE: the exchange is forgotten, its pair kept.</summary>
    public void Completed(QuickModeExchange qm, IpsecSa ipsecSa, NegotiationOutput output)
    {
        QuickModes.Remove(qm.MessageId);
        qm.Dispose();
        Installed[ipsecSa.MessageId] = ipsecSa;
        sa.Phase2Rekey.Installed(ipsecSa, output);
    }

    /// <summary>A Quick Mode failed: the exchange is forgotten, its message ID and last messages kept.</summary>
    public void QuickModeFailed(QuickModeExchange qm)
    {
        if (!QuickModes.Remove(qm.MessageId)) return; // a refused QM1: never kept
        Failed[qm.MessageId] = qm.Memo();
        qm.Dispose();
    }

    /// <summary>A datagram for a Quick Mode that is over: a repeated request gets the same answer, anything else is dropped.</summary>
    public bool ReceiveForFinished(uint messageId, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        var memo = Installed.TryGetValue(messageId, out var ipsecSa) ? ipsecSa.Memo : Failed.GetValueOrDefault(messageId);
        if (memo is null) return false;
        memo.Receive(sa, datagram, output);
        return true;
    }

    /// <summary>The exchanges still waiting for the peer end: the peer sent a failure notify (RFC 2408 §3.14.1).</summary>
    public void AbandonWaiting(FailureReason reason, string name, NegotiationOutput output)
    {
        foreach (var qm in QuickModes.Values.Where(q => q.State is QuickModeState.QM_WAIT_MSG2 or QuickModeState.QM_WAIT_MSG3).ToList())
        {
            sa.CancelRetransmit(qm.MessageId, output);
            qm.Abandon($"peer sent {name}", output);
            QuickModes.Remove(qm.MessageId);
            output.Add(new NegotiationFailed(IkeExchange.QuickMode, reason, $"peer sent {name}"));
        }
    }

    /// <summary>The peer's DELETE names an ESP SPI (RFC 2408 §3.15): the pair, or the exchange, with it goes.</summary>
    public void PeerDeletedSpi(uint spi, NegotiationOutput output)
    {
        // The SPI is normally the sender's inbound (our outbound). strongSwan 5.9 was seen naming the
        // other direction when its SA install failed, so a pair goes if either SPI matches.
        foreach (var ipsecSa in Installed.Values.Where(s => s.OutboundSpi == spi || s.InboundSpi == spi).ToList())
        {
            LogPeerDelete(spi, ipsecSa.MessageId, ipsecSa.InboundSpi, ipsecSa.Local, ipsecSa.Remote, SuccessorOf(ipsecSa) is not null, output);
            ipsecSa.Delete(output, $"peer deleted SPI 0x{spi:x8}");
            Installed.Remove(ipsecSa.MessageId);
        }
        foreach (var qm in QuickModes.Values.Where(q => q.OutboundSpi == spi || q.InboundSpi == spi).ToList())
        {
            var replaced = Installed.Values.Any(s => s.Local == qm.Local && s.Remote == qm.Remote
                && s.Match.Tag == qm.Match?.Tag && s.Match.Entry.Sequence == qm.Match?.Entry.Sequence);
            LogPeerDelete(spi, qm.MessageId, qm.InboundSpi, qm.Local, qm.Remote, replaced, output);
            qm.Abandon($"peer deleted SPI 0x{spi:x8}", output);
            QuickModes.Remove(qm.MessageId);
        }
    }

    private void LogPeerDelete(uint spi, uint messageId, uint inboundSpi, ProxyId local, ProxyId remote, bool rekeyed, NegotiationOutput output)
    {
        output.Add(new DeleteReceived(ProtocolId.IpsecEsp, messageId, spi));
        var (remoteAddress, localAddress) = (Ipv4.ToAddress(remote.Range.First), Ipv4.ToAddress(local.Range.First));
        if (rekeyed)
            // The end of the peer's Phase 2 rekey: a newer pair for the same proxies is installed.
            AsaDebug.ReceivedDeleteForRekeyedCentry(output, sa.Context, sa.Peer.Address, inboundSpi, messageId);
        else
            AsaDebug.ConnectionTerminated(output, sa.Context, sa.Peer.Address, "Peer Terminate", remoteAddress, localAddress);
        AsaDebug.IkeDeletingSa(output, sa.Context, remoteAddress, localAddress);
        CancelTimers(messageId, output);
    }

    /// <summary>Our inbound SPIs, for the DELETE that goes with the IKE SA (RFC 2408 §3.15).</summary>
    public List<uint> InboundSpis() => Installed.Values.Select(s => s.InboundSpi).ToList();

    /// <summary>Deletes one IPsec SA pair, telling the peer (RFC 2408 §3.15: our inbound SPI), and forgets its timers.</summary>
    public void Delete(IpsecSa ipsecSa, bool notifyPeer, string reason, NegotiationOutput output)
    {
        var (remote, local) = (Ipv4.ToAddress(ipsecSa.Remote.Range.First), Ipv4.ToAddress(ipsecSa.Local.Range.First));
        if (notifyPeer && ipsecSa.State == IpsecSaState.Installed && sa.Cipher is not null)
            sa.Informational.SendEspDelete([ipsecSa.InboundSpi], output);
        AsaDebug.IkeDeletingSa(output, sa.Context, remote, local);
        CancelTimers(ipsecSa.MessageId, output);
        ipsecSa.Delete(output, reason);
        Installed.Remove(ipsecSa.MessageId);
    }

    public void CancelTimers(uint messageId, NegotiationOutput output)
    {
        foreach (var kind in new[] { TimerKind.Retransmit, TimerKind.Phase2Rekey, TimerKind.Phase2Expire })
            output.Add(new CancelTimer(sa.InitiatorCookie, new TimerKey(kind, messageId)));
    }

    /// <summary>Another installed pair for the same proxies and crypto map entry: a DELETE for this one is the end of a rekey.</summary>
    private IpsecSa? SuccessorOf(IpsecSa ipsecSa) => Installed.Values.FirstOrDefault(s => s != ipsecSa && s.SameTunnelAs(ipsecSa));

    /// <summary>Whether an installed pair already protects these proxies (a Quick Mode for them is a rekey).</summary>
    public bool HasActivePairFor(ProxyId local, ProxyId remote) => Installed.Values.Any(s => s.Local == local && s.Remote == remote);

    /// <summary>The IKE SA goes: every pair and exchange with it (a DELETE, if any, has been sent).</summary>
    public void DropAll(string reason, NegotiationOutput output)
    {
        foreach (var ipsecSa in Installed.Values) ipsecSa.Delete(output, reason);
        foreach (var qm in QuickModes.Values) qm.Abandon(reason, output);
        Forget();
    }

    /// <summary>DPD declared the peer dead: every pair and exchange goes with the IKE SA, their timers too (RFC 3706 §5.5).</summary>
    public void DropAllOfDeadPeer(NegotiationOutput output)
    {
        const string reason = "peer dead (DPD)";
        foreach (var ipsecSa in Installed.Values)
        {
            AsaDebug.IkeDeletingSa(output, sa.Context, Ipv4.ToAddress(ipsecSa.Remote.Range.First), Ipv4.ToAddress(ipsecSa.Local.Range.First));
            CancelTimers(ipsecSa.MessageId, output);
            ipsecSa.Delete(output, reason);
        }
        foreach (var qm in QuickModes.Values)
        {
            CancelTimers(qm.MessageId, output);
            qm.Abandon(reason, output);
        }
        Forget();
    }

    private void Forget()
    {
        Installed.Clear();
        QuickModes.Clear();
        Failed.Clear();
    }

    /// <summary>Zeroes what the Quick Modes and pairs hold (the IKE SA is disposed).</summary>
    public void Dispose()
    {
        foreach (var qm in QuickModes.Values) qm.Dispose();
        foreach (var ipsecSa in Installed.Values) ipsecSa.Dispose();
    }

    /// <summary>The snapshot's Quick Mode list (pairs and waiting exchanges, by message ID) and the message IDs left out with their IVs.</summary>
    public (List<QuickModeSnapshot> QuickModes, HashSet<uint> Omitted) Snapshot()
    {
        var quickModes = Installed.Values.Select(s => s.ToSnapshot()).ToList();
        var omitted = new HashSet<uint>(Failed.Keys);
        foreach (var qm in QuickModes.Values)
        {
            if (qm.TrySnapshot() is { } s) quickModes.Add(s);
            else omitted.Add(qm.MessageId);
        }
        quickModes.Sort((a, b) => a.MessageId.CompareTo(b.MessageId));
        return (quickModes, omitted);
    }

    /// <summary>One entry of a snapshot's Quick Mode list: an installed pair (QM_ACTIVE) or a waiting exchange.</summary>
    public void Restore(QuickModeSnapshot q)
    {
        IDisposable restored;
        if (q.State == QuickModeState.QM_ACTIVE)
        {
            var ipsecSa = IpsecSa.FromSnapshot(sa, q);
            restored = ipsecSa;
            if (!UsesMessageId(q.MessageId)) { Installed[q.MessageId] = ipsecSa; return; }
        }
        else
        {
            var qm = QuickModeExchange.Restore(sa, q);
            restored = qm;
            if (!UsesMessageId(q.MessageId)) { QuickModes[q.MessageId] = qm; return; }
        }
        restored.Dispose();
        throw IkeSaSnapshots.Bad($"Quick Mode message ID 0x{q.MessageId:x8} appears twice");
    }
}
