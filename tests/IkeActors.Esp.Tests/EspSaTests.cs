using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

public class EspSaTests
{
    [Theory]
    [MemberData(nameof(TsharkDecodesOurEspTests.Pairs), MemberType = typeof(TsharkDecodesOurEspTests))]
    public void Round_trip_for_every_pair(EspCipher cipher, EspIntegrity integrity)
    {
        using var outbound = Make.Sa(7, EspDirection.Outbound, cipher, integrity);
        using var inbound = Make.Sa(7, EspDirection.Inbound, cipher, integrity);
        for (int size = 20; size < 80; size++)
        {
            var inner = Make.IcmpEcho("192.168.1.1", "192.168.2.1", 1, size - 28 < 0 ? 0 : size - 28);
            var esp = new byte[outbound.MaxPacketSize(inner.Length)];
            int n = outbound.Encapsulate(inner, esp);
            Assert.Equal(outbound.PacketSize(inner.Length), n);
            Assert.Equal(0, (n - 8 - cipher.IvSize() - integrity.IcvSize() - cipher.AeadIcvSize()) % cipher.BlockSize());
            Assert.Equal(EspDecapStatus.Ok, inbound.TryDecapsulate(esp.AsSpan(0, n), out var range, out var nh));
            Assert.Equal(inner, esp.AsSpan(0, n)[range].ToArray());
            Assert.Equal(EspSa.NextHeaderIPv4, nh);
        }
        var o = outbound.Counters.Snapshot();
        var i = inbound.Counters.Snapshot();
        Assert.Equal(60, o.Encaps);
        Assert.Equal(cipher == EspCipher.Null ? 0 : 60, o.Encrypt);
        var authenticated = integrity != EspIntegrity.None || cipher.IsAead(); // GCM: digest and verify counted as the ASA does
        Assert.Equal(authenticated ? 60 : 0, o.Digest);
        Assert.Equal((60, cipher == EspCipher.Null ? 0 : 60, authenticated ? 60 : 0), (i.Decaps, i.Decrypt, i.Verify));
        Assert.Equal(o.BytesOut, i.BytesIn);
    }

    [Fact]
    public void Ivs_are_fresh_per_packet()
    {
        using var sa = Make.Sa(9, EspDirection.Outbound);
        var inner = Make.IcmpEcho("192.168.1.1", "192.168.2.1", 1);
        var ivs = new HashSet<string>();
        var esp = new byte[sa.MaxPacketSize(inner.Length)];
        for (int k = 0; k < 100; k++)
        {
            sa.Encapsulate(inner, esp);
            Assert.True(ivs.Add(Hex.Of(esp.AsSpan(8, 16))));
        }
    }

    [Fact]
    public void Sequence_number_never_wraps()
    {
        using var sa = Make.Sa(10, EspDirection.Outbound);
        var inner = Make.IcmpEcho("192.168.1.1", "192.168.2.1", 1);
        var esp = new byte[sa.MaxPacketSize(inner.Length)];
        sa.SetLastSequenceNumber(uint.MaxValue - 1);
        Assert.Equal(EspEncapStatus.Ok, sa.TryEncapsulate(inner, esp, out _));
        Assert.Equal(uint.MaxValue, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(esp.AsSpan(4)));
        Assert.Equal(EspEncapStatus.SequenceExhausted, sa.TryEncapsulate(inner, esp, out _)); // RFC 4303 §3.3.3
        Assert.Equal(EspEncapStatus.SequenceExhausted, sa.TryEncapsulate(inner, esp, out _));
        var c = sa.Counters.Snapshot();
        Assert.Equal((1, 2, 2), (c.Encaps, c.ReplayRolloverSend, c.SendErrors));
    }

    [Fact]
    public void Kilobyte_lifetime_raises_soft_then_hard_and_stops_traffic()
    {
        using var outbound = Make.Sa(11, EspDirection.Outbound, lifetime: new EspLifetime(SoftKilobytes: 2, HardKilobytes: 4));
        var soft = 0;
        var hard = 0;
        outbound.SoftLifetimeReached += _ => soft++;
        outbound.HardLifetimeReached += _ => hard++;
        var inner = Make.IcmpEcho("192.168.1.1", "192.168.2.1", 1, 1024 - 28); // exactly 1 kB inside
        var esp = new byte[outbound.MaxPacketSize(inner.Length)];
        Assert.Equal(EspEncapStatus.Ok, outbound.TryEncapsulate(inner, esp, out _));
        Assert.Equal((EspLifetimeState.Ok, 0, 1L), (outbound.LifetimeState, soft, outbound.KilobytesUsed));
        Assert.Equal(EspEncapStatus.Ok, outbound.TryEncapsulate(inner, esp, out _));
        Assert.Equal((EspLifetimeState.Soft, 1, 0), (outbound.LifetimeState, soft, hard));
        Assert.Equal(EspEncapStatus.Ok, outbound.TryEncapsulate(inner, esp, out _));
        Assert.Equal(EspEncapStatus.Ok, outbound.TryEncapsulate(inner, esp, out _));
        Assert.Equal((EspLifetimeState.Hard, 1, 1), (outbound.LifetimeState, soft, hard));
        Assert.Equal(EspEncapStatus.LifetimeExpired, outbound.TryEncapsulate(inner, esp, out _));
        Assert.Equal(1, outbound.Counters.Snapshot().EncapsFailedSend);
        Assert.Equal(EspLifetime.FromAsaKilobytes(4608000), new EspLifetime(4147200, 4608000));
    }

    [Fact]
    public void A_deleted_sa_refuses_both_ways_without_throwing()
    {
        var outbound = Make.Sa(12, EspDirection.Outbound);
        var inbound = Make.Sa(12, EspDirection.Inbound);
        var inner = Make.IcmpEcho("192.168.1.1", "192.168.2.1", 1);
        var esp = new byte[outbound.MaxPacketSize(inner.Length)];
        int n = outbound.Encapsulate(inner, esp);
        outbound.Dispose();
        inbound.Dispose();
        Assert.Equal(EspEncapStatus.SaUnusable, outbound.TryEncapsulate(inner, esp, out _));
        Assert.Equal(EspDecapStatus.SaUnusable, inbound.TryDecapsulate(esp.AsSpan(0, n), out _, out _));
        Assert.Equal(EspEncapStatus.SaUnusable, inbound.TryEncapsulate(inner, esp, out _)); // wrong direction
    }

    [Fact]
    public void Destination_too_small_is_a_status_not_an_exception()
    {
        using var sa = Make.Sa(13, EspDirection.Outbound);
        var inner = Make.IcmpEcho("192.168.1.1", "192.168.2.1", 1);
        Assert.Equal(EspEncapStatus.DestinationTooSmall, sa.TryEncapsulate(inner, new byte[sa.PacketSize(inner.Length) - 1], out _));
        Assert.Equal(0u, sa.LastSequenceNumber); // no sequence number burnt
    }
}
