using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using IkeActors.Gateway.Commands;
using IkeActors.Testing;
using Xunit.Abstractions;

namespace IkeActors.Gateway.Tests.Bench;

/// <summary>
/// `ikeactors bench` in-process against one `ikeactors run` node on loopback: the hub of samples/Hub (one dynamic crypto
/// map, DefaultL2LGroup's key) serves 250 peers, each with its own /24 behind it: every tunnel comes up, and the node's
/// `show crypto isakmp sa`, `show crypto ipsec sa` and `show vpn-sessiondb summary` count the same number. A node with
/// a static crypto map entry per peer answers the refusal and DPD cases. Runs alone (it loads the machine).
/// </summary>
[Collection(nameof(FloodsRunAlone))]
public class BenchAgainstNodeTests(ITestOutputHelper log)
{
    private const int Peers = 250;
    private const string Key = "bench-node-key";
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");

    /// <summary>The responder: peer i (127.1.0.1 + i) protects 10.0.i.0/24 (10.1.x for i ≥ 256) towards 192.168.2.0/24.</summary>
    internal static string ResponderConfig(int peers, string firstPeer = "127.1.0.1")
    {
        var first = IkeActors.Config.Model.Ipv4.ToUInt32(System.Net.IPAddress.Parse(firstPeer));
        var s = new StringBuilder();
        s.AppendLine("hostname responder");
        s.AppendLine("interface GigabitEthernet0/1");
        s.AppendLine(" nameif outside");
        s.AppendLine(" security-level 0");
        s.AppendLine(" ip address 127.0.0.1 255.0.0.0");
        s.AppendLine("crypto ipsec ikev1 transform-set TS esp-aes esp-sha-hmac");
        for (var i = 0; i < peers; i++)
        {
            var seq = i + 1;
            s.AppendLine(CultureInfo.InvariantCulture, $"access-list P{seq} extended permit ip 192.168.2.0 255.255.255.0 10.{i >> 8}.{i & 255}.0 255.255.255.0");
            s.AppendLine(CultureInfo.InvariantCulture, $"crypto map MAP {seq} match address P{seq}");
            s.AppendLine(CultureInfo.InvariantCulture, $"crypto map MAP {seq} set peer {IkeActors.Config.Model.Ipv4.Format(first + (uint)i)}");
            s.AppendLine(CultureInfo.InvariantCulture, $"crypto map MAP {seq} set ikev1 transform-set TS");
        }
        s.AppendLine("crypto map MAP interface outside");
        s.AppendLine("crypto ikev1 enable outside");
        s.AppendLine("crypto ikev1 policy 10");
        s.AppendLine(" authentication pre-share");
        s.AppendLine(" encryption aes-256");
        s.AppendLine(" hash sha");
        s.AppendLine(" group 2");
        s.AppendLine(" lifetime 86400");
        s.AppendLine("tunnel-group DefaultL2LGroup ipsec-attributes");
        s.AppendLine(" ikev1 pre-shared-key " + Key);
        return s.ToString();
    }

