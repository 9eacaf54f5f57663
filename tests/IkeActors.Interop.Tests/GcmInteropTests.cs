using System.Text.RegularExpressions;

namespace IkeActors.Interop.Tests;

/// <summary>
/// AES-GCM ESP (RFC 4106) negotiated in IKEv1 Quick Mode with strongSwan 5.9.8 initiating: our transform set
/// `esp-aes-gcm` (ESP_AES_GCM_16, key length 128, no authentication attribute) answers its `aes128gcm16`, pings pass both
/// ways through the pair, strongSwan lists AES_GCM_16-128, our `show crypto ipsec sa` the transform and equal counters.
/// (Our initiator with AES-256-GCM, and Wireshark decrypting its frames with the saved key and salt: SaveKeysTests.)
/// </summary>
public sealed class GcmInteropTests
{
    [Fact]
    public void Strongswan_initiates_aes_gcm_and_traffic_passes_through_our_responder()
    {
        using var lab = new InteropLab();
        var config = InteropLab.Replace(InteropLab.LeftConfig(), "crypto ipsec transform-set TRANSFORM esp-aes esp-sha-hmac\n",
            "crypto ipsec transform-set TRANSFORM esp-aes-gcm\n");
        var gateway = lab.StartGateway(lab.Left, config, "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--ike", "3des-sha1-modp1024", "--esp", "aes128gcm16");
        lab.StrongSwan("wait-established", "30");
        var pings = Tunnel.Ping(lab.Left, 10);
        Assert.True(pings.Received == 10, pings.Output + gateway.Output);

        Assert.Matches(@"selected proposal: ESP:AES_GCM_16_128/NO_EXT_SEQ", lab.StrongSwanLog);
        var sas = lab.StrongSwan("list-sas");
        Assert.Contains("ESP:AES_GCM_16-128", sas);
        var show = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
        Assert.Contains("transform: esp-aes-gcm no compression", show);
        var (encaps, decaps) = Tunnel.Counters(show);
        Assert.True(encaps == 10 && decaps == 10, show);
        // strongSwan's counters agree: what we sent it decrypted and verified, what it sent we did.
        Assert.Matches(new Regex(@"in\s+[0-9a-f]{8}[^,]*,\s+\d+ bytes,\s+10 packets"), sas);
        Assert.Matches(new Regex(@"out\s+[0-9a-f]{8}[^,]*,\s+\d+ bytes,\s+10 packets"), sas);
    }
}
