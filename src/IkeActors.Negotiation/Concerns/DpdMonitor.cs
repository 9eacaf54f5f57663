using System.Buffers.Binary;
using IkeActors.Config.Model;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// Dead Peer Detection (RFC 3706) of one IKE SA with the ASA's semantics (`isakmp keepalive threshold N retry M`):
/// negotiated when both sides sent the DPD vendor ID (`disable` sends none); "semi-periodic": after N
/// seconds without anything valid from the peer an R-U-THERE goes out, repeated every M seconds; after
/// the ASA's fixed three retransmissions without an R-U-THERE-ACK the peer is dead and every SA with it
/// is deleted without a DELETE. `threshold infinite` answers R-U-THERE but never asks.
/// </summary>
internal sealed class DpdMonitor(IkeSa sa)
{
    /// <summary>R-U-THERE retransmissions the ASA makes before declaring the peer dead (not configurable on the ASA).</summary>
    public const int Retransmissions = 3;

    /// <summary>The peer sent the DPD vendor ID (RFC 3706 §5.1).</summary>
    public bool PeerSupportsDpd { get; set; }

    /// <summary>The last R-U-THERE sequence number (null: none sent yet) and the first of the current round.</summary>
    public uint? Sequence { get; set; }
    public uint RoundStart { get; set; }

    /// <summary>R-U-THEREs sent in the current round without an answer (0: the peer is known alive).</summary>
    public int Unanswered { get; set; }

    /// <summary>The last Informational carried only an ACK we could not match (RFC 3706 §7): not proof of liveness.</summary>
    public bool AckRejected { get; set; }

    /// <summary>The tunnel group's `isakmp keepalive` (the ASA default before the group is known).</summary>
    public IsakmpKeepalive Keepalive =>
        (sa.TunnelGroup is null ? null : sa.Gateway.Config.FindTunnelGroup(sa.TunnelGroup)?.Keepalive) ?? IsakmpKeepalive.Default;

    /// <summary>Both sides sent the DPD vendor ID (RFC 3706 §5.1): R-U-THERE may be exchanged.</summary>
    public bool Negotiated => PeerSupportsDpd && !Keepalive.Disabled;

    /// <summary>This side sends R-U-THEREs (negotiated and a finite threshold).</summary>
    private bool Sends => Negotiated && Keepalive.ThresholdSeconds is not null;

    /// <summary>Anything valid from the peer restarts the idle threshold (RFC 3706 §5.3).</summary>
    public void PeerAlive(NegotiationOutput output)
    {
        if (sa.State != MainModeState.MM_ACTIVE || !Sends) return;
        Unanswered = 0;
        ArmThreshold(output);
    }

    /// <summary>At MM_ACTIVE: the keep-alive type the ASA reports.</summary>
    public void StartKeepalives(NegotiationOutput output)
    {
        if (Negotiated) AsaDebug.KeepAliveTypeDpd(output, sa.IpContext);
        else
        {
            if (!Keepalive.Disabled) AsaDebug.KeepAlivesUnsupportedByPeer(output, sa.Context, "DPD");
            AsaDebug.KeepAliveTypeNone(output, sa.IpContext);
        }
    }

    /// <summary>At MM_ACTIVE: the first idle threshold, when this side asks.</summary>
    public void ArmFirst(NegotiationOutput output)
    {
        Unanswered = 0;
        if (Sends) ArmThreshold(output);
    }

    /// <summary>After a restore: the wait starts again, the idle threshold or the retry interval when R-U-THEREs are unanswered.</summary>
    public void Resume(NegotiationOutput output)
    {
        if (sa.State != MainModeState.MM_ACTIVE || !Sends) return;
        if (Unanswered > 0) Arm(Keepalive.RetrySeconds, output);
        else ArmThreshold(output);
    }

