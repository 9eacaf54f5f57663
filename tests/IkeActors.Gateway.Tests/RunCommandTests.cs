using System.Diagnostics;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// Two `ikeactors run` processes on loopback (the seed's two ASAs, each a single-silo node with
/// its IKE SA as a grain) bring the tunnel up; each one's console passes the seed's golden check.
/// </summary>
public class RunCommandTests
{
    [Fact]
    public async Task Two_gateway_processes_negotiate_on_loopback()
    {
        var (leftPort, rightPort) = (FreePorts.Udp(), FreePorts.Udp());
        var dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");
        var samples = Path.Combine(RepoPaths.Root, "samples", "SiteToSite");
        var right = Running.Start(dll, "run", "--config", Path.Combine(samples, "asa2-responder.cfg"), "--bind", $"127.0.0.1:{rightPort}",
            "--peer-map", $"10.0.0.1=127.0.0.1:{leftPort}", "--silo-port", "11142", "--gateway-port", "30042", "--debug", "0", "--exit-after", "130",
            "--rekey-jitter", "0"); // the golden check reads the ASA's exact "Starting P1 rekey timer" lines
        try
        {
            await right.WaitForLine("ISAKMP on udp", TimeSpan.FromSeconds(30));
            // The responder node prints nothing itself (--debug 0): an operator session streams its lines.
            var debug = Running.Start(dll, "debug", "crypto", "ikev1", "127", "--node", "127.0.0.1:30042", "--seconds", "30");
            await Task.Delay(TimeSpan.FromSeconds(4)); // the front-end learns the session's level within 2 s
            var left = Running.Start(dll, "run", "--config", Path.Combine(samples, "asa1-initiator.cfg"), "--bind", $"127.0.0.1:{leftPort}",
                "--peer-map", $"10.0.0.2=127.0.0.1:{rightPort}", "--silo-port", "11141", "--gateway-port", "30041", "--debug", "127",
                "--acquire", "192.168.1.10,192.168.2.10,1", "--exit-after", "100", "--rekey-jitter", "0");
            try
            {
                await left.WaitForLine("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
                await debug.WaitForLine("PHASE 2 COMPLETED", TimeSpan.FromSeconds(10));
                Golden("golden-initiator.txt", left.Lines, "10.0.0.2");
                Golden("golden-responder.txt", debug.Lines, "10.0.0.1");
                lock (right.Lines) Assert.DoesNotContain(right.Lines, l => l.StartsWith("[IKEv1", StringComparison.Ordinal));

                // Operator commands against each running node, as on the ASA (seed "Tunnel Verification").
                var isakmp = ProcessRunner.Run("dotnet", [dll, "show", "crypto", "isakmp", "sa", "--node", "127.0.0.1:30041"]);
                Assert.True(isakmp.Code == 0, isakmp.Stdout + isakmp.Stderr);
                Assert.Contains("IKE Peer: 10.0.0.2", isakmp.Stdout);
                Assert.Contains("Role    : initiator", isakmp.Stdout);
                Assert.Contains("State   : MM_ACTIVE", isakmp.Stdout);
                var ipsec = ProcessRunner.Run("dotnet", [dll, "show", "crypto", "ipsec", "sa", "--node", "127.0.0.1:30042"]);
                Assert.True(ipsec.Code == 0, ipsec.Stdout + ipsec.Stderr);
                Assert.Contains("Crypto map tag: MAP, seq num: 10, local addr: 10.0.0.2", ipsec.Stdout);
                Assert.Contains("local ident (addr/mask/prot/port): (192.168.2.0/255.255.255.0/1/0)", ipsec.Stdout);
                Assert.Contains("transform: esp-aes esp-sha-hmac no compression", ipsec.Stdout);
                var otherPeer = ProcessRunner.Run("dotnet", [dll, "show", "crypto", "ipsec", "sa", "peer", "10.9.9.9", "--node", "127.0.0.1:30042"]);
                Assert.True(otherPeer.Code == 0, otherPeer.Stdout + otherPeer.Stderr);
                Assert.Equal("There are no ipsec sas\n", otherPeer.Stdout);
                var thisPeer = ProcessRunner.Run("dotnet", [dll, "show", "crypto", "ipsec", "sa", "peer", "10.0.0.1", "--node", "127.0.0.1:30042"]);
                Assert.Contains("current_peer: 10.0.0.1", thisPeer.Stdout);

                var detail = ProcessRunner.Run("dotnet", [dll, "show", "crypto", "isakmp", "sa", "detail", "--node", "127.0.0.1:30041"]);
                Assert.True(detail.Code == 0, detail.Stdout + detail.Stderr);
                Assert.Contains("Encrypt : 3des            Hash    : SHA", detail.Stdout);       // the seed's policy 10
                Assert.Contains("Auth    : preshared       Lifetime: 86400", detail.Stdout);
                Assert.Matches(@"Lifetime Remaining: 86[34]\d\d", detail.Stdout);

                var sessions = ProcessRunner.Run("dotnet", [dll, "show", "vpn-sessiondb", "detail", "l2l", "--node", "127.0.0.1:30041"]);
                Assert.True(sessions.Code == 0, sessions.Stdout + sessions.Stderr);
                Assert.Contains("Session Type: LAN-to-LAN Detailed", sessions.Stdout);
                Assert.Contains(" Connection   : 10.0.0.2", sessions.Stdout);
                Assert.Contains("IKE Neg Mode : Main", sessions.Stdout);
                Assert.Contains("Encryption   : 3DES", sessions.Stdout);     // the seed's policy: 3des, sha, group 2
                Assert.Contains("Hashing      : SHA1", sessions.Stdout);
                Assert.Contains("D/H Group    : 2", sessions.Stdout);
                Assert.Contains("Rekey Int (T): 3600 Seconds", sessions.Stdout); // the responder's shorter lifetime won
                Assert.Contains("Local Addr   : 192.168.1.0/255.255.255.0", sessions.Stdout);
                // The summary view: the connection lines of the detailed one (tests/data/asa-show/show-vpn-sessiondb-detail-l2l.txt).
                var summary = ProcessRunner.Run("dotnet", [dll, "show", "vpn-sessiondb", "l2l", "--node", "127.0.0.1:30041"]);
                Assert.True(summary.Code == 0, summary.Stdout + summary.Stderr);
                Assert.StartsWith("Session Type: LAN-to-LAN\n\n Connection   : 10.0.0.2\n Index        : 1                      IP Addr      : 10.0.0.2\n", summary.Stdout);
                Assert.Contains(" Protocol     : IPSecLAN2LAN           Encryption   : AES128\n", summary.Stdout);
                Assert.DoesNotContain("IKE Sessions", summary.Stdout);
                // show vpn-sessiondb summary (the ASA's layout: tests/data/asa-show/show-vpn-sessiondb-summary.txt): one L2L
                // session, one IKEv1 tunnel and one IPsec pair, each up once.
                var sessionSummary = ProcessRunner.Run("dotnet", [dll, "show", "vpn-sessiondb", "summary", "--node", "127.0.0.1:30041"]);
                Assert.True(sessionSummary.Code == 0, sessionSummary.Stdout + sessionSummary.Stderr);
                Assert.Contains("\nSite-to-Site VPN             :      1 :          1 :           1\n  IKEv1 IPsec                :      1 :          1 :           1\n", sessionSummary.Stdout);
                Assert.Contains("\nIKEv1                        :      1 :          1 :               1\nIPsec                        :      1 :          1 :               1\n", sessionSummary.Stdout);
                // The IkeActors timers view: the one SA's Phase 1 rekey point (82080 s: this run has no jitter).
                var timers = ProcessRunner.Run("dotnet", [dll, "show", "crypto", "isakmp", "timers", "--node", "127.0.0.1:30041"]);
                Assert.True(timers.Code == 0, timers.Stdout + timers.Stderr);
                Assert.StartsWith("Phase 1 rekey timers: 1 IKE SA\n", timers.Stdout);
                Assert.Matches(@"Earliest: .* UTC \(in 820[5-8]\d s\)", timers.Stdout);
                Assert.Contains("Most due in one second: 1 ", timers.Stdout);

                // clear crypto isakmp sa on the initiator: it deletes and tells the peer (ESP SPIs, then ISAKMP).
                var clear = ProcessRunner.Run("dotnet", [dll, "clear", "crypto", "isakmp", "sa", "10.0.0.2", "--node", "127.0.0.1:30041"]);
                Assert.True(clear.Code == 0, clear.Stdout + clear.Stderr);
                Assert.Contains("1 IKE SA(s) cleared", clear.Stdout);
                await Task.Delay(1000);
                var after = ProcessRunner.Run("dotnet", [dll, "show", "crypto", "isakmp", "sa", "--node", "127.0.0.1:30042"]);
                Assert.Contains("There are no IKEv1 SAs", after.Stdout);
            }
            finally { left.Stop(); debug.Stop(); }
        }
        finally { right.Stop(); }
    }

    private static void Golden(string golden, List<string> lines, string peer)
    {
        List<string> copy;
        lock (lines) copy = [.. lines];
        var (passed, report) = GoldenCheck.Run(golden, copy, peer);
        Assert.True(passed, report);
    }
}
