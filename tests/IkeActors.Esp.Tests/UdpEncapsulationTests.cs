namespace IkeActors.Esp.Tests;

/// <summary>RFC 3948 §2: what rides on UDP 4500.</summary>
public class UdpEncapsulationTests
{
    [Fact]
    public void Keepalive_is_one_ff_byte()
    {
        Assert.Equal(UdpPayloadKind.NatKeepalive, UdpEncapsulation.Classify([0xFF], out _));
        Assert.Equal(UdpPayloadKind.Invalid, UdpEncapsulation.Classify([0x00], out _));
        Assert.Equal(UdpPayloadKind.Invalid, UdpEncapsulation.Classify([], out _));
        var b = new byte[1];
        Assert.Equal(1, UdpEncapsulation.WriteNatKeepalive(b));
        Assert.Equal(0xFF, b[0]);
    }

    [Fact]
    public void Non_esp_marker_means_ike()
    {
        // The start of strongSwan's MM5 on 4500 in the reference capture: marker, then the initiator cookie.
        byte[] payload = [0, 0, 0, 0, 0x85, 0xf3, 0x28, 0x1b, 0xbd, 0xbe, 0xe1, 0x22];
        Assert.Equal(UdpPayloadKind.Ike, UdpEncapsulation.Classify(payload, out var body));
        Assert.Equal(payload[4..], payload.AsSpan()[body].ToArray());
        var dest = new byte[12];
        Assert.Equal(12, UdpEncapsulation.PrefixIkeMessage(payload[4..], dest));
        Assert.Equal(payload, dest);
        Assert.Throws<ArgumentException>(() => UdpEncapsulation.PrefixIkeMessage(payload[4..], new byte[11]));
    }

    [Fact]
    public void Non_zero_spi_means_esp()
    {
        byte[] esp = [0xe8, 0x56, 0x6a, 0x6c, 0, 0, 0, 1, 0x2b];
        Assert.Equal(UdpPayloadKind.Esp, UdpEncapsulation.Classify(esp, out var body));
        Assert.Equal(esp, esp.AsSpan()[body].ToArray());
        Assert.Equal(UdpPayloadKind.Invalid, UdpEncapsulation.Classify(esp[..7], out _)); // no room for the sequence number
        Assert.Equal(UdpPayloadKind.Invalid, UdpEncapsulation.Classify(esp[..3], out _));
    }

    [Fact]
    public void Strongswan_udp_payloads_classify_as_the_capture_says()
    {
        var kinds = Support.PcapNg.ReadFrames(Support.Reference.Pcap).Select(Support.PcapNg.UdpPayload)
            .Where(u => u is { } x && (x.SourcePort == 4500 || x.DestinationPort == 4500))
            .Select(u => UdpEncapsulation.Classify(u!.Value.Payload, out _)).ToList();
        // Frames 5-9 (MM5, MM6, QM1-3) and 16-17 (Informational) are IKE behind the marker; 10-15 are ESP.
        Assert.Equal(7, kinds.Count(k => k == UdpPayloadKind.Ike));
        Assert.Equal(6, kinds.Count(k => k == UdpPayloadKind.Esp));
    }
}
