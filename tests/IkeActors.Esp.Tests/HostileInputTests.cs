using System.Buffers.Binary;
using CsCheck;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>Malformed, tampered and random input: no exception, a clear status, no state changed but the error counters.</summary>
public class HostileInputTests
{
    private static (EspSa Inbound, byte[] Packet) Authentic(uint spi = 0x2000, EspCipher c = EspCipher.Aes128Cbc, EspIntegrity i = EspIntegrity.HmacSha1_96)
    {
        using var outbound = Make.Sa(spi, EspDirection.Outbound, c, i);
        var inbound = Make.Sa(spi, EspDirection.Inbound, c, i);
        // Warm the window up to 5 so "unchanged" means something.
        byte[] last = [];
        for (int n = 0; n < 6; n++)
        {
            var inner = Make.IcmpEcho("192.168.1.1", "192.168.2.1", (ushort)n);
            var p = new byte[outbound.MaxPacketSize(inner.Length)];
            Array.Resize(ref p, outbound.Encapsulate(inner, p));
            if (n < 5) Assert.Equal(EspDecapStatus.Ok, inbound.TryDecapsulate(p, out _, out _));
            last = p;
        }
        return (inbound, last);
    }

    private static void AssertOnlyErrorsMoved(EspSa sa, EspSaCounterSnapshot before, (uint, ulong) window, long errors)
    {
        var after = sa.Counters.Snapshot();
        Assert.Equal(window, (sa.ReplayWindow.Top, sa.ReplayWindow.Bitmap));
        Assert.Equal((before.Decaps, before.Decrypt, before.Verify, before.BytesIn), (after.Decaps, after.Decrypt, after.Verify, after.BytesIn));
        Assert.Equal(before.RecvErrors + errors, after.RecvErrors);
    }

    [Fact]
    public void Every_truncation_is_refused_without_state_change()
    {
        var (sa, packet) = Authentic();
        var before = sa.Counters.Snapshot();
        var window = (sa.ReplayWindow.Top, sa.ReplayWindow.Bitmap);
        for (int len = 0; len < packet.Length; len++)
        {
            var status = sa.TryDecapsulate(packet.AsSpan(0, len).ToArray(), out _, out _);
            Assert.True(status is EspDecapStatus.TooShort or EspDecapStatus.BadLength or EspDecapStatus.IcvFailure, $"length {len}: {status}");
        }
        AssertOnlyErrorsMoved(sa, before, window, packet.Length);
        Assert.Equal(EspDecapStatus.Ok, sa.TryDecapsulate(packet, out _, out _)); // the intact packet still passes
    }

    [Fact]
    public void Every_single_bit_flip_is_refused_without_state_change()
    {
        var (sa, packet) = Authentic();
        var before = sa.Counters.Snapshot();
        var window = (sa.ReplayWindow.Top, sa.ReplayWindow.Bitmap);
        for (int bit = 0; bit < packet.Length * 8; bit++)
        {
            var copy = (byte[])packet.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            var status = sa.TryDecapsulate(copy, out _, out _);
            var expected = bit < 32 ? EspDecapStatus.SpiMismatch : EspDecapStatus.IcvFailure;
            // A flipped sequence number may land on one already received: refused as a replay before the ICV.
            if (bit is >= 32 and < 64 && status == EspDecapStatus.Replay) continue;
            Assert.True(status == expected, $"bit {bit}: {status}");
        }
        var after = sa.Counters.Snapshot();
        AssertOnlyErrorsMoved(sa, before, window, packet.Length * 8);
        Assert.Equal(32, after.InvalidSpi - before.InvalidSpi);
        Assert.Equal(EspDecapStatus.Ok, sa.TryDecapsulate(packet, out _, out _));
    }

    [Fact]
    public void Random_bytes_never_throw_and_never_pass()
    {
        var (sa, _) = Authentic(0x3000);
        var window = (sa.ReplayWindow.Top, sa.ReplayWindow.Bitmap);
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            if (bytes.Length >= 4 && Random.Shared.Next(2) == 0) BinaryPrimitives.WriteUInt32BigEndian(bytes, 0x3000); // reach past the SPI check
            Assert.NotEqual(EspDecapStatus.Ok, sa.TryDecapsulate(bytes, out _, out _));
        }, iter: 5000);
        Assert.Equal(window, (sa.ReplayWindow.Top, sa.ReplayWindow.Bitmap));
        Assert.Equal(5, sa.Counters.Snapshot().Decaps);
    }

    [Fact]
    public void Data_plane_entry_points_never_throw_on_random_bytes()
    {
        using var sad = new EspSaDatabase();
        var (inbound, _) = Authentic(0x4000);
        sad.Add(new EspSaPair(inbound, Make.Sa(0x4001, EspDirection.Outbound),
            TrafficSelector.Any, TrafficSelector.Any, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 4500), true));
        using var device = new FakeDevice();
        using var plane = new EspDataPlane(sad, device);
        Gen.Byte.Array[0, 200].Sample(bytes =>
        {
            if (bytes.Length >= 28 && Random.Shared.Next(2) == 0) { bytes[0] = 0x45; bytes[9] = 50; BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(20), 0x4000); }
            Assert.NotEqual(EspInboundResult.Delivered, plane.OnRawEsp((byte[])bytes.Clone()));
            Assert.NotEqual(EspInboundResult.Delivered, plane.OnUdpEsp((byte[])bytes.Clone(), null));
            UdpEncapsulation.Classify(bytes, out var body);
            _ = bytes.AsSpan()[body];
            plane.ProcessOutbound(bytes);
        }, iter: 3000);
        Assert.Empty(device.Written);
    }

    // Authentic packets (right keys, right ICV) with trailers an honest sender never builds: RFC 4303 §2.4, §2.6.
    [Theory]
    [InlineData("bad padding value", 20, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 9 }, 10, 4, EspDecapStatus.BadPadding)]
    [InlineData("next header UDP", 20, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 10, 17, EspDecapStatus.BadNextHeader)]
    [InlineData("pad length past the payload", 20, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 250, 4, EspDecapStatus.BadLength)]
    [InlineData("dummy packet", 20, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 10, 59, EspDecapStatus.DummyPacket)]
    [InlineData("IPv6 inner", 20, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 10, 41, EspDecapStatus.Ok)]
    public void Trailer_checks_after_the_icv(string what, int payloadLength, byte[] padding, byte padLength, byte nextHeader, EspDecapStatus expected)
    {
        using var sa = Make.Sa(0x5000, EspDirection.Inbound);
        var packet = CustomPacket.AesSha1(0x5000, 1, new byte[payloadLength], padding, padLength, nextHeader);
        var status = sa.TryDecapsulate(packet, out var inner, out var nh);
        Assert.True(expected == status, what);
        var c = sa.Counters.Snapshot();
        if (expected is EspDecapStatus.Ok or EspDecapStatus.DummyPacket)
        {
            Assert.Equal(1u, sa.ReplayWindow.Top);
            Assert.Equal(0, c.RecvErrors);
            if (expected == EspDecapStatus.Ok) Assert.Equal((payloadLength, nextHeader), (inner.GetOffsetAndLength(packet.Length).Length, nh));
        }
        else
        {
            Assert.Equal(0u, sa.ReplayWindow.Top); // authentic but refused: the window did not move
            Assert.Equal((1, 0), (c.RecvErrors, c.Decaps));
            Assert.Equal(1, expected switch
            {
                EspDecapStatus.BadPadding => c.InvalidPad,
                EspDecapStatus.BadNextHeader => c.InvalidProtocol,
                _ => c.InvalidLength,
            });
        }
    }
}
