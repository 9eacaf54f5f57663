using System.Buffers.Binary;
using System.Net;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>Two data planes wired back to back (no sockets): left 192.168.1.0/24, right 192.168.2.0/24.</summary>
public class EspDataPlaneTests
{
    private sealed class Lab : IDisposable
    {
        public readonly EspSaDatabase LeftSad = new(), RightSad = new();
        public readonly FakeDevice LeftInside = new(), RightInside = new();
        public readonly ManualTime Time = new();
        public readonly EspDataPlane Left, Right;
        public readonly List<FlowKey> Acquires = [];
        public readonly List<(byte[] Payload, IPEndPoint To)> UdpSent = [];

        public Lab(bool udp)
        {
            Left = new EspDataPlane(LeftSad, LeftInside, time: Time);
            Right = new EspDataPlane(RightSad, RightInside, time: Time);
            Left.Acquire += f => Acquires.Add(f);
            // Raw: the kernel would add an outer IPv4 header; the receiver's raw socket shows it.
            Left.RawSend = (p, pair) => Assert.Equal(EspInboundResult.Delivered, Right.OnRawEsp(WithOuterHeader(p)));
            Right.RawSend = (p, pair) => Assert.Equal(EspInboundResult.Delivered, Left.OnRawEsp(WithOuterHeader(p)));
            Left.UdpSend = (p, pair) =>
            {
                UdpSent.Add((p.ToArray(), pair.Peer));
                if (UdpEncapsulation.Classify(p, out var body) == UdpPayloadKind.Esp)
                    Right.OnUdpEsp(p.ToArray().AsSpan()[body], new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4500));
            };
            Right.UdpSend = (p, pair) => Left.OnUdpEsp(p.ToArray(), new IPEndPoint(IPAddress.Parse("10.0.0.2"), 4500));
        }

