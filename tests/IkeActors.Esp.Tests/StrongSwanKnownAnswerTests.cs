using System.Buffers.Binary;
using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>
/// Known answers from a real peer: the ESP-in-UDP packets two strongSwan 5.9 charons exchanged
/// (reference capture, frames 10-15), with the keys strongSwan logged.
/// </summary>
public class StrongSwanKnownAnswerTests
{
    private static EspSa SaFor(Reference.EspKeys k, EspDirection direction)
    {
        Assert.Equal("AES-CBC [RFC3602]", k.Cipher);
        Assert.Equal("HMAC-SHA-1-96 [RFC2404]", k.Integrity);
        return new EspSa(k.Spi, direction, EspCipher.Aes128Cbc, k.EncryptionKey, EspIntegrity.HmacSha1_96, k.IntegrityKey);
    }

    [Fact]
    public void The_capture_holds_six_esp_packets_of_two_spis()
    {
        var packets = Reference.EspPackets();
        Assert.Equal(6, packets.Count);
        var keys = Reference.Keys();
        Assert.All(packets, p => Assert.Contains(BinaryPrimitives.ReadUInt32BigEndian(p), keys.Keys));
    }

    [Fact]
    public void Every_strongswan_packet_decapsulates_to_the_ping_it_carried()
    {
        var keys = Reference.Keys();
        var inbound = keys.Values.ToDictionary(k => k.Spi, k => SaFor(k, EspDirection.Inbound));
        var seen = new List<(uint Spi, byte Type, ushort Seq)>();
        foreach (var esp in Reference.EspPackets())
        {
            var sa = inbound[BinaryPrimitives.ReadUInt32BigEndian(esp)];
            var buffer = (byte[])esp.Clone();
            Assert.Equal(EspDecapStatus.Ok, sa.TryDecapsulate(buffer, out var inner, out var nextHeader));
            Assert.Equal(EspSa.NextHeaderIPv4, nextHeader);
            var ip = buffer.AsSpan()[inner];
            Assert.Equal(84, ip.Length); // ping's 56 data bytes + ICMP 8 + IPv4 20 (ping.txt: "56(84) bytes")
            Assert.True(InnerPacket.TryReadIPv4Flow(ip, out var flow));
            Assert.Equal(InnerPacket.Icmp, flow.Protocol);
            var icmp = ip[20..];
            Assert.Equal(0, Make.Checksum(icmp)); // the ICMP checksum over the decrypted bytes verifies
            Assert.Equal(0, Make.Checksum(ip[..20]));
            seen.Add((sa.Spi, icmp[0], BinaryPrimitives.ReadUInt16BigEndian(icmp[6..])));
            if (icmp[0] == 8)
            {
                Assert.Equal("192.168.1.1 -> 192.168.2.1", $"{TrafficSelector.Format(flow.Source)} -> {TrafficSelector.Format(flow.Destination)}");
            }
            else
            {
                Assert.Equal("192.168.2.1 -> 192.168.1.1", $"{TrafficSelector.Format(flow.Source)} -> {TrafficSelector.Format(flow.Destination)}");
            }
        }
        // ping -c 3: requests on one SPI, replies on the other, icmp_seq 1..3 (ping.txt).
        Assert.Equal([(0xe8566a6cu, (byte)8, (ushort)1), (0xaeecc557u, (byte)0, (ushort)1), (0xe8566a6cu, (byte)8, (ushort)2),
            (0xaeecc557u, (byte)0, (ushort)2), (0xe8566a6cu, (byte)8, (ushort)3), (0xaeecc557u, (byte)0, (ushort)3)], seen);
        foreach (var sa in inbound.Values)
        {
            var c = sa.Counters.Snapshot();
            Assert.Equal((3, 3, 3, 0), (c.Decaps, c.Decrypt, c.Verify, c.RecvErrors));
            Assert.Equal(3u, sa.ReplayWindow.Top);
            Assert.Equal((0u, 0x7u), sa.ReplayWindow.BitmapWords);
        }
    }

    [Fact]
    public void Our_decryption_agrees_with_tsharks()
    {
        var keys = Reference.Keys();
        var inbound = keys.Values.ToDictionary(k => k.Spi, k => SaFor(k, EspDirection.Inbound));
        var tshark = Reference.TsharkView();
        var packets = Reference.EspPackets();
        Assert.Equal(packets.Count, tshark.Count);
        for (int i = 0; i < packets.Count; i++)
        {
            var t = tshark[i];
            var esp = (byte[])packets[i].Clone();
            Assert.Equal(t.Spi, BinaryPrimitives.ReadUInt32BigEndian(esp));
            Assert.Equal(t.Sequence, BinaryPrimitives.ReadUInt32BigEndian(esp.AsSpan(4)));
            Assert.Equal(t.Iv, Hex.Of(esp.AsSpan(8, 16)));
            Assert.Equal(t.Icv, Hex.Of(esp.AsSpan(esp.Length - 12)));
            Assert.Equal(EspDecapStatus.Ok, inbound[t.Spi].TryDecapsulate(esp, out var inner, out var nh));
            Assert.Equal(t.NextHeader, nh);
            var decrypted = esp.AsSpan(24, esp.Length - 24 - 12);
            Assert.StartsWith(t.DecryptedPrefix, Hex.Of(decrypted));
            Assert.Equal(t.PadLength, decrypted[^2]);
            Assert.Equal(t.Pad, Hex.Of(decrypted.Slice(decrypted.Length - 2 - t.PadLength, t.PadLength)));
            Assert.EndsWith(t.IcmpData, Hex.Of(esp.AsSpan()[inner]));
        }
    }

