using System.Buffers.Binary;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>
/// What a carrier needs to move an SA between nodes without breaking RFC 4303 §3.3.3 (an outbound number is never
/// used twice under one key) or opening the peer's replay window (docs/cluster.md): a reservation the SA never
/// sends past (the refused packet's number stays unused), the call for the next one in the middle of the last,
/// the inbound window's right edge reported every 1,024 numbers, and a take-over that resumes above both.
/// The sequence numbers are read from the packets on the wire (RFC 4303 §2.2), not from our counters.
/// </summary>
public class SequenceContinuityTests
{
    private static readonly byte[] Inner = Make.IcmpEcho("192.168.1.1", "192.168.2.1", 1);

    private static (EspEncapStatus Status, uint Sequence) Send(EspSa sa)
    {
        var esp = new byte[sa.MaxPacketSize(Inner.Length)];
        var status = sa.TryEncapsulate(Inner, esp, out var n);
        return (status, n >= 8 ? BinaryPrimitives.ReadUInt32BigEndian(esp.AsSpan(4)) : 0);
    }

    [Fact]
    public void An_sa_never_sends_past_its_reservation_and_the_refused_number_is_not_used()
    {
        using var sa = Make.Sa(1, EspDirection.Outbound);
        sa.ReserveUpTo(3);
        Assert.Equal([1u, 2u, 3u], Enumerable.Range(0, 3).Select(_ => Send(sa)).Select(r => r.Sequence));
        Assert.Equal(EspEncapStatus.SequenceNotReserved, Send(sa).Status);
        Assert.Equal(EspEncapStatus.SequenceNotReserved, Send(sa).Status);
        Assert.Equal(3u, sa.LastSequenceNumber);
        Assert.Equal(2, sa.Counters.Snapshot().EncapsFailedSend);

        sa.ReserveUpTo(5);
        Assert.Equal((EspEncapStatus.Ok, 4u), Send(sa));
        sa.ReserveUpTo(2); // a reservation is never taken back
        Assert.Equal((EspEncapStatus.Ok, 5u), Send(sa));
        Assert.Equal(5u, sa.OutboundLimit);
    }

    [Fact]
    public void The_next_reservation_is_asked_for_once_in_the_middle_of_the_last()
    {
        using var sa = Make.Sa(1, EspDirection.Outbound);
        var asked = new List<uint>();
        sa.ReservationLow += (_, seq) => asked.Add(seq);
        sa.ReserveUpTo(EspSa.OutboundReservation);
        for (var i = 0; i < EspSa.OutboundReservation / 2 + 10; i++) Send(sa);
        Assert.Equal([EspSa.OutboundReservation / 2], asked);

        sa.ReserveUpTo(2 * EspSa.OutboundReservation);
        for (var i = 0; i < EspSa.OutboundReservation; i++) Send(sa);
        Assert.Equal([EspSa.OutboundReservation / 2, EspSa.OutboundReservation + EspSa.OutboundReservation / 2], asked);
    }

    [Fact]
    public void Without_a_reservation_nothing_changes()
    {
        using var sa = Make.Sa(1, EspDirection.Outbound);
        sa.ReservationLow += (_, _) => Assert.Fail("no reservation, no call");
        for (var i = 1u; i <= 100; i++) Assert.Equal((EspEncapStatus.Ok, i), Send(sa));
        Assert.Equal(uint.MaxValue, sa.OutboundLimit);
    }

    [Fact]
    public void The_inbound_window_is_reported_every_1024_numbers()
    {
        using var outbound = Make.Sa(1, EspDirection.Outbound);
        using var inbound = Make.Sa(1, EspDirection.Inbound);
        var marks = new List<uint>();
        inbound.InboundMark += (_, top) => marks.Add(top);
        var esp = new byte[outbound.MaxPacketSize(Inner.Length)];
        for (var i = 0; i < 3000; i++)
        {
            var n = outbound.Encapsulate(Inner, esp);
            Assert.Equal(EspDecapStatus.Ok, inbound.TryDecapsulate(esp.AsSpan(0, n), out _, out _));
        }
        Assert.Equal([1024u, 2048u], marks);
    }

    [Fact]
    public void A_taken_over_sa_sends_above_the_reservation_and_accepts_only_numbers_above_the_mark()
    {
        // The dead carrier had reserved up to 65,536 and reported its window at 2,048.
        using var peerOut = Make.Sa(1, EspDirection.Outbound); // the peer's side of our inbound SA
        using var ourIn = Make.Sa(1, EspDirection.Inbound);
        using var ourOut = Make.Sa(2, EspDirection.Outbound);
        ourOut.ResumeAt(EspSa.OutboundReservation, 0);
        ourIn.ResumeAt(0, 2048);

        Assert.Equal((EspEncapStatus.Ok, EspSa.OutboundReservation + 1), Send(ourOut));

        var esp = new byte[peerOut.MaxPacketSize(Inner.Length)];
        uint Packet(uint seq)
        {
            peerOut.ResumeAt(seq - 1, 0);
            return (uint)peerOut.Encapsulate(Inner, esp);
        }
        // Numbers up to the mark are refused as replays (a recording of them is worth nothing), above it accepted once.
        foreach (var old in new uint[] { 1, 1985, 2000, 2048 })
            Assert.Equal(EspDecapStatus.Replay, ourIn.TryDecapsulate(esp.AsSpan(0, (int)Packet(old)), out _, out _));
        var n = (int)Packet(2049);
        var copy = esp[..n];
        Assert.Equal(EspDecapStatus.Ok, ourIn.TryDecapsulate(esp.AsSpan(0, n), out _, out _));
        Assert.Equal(EspDecapStatus.Replay, ourIn.TryDecapsulate(copy, out _, out _));
        Assert.Equal(2049u, ourIn.ReplayWindow.Top);
    }
}
