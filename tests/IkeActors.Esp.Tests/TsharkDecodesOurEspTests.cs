using IkeActors.Esp.Tests.Support;

namespace IkeActors.Esp.Tests;

/// <summary>tshark, an implementation that is not ours, decrypts and verifies the ESP we build.</summary>
public class TsharkDecodesOurEspTests
{
    public static TheoryData<EspCipher, EspIntegrity> Pairs()
    {
        var d = new TheoryData<EspCipher, EspIntegrity>();
        foreach (var c in Enum.GetValues<EspCipher>())
        foreach (var i in Enum.GetValues<EspIntegrity>())
        {
            if (c == EspCipher.Null && i == EspIntegrity.None) continue;
            if (c.IsAead() && i != EspIntegrity.None) continue; // GCM has its own ICV (RFC 4106)
            d.Add(c, i);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Tshark_decrypts_our_esp_to_the_inner_ping(EspCipher cipher, EspIntegrity integrity)
    {
        Assert.True(Tshark.Available, "tshark is not installed (tests/run-all.sh installs it)");
        var encKey = Make.Key(cipher.KeySize(), 0x21);
        var authKey = Make.Key(integrity.KeySize(), 0x63);
        uint spi = 0xC0DE0000u | (uint)((int)cipher << 4 | (int)integrity);
        using var sa = new EspSa(spi, EspDirection.Outbound, cipher, encKey, integrity, authKey);
        var pcap = Path.Combine(Path.GetTempPath(), $"esp-{Guid.NewGuid():N}.pcap");
        try
        {
            using (var w = new PcapWriter(pcap))
            {
                for (int i = 0; i < 4; i++)
                {
                    var inner = Make.IcmpEcho("192.168.1.1", "192.168.2.1", (ushort)(i + 1), payloadLength: 13 * i + 5);
                    var esp = new byte[sa.MaxPacketSize(inner.Length)];
                    int n = sa.Encapsulate(inner, esp);
                    w.WriteEsp(esp.AsSpan(0, n), udp: i % 2 == 0);
                }
            }
            var frames = Tshark.DecodeFrames(pcap, [Tshark.EspSa(spi, cipher, encKey, integrity, authKey)]);
            Assert.Equal(4, frames.Count);
            for (int i = 0; i < frames.Count; i++)
            {
                var f = frames[i];
                Assert.Contains($"ESP SPI: 0x{spi:x8}", f);
                Assert.Contains($"ESP Sequence: {i + 1}", f);
                Assert.Contains(i % 2 == 0 ? "udp:udpencap:esp:ip:icmp" : "raw:ip:esp:ip:icmp", f);
                if (integrity != EspIntegrity.None) Assert.Matches(@"ESP ICV: [0-9a-f]+ \(\d+ bytes\) <[^>]+> \[correct\]", f);
                Assert.Contains("Source Address: 192.168.1.1", f);
                Assert.Contains("Destination Address: 192.168.2.1", f);
                Assert.Contains("Type: 8 (Echo (ping) request)", f);
                Assert.Contains($"Sequence Number (BE): {i + 1} ", f);
                Assert.Contains("[Checksum Status: Good]", f);
                Assert.DoesNotContain("Malformed", f);
                Assert.DoesNotContain("[Expert Info (Error", f);
                Assert.DoesNotContain("[Expert Info (Warning", f);
            }
        }
        finally
        {
            File.Delete(pcap);
        }
    }
}
