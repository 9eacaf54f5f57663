using System.Buffers.Binary;
using System.Net;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>
/// What a TUN device with offloads hands over (virtio-net header, TCP super-packets, partial checksums), checked against
/// rules written here from the RFCs rather than against the code: RFC 9293 sequence numbers and checksums over the
/// pseudo-header, RFC 791 identification and header checksum, the kernel's TSO flag rules (FIN/PSH last, CWR first).
/// Then the data plane: a super-packet's segments go out batched (one sendmmsg, one UDP GSO buffer of equal-size
/// datagrams) in sequence, and the peer's plane decapsulates them to the very segments.
/// </summary>
public class TcpSegmenterTests
{
    private const uint Seq = 0xFFFF_F000; // wraps within the super-packet

    /// <summary>An IPv4/TCP packet with <paramref name="payload"/> bytes, 12 bytes of TCP options (timestamps), the given flags.</summary>
    private static byte[] TcpPacket(int payload, byte flags, ushort id = 0x5000)
    {
        var p = new byte[20 + 32 + payload];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)Math.Min(p.Length, 65535));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        p[6] = 0x40; // DF, as Linux TCP sends
        p[8] = 64;
        p[9] = 6;
        IPAddress.Parse("192.168.1.1").TryWriteBytes(p.AsSpan(12), out _);
        IPAddress.Parse("192.168.2.1").TryWriteBytes(p.AsSpan(16), out _);
        var tcp = p.AsSpan(20);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 5201);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], Seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], 0x01020304);
        tcp[12] = 8 << 4; // 32-byte header
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 502);
        tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10; // NOP NOP TS
        for (var i = 0; i < payload; i++) p[52 + i] = (byte)(i * 13 + i / 256);
        return p;
    }

    /// <summary>The TCP checksum over the pseudo-header (RFC 9293 §3.1) computed 16 bits at a time: zero when right.</summary>
    private static ushort TcpChecksumResidue(byte[] packet)
    {
        var ihl = (packet[0] & 15) * 4;
        var tcpLength = BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)) - ihl;
        var pseudo = new byte[12 + tcpLength];
        packet.AsSpan(12, 8).CopyTo(pseudo);
        pseudo[9] = 6;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)tcpLength);
        packet.AsSpan(ihl, tcpLength).CopyTo(pseudo.AsSpan(12));
        return Make.Checksum(pseudo);
    }

    [Theory]
    [InlineData(64_000, 1386, 0x18 | 0x01 | 0x80)] // PSH ACK FIN CWR
    [InlineData(1386 * 3, 1386, 0x10)]             // exactly three full segments
    [InlineData(1000, 1386, 0x18)]                  // smaller than one MSS: one segment
    public void A_super_packet_becomes_segments_a_receiver_reassembles(int payload, int mss, byte flags)
    {
        var super = TcpPacket(payload, flags);
        var segments = new List<byte[]>();
        Assert.True(TcpSegmenter.TrySegment(super, mss, new byte[65535], segments, static (s, list) => list.Add(s.ToArray()), out var n));
        Assert.Equal((payload + mss - 1) / mss, n);
        Assert.Equal(n, segments.Count);
        var data = new List<byte>();
        for (var i = 0; i < n; i++)
        {
            var s = segments[i];
            var last = i == n - 1;
            Assert.Equal(s.Length, BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(2)));
            Assert.True(s.Length - 52 == (last ? payload - mss * (n - 1) : mss));
            Assert.Equal((ushort)(0x5000 + i), BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(4)));
            Assert.Equal(0x40, s[6]);
            Assert.Equal(0, Make.Checksum(s.AsSpan(0, 20)));
            Assert.Equal(0, TcpChecksumResidue(s));
            Assert.Equal(unchecked(Seq + (uint)(i * mss)), BinaryPrimitives.ReadUInt32BigEndian(s.AsSpan(24)));
            var f = s[33];
            Assert.Equal(last ? flags & 0x09 : 0, f & 0x09);     // FIN and PSH only on the last
            Assert.Equal(i == 0 ? flags & 0x80 : 0, f & 0x80);  // CWR only on the first
            Assert.Equal(0x10 & flags, f & 0x10);               // ACK everywhere
            Assert.Equal(super.AsSpan(20 + 14, 2).ToArray(), s.AsSpan(20 + 14, 2).ToArray()); // window as given
            Assert.Equal(super.AsSpan(20 + 18, 14).ToArray(), s.AsSpan(20 + 18, 14).ToArray()); // urgent pointer, options as given
            data.AddRange(s.AsSpan(52).ToArray());
        }
        Assert.Equal(super.AsSpan(52).ToArray(), data.ToArray());
    }

    [Fact]
    public void Anything_that_is_not_a_tcp_ipv4_super_packet_is_refused_without_an_exception()
    {
        var scratch = new byte[65535];
        var sink = new List<byte[]>();
        TcpSegmenter.SegmentSink<List<byte[]>> add = static (s, l) => l.Add(s.ToArray());
        var udp = Make.Udp("192.168.1.1", "192.168.2.1", 1, 2, 3000);
        Assert.False(TcpSegmenter.TrySegment(udp, 1400, scratch, sink, add, out _));
        var tcp = TcpPacket(3000, 0x10);
        Assert.False(TcpSegmenter.TrySegment(tcp, 0, scratch, sink, add, out _));
        Assert.False(TcpSegmenter.TrySegment(tcp.AsSpan(0, 30), 1400, scratch, sink, add, out _));
        var headerOnly = TcpPacket(0, 0x10);
        Assert.False(TcpSegmenter.TrySegment(headerOnly, 1400, scratch, sink, add, out _)); // no payload to cut
        var longHeader = (byte[])headerOnly.Clone();
        longHeader[32] = 15 << 4; // a 60-byte TCP header in a packet of 52
        Assert.False(TcpSegmenter.TrySegment(longHeader, 1400, scratch, sink, add, out _));
        Assert.Empty(sink);
        var fragment = (byte[])tcp.Clone();
        fragment[7] = 1; // offset 8: a fragment
        Assert.False(TcpSegmenter.TrySegment(fragment, 1400, scratch, sink, add, out _));
        Assert.False(TcpSegmenter.TrySegment(tcp, 1400, new byte[100], sink, add, out _)); // scratch too small
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var junk = new byte[random.Next(0, 200)];
            random.NextBytes(junk);
            if (junk.Length > 0) junk[0] = 0x45;
            TcpSegmenter.TrySegment(junk, random.Next(-5, 2000), scratch, sink, add, out _);
            TcpSegmenter.TryCompleteChecksum(junk, random.Next(-5, 300), random.Next(-5, 300));
        }
    }

    [Fact]
    public void A_checksum_the_kernel_left_partial_is_completed_as_rfc_1071_computes_it()
    {
        // The kernel leaves the pseudo-header's sum (not complemented) in the field, csum_start at the UDP header.
        var udp = Make.Udp("192.168.1.1", "192.168.2.1", 5000, 53, 333);
        var pseudo = new byte[12];
        udp.AsSpan(12, 8).CopyTo(pseudo);
        pseudo[9] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)(udp.Length - 20));
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(26), (ushort)~Make.Checksum(pseudo));
        Assert.True(TcpSegmenter.TryCompleteChecksum(udp, 20, 6));
        var whole = new byte[12 + udp.Length - 20];
        pseudo.CopyTo(whole, 0);
        udp.AsSpan(20).CopyTo(whole.AsSpan(12));
        Assert.Equal(0, Make.Checksum(whole)); // the receiver's check passes
        Assert.False(TcpSegmenter.TryCompleteChecksum(udp, 20, udp.Length));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_super_packet_from_the_tun_device_leaves_in_one_batched_call_in_sequence(bool udp)
    {
        using var leftSad = new EspSaDatabase();
        using var rightSad = new EspSaDatabase();
        var leftInside = new FakeDevice();
        var rightInside = new FakeDevice();
        using var left = new EspDataPlane(leftSad, leftInside, new EspDataPlaneOptions { IcmpSource = 0xC0A80101 });
        using var right = new EspDataPlane(rightSad, rightInside);
        var peer = new IPEndPoint(IPAddress.Parse("10.0.0.2"), 4500);
        var pair = new EspSaPair(Make.Sa(0xAAAA0001, EspDirection.Inbound), Make.Sa(0xBBBB0001, EspDirection.Outbound),
            TrafficSelector.Subnet(IPAddress.Parse("192.168.1.0"), 24), TrafficSelector.Subnet(IPAddress.Parse("192.168.2.0"), 24), peer, udp);
        leftSad.Add(pair);
        rightSad.Add(new EspSaPair(Make.Sa(0xBBBB0001, EspDirection.Inbound), Make.Sa(0xAAAA0001, EspDirection.Outbound),
            TrafficSelector.Subnet(IPAddress.Parse("192.168.2.0"), 24), TrafficSelector.Subnet(IPAddress.Parse("192.168.1.0"), 24),
            new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4500), udp));
        var calls = 0;
        var esp = new List<byte[]>();
        left.RawSendBatch = (packets, lengths, _) =>
        {
            calls++;
            var at = 0;
            foreach (var l in lengths) { esp.Add(packets.Slice(at, l).ToArray()); at += l; }
        };
        left.UdpSendSegments = (datagrams, size, _) =>
        {
            calls++;
            for (var at = 0; at < datagrams.Length; at += size) esp.Add(datagrams.Slice(at, Math.Min(size, datagrams.Length - at)).ToArray());
            // GSO's rule: every datagram but the last exactly `size`.
            Assert.True(esp.Take(esp.Count - 1).All(e => e.Length == size));
        };
        left.RawSend = left.UdpSend = (_, _) => throw new InvalidOperationException("a segment went one by one");

        var mss = udp ? 1370 : 1386; // within the tunnel's 1422 / 1438 with 52 bytes of headers
        var super = TcpPacket(40 * mss + 100, 0x18);
        var read = new byte[VirtioNetHeader.Size + super.Length];
        read[1] = VirtioNetHeader.GsoTcpV4;
        BinaryPrimitives.WriteUInt16LittleEndian(read.AsSpan(2), 52);
        BinaryPrimitives.WriteUInt16LittleEndian(read.AsSpan(4), (ushort)mss);
        super.CopyTo(read, VirtioNetHeader.Size);
        left.ProcessFromTun(read);

        Assert.Equal(41, esp.Count);
        Assert.Equal(1, calls); // the short last datagram may end a UDP GSO buffer: it is its last
        Assert.Equal(1, left.SuperPackets);
        for (var i = 0; i < esp.Count; i++)
        {
            Assert.Equal((uint)(i + 1), BinaryPrimitives.ReadUInt32BigEndian(esp[i].AsSpan(4))); // sequence numbers 1, 2, 3, ...
            var result = udp ? right.OnUdpEsp(esp[i], new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4500)) : right.OnRawEsp([0x45, .. new byte[8], 50, .. new byte[10], .. esp[i]]);
            Assert.Equal(EspInboundResult.Delivered, result);
        }
        var delivered = rightInside.Written.ToList();
        Assert.Equal(41, delivered.Count);
        Assert.All(delivered, s => Assert.Equal(0, TcpChecksumResidue(s)));
        Assert.Equal(super.AsSpan(52).ToArray(), delivered.SelectMany(s => s.AsSpan(52).ToArray()).ToArray());
        Assert.Equal(41, pair.Outbound.Counters.Snapshot().Encaps);
    }
}

