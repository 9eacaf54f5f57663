using IkeActors.Testing;

namespace IkeActors.Samples.Tests;

/// <summary>
/// The README's main command: the seed's two gateways over loopback UDP. Its debug logs
/// pass the golden-transcript check (tests/data/seed/golden-*.txt, GoldenCheck) for both roles.
/// </summary>
public class SiteToSiteSampleTests
{
    [Fact]
    public void The_sample_brings_the_tunnel_up_and_both_logs_pass_the_golden_check()
    {
        var outDir = Directory.CreateTempSubdirectory("sitetosite-");
        try
        {
            var (code, stdout, stderr) = ProcessRunner.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "SiteToSite.dll"), "--out", outDir.FullName]);
            Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");

            // Show commands in the ASA's format (seed "Tunnel Verification").
            Assert.Contains("left# show crypto isakmp sa", stdout);
            Assert.Contains("State   : MM_ACTIVE", stdout);
            Assert.Contains("Role    : initiator", stdout);
            Assert.Contains("Role    : responder", stdout);
            Assert.Contains("Crypto map tag: MAP, seq num: 10, local addr: 10.0.0.1", stdout);
            Assert.Contains("access-list VPN extended permit icmp 192.168.1.0 255.255.255.0 192.168.2.0 255.255.255.0", stdout);
            Assert.Contains("local ident (addr/mask/prot/port): (192.168.1.0/255.255.255.0/1/0)", stdout);
            Assert.Contains("remote ident (addr/mask/prot/port): (192.168.2.0/255.255.255.0/1/0)", stdout);
            Assert.Contains("transform: esp-aes esp-sha-hmac no compression", stdout);
            Assert.Contains("in use settings ={L2L, Tunnel, IKEv1, }", stdout);

            var left = Path.Combine(outDir.FullName, "left.log");
            var right = Path.Combine(outDir.FullName, "right.log");
            // The logs hold debug lines only, one per line.
            Assert.All(File.ReadAllLines(left).Concat(File.ReadAllLines(right)),
                l => Assert.Matches(@"^(\[IKEv1( DEBUG| DECODE)?\]: |IPSEC: )", l));

            Golden("golden-initiator.txt", left, "10.0.0.2");
            Golden("golden-responder.txt", right, "10.0.0.1");
        }
        finally
        {
            outDir.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_process_mode_runs_two_gateway_nodes_and_shows_the_tunnel_on_both()
    {
        var outDir = Directory.CreateTempSubdirectory("sitetosite-processes-");
        try
        {
            var (code, stdout, stderr) = ProcessRunner.Run("dotnet",
                [Path.Combine(AppContext.BaseDirectory, "SiteToSite.dll"), "--processes", "--out", outDir.FullName], timeoutMs: 150_000);
            Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
            Assert.Contains("left# show crypto isakmp sa", stdout);
            Assert.Contains("right# show crypto ipsec sa", stdout);
            Assert.Contains("Role    : responder", stdout);
            Assert.Contains("State   : MM_ACTIVE", stdout);
            Assert.Contains("transform: esp-aes esp-sha-hmac no compression", stdout);
            Golden("golden-initiator.txt", Path.Combine(outDir.FullName, "left.log"), "10.0.0.2");
            Golden("golden-responder.txt", Path.Combine(outDir.FullName, "right.log"), "10.0.0.1");
        }
        finally
        {
            outDir.Delete(recursive: true);
        }
    }

    private static void Golden(string golden, string log, string peer)
    {
        var (passed, report) = GoldenCheck.Run(golden, File.ReadAllLines(log), peer);
        Assert.True(passed, report);
    }
}