    [Fact]
    public void Re_encapsulating_with_strongswans_iv_gives_the_same_bytes()
    {
        var keys = Reference.Keys();
        var inbound = keys.Values.ToDictionary(k => k.Spi, k => SaFor(k, EspDirection.Inbound));
        var outbound = keys.Values.ToDictionary(k => k.Spi, k => SaFor(k, EspDirection.Outbound));
        foreach (var original in Reference.EspPackets())
        {
            uint spi = BinaryPrimitives.ReadUInt32BigEndian(original);
            var copy = (byte[])original.Clone();
            Assert.Equal(EspDecapStatus.Ok, inbound[spi].TryDecapsulate(copy, out var inner, out _));
            var ip = copy.AsSpan()[inner].ToArray();

            var iv = original.AsSpan(8, 16).ToArray();
            var sa = outbound[spi];
            sa.IvOverride = dst => iv.CopyTo(dst);
            var ours = new byte[sa.MaxPacketSize(ip.Length)];
            int n = sa.Encapsulate(ip, ours);
            Assert.Equal(Hex.Of(original), Hex.Of(ours.AsSpan(0, n)));
        }
        Assert.All(outbound.Values, sa => Assert.Equal(3u, sa.LastSequenceNumber));
    }

    [Fact]
    public void Sealed_together_in_one_batch_each_spi_s_packets_are_strongswans_bytes()
    {
        // The data plane's batch path: numbered and padded one by one, then encrypted side by side (the CBC chains of all
        // three at once) and authenticated in one seal; with strongSwan's IVs, every packet is the one it sent.
        if (!AesNiCbc.IsSupported) return;
        var keys = Reference.Keys();
        var inbound = keys.Values.ToDictionary(k => k.Spi, k => SaFor(k, EspDirection.Inbound));
        foreach (var group in Reference.EspPackets().GroupBy(p => BinaryPrimitives.ReadUInt32BigEndian(p)))
        {
            var originals = group.ToList();
            var sa = SaFor(keys.Values.Single(k => k.Spi == group.Key), EspDirection.Outbound);
            Assert.True(sa.SealsInBatches);
            var ivs = new Queue<byte[]>(originals.Select(o => o.AsSpan(8, 16).ToArray()));
            sa.IvOverride = dst => ivs.Dequeue().CopyTo(dst);
            var batch = new byte[originals.Sum(o => o.Length) + 64];
            var lengths = new List<int>();
            int used = 0;
            foreach (var original in originals)
            {
                var copy = (byte[])original.Clone();
                Assert.Equal(EspDecapStatus.Ok, inbound[group.Key].TryDecapsulate(copy, out var inner, out _));
                Assert.Equal(EspEncapStatus.Ok, sa.TryEncapsulateUnsealed(copy.AsSpan()[inner], batch.AsSpan(used), out int n));
                // Unsealed, the inner packet is there in the clear: it must not leave before the seal.
                Assert.Equal(Hex.Of(copy.AsSpan()[inner]), Hex.Of(batch.AsSpan(used + 24, inner.End.Value - inner.Start.Value)));
                lengths.Add(n);
                used += n;
            }
            Assert.True(sa.TrySealBatch(batch.AsSpan(0, used), lengths.ToArray()));
            int at = 0;
            for (int i = 0; i < originals.Count; i++)
            {
                Assert.Equal(Hex.Of(originals[i]), Hex.Of(batch.AsSpan(at, lengths[i])));
                at += lengths[i];
            }
            Assert.Equal(3u, sa.LastSequenceNumber);
        }
    }

    [Fact]
    public void A_batch_its_SA_can_no_longer_seal_is_cleared_not_sent()
    {
        if (!AesNiCbc.IsSupported) return;
        var k = Reference.Keys().Values.First();
        var sa = SaFor(k, EspDirection.Outbound);
        var batch = new byte[4096];
        var inner = Enumerable.Repeat((byte)0x5a, 200).ToArray();
        Assert.Equal(EspEncapStatus.Ok, sa.TryEncapsulateUnsealed(inner, batch, out int n1));
        Assert.Equal(EspEncapStatus.Ok, sa.TryEncapsulateUnsealed(inner, batch.AsSpan(n1), out int n2));
        sa.Dispose(); // the SA deleted between the packets' numbers and their send
        Assert.False(sa.TrySealBatch(batch.AsSpan(0, n1 + n2), [n1, n2]));
        Assert.All(batch.AsSpan(0, n1 + n2).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(2, sa.Counters.Snapshot().EncapsFailedSend);
        // A GCM SA seals each packet as it makes it: asking it to defer is the caller's bug, refused.
        using var gcm = new EspSa(1, EspDirection.Outbound, EspCipher.Aes128Gcm16, new byte[20], EspIntegrity.None, []);
        Assert.False(gcm.SealsInBatches);
        Assert.Throws<InvalidOperationException>(() => gcm.TryEncapsulateUnsealed(inner, batch, out _));
    }
}
