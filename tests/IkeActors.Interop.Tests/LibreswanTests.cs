namespace IkeActors.Interop.Tests;

/// <summary>
/// Libreswan 4.10's pluto (tests/lab/libreswan-peer.sh) in `ike-right` against
/// `ikeactors run` in `ike-left`. Debian's build has no MODP1024, so both sides use 3DES/SHA1/MODP2048
/// (ASA `group 14`). pluto installs SAs through kernel XFRM only, which this kernel lacks, so only Main
/// Mode can complete: checked in both roles by our "PHASE 1 COMPLETED" and pluto's "IKE SA established".
/// </summary>
public sealed class LibreswanTests
{
    private static string Config() => InteropLab.LeftConfig(c => InteropLab.Replace(c, " group 2\n", " group 14\n"));

    [Fact]
    public void Our_initiator_completes_main_mode_with_a_libreswan_responder()
    {
        using var lab = new InteropLab();
        lab.StartLibreswan("--role", "responder", "--ike", "3des-sha1-modp2048", "--esp", "aes128-sha1");
        // No TUN needed: --acquire starts the negotiation as if the data plane had seen this packet.
        var gateway = lab.StartGateway(lab.Left, Config(), "10.0.0.1:500", "--acquire", "192.168.1.1,192.168.2.1,1");

        gateway.WaitFor("PHASE 1 COMPLETED", TimeSpan.FromSeconds(30));
        Assert.Contains(gateway.Lines, l => l.Contains("IP = 10.0.0.2, PHASE 1 COMPLETED", StringComparison.Ordinal));
        var status = lab.Libreswan("wait-established", "20", "phase1");
        Assert.Contains("STATE_MAIN_R3", status);
        Assert.Matches(@"""gw"" #\d+: IKE SA established \{auth=PRESHARED_KEY cipher=3DES_CBC_192 integ=HMAC_SHA1 group=MODP2048\}", lab.LibreswanLog);
        Assert.Matches(@"Role\s+: initiator", InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa"));
    }

    [Fact]
    public void Libreswan_initiates_and_our_responder_completes_main_mode()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, Config(), "10.0.0.1:500");
        lab.StartLibreswan("--role", "initiator", "--ike", "3des-sha1-modp2048", "--esp", "aes128-sha1");

        var status = lab.Libreswan("wait-established", "30", "phase1");
        Assert.Contains("STATE_MAIN_I4", status);
        gateway.WaitFor("PHASE 1 COMPLETED", TimeSpan.FromSeconds(10));
        Assert.Contains(gateway.Lines, l => l.Contains("IP = 10.0.0.2, PHASE 1 COMPLETED", StringComparison.Ordinal));
        Assert.Matches(@"""gw"" #\d+: IKE SA established \{auth=PRESHARED_KEY cipher=3DES_CBC_192 integ=HMAC_SHA1 group=MODP2048\}", lab.LibreswanLog);
        Assert.Matches(@"Role\s+: responder", InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa"));
    }
}
