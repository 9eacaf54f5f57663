using System.Text.RegularExpressions;

namespace IkeActors.Interop.Tests;

/// <summary>
/// `ikeactors run --tun` in `ike-left` against a real strongSwan 5.9 in `ike-right` (tests/lab):
/// both phases, NAT-T (strongSwan's userspace ESP always floats to 4500 and asks for
/// UDP-Encapsulated-Tunnel), and pings from 192.168.1.1 to 192.168.2.1 through our userspace ESP and
/// its kernel-libipsec. Each test builds and removes its own lab.
/// </summary>
public sealed class StrongSwanTests
{
    [Fact]
    public void Our_initiator_brings_the_tunnel_up_on_a_ping_and_twenty_pings_pass_with_matching_counters()
    {
        using var lab = new InteropLab();
        lab.StartStrongSwan("--role", "responder", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");

        // The first packet is the key acquire; it waits in the data plane's queue while Main Mode and Quick Mode run.
        var trigger = Tunnel.Ping(lab.Left, 1);
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        Assert.Contains("Pitcher: received a key acquire message", gateway.Output);
        var pings = Tunnel.Ping(lab.Left, 20);
        Assert.True(pings.Received == 20, $"20 pings, {pings.Received} answered:\n{pings.Output}\n{gateway.Output}");

        var sas = lab.StrongSwan("list-sas");
        Assert.Contains("ESTABLISHED, IKEv1", sas);
        Assert.Contains("INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-128/HMAC_SHA1_96", sas);
        Assert.Matches(@"local\s+'10\.0\.0\.2' @ 10\.0\.0\.2\[4500\]", sas);

        // Our counters against what ping saw and what strongSwan counted (its "in" = our encaps, its "out" = our decaps).
        var show = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
        var (encaps, decaps) = Tunnel.Counters(show);
        var answered = trigger.Received + pings.Received;
        Assert.True(encaps == decaps && decaps == answered, $"encaps {encaps}, decaps {decaps}, pings answered {answered}\n{show}");
        Assert.Contains("in use settings ={L2L, Tunnel,  NAT-T-Encaps, IKEv1, }", show);
        Assert.Contains("local crypto endpt.: 10.0.0.1/4500, remote crypto endpt.: 10.0.0.2/4500", show);
        // RFC 4303 §3.4.3: every one of the `decaps` packets arrived in order, so the inbound window's low `decaps` bits are set.
        var bitmap = decaps >= 64 ? ulong.MaxValue : (1UL << (int)decaps) - 1;
        Assert.Contains($"Anti replay bitmap:\n          0x{(uint)(bitmap >> 32):X8} 0x{(uint)bitmap:X8}\n    outbound esp sas:", show);
        var (peerIn, peerOut) = StrongSwanPackets(sas);
        Assert.Equal(encaps, peerIn);
        Assert.Equal(decaps, peerOut);

        // The session view counts the same packets and shows IKE between the NAT-T ports after the float.
        var session = InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "detail", "l2l");
        Assert.Contains("   UDP Src Port : 4500                   UDP Dst Port : 4500\n", session);
        Assert.Contains($"   Pkts Tx      : {encaps,-22} Pkts Rx      : {decaps}\n", session);
    }

    [Fact]
    public void StrongSwan_initiates_and_our_responder_carries_the_traffic()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        lab.StrongSwan("wait-established", "30");
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));

        var pings = Tunnel.Ping(lab.Left, 20);
        Assert.True(pings.Received == 20, $"20 pings, {pings.Received} answered:\n{pings.Output}\n{gateway.Output}");
        var show = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
        var (encaps, decaps) = Tunnel.Counters(show);
        Assert.True(encaps == 20 && decaps == 20, show);
        var (peerIn, peerOut) = StrongSwanPackets(lab.StrongSwan("list-sas"));
        Assert.Equal(20, peerIn);
        Assert.Equal(20, peerOut);
        Assert.Matches(@"Role\s+: responder", InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa"));
    }

    /// <summary>The packet counts of strongSwan's CHILD_SA ("in  SPI, N bytes, M packets").</summary>
    private static (long In, long Out) StrongSwanPackets(string listSas)
    {
        var i = Regex.Match(listSas, @"\bin\s+[0-9a-f]{8}(?: \(-\|0x[0-9a-f]+\))?,\s+\d+ bytes,\s+(\d+) packets");
        var o = Regex.Match(listSas, @"\bout\s+[0-9a-f]{8}(?: \(-\|0x[0-9a-f]+\))?,\s+\d+ bytes,\s+(\d+) packets");
        Assert.True(i.Success && o.Success, listSas);
        return (long.Parse(i.Groups[1].Value), long.Parse(o.Groups[1].Value));
    }
}
