using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>
/// UDP segmentation offload on the TUN device (TUN_F_USO4, Linux 6.2+). A UDP super-packet read from the device is cut
/// into datagrams checked against RFC 768/791 written out here, and against the kernel's own segmentation of the same
/// send; decapsulated datagrams of one flow are merged into one super-packet the kernel cuts back into exactly those
/// datagrams before a socket reads them. Hostile super-packets are refused without an exception.
/// </summary>
public class UdpSegmentationTests
{
    private static readonly byte[] Left = IPAddress.Parse("192.168.2.1").GetAddressBytes(), Right = IPAddress.Parse("192.168.1.1").GetAddressBytes();

    /// <summary>An IPv4 UDP datagram with both checksums (RFC 791, RFC 768 over the pseudo-header) computed here.</summary>
    private static byte[] Datagram(ushort id, int payload, bool df = true, byte ttl = 64, ushort sourcePort = 7000, byte seed = 0,
        byte[]? source = null, byte[]? destination = null, ushort destinationPort = 5000)
    {
        var p = new byte[28 + payload];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        p[6] = df ? (byte)0x40 : (byte)0;
        p[8] = ttl;
        p[9] = 17;
        (source ?? Left).CopyTo(p, 12);
        (destination ?? Right).CopyTo(p, 16);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Make.Checksum(p.AsSpan(0, 20)));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(20), sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(24), (ushort)(8 + payload));
        for (var i = 0; i < payload; i++) p[28 + i] = (byte)(seed + i * 13);
        var sum = Make.Checksum([.. PseudoHeader(p), .. p.AsSpan(20)]);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(26), sum == 0 ? (ushort)0xFFFF : sum);
        return p;
    }

    /// <summary>RFC 768's pseudo-header of an IPv4 UDP datagram: addresses, zero, protocol, UDP length.</summary>
    private static byte[] PseudoHeader(ReadOnlySpan<byte> p) =>
        [.. p.Slice(12, 8), 0, 17, .. p.Slice(24, 2)];

    /// <summary>The RFC 768 check: the sum over pseudo-header and datagram is all ones (a checksum of 0 means none).</summary>
    private static bool UdpChecksumValid(ReadOnlySpan<byte> p) => Make.Checksum([.. PseudoHeader(p), .. p[20..]]) == 0;

    /// <summary>A super-packet as a socket's UDP_SEGMENT send reaches the device: one IPv4 and one UDP header, the payloads behind.</summary>
    private static byte[] Super(ushort id, int size, int count, int last)
    {
        var payload = (count - 1) * size + last;
        var p = Datagram(id, payload);
        return p;
    }

    private static List<byte[]> Cut(ReadOnlySpan<byte> super, int size)
    {
        var list = new List<byte[]>();
        Assert.True(UdpSegmenter.TrySegment(super, size, new byte[65535], list, static (d, l) => l.Add(d.ToArray()), out var n));
        Assert.Equal(list.Count, n);
        return list;
    }

    [Theory]
    [InlineData(1000, 20, 333)] // a shorter last datagram
    [InlineData(64, 64, 64)]    // small, all equal
    [InlineData(1472, 2, 1)]    // a one-byte tail
    public void A_super_packet_becomes_datagrams_each_with_its_own_length_identification_and_checksums(int size, int count, int last)
    {
        var super = Super(0xFFF0, size, count, last);
        var datagrams = Cut(super, size);
        Assert.Equal(count, datagrams.Count);
        for (var i = 0; i < count; i++)
        {
            var d = datagrams[i];
            var length = i == count - 1 ? last : size;
            Assert.Equal(28 + length, d.Length);
            Assert.Equal(d.Length, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)));
            Assert.Equal((ushort)(0xFFF0 + i), BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(4))); // RFC 791: wraps
            Assert.Equal(0, Make.Checksum(d.AsSpan(0, 20)));
            Assert.Equal(8 + length, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(24)));
            Assert.True(UdpChecksumValid(d), $"datagram {i}: UDP checksum");
            Assert.Equal(super.AsSpan(28 + i * size, length).ToArray(), d.AsSpan(28).ToArray());
            Assert.Equal(super.AsSpan(20, 4).ToArray(), d.AsSpan(20, 4).ToArray()); // ports
            Assert.Equal((0x40, 64, 17), (d[6], d[8], d[9]));
        }
        // Each is the datagram a sender would have made alone (RFC 768 and 791 computed independently above).
        for (var i = 0; i < count; i++)
            Assert.Equal(Datagram((ushort)(0xFFF0 + i), i == count - 1 ? last : size, seed: (byte)(i * size * 13)), datagrams[i]);
    }

    [Fact]
    public void Anything_that_is_not_a_udp_ipv4_super_packet_is_refused_without_an_exception()
    {
        var good = Super(1, 100, 5, 100);
        var scratch = new byte[65535];
        var handed = 0;
        bool Try(byte[] p, int size) => UdpSegmenter.TrySegment(p, size, scratch, 0, (_, _) => handed++, out _);
        Assert.False(Try(good, 0));
        Assert.False(Try(good, -1));
        Assert.False(Try(good[..27], 100));              // shorter than the headers
        Assert.False(Try(good[..28], 100));              // headers and no payload
        var tcp = (byte[])good.Clone(); tcp[9] = 6;
        Assert.False(Try(tcp, 100));
        var v6 = (byte[])good.Clone(); v6[0] = 0x65;
        Assert.False(Try(v6, 100));
        var shortIhl = (byte[])good.Clone(); shortIhl[0] = 0x44;
        Assert.False(Try(shortIhl, 100));
        var longIhl = (byte[])good.Clone(); longIhl[0] = 0x4F; // 60 bytes of IPv4 header: no room for UDP's
        Assert.False(Try(longIhl[..64], 100));
        var fragment = (byte[])good.Clone(); fragment[6] = 0x20; // MF
        Assert.False(Try(fragment, 100));
        Assert.False(UdpSegmenter.TrySegment(good, 100, new byte[100], 0, (_, _) => handed++, out _)); // no room for one datagram
        Assert.Equal(0, handed);
        // A total length that disagrees with what was read: the bytes read are the packet (as for TCP super-packets).
        var lying = (byte[])good.Clone(); BinaryPrimitives.WriteUInt16BigEndian(lying.AsSpan(2), 9);
        Assert.True(Try(lying, 100));
        Assert.Equal(5, handed);
        // Random bytes: never an exception.
        var random = new Random(17);
        for (var i = 0; i < 5000; i++)
        {
            var p = new byte[random.Next(0, 200)];
            random.NextBytes(p);
            if (p.Length > 9 && i % 2 == 0) { p[0] = 0x45; p[9] = 17; }
            UdpSegmenter.TrySegment(p, random.Next(-2, 80), scratch, 0, (_, _) => { }, out _);
        }
    }

    [Fact]
    public void A_run_of_one_flows_datagrams_becomes_one_super_packet_the_kernel_cuts_back_into_them()
    {
        var datagrams = Enumerable.Range(0, 30).Select(i => Datagram((ushort)(100 + i), i == 29 ? 17 : 1200, seed: (byte)i)).ToList();
        var device = new VirtioRecorder(udpSegmentation: true);
        var coalescer = new TunCoalescer();
        foreach (var d in datagrams) coalescer.Add(d, device);
        Assert.Empty(device.Written);
        coalescer.Flush(device);
        var (header, packet) = Assert.Single(device.Written);
        Assert.Equal((VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoUdpL4, (ushort)28, (ushort)1200, (ushort)20, (ushort)6),
            (header.Flags, header.GsoType, header.HeaderLength, header.GsoSize, header.ChecksumStart, header.ChecksumOffset));
        Assert.Equal(28 + 29 * 1200 + 17, packet.Length);
        Assert.Equal(packet.Length, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)));
        Assert.Equal(0, Make.Checksum(packet.AsSpan(0, 20)));
        Assert.Equal(packet.Length - 20, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(24)));
        Assert.Equal(datagrams.SelectMany(d => d.Skip(28)).ToArray(), packet.AsSpan(28).ToArray());
        // The checksum left partial is the pseudo-header's sum (not complemented): completing it over the datagram
        // gives a valid RFC 768 checksum of the whole super-packet.
        var pseudo = (ushort)~Make.Checksum(PseudoHeader(packet));
        Assert.Equal(pseudo, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(26)));
        // What the kernel does with it: cut at the segment size from the first's identification on: the very datagrams.
        Assert.Equal(datagrams, Cut(packet, 1200));
        Assert.Equal(29, coalescer.Coalesced);
        Assert.Equal(1, coalescer.Written);
    }

    [Fact]
    public void A_device_without_udp_segmentation_gets_each_datagram_as_it_came()
    {
        var datagrams = Enumerable.Range(0, 5).Select(i => Datagram((ushort)i, 500)).ToList();
        var device = new VirtioRecorder(udpSegmentation: false);
        var coalescer = new TunCoalescer();
        foreach (var d in datagrams) coalescer.Add(d, device);
        coalescer.Flush(device);
        Assert.Equal(datagrams, device.Written.Select(w => w.Packet));
        Assert.All(device.Written, w => Assert.Equal(VirtioNetHeader.GsoNone, w.Header.GsoType));
    }

    [Fact]
    public void Another_flow_a_larger_datagram_other_ip_fields_or_a_gap_in_identification_without_df_end_a_run_in_order()
    {
        var other = IPAddress.Parse("192.168.1.7").GetAddressBytes();
        var packets = new[]
        {
            Datagram(1, 500), Datagram(2, 500),                                     // run 1
            Datagram(3, 500, sourcePort: 7001),                                     // another flow: run 2
            Datagram(4, 500, sourcePort: 7001, destination: other),                 // another destination: run 3
            Datagram(5, 400),                                                       // run 4: a larger datagram cannot follow it
            Datagram(6, 500), Datagram(7, 300),                                     // run 5, ended by its shorter last
            Datagram(8, 300, ttl: 63),                                              // another TTL: run 6
            Datagram(20, 300, df: false), Datagram(21, 300, df: false),            // without DF, numbered in turn: run 7
            Datagram(23, 300, df: false), Datagram(24, 300, df: false),            // a gap in identification: run 8
            Datagram(25, 300),                                                      // DF again: run 9
            Make.Udp("192.168.2.1", "192.168.1.1", 7000, 5000, 300),                // no checksum, identification 0: run 10
        };
        var device = new VirtioRecorder(udpSegmentation: true);
        var coalescer = new TunCoalescer();
        foreach (var p in packets) coalescer.Add(p, device);
        coalescer.Flush(device);
        var w = device.Written;
        // The bytes in order, whatever was merged: nothing reordered.
        Assert.Equal(packets.SelectMany(p => p.Skip(28)).ToArray(), w.SelectMany(x => x.Packet.Skip(28)).ToArray());
        Assert.Equal([2, 1, 1, 1, 2, 1, 2, 2, 1, 1],
            w.Select(x => x.Header.GsoType == VirtioNetHeader.GsoUdpL4 ? (x.Packet.Length - 28 + x.Header.GsoSize - 1) / x.Header.GsoSize : 1));
    }

    [Fact]
    public void A_run_stops_at_64_datagrams_and_at_64_kb()
    {
        var device = new VirtioRecorder(udpSegmentation: true);
        var coalescer = new TunCoalescer();
        for (var i = 0; i < 65; i++) coalescer.Add(Datagram((ushort)i, 64), device);
        for (var i = 0; i < 60; i++) coalescer.Add(Datagram((ushort)(1000 + i), 1400, sourcePort: 7001), device);
        coalescer.Flush(device);
        var counts = device.Written.Select(x => x.Header.GsoType == VirtioNetHeader.GsoUdpL4 ? (x.Packet.Length - 28) / x.Header.GsoSize : 1).ToArray();
        Assert.Equal([TunCoalescer.MaxUdpSegments, 1, (65535 - 28) / 1400, 60 - (65535 - 28) / 1400], counts);
        Assert.All(device.Written, x => Assert.True(x.Packet.Length <= 65535));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Esp_of_one_flow_received_in_one_batch_reaches_the_device_as_one_udp_super_packet(bool udp)
    {
        var device = new VirtioRecorder(udpSegmentation: true);
        using var planes = new PlanePair(udp, device);
        var datagrams = Enumerable.Range(0, 40).Select(i => Datagram((ushort)i, 64, seed: (byte)i)).ToList();
        foreach (var d in datagrams) Assert.Equal(EspOutboundResult.Sent, planes.Left.ProcessOutbound(d));

        var coalescer = new TunCoalescer();
        planes.DeliverAll(udp, coalescer);
        planes.EndBatch(udp, coalescer, device);
        var (header, packet) = Assert.Single(device.Written);
        Assert.Equal((VirtioNetHeader.GsoUdpL4, (ushort)64), (header.GsoType, header.GsoSize));
        Assert.Equal(datagrams, Cut(packet, 64));
    }

    // --- against the kernel ---

    private static List<byte[]> ReadUdp(IPacketDevice tun, int bytes, ushort port, bool virtio)
    {
        var buffer = new byte[70_000];
        var got = new List<byte[]>();
        var total = 0;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (total < bytes && DateTime.UtcNow < deadline)
        {
            var n = tun.Read(buffer, 200);
            if (n <= 0) continue;
            var read = buffer.AsSpan(0, n).ToArray();
            var p = virtio ? read.AsSpan(VirtioNetHeader.Size) : read;
            if (p.Length < 28 || p[0] != 0x45 || p[9] != 17 || BinaryPrimitives.ReadUInt16BigEndian(p[22..]) != port) continue; // not ours (e.g. IPv6)
            got.Add(read);
            total += p.Length - 28;
        }
        return got;
    }

    private static Socket UdpIn(string ns, string address, int port) => NetnsLab.InNamespace(ns, () =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Parse(address), port));
        s.ReceiveTimeout = 5000;
        return s;
    });

    [RootFact]
    public void A_udp_segment_send_through_the_tun_device_is_one_read_cut_into_the_datagrams_the_kernel_itself_would_send()
    {
        using var lab = new NetnsLab();
        using var offloaded = NetnsLab.InNamespace(lab.Left, () => TunDevice.Open("uso%d", offloads: true));
        using var plain = NetnsLab.InNamespace(lab.Right, () => TunDevice.Open("uso%d", offloads: false));
        Assert.True(offloaded.UdpSegmentation, "TUNSETOFFLOAD refused TUN_F_USO4 | TUN_F_USO6 (Linux 6.2+)");
        foreach (var (ns, tun) in new[] { (lab.Left, offloaded), (lab.Right, plain) })
        {
            NetnsLab.Ip("-n", ns, "addr", "add", "172.16.0.1/24", "dev", tun.Name);
            NetnsLab.Ip("-n", ns, "link", "set", "dev", tun.Name, "up");
        }
        const int size = 1000, count = 20, last = 123;
        var payload = new byte[(count - 1) * size + last];
        new Random(4).NextBytes(payload);
        var to = new IPEndPoint(IPAddress.Parse("172.16.0.9"), 7000);
        using var fromLeft = UdpIn(lab.Left, "172.16.0.1", 6000);
        using var fromRight = UdpIn(lab.Right, "172.16.0.1", 6000);
        BatchSend.SendUdpSegments(fromLeft, to, payload, size);
        BatchSend.SendUdpSegments(fromRight, to, payload, size);

        // With USO: one read, the super-packet with its segment size.
        var read = Assert.Single(ReadUdp(offloaded, payload.Length, 7000, virtio: true));
        Assert.True(VirtioNetHeader.TryRead(read, out var header));
        Assert.Equal((VirtioNetHeader.GsoUdpL4, (ushort)size), ((byte)(header.GsoType & ~VirtioNetHeader.GsoEcn), header.GsoSize));
        var ours = Cut(read.AsSpan(VirtioNetHeader.Size), size);
        // Without: the kernel's own segmentation, datagram by datagram.
        var kernels = ReadUdp(plain, payload.Length, 7000, virtio: false);
        Assert.Equal(count, kernels.Count);
        Assert.Equal(count, ours.Count);
        var firstId = BinaryPrimitives.ReadUInt16BigEndian(ours[0].AsSpan(4));
        for (var i = 0; i < count; i++)
        {
            Assert.Equal((ushort)(firstId + i), BinaryPrimitives.ReadUInt16BigEndian(ours[i].AsSpan(4)));
            Assert.True(UdpChecksumValid(ours[i]), $"datagram {i}");
            // Byte for byte the kernel's but for the identification and so the header checksum (each send numbers its own).
            static byte[] Masked(byte[] d) { var c = (byte[])d.Clone(); c[4] = c[5] = c[10] = c[11] = 0; return c; }
            Assert.Equal(Masked(kernels[i]), Masked(ours[i]));
        }
    }

    [RootFact]
    public void Merged_datagrams_written_to_the_tun_device_reach_a_socket_one_by_one_and_a_gro_socket_as_one_message()
    {
        using var lab = new NetnsLab();
        using var tun = NetnsLab.InNamespace(lab.Left, () => TunDevice.Open("uso%d", offloads: true));
        Assert.True(tun.UdpSegmentation, "TUNSETOFFLOAD refused TUN_F_USO4 | TUN_F_USO6 (Linux 6.2+)");
        NetnsLab.Ip("-n", lab.Left, "addr", "add", "172.16.0.1/24", "dev", tun.Name);
        NetnsLab.Ip("-n", lab.Left, "link", "set", "dev", tun.Name, "up");
        using var plain = UdpIn(lab.Left, "172.16.0.1", 5000);
        using var gro = UdpIn(lab.Left, "172.16.0.1", 5001);
        Assert.True(BatchReceive.EnableGro(gro));
        var source = IPAddress.Parse("172.16.0.9").GetAddressBytes();
        var destination = IPAddress.Parse("172.16.0.1").GetAddressBytes();

        foreach (var port in new ushort[] { 5000, 5001 })
        {
            var datagrams = Enumerable.Range(0, 25).Select(i => Datagram((ushort)(300 + i), i == 24 ? 99 : 1000, seed: (byte)i,
                source: source, destination: destination, destinationPort: port)).ToList();
            var coalescer = new TunCoalescer();
            foreach (var d in datagrams) coalescer.Add(d, tun);
            coalescer.Flush(tun);
            Assert.Equal((1, 24), (coalescer.Written, coalescer.Coalesced));

            if (port == 5000)
            {
                var buffer = new byte[2000];
                foreach (var d in datagrams)
                {
                    var n = plain.Receive(buffer);
                    Assert.Equal(d.AsSpan(28).ToArray(), buffer.AsSpan(0, n).ToArray());
                }
            }
            else
            {
                var buffer = GC.AllocateUninitializedArray<byte>(65536, pinned: true);
                var lengths = new int[1];
                var sizes = new int[1];
                var addresses = new byte[BatchReceive.AddressSize];
                Assert.Equal(1, BatchReceive.ReceiveMany(gro, buffer, 65536, lengths, addresses, sizes));
                Assert.Equal(1000, sizes[0]);
                Assert.Equal(datagrams.SelectMany(d => d.Skip(28)).ToArray(), buffer.AsSpan(0, lengths[0]).ToArray());
            }
        }

        // Forwarded out of a device without offloads, the kernel cuts it and completes each checksum from the partial
        // sum we left: every datagram as it came (RFC 768 checksum valid), but the TTL one less (RFC 791 forwarding).
        using var plainOut = NetnsLab.InNamespace(lab.Left, () => TunDevice.Open("out%d", offloads: false));
        NetnsLab.Ip("-n", lab.Left, "addr", "add", "172.16.1.1/24", "dev", plainOut.Name);
        NetnsLab.Ip("-n", lab.Left, "link", "set", "dev", plainOut.Name, "up");
        var (code, _, error) = IkeActors.Testing.ProcessRunner.Run("ip", ["netns", "exec", lab.Left, "sysctl", "-qw", "net.ipv4.ip_forward=1"], 10_000);
        Assert.True(code == 0, error);
        var far = IPAddress.Parse("172.16.1.9").GetAddressBytes();
        var forwarded = Enumerable.Range(0, 25).Select(i => Datagram((ushort)(700 + i), i == 24 ? 5 : 1000, seed: (byte)(i + 50),
            source: source, destination: far, destinationPort: 9000)).ToList();
        var merger = new TunCoalescer();
        foreach (var d in forwarded) merger.Add(d, tun);
        merger.Flush(tun);
        Assert.Equal(1, merger.Written);
        var cut = ReadUdp(plainOut, forwarded.Sum(d => d.Length - 28), 9000, virtio: false);
        Assert.Equal(forwarded.Count, cut.Count);
        for (var i = 0; i < cut.Count; i++)
        {
            Assert.True(UdpChecksumValid(cut[i]), $"datagram {i}: UDP checksum");
            Assert.Equal(0, Make.Checksum(cut[i].AsSpan(0, 20)));
            Assert.Equal(63, cut[i][8]);
            static byte[] Masked(byte[] d) { var c = (byte[])d.Clone(); c[8] = c[10] = c[11] = 0; return c; }
            Assert.Equal(Masked(forwarded[i]), Masked(cut[i]));
        }
    }
}

