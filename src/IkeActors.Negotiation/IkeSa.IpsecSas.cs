using IkeActors.Config.Model;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// The IKE SA's Phase 2 state: the Quick Modes in progress (<see cref="QuickModes"/>), the installed
/// pairs they made (<see cref="IpsecSas"/>, by message ID), and what is left of failed exchanges (their
/// message IDs stay taken and a repeated request is answered as before, RFC 2408 §5).
/// </summary>
public sealed partial class IkeSa
{
    private readonly Dictionary<uint, IpsecSa> _ipsecSas = new();
    private readonly Dictionary<uint, QuickModeMemo> _failedQuickModes = new();

    /// <summary>The installed IPsec SA pairs, by the message ID of the Quick Mode that made them.</summary>
    public IReadOnlyCollection<IpsecSa> IpsecSas => _ipsecSas.Values;

    /// <summary>Whether a Quick Mode of this IKE SA (running, installed or failed) has this message ID (RFC 2409 §5.5: unique).</summary>
    public bool UsesMessageId(uint messageId) =>
        _quickModes.ContainsKey(messageId) || _ipsecSas.ContainsKey(messageId) || _failedQuickModes.ContainsKey(messageId);

    /// <summary>A Quick Mode reached QM_ACTIVE: the exchange is forgotten, its pair kept.</summary>
    internal void QuickModeCompleted(QuickModeExchange qm, IpsecSa ipsecSa, NegotiationOutput output)
    {
        _quickModes.Remove(qm.MessageId);
        qm.Dispose();
        _ipsecSas[ipsecSa.MessageId] = ipsecSa;
        IpsecSaInstalled(ipsecSa, output);
    }

    /// <summary>A Quick Mode failed: the exchange is forgotten, its message ID and last messages kept.</summary>
    internal void QuickModeFailed(QuickModeExchange qm)
    {
        if (!_quickModes.Remove(qm.MessageId)) return; // a refused QM1: never kept
        _failedQuickModes[qm.MessageId] = qm.Memo();
        qm.Dispose();
    }

    /// <summary>A datagram for a Quick Mode that is over: a repeated request gets the same answer, anything else is dropped.</summary>
    private bool ReceiveForFinishedQuickMode(uint messageId, ReadOnlySpan<byte> datagram, NegotiationOutput output)
    {
        var memo = _ipsecSas.TryGetValue(messageId, out var ipsecSa) ? ipsecSa.Memo : _failedQuickModes.GetValueOrDefault(messageId);
        if (memo is null) return false;
        memo.Receive(this, datagram, output);
        return true;
    }

    /// <summary>The exchanges still waiting for the peer end: the peer sent a failure notify (RFC 2408 §3.14.1).</summary>
    internal void AbandonWaitingQuickModes(FailureReason reason, string name, NegotiationOutput output)
    {
        foreach (var qm in _quickModes.Values.Where(q => q.State is QuickModeState.QM_WAIT_MSG2 or QuickModeState.QM_WAIT_MSG3).ToList())
        {
            CancelRetransmit(qm.MessageId, output);
            qm.Abandon();
            _quickModes.Remove(qm.MessageId);
            output.Add(new NegotiationFailed("Quick Mode", reason, $"peer sent {name}"));
        }
    }

    /// <summary>The peer's DELETE names an ESP SPI (RFC 2408 §3.15): the pair, or the exchange, with it goes.</summary>
    internal void PeerDeletedSpi(uint spi, NegotiationOutput output)
    {
        // The SPI is normally the sender's inbound (our outbound). strongSwan 5.9 was seen naming the
        // other direction when its SA install failed, so a pair goes if either SPI matches.
        foreach (var ipsecSa in _ipsecSas.Values.Where(s => s.OutboundSpi == spi || s.InboundSpi == spi).ToList())
        {
            LogPeerDelete(spi, ipsecSa.MessageId, ipsecSa.InboundSpi, ipsecSa.Local, ipsecSa.Remote, SuccessorOf(ipsecSa) is not null, output);
            ipsecSa.Delete(output, $"peer deleted SPI 0x{spi:x8}");
            _ipsecSas.Remove(ipsecSa.MessageId);
        }
        foreach (var qm in _quickModes.Values.Where(q => q.OutboundSpi == spi || q.InboundSpi == spi).ToList())
        {
            var replaced = _ipsecSas.Values.Any(s => s.Local == qm.Local && s.Remote == qm.Remote
                && s.Match.Map.Name == qm.Match?.Map.Name && s.Match.Entry.Sequence == qm.Match?.Entry.Sequence);
            LogPeerDelete(spi, qm.MessageId, qm.InboundSpi, qm.Local, qm.Remote, replaced, output);
            qm.Abandon();
            _quickModes.Remove(qm.MessageId);
        }
    }