/// <summary>
/// Receive-side coalescing: the segments TcpSegmenter cut from a super-packet, once decapsulated, become one
/// super-packet again whose payload is the original's, with the GSO header the kernel needs; a gap, another
/// connection, PSH, a short segment or a non-TCP packet ends a run and nothing is reordered.
/// </summary>
public class TunCoalescerTests
{
    private static List<byte[]> Segments(byte[] super, int mss)
    {
        var list = new List<byte[]>();
        Assert.True(TcpSegmenter.TrySegment(super, mss, new byte[65535], list, static (s, l) => l.Add(s.ToArray()), out _));
        return list;
    }

    private static byte[] Super(int payload, byte flags, ushort port = 40000, uint seq = 1000)
    {
        var p = new byte[52 + payload];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[6] = 0x40;
        p[8] = 64;
        p[9] = 6;
        IPAddress.Parse("192.168.2.1").TryWriteBytes(p.AsSpan(12), out _);
        IPAddress.Parse("192.168.1.1").TryWriteBytes(p.AsSpan(16), out _);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(20), port);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), 5201);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(24), seq);
        p[32] = 8 << 4;
        p[33] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(34), 1000);
        p[40] = 1; p[41] = 1; p[42] = 8; p[43] = 10;
        for (var i = 0; i < payload; i++) p[52 + i] = (byte)(i * 7);
        return p;
    }

    [Fact]
    public void A_run_of_segments_becomes_one_super_packet_the_kernel_can_cut_again()
    {
        var original = Super(20 * 1386 + 500, 0x18);
        var segments = Segments(original, 1386);
        var device = new VirtioRecorder();
        var coalescer = new TunCoalescer();
        foreach (var s in segments) coalescer.Add(s, device);
        coalescer.Flush(device);
        var (header, packet) = Assert.Single(device.Written);
        Assert.Equal((VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoTcpV4, (ushort)52, (ushort)1386, (ushort)20, (ushort)16),
            (header.Flags, header.GsoType, header.HeaderLength, header.GsoSize, header.ChecksumStart, header.ChecksumOffset));
        Assert.Equal(original.Length, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)));
        Assert.Equal(0, Make.Checksum(packet.AsSpan(0, 20)));
        Assert.Equal(original.AsSpan(52).ToArray(), packet.AsSpan(52).ToArray());
        Assert.Equal(0x18, packet[33]); // PSH of the last segment kept
        // What the kernel does with it: complete the checksum and cut it; the segments are the ones that came.
        Assert.True(TcpSegmenter.TryCompleteChecksum(packet, 20, 16));
        var again = Segments(packet, 1386);
        Assert.Equal(segments.Count, again.Count);
        for (var i = 0; i < again.Count; i++) Assert.Equal(segments[i].AsSpan(20).ToArray(), again[i].AsSpan(20).ToArray());
        Assert.Equal(20, coalescer.Coalesced);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Esp_received_in_one_batch_reaches_a_tun_device_with_offloads_as_one_super_packet(bool udp)
    {
        var device = new VirtioRecorder();
        using var planes = new PlanePair(udp, device);
        var original = Super(30 * 1000, 0x10);
        foreach (var segment in Segments(original, 1000)) Assert.Equal(EspOutboundResult.Sent, planes.Left.ProcessOutbound(segment));
        Assert.Equal(30, planes.Esp.Count);

        var coalescer = new TunCoalescer();
        planes.DeliverAll(udp, coalescer);
        Assert.Empty(device.Written); // merged, waiting for the batch's end
        planes.EndBatch(udp, coalescer, device);
        var (header, packet) = Assert.Single(device.Written);
        Assert.Equal((VirtioNetHeader.GsoTcpV4, (ushort)1000), (header.GsoType, header.GsoSize));
        Assert.Equal(original.AsSpan(52).ToArray(), packet.AsSpan(52).ToArray());
    }

    [Fact]
    public void Gaps_other_connections_and_other_packets_end_a_run_and_keep_their_order()
    {
        var a = Segments(Super(5 * 1000, 0x10), 1000);
        var b = Segments(Super(3 * 1000, 0x10, port: 40001, seq: 9_000_000), 1000);
        var udp = Make.Udp("192.168.2.1", "192.168.1.1", 1, 2, 100);
        var device = new VirtioRecorder();
        var coalescer = new TunCoalescer();
        // a0 a1 | b0 b1 | udp | a3 (a2 lost: a gap) a4 | b2
        foreach (var p in new[] { a[0], a[1], b[0], b[1], udp, a[3], a[4], b[2] }) coalescer.Add(p, device);
        coalescer.Flush(device);
        var w = device.Written;
        Assert.Equal(5, w.Count);
        Assert.Equal((VirtioNetHeader.GsoTcpV4, 52 + 2000), (w[0].Header.GsoType, w[0].Packet.Length));
        Assert.Equal((VirtioNetHeader.GsoTcpV4, 52 + 2000), (w[1].Header.GsoType, w[1].Packet.Length));
        Assert.Equal(udp, w[2].Packet);
        Assert.Equal(VirtioNetHeader.GsoNone, w[2].Header.GsoType);
        Assert.Equal((VirtioNetHeader.GsoTcpV4, 52 + 2000), (w[3].Header.GsoType, w[3].Packet.Length)); // a3 a4 follow each other
        Assert.Equal(b[2], w[4].Packet); // alone: written as it came, its own checksum
        Assert.Equal(VirtioNetHeader.GsoNone, w[4].Header.GsoType);

        // SYN, FIN, RST are never merged; a shorter segment closes a run.
        device.Written.Clear();
        var syn = Super(0, 0x02);
        var fin = Segments(Super(2 * 1000, 0x11), 1000);
        foreach (var p in new[] { syn, fin[0], fin[1] }) coalescer.Add(p, device);
        coalescer.Flush(device);
        Assert.Equal(3, device.Written.Count);
        Assert.All(device.Written, x => Assert.Equal(VirtioNetHeader.GsoNone, x.Header.GsoType));
    }
}
