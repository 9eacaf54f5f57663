using System.Text.RegularExpressions;

namespace IkeActors.Interop.Tests;

/// <summary>
/// RFC 2407 §4.6.3.3 against a real strongSwan 5.9: the tunnel is up through `ikeactors run --tun` (we initiated it),
/// charon dies by SIGKILL (no DELETE), comes back as initiator and sends INITIAL-CONTACT in MM5. The gateway must end
/// with one IKE SA and one IPsec SA pair with the peer, the old ones deleted with the ASA's lines, and traffic flowing.
/// </summary>
public sealed class InitialContactTests
{
    [Fact]
    public void A_strongSwan_killed_and_restarted_as_initiator_leaves_one_IKE_SA_and_one_pair_and_pings_pass()
    {
        using var lab = new InteropLab();
        lab.StartStrongSwan("--role", "responder", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        Tunnel.Ping(lab.Left, 1); // the key acquire
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        var before = Tunnel.Ping(lab.Left, 3);
        Assert.True(before.Received == 3, $"3 pings, {before.Received} answered:\n{before.Output}\n{gateway.Output}");
        var oldInbound = Tunnel.Spi(InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa"), "inbound");
        var linesBefore = gateway.Lines.Count;

        lab.KillStrongSwan();
        lab.StartStrongSwan("--role", "initiator", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        lab.StrongSwan("wait-established", "30");
        Assert.Contains("N(INITIAL_CONTACT)", SentMainMode5(lab.StrongSwanLog));

        // One IKE SA and one pair with the peer: the new ones.
        string isakmp = "", ipsec = "";
        InteropLab.Eventually(() =>
        {
            isakmp = InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa");
            ipsec = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
            return Regex.Matches(isakmp, @"IKE Peer: 10\.0\.0\.2").Count == 1 && Regex.Matches(ipsec, "current inbound spi").Count == 1;
        }, TimeSpan.FromSeconds(20), () => $"{isakmp}\n{ipsec}\n{gateway.Output}");
        Assert.Contains("Total IKE SA: 1", isakmp);
        Assert.Matches(@"Role\s+: responder", isakmp);
        Assert.NotEqual(oldInbound, Tunnel.Spi(ipsec, "inbound"));

        // The ASA's lines for the old IKE SA (713113) and its pair (715009), and no DELETE sent to a peer that forgot them.
        var after = string.Join('\n', gateway.Lines.Skip(linesBefore));
        Assert.Matches(@"Deleting IKE SA with associated IPsec connection entries\. IKE peer: 10\.0\.0\.2, SA address: 0x[0-9a-f]+, tunnel count: 1", after);
        Assert.Contains("IKE Deleting SA: Remote Proxy 192.168.2.0, Local Proxy 192.168.1.0", after);
        Assert.DoesNotContain("constructing IKE delete payload", after);

        var pings = Tunnel.Ping(lab.Left, 10);
        Assert.True(pings.Received == 10, $"10 pings, {pings.Received} answered:\n{pings.Output}\n{gateway.Output}");
        var (encaps, decaps) = Tunnel.Counters(InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa"));
        Assert.True(encaps >= 10 && decaps >= 10, $"encaps {encaps}, decaps {decaps}");
    }

    /// <summary>charon's log line for its MM5 (the first encrypted Main Mode message it sends as initiator).</summary>
    private static string SentMainMode5(string log) =>
        Regex.Match(log, @"generating ID_PROT request 0 \[ ID HASH[^\]]*\]").Value;
}
