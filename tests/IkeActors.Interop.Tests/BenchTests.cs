using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using IkeActors.Testing;

namespace IkeActors.Interop.Tests;

/// <summary>
/// `ikeactors bench` against a real strongSwan 5.9.8 charon (kernel-libipsec) that answers any peer (`remote_addrs = %any`,
/// one PSK): 300 peers from 10.1.0.1… in the left namespace (a local route makes 10.1.0.0/16 the namespace's own, the
/// right one routes it back over the veth), each proposing its own /24 of 172.16.0.0/12. charon floats every IKE SA to
/// 4500 (libipsec speaks only ESP-in-UDP), so the bench follows through its NAT-T sockets. Every tunnel must come up
/// and `swanctl --list-sas` must count as many IKE and CHILD SAs.
/// </summary>
public sealed class BenchTests
{
    private const int Peers = 300;

    /// <summary>charon's IKE SA table: one bucket by default (strongswan.conf(5)); hundreds of SAs want more, and more threads.</summary>
    private static readonly Dictionary<string, string> CharonLimits = new()
    {
        ["SS_EXTRA_CHARON"] = "ikesa_table_size = 1024\n    ikesa_table_segments = 16\n    threads = 32\n    init_limit_half_open = 0",
    };

    [Fact]
    public void Three_hundred_bench_peers_bring_their_tunnels_up_with_strongswan()
    {
        using var lab = new InteropLab("ik", CharonLimits);
        lab.StartStrongSwan("--remote", "%any", "--remote-ts", "172.16.0.0/12", "--psk", "bench-key",
            "--ike", "aes256-sha1-modp1024", "--esp", "aes128-sha1", "--role", "responder");
        Ip("-n", lab.Left, "route", "add", "local", "10.1.0.0/16", "dev", "lo");
        Ip("-n", lab.Right, "route", "add", "10.1.0.0/16", "via", "10.0.0.1");

        var (code, output) = InteropLab.Exec(lab.Left, "dotnet", Path.Combine(AppContext.BaseDirectory, "ikeactors.dll"), "bench",
            "--target", "10.0.0.2", "--sources", "10.1.0.1", "--peers", Peers.ToString(CultureInfo.InvariantCulture), "--concurrency", "50",
            "--psk", "bench-key", "--ike", "aes256-sha1-modp1024", "--esp", "aes128-sha1", "--local-ts", "172.16.0.0/12",
            "--remote-ts", "192.168.2.0/24", "--timeout", "60", "--no-delete", "--json");
        Assert.DoesNotContain("bench-key", output, StringComparison.Ordinal);
        var json = Regex.Match(output, @"^\{.*^\}", RegexOptions.Singleline | RegexOptions.Multiline);
        Assert.True(json.Success, output);
        using var report = JsonDocument.Parse(json.Value);
        Assert.True(report.RootElement.GetProperty("established").GetInt32() == Peers, output);
        Assert.Equal(0, code);

        var sas = lab.StrongSwan("list-sas");
        Assert.Equal(Peers, Regex.Matches(sas, @"^gw: #\d+, ESTABLISHED, IKEv1", RegexOptions.Multiline).Count);
        Assert.Equal(Peers, Regex.Matches(sas, @"INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-128/HMAC_SHA1_96").Count);
        // Each peer from its own address, and after the float on 4500 at charon's end (RFC 3947 §4).
        Assert.Equal(Peers, Regex.Matches(sas, @"remote '10\.1\.\d+\.\d+' @ 10\.1\.\d+\.\d+\[\d+\]").Count);
        Assert.Equal(Peers, Regex.Matches(sas, @"local  '10\.0\.0\.2' @ 10\.0\.0\.2\[4500\]").Count);
        // Peer i proposes 172.16.0.0 + i·256 as its /24: the first (i = 0) and the last (i = 299).
        Assert.Contains("    remote 172.16.0.0/24\n", sas);
        Assert.Contains("    remote 172.17.43.0/24\n", sas);
    }

    private static void Ip(params string[] args)
    {
        var (code, stdout, stderr) = ProcessRunner.Run("ip", args);
        Assert.True(code == 0, $"ip {string.Join(' ', args)}: {stdout}{stderr}");
    }
}