    private void LogPeerDelete(uint spi, uint messageId, uint inboundSpi, ProxyId local, ProxyId remote, bool rekeyed, NegotiationOutput output)
    {
        output.Add(new DeleteReceived(ProtocolId.IpsecEsp, messageId, spi));
        var (remoteAddress, localAddress) = (Ipv4.ToAddress(remote.Range.First), Ipv4.ToAddress(local.Range.First));
        if (rekeyed)
            // The end of the peer's Phase 2 rekey: a newer pair for the same proxies is installed.
            AsaDebug.ReceivedDeleteForRekeyedCentry(output, Context, Peer.Address, inboundSpi, messageId);
        else
            AsaDebug.ConnectionTerminated(output, Context, Peer.Address, "Peer Terminate", remoteAddress, localAddress);
        AsaDebug.IkeDeletingSa(output, Context, remoteAddress, localAddress);
        CancelQuickModeTimers(messageId, output);
    }

    /// <summary>Our inbound SPIs, for the DELETE that goes with the IKE SA (RFC 2408 §3.15).</summary>
    private List<uint> InstalledInboundSpis() => _ipsecSas.Values.Select(s => s.InboundSpi).ToList();

    /// <summary>The IKE SA goes: every pair and exchange with it (a DELETE, if any, has been sent).</summary>
    private void DropQuickModes(string reason, NegotiationOutput output)
    {
        foreach (var ipsecSa in _ipsecSas.Values) ipsecSa.Delete(output, reason);
        foreach (var qm in _quickModes.Values) qm.Abandon();
        ForgetQuickModes();
    }

    /// <summary>DPD declared the peer dead: every pair and exchange goes with the IKE SA, their timers too (RFC 3706 §5.5).</summary>
    private void DropQuickModesOfDeadPeer(NegotiationOutput output)
    {
        const string reason = "peer dead (DPD)";
        foreach (var ipsecSa in _ipsecSas.Values)
        {
            AsaDebug.IkeDeletingSa(output, Context, Ipv4.ToAddress(ipsecSa.Remote.Range.First), Ipv4.ToAddress(ipsecSa.Local.Range.First));
            CancelQuickModeTimers(ipsecSa.MessageId, output);
            ipsecSa.Delete(output, reason);
        }
        foreach (var qm in _quickModes.Values)
        {
            CancelQuickModeTimers(qm.MessageId, output);
            qm.Abandon();
        }
        ForgetQuickModes();
    }

    private void ForgetQuickModes()
    {
        _ipsecSas.Clear();
        _quickModes.Clear();
        _failedQuickModes.Clear();
    }

    /// <summary>Zeroes what the Quick Modes and pairs hold (the IKE SA is disposed).</summary>
    private void DisposeQuickModes()
    {
        foreach (var qm in _quickModes.Values) qm.Dispose();
        foreach (var ipsecSa in _ipsecSas.Values) ipsecSa.Dispose();
    }

    /// <summary>The snapshot's Quick Mode list (pairs and waiting exchanges, by message ID) and the message IDs left out with their IVs.</summary>
    internal (List<QuickModeSnapshot> QuickModes, HashSet<uint> Omitted) SnapshotQuickModes()
    {
        var quickModes = _ipsecSas.Values.Select(s => s.ToSnapshot()).ToList();
        var omitted = new HashSet<uint>(_failedQuickModes.Keys);
        foreach (var qm in _quickModes.Values)
        {
            if (qm.TrySnapshot() is { } s) quickModes.Add(s);
            else omitted.Add(qm.MessageId);
        }
        quickModes.Sort((a, b) => a.MessageId.CompareTo(b.MessageId));
        return (quickModes, omitted);
    }

    /// <summary>One entry of a snapshot's Quick Mode list: an installed pair (QM_ACTIVE) or a waiting exchange.</summary>
    internal void RestoreQuickMode(QuickModeSnapshot q)
    {
        IDisposable restored;
        if (q.State == QuickModeState.QM_ACTIVE)
        {
            var ipsecSa = IpsecSa.FromSnapshot(this, q);
            restored = ipsecSa;
            if (!UsesMessageId(q.MessageId)) { _ipsecSas[q.MessageId] = ipsecSa; return; }
        }
        else
        {
            var qm = QuickModeExchange.Restore(this, q);
            restored = qm;
            if (!UsesMessageId(q.MessageId)) { _quickModes[q.MessageId] = qm; return; }
        }
        restored.Dispose();
        throw Bad($"Quick Mode message ID 0x{q.MessageId:x8} appears twice");
    }
}
