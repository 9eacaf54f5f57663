using IkeActors.Negotiation.Tests.Support;
using IkeActors.Testing;

namespace IkeActors.Negotiation.Tests;

/// <summary>The seed's two ASAs, as two gateways in memory: the tunnel comes up and the debug output follows the Cisco document.</summary>
public class SiteToSiteTests
{
    [Fact]
    public void The_seed_tunnel_comes_up_with_matching_keys()
    {
        using var lab = new Lab(Lab.SampleConfig("asa1-initiator.cfg"), Lab.SampleConfig("asa2-responder.cfg"));
        lab.AcquireAndRun();
        var left = Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>()).Pair;
        var right = Assert.Single(lab.RightOutput.OfType<InstallIpsecSa>()).Pair;
        Assert.Equal(left.Inbound.Spi, right.Outbound.Spi);
        Assert.Equal(left.Outbound.Spi, right.Inbound.Spi);
        Assert.Equal(left.Inbound.EncryptionKey, right.Outbound.EncryptionKey);
        Assert.Equal(left.Inbound.IntegrityKey, right.Outbound.IntegrityKey);
        Assert.Equal(left.Outbound.EncryptionKey, right.Inbound.EncryptionKey);
        Assert.Equal(16, left.Inbound.EncryptionKey.Length);   // esp-aes: AES-128 (RFC 3602)
        Assert.Equal(20, left.Inbound.IntegrityKey.Length);    // esp-sha-hmac: HMAC-SHA1 key (RFC 2404)
        // The responder's crypto map sets 3600 s; the shorter lifetime wins on both sides (RFC 2407 §4.6.3.1).
        Assert.Equal(3600, left.LifetimeSeconds);
        Assert.Equal(3600, right.LifetimeSeconds);
        Assert.Equal(MainModeState.MM_ACTIVE, Assert.Single(lab.Left.Sas).State);
        Assert.Equal(MainModeState.MM_ACTIVE, Assert.Single(lab.Right.Sas).State);
    }

    [Theory]
    [InlineData(true, "golden-initiator.txt")]
    [InlineData(false, "golden-responder.txt")]
    public void The_debug_output_passes_the_seed_golden_check(bool left, string golden)
    {
        using var lab = new Lab(Lab.SampleConfig("asa1-initiator.cfg"), Lab.SampleConfig("asa2-responder.cfg"));
        lab.AcquireAndRun();
        var log = left ? lab.LeftLines : lab.RightLines;
        var (passed, report) = GoldenCheck.Run(golden, log, left ? "10.0.0.2" : "10.0.0.1");
        Assert.True(passed, report + "\n--- log ---\n" + string.Join("\n", log));
    }
}
