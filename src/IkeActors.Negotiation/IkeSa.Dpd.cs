using System.Buffers.Binary;
using IkeActors.Config.Model;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// Dead Peer Detection (RFC 3706) with the ASA's semantics (`isakmp keepalive threshold N retry M`):
/// negotiated when both sides sent the DPD vendor ID (`disable` sends none); "semi-periodic": after N
/// seconds without anything valid from the peer an R-U-THERE goes out, repeated every M seconds; after
/// the ASA's fixed three retransmissions without an R-U-THERE-ACK the peer is dead and every SA with it
/// is deleted without a DELETE. `threshold infinite` answers R-U-THERE but never asks.
/// </summary>
public sealed partial class IkeSa
{
    /// <summary>R-U-THERE retransmissions the ASA makes before declaring the peer dead (not configurable on the ASA).</summary>
    public const int DpdRetransmissions = 3;

    private bool _peerDpd;
    private uint? _dpdSequence;
    private uint _dpdRoundStart;
    private int _dpdOutstanding;
    private bool _dpdAckRejected;

    /// <summary>Phase 1 rekey links (initiator cookies; 0: none): the SA this one replaces, the SA replacing this one.</summary>
    public ulong RekeyOf { get; internal set; }
    public ulong RekeyedBy { get; internal set; }

    /// <summary>The tunnel group's `isakmp keepalive` (the ASA default before the group is known).</summary>
    public IsakmpKeepalive Keepalive =>
        (TunnelGroup is null ? null : _gateway.Config.FindTunnelGroup(TunnelGroup)?.Keepalive) ?? IsakmpKeepalive.Default;

    /// <summary>Both sides sent the DPD vendor ID (RFC 3706 §5.1): R-U-THERE may be exchanged.</summary>
    public bool DpdNegotiated => _peerDpd && !Keepalive.Disabled;

    /// <summary>This side sends R-U-THEREs (negotiated and a finite threshold).</summary>
    private bool DpdSends => DpdNegotiated && Keepalive.ThresholdSeconds is not null;

    /// <summary>R-U-THEREs sent in the current round without an answer (0: the peer is known alive).</summary>
    public int DpdUnanswered => _dpdOutstanding;

    /// <summary>The data plane received traffic from the peer (ESP on one of its SAs): proof of liveness, the idle clock restarts.</summary>
    public void TrafficReceived(NegotiationOutput output) => PeerAlive(output);

    /// <summary>Anything valid from the peer (a verified ISAKMP message, data-plane traffic) restarts the idle threshold (RFC 3706 §5.3).</summary>
    internal void PeerAlive(NegotiationOutput output)
    {
        AcceptNatTPeer(); // called for every message that authenticated after phase 1
        if (_state != MainModeState.MM_ACTIVE || !DpdSends) return;
        _dpdOutstanding = 0;
        ArmDpd(Keepalive.ThresholdSeconds!.Value, output);
    }

    private void ArmDpd(int seconds, NegotiationOutput output) =>
        output.Add(new ArmTimer(InitiatorCookie, new TimerKey(TimerKind.Dpd, 0), TimeSpan.FromSeconds(seconds)));

    /// <summary>At MM_ACTIVE: the keep-alive type and, when this side asks, the first idle threshold.</summary>
    private void StartKeepalives(NegotiationOutput output)
    {
        if (DpdNegotiated) AsaDebug.KeepAliveTypeDpd(output, IpContext);
        else
        {
            if (!Keepalive.Disabled) AsaDebug.KeepAlivesUnsupportedByPeer(output, Context, "DPD");
            AsaDebug.KeepAliveTypeNone(output, IpContext);
        }
    }

    private void ArmFirstDpd(NegotiationOutput output)
    {
        _dpdOutstanding = 0;
        if (DpdSends) ArmDpd(Keepalive.ThresholdSeconds!.Value, output);
    }

