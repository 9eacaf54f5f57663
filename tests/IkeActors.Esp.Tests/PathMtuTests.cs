using System.Buffers.Binary;
using System.Net;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>
/// Inside packets too big for the tunnel (the ASA's pre-fragmentation and path MTU handling): the largest inner packet an
/// SA carries in a 1500-byte MTU, ICMP "fragmentation needed" (RFC 792, RFC 1191) for DF, fragments (RFC 791) that a
/// reassembler written here from RFC 791 puts back together byte for byte, and hostile cases (ICMP errors, later
/// fragments, IP options, a flood).
/// </summary>
public class PathMtuTests
{
    private static readonly uint Gateway = 0xC0A80101; // 192.168.1.1: the inside address the ICMP comes from

    private sealed class Lab : IDisposable
    {
        public readonly EspSaDatabase LeftSad = new(), RightSad = new();
        public readonly FakeDevice LeftInside = new(), RightInside = new();
        public readonly ManualTime Time = new();
        public readonly EspDataPlane Left, Right;
        public readonly List<byte[]> Sent = [];
        public readonly EspSaPair Pair;

        public Lab(EspDataPlaneOptions options, bool udp = false)
        {
            Left = new EspDataPlane(LeftSad, LeftInside, options, Time);
            Right = new EspDataPlane(RightSad, RightInside, time: Time);
            Left.RawSend = (p, _) =>
            {
                Sent.Add(p.ToArray());
                var d = new byte[20 + p.Length];
                d[0] = 0x45;
                d[9] = 50;
                p.CopyTo(d.AsSpan(20));
                Right.OnRawEsp(d);
            };
            Left.UdpSend = (p, _) =>
            {
                Sent.Add(p.ToArray());
                if (UdpEncapsulation.Classify(p, out var body) == UdpPayloadKind.Esp)
                    Right.OnUdpEsp(p.ToArray().AsSpan()[body], new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4500));
            };
            Pair = new EspSaPair(Make.Sa(0xAAAA0001, EspDirection.Inbound), Make.Sa(0xBBBB0001, EspDirection.Outbound),
                EspSaDatabaseTests.Left, EspSaDatabaseTests.Right, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 4500), udp);
            RightSad.Add(new EspSaPair(Make.Sa(0xBBBB0001, EspDirection.Inbound), Make.Sa(0xAAAA0001, EspDirection.Outbound),
                EspSaDatabaseTests.Right, EspSaDatabaseTests.Left, new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4500), udp));
            LeftSad.Add(Pair);
        }

        public EspSaCounterSnapshot Counters => Pair.Outbound.Counters.Snapshot();

        public void Dispose()
        {
            Left.Dispose();
            Right.Dispose();
            LeftSad.Dispose();
            RightSad.Dispose();
        }
    }

    private static byte[] WithDf(byte[] packet)
    {
        var p = (byte[])packet.Clone();
        p[6] |= 0x40;
        p[10] = p[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Make.Checksum(p.AsSpan(0, 20)));
        return p;
    }

    private static byte[] BigUdp(int length, ushort id = 0x1234)
    {
        var p = Make.Udp("192.168.1.10", "192.168.2.10", 40000, 9, length - 28);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        for (var i = 28; i < p.Length; i++) p[i] = (byte)(i * 31);
        p[10] = p[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Make.Checksum(p.AsSpan(0, 20)));
        return p;
    }

    /// <summary>
    /// AES-128-CBC / HMAC-SHA1-96 tunnel mode in a 1500-byte MTU: 1438 bytes raw (the figure Linux reports for such a
    /// tunnel: 20 outer + 8 SPI/sequence + 16 IV + 1440 padded + 12 ICV = 1496), 1422 with NAT-T's 8 UDP bytes
    /// (1472 - 36 = 1436, padded down to 1424). AES-GCM-16 (IV 8, ICV 16, padding to 4): 1480 - 32 = 1448 - 2 = 1446.
    /// </summary>
    [Fact]
    public void The_largest_inner_packet_in_a_1500_byte_mtu_follows_rfc_4303_padding()
    {
        var cbc = Make.Sa(1, EspDirection.Outbound);
        Assert.Equal(1438, PathMtu.MaxInnerLength(cbc, 1500, udpEncapsulated: false));
        Assert.Equal(1422, PathMtu.MaxInnerLength(cbc, 1500, udpEncapsulated: true));
        var gcm = Make.Sa(2, EspDirection.Outbound, EspCipher.Aes128Gcm16, EspIntegrity.None);
        Assert.Equal(1446, PathMtu.MaxInnerLength(gcm, 1500, udpEncapsulated: false));
        Assert.Equal(0, PathMtu.MaxInnerLength(cbc, 40, udpEncapsulated: false));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_packet_with_df_too_big_for_the_tunnel_gets_fragmentation_needed_with_the_tunnels_mtu(bool udp)
    {
        using var lab = new Lab(new EspDataPlaneOptions { IcmpSource = Gateway }, udp);
        var original = WithDf(Make.IcmpEcho("192.168.1.10", "192.168.2.10", 1, payloadLength: 1472));
        Assert.Equal(EspOutboundResult.FragmentationNeeded, lab.Left.ProcessOutbound(original));
        Assert.Empty(lab.Sent);
        var icmp = Assert.Single(lab.LeftInside.Written);
        // RFC 792: IPv4 header from the gateway to the sender, type 3 code 4, RFC 1191 next-hop MTU, the original's header and data.
        Assert.Equal(0x45, icmp[0]);
        Assert.Equal(icmp.Length, BinaryPrimitives.ReadUInt16BigEndian(icmp.AsSpan(2)));
        Assert.Equal(1, icmp[9]);
        Assert.Equal(0, Make.Checksum(icmp.AsSpan(0, 20)));
        Assert.Equal(Gateway, BinaryPrimitives.ReadUInt32BigEndian(icmp.AsSpan(12)));
        Assert.Equal(original.AsSpan(12, 4).ToArray(), icmp.AsSpan(16, 4).ToArray());
        Assert.Equal((3, 4), (icmp[20], icmp[21]));
        Assert.Equal(0, Make.Checksum(icmp.AsSpan(20)));
        Assert.Equal(udp ? 1422 : 1438, BinaryPrimitives.ReadUInt16BigEndian(icmp.AsSpan(26)));
        Assert.Equal(original.AsSpan(0, 28).ToArray(), icmp.AsSpan(28, 28).ToArray());
        Assert.True(icmp.Length <= 576);
        Assert.Equal((1, 0, 0), (lab.Counters.PmtusSent, lab.Counters.Encaps, lab.Counters.PreFragSuccesses));

        // A packet that fits goes through.
        Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(WithDf(Make.IcmpEcho("192.168.1.10", "192.168.2.10", 2, payloadLength: (udp ? 1422 : 1438) - 28))));
        Assert.Single(lab.RightInside.Written);
        Assert.All(lab.Sent, e => Assert.True(20 + (udp ? 8 : 0) + e.Length <= 1500));
    }

    [Theory]
    [InlineData(3000, false)]
    [InlineData(1439, false)]
    [InlineData(9000, true)]
    public void A_packet_without_df_is_fragmented_before_encryption_and_reassembles_byte_for_byte(int length, bool udp)
    {
        using var lab = new Lab(new EspDataPlaneOptions { IcmpSource = Gateway }, udp);
        var original = BigUdp(length);
        Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(original));
        var max = udp ? 1422 : 1438;
        var fragments = lab.RightInside.Written.ToList();
        Assert.Equal((int)Math.Ceiling((length - 20) / (double)((max - 20) / 8 * 8)), fragments.Count);
        Assert.All(fragments, f => Assert.True(f.Length <= max && Make.Checksum(f.AsSpan(0, 20)) == 0));
        Assert.All(lab.Sent, e => Assert.True(20 + (udp ? 8 : 0) + e.Length <= 1500, $"ESP packet of {e.Length} bytes"));
        Assert.Equal(original, Reassemble(fragments));
        var c = lab.Counters;
        Assert.Equal((1L, (long)fragments.Count, (long)fragments.Count, 0L), (c.PreFragSuccesses, c.FragmentsCreated, c.Encaps, c.PmtusSent));
        Assert.Empty(lab.LeftInside.Written);
    }

    [Fact]
    public void With_clear_df_a_packet_with_df_is_fragmented_and_its_fragments_carry_no_df()
    {
        using var lab = new Lab(new EspDataPlaneOptions { IcmpSource = Gateway, DfBit = DfBitPolicy.ClearDf });
        var original = WithDf(BigUdp(2000));
        Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(original));
        var fragments = lab.RightInside.Written.ToList();
        Assert.Equal(2, fragments.Count);
        Assert.All(fragments, f => Assert.Equal(0, f[6] & 0x40));
        var expected = (byte[])original.Clone();
        expected[6] &= 0xBF; // reassembled: DF as the fragments had it
        expected[10] = expected[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(expected.AsSpan(10), Make.Checksum(expected.AsSpan(0, 20)));
        Assert.Equal(expected, Reassemble(fragments));
    }

    [Fact]
    public void After_encryption_the_packet_goes_whole_for_the_kernel_to_fragment()
    {
        using var lab = new Lab(new EspDataPlaneOptions { IcmpSource = Gateway, FragmentBeforeEncryption = false });
        var original = BigUdp(3000);
        Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(original));
        Assert.Equal(original, Assert.Single(lab.RightInside.Written));
        Assert.True(Assert.Single(lab.Sent).Length > 1480);
        Assert.Equal((0L, 0L), (lab.Counters.PreFragSuccesses, lab.Counters.FragmentsCreated));
    }

    [Fact]
    public void A_fragment_that_is_too_big_is_fragmented_again_continuing_its_offset_and_more_fragments_flag()
    {
        using var lab = new Lab(new EspDataPlaneOptions { IcmpSource = Gateway });
        var whole = BigUdp(6000);
        // The sender's own first fragment of 4000 bytes (offset 0, MF) and the rest (offset 497 x 8, no MF).
        var first = Slice(whole, 0, 3976, more: true);
        var rest = Slice(whole, 3976, whole.Length - 20 - 3976, more: false);
        Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(first));
        Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(rest));
        Assert.Equal(whole, Reassemble(lab.RightInside.Written.ToList()));
    }

    [Fact]
    public void Hostile_and_odd_packets_get_no_icmp_and_nothing_throws()
    {
        using var lab = new Lab(new EspDataPlaneOptions { IcmpSource = Gateway });
        // An ICMP error (destination unreachable) too big with DF: no ICMP about an ICMP error (RFC 1122 §3.2.2).
        var error = WithDf(Make.IcmpEcho("192.168.1.10", "192.168.2.10", 1, payloadLength: 1500, type: 3));
        Assert.Equal(EspOutboundResult.FragmentationNeeded, lab.Left.ProcessOutbound(error));
        // A later fragment too big with DF (odd, but possible from a hostile host): no ICMP either.
        var later = WithDf(Slice(BigUdp(4000), 1480, 1600, more: true));
        Assert.Equal(EspOutboundResult.FragmentationNeeded, lab.Left.ProcessOutbound(later));
        Assert.Empty(lab.LeftInside.Written);
        Assert.Equal(0, lab.Counters.PmtusSent);

        // IP options: fragments would copy only some of them; sent whole instead (a pre-frag failure), the kernel fragments.
        var options = new byte[24 + 2000];
        BigUdp(2000).AsSpan(0, 20).CopyTo(options);
        options[0] = 0x46;
        BinaryPrimitives.WriteUInt16BigEndian(options.AsSpan(2), (ushort)options.Length);
        options[10] = options[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(options.AsSpan(10), Make.Checksum(options.AsSpan(0, 24)));
        Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(options));
        Assert.Equal(1, lab.Counters.PreFragFailures);

        // A total length beyond the bytes read, or shorter than a header: refused or cut to what is there, never an exception.
        var lying = BigUdp(2000);
        BinaryPrimitives.WriteUInt16BigEndian(lying.AsSpan(2), 60000);
        lab.Left.ProcessOutbound(lying);
        lab.Left.ProcessOutbound(lying.AsSpan(0, 19));
    }

    [Fact]
    public void A_flood_of_oversized_packets_with_df_gets_at_most_100_icmp_a_second()
    {
        using var lab = new Lab(new EspDataPlaneOptions { IcmpSource = Gateway });
        var big = WithDf(BigUdp(2000));
        for (var i = 0; i < 1000; i++) lab.Left.ProcessOutbound(big);
        Assert.Equal(100, lab.LeftInside.Written.Count);
        lab.Time.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 10; i++) lab.Left.ProcessOutbound(big);
        Assert.Equal(110, lab.LeftInside.Written.Count);
        Assert.Equal(110, lab.Counters.PmtusSent);
    }

    [Fact]
    public void Without_an_inside_address_to_answer_from_a_packet_with_df_is_fragmented_not_lost_silently()
    {
        using var lab = new Lab(new EspDataPlaneOptions());
        Assert.Equal(EspOutboundResult.Sent, lab.Left.ProcessOutbound(WithDf(BigUdp(2000))));
        Assert.Empty(lab.LeftInside.Written);
        Assert.Equal(2, lab.RightInside.Written.Count);
    }

    /// <summary>An IPv4 fragment of <paramref name="packet"/>'s data (a header without options): offset in bytes, a multiple of 8.</summary>
    private static byte[] Slice(byte[] packet, int offset, int length, bool more)
    {
        var f = new byte[20 + length];
        packet.AsSpan(0, 20).CopyTo(f);
        packet.AsSpan(20 + offset, length).CopyTo(f.AsSpan(20));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(2), (ushort)f.Length);
        var flags = (ushort)((packet[6] & 0x40) << 8 | (more ? 0x2000 : 0) | offset / 8);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(6), flags);
        f[10] = f[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(10), Make.Checksum(f.AsSpan(0, 20)));
        return f;
    }

    /// <summary>RFC 791 §3.2 reassembly (written here, not the code under test): same identification, data at offset x 8, the last without MF.</summary>
    private static byte[] Reassemble(IReadOnlyList<byte[]> fragments)
    {
        Assert.All(fragments, f => Assert.Equal(BinaryPrimitives.ReadUInt16BigEndian(fragments[0].AsSpan(4)), BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(4))));
        var data = new byte[65536];
        var end = -1;
        var covered = new bool[65536];
        foreach (var f in fragments)
        {
            var flags = BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(6));
            var at = (flags & 0x1FFF) * 8;
            var body = f.AsSpan(20, BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(2)) - 20);
            body.CopyTo(data.AsSpan(at));
            covered.AsSpan(at, body.Length).Fill(true);
            if ((flags & 0x2000) == 0) end = at + body.Length;
        }
        Assert.True(end > 0, "no last fragment");
        Assert.DoesNotContain(false, covered.AsSpan(0, end).ToArray());
        var first = fragments.Single(f => (BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(6)) & 0x1FFF) == 0);
        var whole = new byte[20 + end];
        first.AsSpan(0, 20).CopyTo(whole);
        data.AsSpan(0, end).CopyTo(whole.AsSpan(20));
        BinaryPrimitives.WriteUInt16BigEndian(whole.AsSpan(2), (ushort)whole.Length);
        BinaryPrimitives.WriteUInt16BigEndian(whole.AsSpan(6), (ushort)(BinaryPrimitives.ReadUInt16BigEndian(first.AsSpan(6)) & 0x4000));
        whole[10] = whole[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(whole.AsSpan(10), Make.Checksum(whole.AsSpan(0, 20)));
        return whole;
    }
}