    /// <summary>samples/Hub/hub.cfg on loopback (outside 127.0.0.1) with this test's key: no entry names any peer.</summary>
    internal static string HubConfig()
    {
        var hub = File.ReadAllText(Path.Combine(RepoPaths.Root, "samples", "Hub", "hub.cfg"));
        Assert.Contains(" ip address 10.0.0.2 255.255.255.0\n", hub);
        Assert.Contains(" ikev1 pre-shared-key cisco\n", hub);
        return hub.Replace(" ip address 10.0.0.2 255.255.255.0\n", " ip address 127.0.0.1 255.0.0.0\n", StringComparison.Ordinal)
            .Replace(" ikev1 pre-shared-key cisco\n", " ikev1 pre-shared-key " + Key + "\n", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_requested_tunnel_to_a_hub_comes_up_and_the_node_counts_as_many_sas()
    {
        await WithNode(HubConfig(), 300, async (port, gateway) =>
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            // --no-delete: the SAs stay on the node for the show commands below.
            var code = await Task.Run(() => CliApp.Run(["bench", "--target", $"127.0.0.1:{port}", "--sources", "127.1.0.1", "--peers", Peers.ToString(CultureInfo.InvariantCulture),
                "--psk", Key, "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1", "--local-ts", "10.0.0.0/8", "--remote-ts", "192.168.2.0/24",
                "--concurrency", "50", "--timeout", "60", "--no-delete", "--json"], output, error));
            log.WriteLine(output.ToString());
            log.WriteLine(string.Join("\n", error.ToString().Split('\n').TakeLast(5)));
            Assert.DoesNotContain(Key, output.ToString() + error.ToString(), StringComparison.Ordinal);
            using var report = JsonDocument.Parse(output.ToString());
            Assert.Equal(Peers, report.RootElement.GetProperty("requested").GetInt32());
            Assert.Equal(Peers, report.RootElement.GetProperty("established").GetInt32());
            Assert.Equal(0, code);
            Assert.True(report.RootElement.GetProperty("establishedPerSecond").GetDouble() > 0);
            Assert.Matches(@"(?m)^\s+\d+s  initiated \d+  established \d+  failed 0  in flight \d+  retransmits \d+  rate \d+/s\r?$", error.ToString());

            var isakmp = ProcessRunner.Run("dotnet", [Dll, "show", "crypto", "isakmp", "sa", "--node", $"127.0.0.1:{gateway}"]);
            Assert.True(isakmp.Code == 0, isakmp.Stdout + isakmp.Stderr);
            Assert.Contains($"Total IKE SA: {Peers}", isakmp.Stdout, StringComparison.Ordinal);
            Assert.Equal(Peers, Regex.Matches(isakmp.Stdout, @"State\s+: MM_ACTIVE").Count);
            var ipsec = ProcessRunner.Run("dotnet", [Dll, "show", "crypto", "ipsec", "sa", "--node", $"127.0.0.1:{gateway}"]);
            Assert.True(ipsec.Code == 0, ipsec.Stdout + ipsec.Stderr);
            Assert.Equal(Peers, Regex.Matches(ipsec.Stdout, @"current_peer: 127\.1\.\d+\.\d+").Count);
            Assert.Equal(Peers, Regex.Matches(ipsec.Stdout, @"inbound esp sas:").Count);
            // Every pair came from the dynamic entry (the ASA names the dynamic map in "Crypto map tag").
            Assert.Equal(Peers, Regex.Matches(ipsec.Stdout, @"Crypto map tag: DYN, seq num: 10,").Count);
            var sessions = ProcessRunner.Run("dotnet", [Dll, "show", "vpn-sessiondb", "summary", "--node", $"127.0.0.1:{gateway}"]);
            Assert.True(sessions.Code == 0, sessions.Stdout + sessions.Stderr);
            Assert.Matches($@"(?m)^Site-to-Site VPN\s+:\s+{Peers} :", sessions.Stdout);
        });
    }

    /// <summary>A remote-access head-end on loopback: group RA, a pool of 250 addresses, one user allowed many logins.</summary>
    internal static string RemoteAccessConfig(string pool = "10.200.0.1-10.200.0.250") => $"""
        hostname headend
        interface GigabitEthernet0/1
         nameif outside
         security-level 0
         ip address 127.0.0.1 255.0.0.0
        crypto ipsec ikev1 transform-set TS esp-aes esp-sha-hmac
        crypto dynamic-map DYN 10 set ikev1 transform-set TS
        crypto map MAP 65535 ipsec-isakmp dynamic DYN
        crypto map MAP interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption aes-256
         hash sha
         group 2
         lifetime 86400
        ip local pool RAPOOL {pool} mask 255.255.255.0
        username benchuser password bench-user-pw
        group-policy RA internal
        group-policy RA attributes
         vpn-simultaneous-logins 100000
         vpn-tunnel-protocol ikev1
        tunnel-group RA type remote-access
        tunnel-group RA general-attributes
         address-pool RAPOOL
         default-group-policy RA
        tunnel-group RA ipsec-attributes
         ikev1 pre-shared-key {Key}

        """;

    [Fact]
    public async Task Remote_access_clients_dial_in_with_xauth_and_each_gets_its_own_pool_address()
    {
        const int clients = 200;
        await WithNode(RemoteAccessConfig(), 300, async (port, gateway) =>
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await Task.Run(() => CliApp.Run(["bench", "--target", $"127.0.0.1:{port}", "--sources", "127.2.0.1", "--peers", clients.ToString(CultureInfo.InvariantCulture),
                "--group", "RA", "--psk", Key, "--user", "benchuser", "--password", "bench-user-pw", "--ike", "aes256-sha1-modp1024", "--esp", "aes128-sha1",
                "--concurrency", "50", "--timeout", "60", "--no-delete", "--json"], output, error));
            log.WriteLine(output.ToString());
            log.WriteLine(string.Join("\n", error.ToString().Split('\n').TakeLast(5)));
            Assert.DoesNotContain(Key, output.ToString() + error.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("bench-user-pw", output.ToString() + error.ToString(), StringComparison.Ordinal);
            using var report = JsonDocument.Parse(output.ToString());
            Assert.Equal(clients, report.RootElement.GetProperty("established").GetInt32());
            Assert.Equal(0, code);
            // Pool accounting: every client got an address, no address twice.
            Assert.Equal(clients, report.RootElement.GetProperty("modeConfig").GetProperty("addressesAssigned").GetInt32());
            Assert.Equal(clients, report.RootElement.GetProperty("modeConfig").GetProperty("distinctAddresses").GetInt32());

            var sessions = ProcessRunner.Run("dotnet", [Dll, "show", "vpn-sessiondb", "remote", "--node", $"127.0.0.1:{gateway}"]);
            Assert.True(sessions.Code == 0, sessions.Stdout + sessions.Stderr);
            var assigned = Regex.Matches(sessions.Stdout, @"Assigned IP  : (10\.200\.0\.\d+)").Select(m => m.Groups[1].Value).ToList();
            Assert.Equal(clients, assigned.Count);
            Assert.Equal(clients, assigned.Distinct().Count());
            Assert.Equal(clients, Regex.Matches(sessions.Stdout, @"Username     : benchuser ").Count);
            var isakmp = ProcessRunner.Run("dotnet", [Dll, "show", "crypto", "isakmp", "sa", "--node", $"127.0.0.1:{gateway}"]);
            Assert.Equal(clients, Regex.Matches(isakmp.Stdout, @"State\s+: AM_ACTIVE").Count);
            // show vpn-sessiondb summary: each client a remote-access session (the ASA's "IKEv1 IPsec/L2TP IPsec" row), none
            // of them ever a site-to-site one (not even between phase 1 and XAUTH), one IKEv1 tunnel each.
            var summary = ProcessRunner.Run("dotnet", [Dll, "show", "vpn-sessiondb", "summary", "--node", $"127.0.0.1:{gateway}"]);
            Assert.True(summary.Code == 0, summary.Stdout + summary.Stderr);
            Assert.Matches($@"(?m)^IKEv1 IPsec/L2TP IPsec       :\s+{clients} :\s+{clients} :\s+{clients}$", summary.Stdout);
            Assert.Contains("\nSite-to-Site VPN             :      0 :          0 :           0\n  IKEv1 IPsec                :      0 :          0 :           0\n", summary.Stdout);
            Assert.Matches($@"(?m)^Total Active and Inactive    :\s+{clients}\s+Total Cumulative :\s+{clients}$", summary.Stdout);
            Assert.Matches($@"(?m)^IKEv1                        :\s+{clients} :\s+{clients} :", summary.Stdout);
        });
    }

    [Fact]
    public async Task A_proposal_the_node_refuses_fails_every_tunnel_by_its_notify_and_exits_1()
    {
        await WithNode(ResponderConfig(3, "127.1.1.1"), 120, async (port, gateway) =>
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            // The node's only policy is aes-256/sha/group 2: 3DES-MD5 gets NO-PROPOSAL-CHOSEN (RFC 2408 §5.4).
            var code = await Task.Run(() => CliApp.Run(["bench", "--target", $"127.0.0.1:{port}", "--sources", "127.1.1.1", "--peers", "3",
                "--psk", Key, "--ike", "3des-md5-modp1024", "--timeout", "20"], output, error));
            log.WriteLine(output.ToString());
            Assert.Equal(1, code);
            Assert.Matches(@"(?m)^established\s+0\r?$", output.ToString());
            Assert.Matches(@"(?m)^failures\s+3 notify NO_PROPOSAL_CHOSEN\r?$", output.ToString());
        });
    }