    /// <summary>The DPD timer: the peer was idle for the threshold (first R-U-THERE) or did not answer within the retry interval.</summary>
    public void TimerFired(NegotiationOutput output)
    {
        if (sa.State != MainModeState.MM_ACTIVE || !Sends) return;
        if (Unanswered > Retransmissions)
        {
            // No answer after the retransmissions: the peer is not there to read a DELETE.
            AsaDebug.LostContactWithPeer(output, sa.Context);
            sa.PeerIsDead(output);
            return;
        }
        // RFC 3706 §7: a random first sequence number, incremented with every R-U-THERE.
        uint sequence;
        if (Sequence is { } last) sequence = unchecked(last + 1);
        else
        {
            Span<byte> b = stackalloc byte[4];
            sa.Gateway.Environment.Fill(b);
            sequence = BinaryPrimitives.ReadUInt32BigEndian(b) & 0x7fffffff;
        }
        Sequence = sequence;
        if (Unanswered == 0) RoundStart = sequence;
        Unanswered++;
        AsaDebug.SendingDpdRuThere(output, sa.Context, sequence);
        Send(NotifyMessageType.RUThere, sequence, output);
        output.Add(new DpdProbeSent(sequence, Unanswered - 1));
        Arm(Keepalive.RetrySeconds, output);
    }

    /// <summary>A received R-U-THERE or R-U-THERE-ACK (already authenticated by HASH(1)).</summary>
    public void Received(NotificationPayloadView n, NegotiationOutput output)
    {
        // RFC 3706 §5: the SPI is the ISAKMP SA's cookies and the data a 4-byte sequence number.
        if (n.SpiSize != 16 || !n.Spi.SequenceEqual(IsakmpMessages.CookieBytes(sa.InitiatorCookie, sa.ResponderCookie)) || n.NotificationData.Length != 4)
        {
            output.Add(new MessageDropped(IkeExchange.Informational, 0, DropReason.MalformedDpdNotify, $"{n.NotifyType} with a wrong SPI or sequence number size"));
            return;
        }
        var sequence = BinaryPrimitives.ReadUInt32BigEndian(n.NotificationData);
        if (!PeerSupportsDpd)
        {
            // RFC 3706 §5.1: not negotiated, so not ours to answer.
            AsaDebug.ReceivedKeepAliveNotNegotiated(output, sa.Context, "DPD");
            return;
        }
        if (n.NotifyType == NotifyMessageType.RUThere)
        {
            AsaDebug.ReceivedDpdRuThere(output, sa.Context, sequence);
            AsaDebug.SendingDpdRuThereAck(output, sa.Context, sequence);
            Send(NotifyMessageType.RUThereAck, sequence, output);
            return;
        }
        // RFC 3706 §7: an ACK must carry the sequence number of an R-U-THERE of the current round.
        if (Unanswered == 0 || Sequence is not { } last || unchecked(sequence - RoundStart) > unchecked(last - RoundStart))
        {
            output.Add(new MessageDropped(IkeExchange.Informational, 0, DropReason.UnmatchedDpdAck, $"R-U-THERE-ACK 0x{sequence:x} matches no outstanding R-U-THERE"));
            AckRejected = true;
            return;
        }
        AsaDebug.ReceivedDpdRuThereAck(output, sa.Context, sequence);
        output.Add(new DpdAckReceived(sequence));
        sa.PeerAlive(output);
    }

    private void Arm(int seconds, NegotiationOutput output) =>
        output.Add(new ArmTimer(sa.InitiatorCookie, new TimerKey(TimerKind.Dpd, 0), TimeSpan.FromSeconds(seconds)));

    /// <summary>The idle threshold before an R-U-THERE, shortened by the DPD jitter (<see cref="NegotiationSettings.DpdJitter"/>); the retry interval is not.</summary>
    private void ArmThreshold(NegotiationOutput output) =>
        output.Add(new ArmTimer(sa.InitiatorCookie, new TimerKey(TimerKind.Dpd, 0),
            TimerJitter.Earlier(TimeSpan.FromSeconds(Keepalive.ThresholdSeconds!.Value), sa.Settings.DpdJitter, sa.Gateway.Environment)));

    /// <summary>RFC 3706 §5: HASH + NOTIFY(R-U-THERE[-ACK]), protocol ISAKMP, SPI = CKY-I | CKY-R, data = the 32-bit sequence number.</summary>
    private void Send(NotifyMessageType type, uint sequence, NegotiationOutput output)
    {
        var data = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(data, sequence);
        AsaDebug.ConstructingBlankHashPayload(output, sa.Context);
        AsaDebug.ConstructingQmHashPayload(output, sa.Context);
        sa.Informational.Send(new NotificationPayload
        {
            Doi = Doi.Ipsec, ProtocolId = ProtocolId.Isakmp, NotifyType = type,
            Spi = IsakmpMessages.CookieBytes(sa.InitiatorCookie, sa.ResponderCookie), NotificationData = data,
        }, output);
    }
}