/// <summary>
/// The Internet checksum summed eight bytes at a time in the machine's order equals RFC 1071's big-endian 16-bit sum for
/// every length and start; and a packet whose transport checksum does not hold is never merged (the kernel would make
/// it anew and deliver the damage).
/// </summary>
public class ChecksumTests
{
    [Fact]
    public void The_fast_sum_is_rfc_1071s_for_every_length_and_offset()
    {
        var random = new Random(1071);
        var data = new byte[400];
        for (var round = 0; round < 20; round++)
        {
            random.NextBytes(data);
            if (round == 0) Array.Fill(data, (byte)0xFF); // carries everywhere
            if (round == 1) Array.Clear(data);
            for (var start = 0; start < 9; start++)
                for (var length = 0; length <= 300; length++)
                {
                    var span = data.AsSpan(start, length);
                    var initial = (ulong)random.Next(0, 1 << 20);
                    var expected = Fold((uint)(ushort)~Make.Checksum(span), initial);
                    Assert.Equal(expected, InternetChecksum.Fold(InternetChecksum.Sum(span, initial)));
                }
        }

        // RFC 1071 §3's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        Assert.Equal(0xddf2, InternetChecksum.Fold(InternetChecksum.Sum([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0)));
    }

    /// <summary>The folded sum of a folded sum and <paramref name="initial"/>, with 0 and 0xFFFF (both zero) told apart as Fold does.</summary>
    private static ushort Fold(uint folded, ulong initial)
    {
        var sum = folded + initial;
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    [Theory]
    [InlineData(17)]
    [InlineData(6)]
    public void A_packet_whose_checksum_does_not_hold_is_written_as_it_came_and_never_merged(int protocol)
    {
        // Five packets of one flow cut from a super-packet (valid checksums), the third damaged after its checksum was made.
        var super = new byte[28 + 5 * 500];
        super[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(super.AsSpan(2), (ushort)super.Length);
        super[6] = 0x40;
        super[8] = 64;
        super[9] = 17;
        new byte[] { 192, 168, 2, 1, 192, 168, 1, 1, 0x1b, 0x58, 0x13, 0x88 }.CopyTo(super, 12);
        new Random(3).NextBytes(super.AsSpan(28));
        var packets = new List<byte[]>();
        if (protocol == 17)
            Assert.True(UdpSegmenter.TrySegment(super, 500, new byte[2000], packets, static (d, l) => l.Add(d.ToArray()), out _));
        else
        {
            var tcp = new byte[40 + 5 * 500];
            super.AsSpan(0, 20).CopyTo(tcp);
            BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(2), (ushort)tcp.Length);
            tcp[9] = 6;
            tcp[32] = 5 << 4;
            tcp[33] = 0x10;
            super.AsSpan(28).CopyTo(tcp.AsSpan(40));
            Assert.True(TcpSegmenter.TrySegment(tcp, 500, new byte[2000], packets, static (d, l) => l.Add(d.ToArray()), out _));
        }
        packets[2][^1] ^= 0x01;
        var device = new VirtioRecorder(udpSegmentation: true);
        var coalescer = new TunCoalescer();
        foreach (var p in packets) coalescer.Add(p, device);
        coalescer.Flush(device);
        Assert.Equal(3, device.Written.Count);             // [0 1] merged, [2] alone, [3 4] merged
        Assert.Equal(packets[2], device.Written[1].Packet); // as it came: the kernel finds its checksum wrong
        Assert.Equal(VirtioNetHeader.GsoNone, device.Written[1].Header.GsoType);
        Assert.All([device.Written[0], device.Written[2]], w => Assert.NotEqual(VirtioNetHeader.GsoNone, w.Header.GsoType));
    }
}