    /// <summary>
    /// --hold with --dpd: the tunnels stay while DPD (RFC 3706) runs both ways, none is lost, and at the end every IKE SA
    /// goes with a DELETE (RFC 2408 §3.15), so the node has none left.
    /// </summary>
    [Fact]
    public async Task Held_tunnels_answer_dpd_and_are_deleted_at_the_end()
    {
        // The node probes only after 30 idle seconds: the peer's own R-U-THERE (10 s) comes first, not an answer to the node's.
        await WithNode(ResponderConfig(3, "127.1.2.1") + " isakmp keepalive threshold 30 retry 2\n", 120, async (port, gateway) =>
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await Task.Run(() => CliApp.Run(["bench", "--target", $"127.0.0.1:{port}", "--sources", "127.1.2.1", "--peers", "3",
                "--psk", Key, "--hold", "14", "--dpd", "10", "--debug", "127", "--json"], output, error));
            log.WriteLine(output.ToString());
            Assert.Equal(0, code);
            using var report = JsonDocument.Parse(output.ToString());
            Assert.Equal(3, report.RootElement.GetProperty("established").GetInt32());
            Assert.Equal(0, report.RootElement.GetProperty("lostDuringHold").GetInt32());
            // Each peer idle for 10 s sent an R-U-THERE within the 14 s hold and the node acknowledged it at once (RFC 3706 §5.5).
            var dpd = report.RootElement.GetProperty("dpd");
            Assert.True(dpd.GetProperty("probes").GetInt32() >= 3 && dpd.GetProperty("acks").GetInt32() == dpd.GetProperty("probes").GetInt32(), dpd.ToString());
            Assert.Equal(0, dpd.GetProperty("retries").GetInt32());
            Assert.InRange(dpd.GetProperty("longestWaitMs").GetDouble(), 0, 2000);
            // The first peer's lines: it sent R-U-THERE after 10 idle seconds and the node acknowledged it.
            Assert.Contains("Sending keep-alive of type DPD R-U-THERE (seq number", error.ToString(), StringComparison.Ordinal);
            Assert.Contains("Received keep-alive of type DPD R-U-THERE-ACK", error.ToString(), StringComparison.Ordinal);
            // The DELETEs are datagrams: the node may still be handling them when the bench returns.
            var until = Environment.TickCount64 + 15_000;
            (int Code, string Stdout, string Stderr) isakmp;
            do
            {
                isakmp = ProcessRunner.Run("dotnet", [Dll, "show", "crypto", "isakmp", "sa", "--node", $"127.0.0.1:{gateway}"]);
                Assert.True(isakmp.Code == 0, isakmp.Stdout + isakmp.Stderr);
            }
            while (!isakmp.Stdout.Contains("There are no IKEv1 SAs", StringComparison.Ordinal) && Environment.TickCount64 < until);
            Assert.Contains("There are no IKEv1 SAs", isakmp.Stdout, StringComparison.Ordinal);
        });
    }

    /// <summary>
    /// Runs <paramref name="body"/> against one `ikeactors run` node serving <paramref name="configText"/> on loopback
    /// (its ISAKMP port, its Orleans gateway port); the node stops after <paramref name="exitAfterSeconds"/> at most, and is
    /// stopped and its files removed when the body ends.
    /// </summary>
    private static async Task WithNode(string configText, int exitAfterSeconds, Func<int, int, Task> body)
    {
        var dir = Directory.CreateTempSubdirectory("ikeactors-bench-").FullName;
        var config = Path.Combine(dir, "responder.cfg");
        File.WriteAllText(config, configText);
        var (port, silo, gateway) = (FreePorts.Udp(), FreePorts.Tcp(), FreePorts.Tcp());
        var node = Running.Start(Dll, "run", "--config", config, "--bind", $"127.0.0.1:{port}", "--silo-port", silo.ToString(CultureInfo.InvariantCulture),
            "--gateway-port", gateway.ToString(CultureInfo.InvariantCulture), "--debug", "0", "--exit-after", exitAfterSeconds.ToString(CultureInfo.InvariantCulture));
        try
        {
            await node.WaitForLine("ISAKMP on udp", TimeSpan.FromSeconds(60));
            await body(port, gateway);
        }
        finally
        {
            node.Stop();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