    /// <summary>The DPD timer: the peer was idle for the threshold (first R-U-THERE) or did not answer within the retry interval.</summary>
    private void DpdTimerFired(NegotiationOutput output)
    {
        if (_state != MainModeState.MM_ACTIVE || !DpdSends) return;
        if (_dpdOutstanding > DpdRetransmissions)
        {
            DeclareDead(output);
            return;
        }
        // RFC 3706 §7: a random first sequence number, incremented with every R-U-THERE.
        uint sequence;
        if (_dpdSequence is { } last) sequence = unchecked(last + 1);
        else
        {
            Span<byte> b = stackalloc byte[4];
            _gateway.Environment.Fill(b);
            sequence = BinaryPrimitives.ReadUInt32BigEndian(b) & 0x7fffffff;
        }
        _dpdSequence = sequence;
        if (_dpdOutstanding == 0) _dpdRoundStart = sequence;
        _dpdOutstanding++;
        AsaDebug.SendingDpdRuThere(output, Context, sequence);
        SendDpdNotify(NotifyMessageType.RUThere, sequence, output);
        output.Add(new DpdProbeSent(sequence, _dpdOutstanding - 1));
        ArmDpd(Keepalive.RetrySeconds, output);
    }

    /// <summary>RFC 3706 §5: HASH + NOTIFY(R-U-THERE[-ACK]), protocol ISAKMP, SPI = CKY-I | CKY-R, data = the 32-bit sequence number.</summary>
    private void SendDpdNotify(NotifyMessageType type, uint sequence, NegotiationOutput output)
    {
        var data = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(data, sequence);
        AsaDebug.ConstructingBlankHashPayload(output, Context);
        AsaDebug.ConstructingQmHashPayload(output, Context);
        SendInformational(new NotificationPayload
        {
            Doi = Doi.Ipsec, ProtocolId = ProtocolId.Isakmp, NotifyType = type,
            Spi = Messages.CookieBytes(InitiatorCookie, ResponderCookie), NotificationData = data,
        }, output);
    }

    /// <summary>A received R-U-THERE or R-U-THERE-ACK (already authenticated by HASH(1)).</summary>
    private void HandleDpdNotify(NotificationPayloadView n, NegotiationOutput output)
    {
        // RFC 3706 §5: the SPI is the ISAKMP SA's cookies and the data a 4-byte sequence number.
        if (n.SpiSize != 16 || !n.Spi.SequenceEqual(Messages.CookieBytes(InitiatorCookie, ResponderCookie)) || n.NotificationData.Length != 4)
        {
            output.Add(new MessageDropped(IkeExchange.Informational, 0, DropReason.MalformedDpdNotify, $"{n.NotifyType} with a wrong SPI or sequence number size"));
            return;
        }
        var sequence = BinaryPrimitives.ReadUInt32BigEndian(n.NotificationData);
        if (!_peerDpd)
        {
            // RFC 3706 §5.1: not negotiated, so not ours to answer.
            AsaDebug.ReceivedKeepAliveNotNegotiated(output, Context, "DPD");
            return;
        }
        if (n.NotifyType == NotifyMessageType.RUThere)
        {
            AsaDebug.ReceivedDpdRuThere(output, Context, sequence);
            AsaDebug.SendingDpdRuThereAck(output, Context, sequence);
            SendDpdNotify(NotifyMessageType.RUThereAck, sequence, output);
            return;
        }
        // RFC 3706 §7: an ACK must carry the sequence number of an R-U-THERE of the current round.
        if (_dpdOutstanding == 0 || _dpdSequence is not { } last || unchecked(sequence - _dpdRoundStart) > unchecked(last - _dpdRoundStart))
        {
            output.Add(new MessageDropped(IkeExchange.Informational, 0, DropReason.UnmatchedDpdAck, $"R-U-THERE-ACK 0x{sequence:x} matches no outstanding R-U-THERE"));
            _dpdAckRejected = true;
            return;
        }
        AsaDebug.ReceivedDpdRuThereAck(output, Context, sequence);
        output.Add(new DpdAckReceived(sequence));
        PeerAlive(output);
    }

    /// <summary>No answer after the retransmissions: every SA with the peer goes, without a DELETE (the peer is not there to read it).</summary>
    private void DeclareDead(NegotiationOutput output)
    {
        AsaDebug.LostContactWithPeer(output, Context);
        output.Add(new PeerDead(InitiatorCookie, Peer));
        _machine.Fire(MainModeTrigger.Delete);
        DropQuickModesOfDeadPeer(output);
        output.Add(new IkeSaDeleted(InitiatorCookie, ResponderCookie, "peer dead (DPD)"));
        Dispose();
    }
}