        /// <summary>Installs a matching pair on both sides, as Quick Mode would.</summary>
        public (EspSaPair Left, EspSaPair Right) Install(uint leftInSpi, uint rightInSpi, bool udp, TrafficSelector? leftRemote = null)
        {
            var l = new EspSaPair(Make.Sa(leftInSpi, EspDirection.Inbound), Make.Sa(rightInSpi, EspDirection.Outbound),
                EspSaDatabaseTests.Left, leftRemote ?? EspSaDatabaseTests.Right, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 4500), udp);
            var r = new EspSaPair(Make.Sa(rightInSpi, EspDirection.Inbound), Make.Sa(leftInSpi, EspDirection.Outbound),
                EspSaDatabaseTests.Right, EspSaDatabaseTests.Left, new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4500), udp);
            RightSad.Add(r);
            LeftSad.Add(l);
            return (l, r);
        }

        public void Dispose()
        {
            Left.Dispose();
            Right.Dispose();
            LeftSad.Dispose();
            RightSad.Dispose();
        }
    }

    private static byte[] WithOuterHeader(ReadOnlySpan<byte> esp)
    {
        var d = new byte[20 + esp.Length];
        d[0] = 0x45;
        d[9] = 50;
        esp.CopyTo(d.AsSpan(20));
        return d;
    }

    private static byte[] Ping(ushort seq, string src = "192.168.1.1", string dst = "192.168.2.1") => Make.IcmpEcho(src, dst, seq);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_ping_crosses_both_ways_with_the_asa_counters(bool udp)
    {
        using var lab = new Lab(udp);
        var (l, r) = lab.Install(0xAAAA0001, 0xBBBB0001, udp);
        for (ushort i = 1; i <= 20; i++)
        {
            Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(Ping(i)));
            Assert.Equal(EspOutboundResult.Sent, lab.Right.ProcessOutbound(Make.IcmpEcho("192.168.2.1", "192.168.1.1", i, type: 0)));
        }
        Assert.Equal(20, lab.RightInside.Written.Count);
        Assert.Equal(Ping(7), lab.RightInside.Written.ElementAt(6));
        Assert.Equal(20, lab.LeftInside.Written.Count);
        var lo = l.Outbound.Counters.Snapshot();
        var li = l.Inbound.Counters.Snapshot();
        Assert.Equal((20, 20, 20, 0), (lo.Encaps, lo.Encrypt, lo.Digest, lo.SendErrors));
        Assert.Equal((20, 20, 20, 0), (li.Decaps, li.Decrypt, li.Verify, li.RecvErrors));
        Assert.Equal((0u, 0x000FFFFFu), l.Inbound.ReplayWindow.BitmapWords);
        Assert.Equal(udp ? 20 : 0, lab.UdpSent.Count);
    }

    /// <summary>
    /// A Phase 2 rekey strongSwan initiates, ESP ahead of QM3: the initiator (left) installs its new pair when QM2 arrives
    /// and sends on it at once; the responder (right) has installed the new inbound SA alone when it sent QM2, so the
    /// packet is received. Its replies stay on the old pair until QM3 completes the new one (RFC 2409 §5.5), and a
    /// packet received before completion is a replay afterwards (the same inbound SA, RFC 4303 §3.4.3).
    /// </summary>
    [Fact]
    public void ESP_that_overtakes_QM3_is_received_by_the_responder_s_inbound_SA_installed_at_QM2()
    {
        using var lab = new Lab(udp: false);
        var (oldLeft, oldRight) = lab.Install(0x10, 0x20, udp: false);

        // QM2 sent: the right's new inbound SA alone. QM2 received: the left's whole new pair.
        var rightAlone = EspSaPair.InboundOnly(Make.Sa(0x21, EspDirection.Inbound), EspSaDatabaseTests.Right, EspSaDatabaseTests.Left,
            new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4500), false);
        Assert.True(lab.RightSad.AddInbound(rightAlone));
        lab.LeftSad.Add(new EspSaPair(Make.Sa(0x11, EspDirection.Inbound), Make.Sa(0x21, EspDirection.Outbound),
            EspSaDatabaseTests.Left, EspSaDatabaseTests.Right, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 4500), false));

        // The left sends on its new SA before QM3 has reached the right: delivered.
        byte[]? inFlight = null;
        lab.Left.RawSend = (p, _) => inFlight = WithOuterHeader(p);
        Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(Ping(1)));
        Assert.Equal(0x21u, BinaryPrimitives.ReadUInt32BigEndian(inFlight.AsSpan(20)));
        Assert.Equal(EspInboundResult.Delivered, lab.Right.OnRawEsp(inFlight!));
        Assert.Equal(Ping(1), lab.RightInside.Written.Last());

        // The right's answer goes on the old pair: it has no outbound SA of the new one yet.
        byte[]? reply = null;
        lab.Right.RawSend = (p, _) => reply = WithOuterHeader(p);
        Assert.Equal(EspOutboundResult.Sent, lab.Right.ProcessOutbound(Make.IcmpEcho("192.168.2.1", "192.168.1.1", 1, type: 0)));
        Assert.Equal(0x10u, BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(20)));
        Assert.Equal(1, oldRight.Outbound.Counters.Snapshot().Encaps);

        // QM3: the pair completes the inbound SA; the reply now takes the new outbound SA, and the early packet is a replay.
        var rightNew = lab.RightSad.Add(new EspSaPair(Make.Sa(0x21, EspDirection.Inbound), Make.Sa(0x11, EspDirection.Outbound),
            EspSaDatabaseTests.Right, EspSaDatabaseTests.Left, new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4500), false));
        Assert.Same(rightAlone.Inbound, rightNew.Inbound);
        Assert.Equal(EspOutboundResult.Sent, lab.Right.ProcessOutbound(Make.IcmpEcho("192.168.2.1", "192.168.1.1", 2, type: 0)));
        Assert.Equal(0x11u, BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(20)));
        Assert.Equal(EspInboundResult.DecapFailed, lab.Right.OnRawEsp(inFlight!));
        Assert.Equal(1, rightNew.Inbound.Counters.Snapshot().ReplayFailed);
        Assert.Equal(1, rightNew.Inbound.Counters.Snapshot().Decaps);
        Assert.Equal(EspInboundResult.Delivered, lab.Left.OnRawEsp(reply!));
        GC.KeepAlive(oldLeft);
    }

    [Fact]
    public void Acquire_queues_then_flushes_when_the_sa_arrives()
    {
        using var lab = new Lab(udp: false);
        lab.Left.AcquirePolicy = f => EspSaDatabaseTests.Right.ContainsAddress(f.Destination);
        for (ushort i = 1; i <= 40; i++)
        {
            var r = lab.Left.ProcessOutbound(Ping(i));
            Assert.Equal(i <= 32 ? EspOutboundResult.Queued : EspOutboundResult.QueueFull, r);
        }
        Assert.Single(lab.Acquires); // rate-limited per flow
        Assert.Equal(32, lab.Left.QueuedPackets);
        Assert.Equal(8, lab.Left.AcquireQueueDrops);

        lab.Install(0x10, 0x20, udp: false);
        Assert.Equal(0, lab.Left.QueuedPackets);
        // The 32 held packets went out in their order once the SA was installed.
        Assert.Equal(Enumerable.Range(1, 32).Select(i => (ushort)i),
            lab.RightInside.Written.Select(p => BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(26))));
        Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(Ping(41)));
    }

    [Fact]
    public void Queued_packets_expire_and_acquire_repeats_after_its_interval()
    {
        using var lab = new Lab(udp: false);
        lab.Left.AcquirePolicy = _ => true;
        Assert.Equal(EspOutboundResult.Queued, lab.Left.ProcessOutbound(Ping(1)));
        lab.Time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(EspOutboundResult.Queued, lab.Left.ProcessOutbound(Ping(2)));
        Assert.Single(lab.Acquires);
        lab.Time.Advance(TimeSpan.FromMilliseconds(600)); // packet 1 is now 1.1 s old
        Assert.Equal(EspOutboundResult.Queued, lab.Left.ProcessOutbound(Ping(3)));
        Assert.Equal(2, lab.Acquires.Count);
        Assert.Equal(2, lab.Left.QueuedPackets);
        // Another flow gets its own acquire at once.
        lab.Left.ProcessOutbound(Ping(1, dst: "192.168.2.9"));
        Assert.Equal(3, lab.Acquires.Count);
        lab.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(3, lab.Left.ExpireQueued());
        Assert.Equal(4, lab.Left.AcquireQueueDrops); // packet 1 expired on the enqueue of packet 3, then these 3
        lab.Install(0x10, 0x20, udp: false);
        Assert.Empty(lab.RightInside.Written);
    }

    [Fact]
    public void No_policy_no_sa_is_dropped()
    {
        using var lab = new Lab(udp: false);
        Assert.Equal(EspOutboundResult.NoSa, lab.Left.ProcessOutbound(Ping(1)));
        lab.Left.AcquirePolicy = _ => false;
        Assert.Equal(EspOutboundResult.NoSa, lab.Left.ProcessOutbound(Ping(2)));
        Assert.Equal(2, lab.Left.NoSaDrops);
        Assert.Empty(lab.Acquires);
        Assert.Equal(EspOutboundResult.NotIPv4, lab.Left.ProcessOutbound([0x60, 0, 0, 0]));
    }

    [Fact]
    public void Inner_packet_outside_the_selectors_is_dropped_after_decryption()
    {
        using var lab = new Lab(udp: false);
        // The left side (misconfigured or hostile) sends anything; the right SA covers only 192.168.1.0/24 <-> 192.168.2.0/24.
        var (_, r) = lab.Install(0x10, 0x20, udp: false, leftRemote: TrafficSelector.Any);
        lab.Left.RawSend = (p, pair) => Assert.Equal(EspInboundResult.SelectorMismatch, lab.Right.OnRawEsp(WithOuterHeader(p)));
        Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(Ping(1, dst: "192.168.9.9")));
        Assert.Empty(lab.RightInside.Written);
        var c = r.Inbound.Counters.Snapshot();
        Assert.Equal((1, 1, 1), (c.Decaps, c.InvalidIdentity, c.RecvErrors));
    }

    [Fact]
    public void Rekey_sends_on_the_new_sa_and_still_accepts_the_old_one()
    {
        using var lab = new Lab(udp: false);
        var (oldL, oldR) = lab.Install(0x10, 0x20, udp: false);
        // A packet the right side sent on the old SA, still in flight during the rekey.
        byte[]? inFlight = null;
        lab.Right.RawSend = (p, pair) => inFlight = WithOuterHeader(p);
        lab.Right.ProcessOutbound(Make.IcmpEcho("192.168.2.1", "192.168.1.1", 1, type: 0));
        lab.Right.RawSend = (p, pair) => lab.Left.OnRawEsp(WithOuterHeader(p));

        var (newL, _) = lab.Install(0x11, 0x21, udp: false);
        lab.Left.ProcessOutbound(Ping(2));
        Assert.Equal(0, oldL.Outbound.Counters.Snapshot().Encaps);
        Assert.Equal(1, newL.Outbound.Counters.Snapshot().Encaps);
        Assert.Equal(EspInboundResult.Delivered, lab.Left.OnRawEsp((byte[])inFlight!.Clone()));
        Assert.True(lab.LeftSad.Remove(0x10));
        Assert.Equal(EspInboundResult.UnknownSpi, lab.Left.OnRawEsp(inFlight));
        Assert.Equal(1, lab.Left.InvalidSpiDrops);
        _ = oldR;
    }

    [Fact]
    public void A_packet_for_an_spi_nobody_here_has_is_reported_with_its_source_for_a_claim()
    {
        using var lab = new Lab(udp: true);
        var seen = new List<(uint Spi, uint Source, int Port, byte[] Esp)>();
        lab.Left.UnknownSpi += (spi, source, port, esp) => seen.Add((spi, source, port, esp.ToArray()));
        var esp = new byte[40];
        BinaryPrimitives.WriteUInt32BigEndian(esp, 0xDEADBEEF);
        BinaryPrimitives.WriteUInt32BigEndian(esp.AsSpan(4), 7);

        Assert.Equal(EspInboundResult.UnknownSpi, lab.Left.OnUdpEsp((byte[])esp.Clone(), new IPEndPoint(IPAddress.Parse("198.51.100.2"), 4500)));
        var raw = WithOuterHeader(esp);
        new byte[] { 198, 51, 100, 6 }.CopyTo(raw, 12); // the outer source address
        Assert.Equal(EspInboundResult.UnknownSpi, lab.Left.OnRawEsp(raw));
        Assert.Equal(EspInboundResult.Malformed, lab.Left.OnUdpEsp(new byte[5], new IPEndPoint(IPAddress.Parse("198.51.100.2"), 4500)));

        Assert.Equal(2, seen.Count);
        Assert.Equal((0xDEADBEEFu, 0xC6336402u, 4500), (seen[0].Spi, seen[0].Source, seen[0].Port));
        Assert.Equal((0xDEADBEEFu, 0xC6336406u, 0), (seen[1].Spi, seen[1].Source, seen[1].Port));
        Assert.Equal(esp, seen[0].Esp);
        Assert.Equal(2, lab.Left.InvalidSpiDrops);
    }

    [Fact]
    public void Nat_keepalives_go_once_to_each_udp_peer()
    {
        using var lab = new Lab(udp: true);
        lab.Install(0x10, 0x20, udp: true);
        lab.Install(0x11, 0x21, udp: true);                  // same peer, a second tunnel
        lab.LeftSad.Add(new EspSaPair(Make.Sa(0x30, EspDirection.Inbound), Make.Sa(0x31, EspDirection.Outbound),
            EspSaDatabaseTests.Left, EspSaDatabaseTests.Right, new IPEndPoint(IPAddress.Parse("10.0.0.3"), 4500), udpEncapsulated: false));
        Assert.Equal(1, lab.Left.SendNatKeepalives());
        var (payload, to) = Assert.Single(lab.UdpSent);
        Assert.Equal([0xFF], payload);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 4500), to);
    }

    [Fact]
    public void A_nat_rebinding_is_reported()
    {
        using var lab = new Lab(udp: true);
        lab.Install(0x10, 0x20, udp: true);
        var moved = new List<IPEndPoint>();
        lab.Left.PeerEndpointChanged += (_, ep) => moved.Add(ep);
        lab.Right.UdpSend = (p, pair) => lab.Left.OnUdpEsp(p.ToArray(), new IPEndPoint(IPAddress.Parse("10.0.0.2"), 31337));
        lab.Right.ProcessOutbound(Make.IcmpEcho("192.168.2.1", "192.168.1.1", 1, type: 0));
        Assert.Equal([new IPEndPoint(IPAddress.Parse("10.0.0.2"), 31337)], moved);
    }

    [Fact]
    public void The_pump_reads_the_inside_device()
    {
        using var lab = new Lab(udp: false);
        lab.Install(0x10, 0x20, udp: false);
        lab.Left.Start();
        lab.LeftInside.ToRead.Add(Ping(1));
        lab.LeftInside.ToRead.Add(Ping(2));
        var deadline = Environment.TickCount64 + 10_000;
        while (lab.RightInside.Written.Count < 2 && Environment.TickCount64 < deadline) Thread.Sleep(10);
        Assert.Equal(2, lab.RightInside.Written.Count);
    }

    [Fact]
    public void A_started_plane_closes_once_and_a_second_dispose_does_nothing()
    {
        using var lab = new Lab(udp: false);
        lab.Left.Start();
        lab.Left.Dispose();
        lab.Left.Dispose(); // the host disposes what its StopAsync already closed: no ObjectDisposedException
    }
}
