using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using IkeActors.Testing;
using Xunit.Abstractions;
using static IkeActors.Interop.Tests.ClusterScaleTests;

namespace IkeActors.Interop.Tests;

/// <summary>
/// Remote access across a cluster (issue 18's pool: "no address given twice"): `ikeactors bench` dials in as
/// <see cref="Peers"/> remote-access clients (Aggressive Mode, XAUTH, Mode Config) through the upstream router, which
/// spreads them over three nodes sharing one pool; every client must get its own address, whichever node leased it.
/// Then the node carrying the most is SIGKILLed while the clients hold their sessions with DPD: its sessions go on from
/// the survivors (their IKE SA grains back from storage, with their leases), and <see cref="Latecomers"/> new clients
/// dialling in after the kill get addresses no surviving session holds. `show vpn-sessiondb remote` on a survivor lists
/// every session with a distinct address.
/// </summary>
[Collection(ClusterLabCollection.Name)]
public sealed class ClusterRemoteAccessTests(ITestOutputHelper output)
{
    private const int Peers = 150;
    private const int Latecomers = 50;
    private const string Psk = "ra-Cluster-5520";

    private const string Hub = ClusterLab.HubInterfaces + """
        crypto ipsec ikev1 transform-set AES128 esp-aes esp-sha-hmac
        crypto dynamic-map DYN 10 set ikev1 transform-set AES128
        crypto map MAP 65535 ipsec-isakmp dynamic DYN
        crypto map MAP interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption aes
         hash sha
         group 2
         lifetime 86400
        ip local pool RAPOOL 10.200.0.1-10.200.1.254 mask 255.255.254.0
        username benchuser password bench-User-9931
        group-policy RA internal
        group-policy RA attributes
         vpn-simultaneous-logins 1000
         vpn-tunnel-protocol ikev1
        tunnel-group RA type remote-access
        tunnel-group RA general-attributes
         address-pool RAPOOL
         default-group-policy RA
        tunnel-group RA ipsec-attributes
         ikev1 pre-shared-key ra-Cluster-5520
         isakmp keepalive threshold 30 retry 2
        """;

    private static string[] Bench(string firstSource, int peers, int hold) =>
        ["bench", "--target", ClusterLab.Vip, "--sources", firstSource, "--peers", peers.ToString(CultureInfo.InvariantCulture),
         "--group", "RA", "--psk", Psk, "--user", "benchuser", "--password", "bench-User-9931",
         "--ike", "aes128-sha1-modp1024", "--esp", "aes128-sha1", "--concurrency", "50", "--timeout", "90",
         "--hold", hold.ToString(CultureInfo.InvariantCulture), "--dpd", "10", "--no-delete", "--json"];

    [Fact]
    public async Task Clients_spread_over_three_nodes_share_one_pool_and_keep_their_addresses_when_a_node_dies()
    {
        using var lab = new ClusterLab(nodes: 3, insideAddress: "172.31.0.1");
        await using var redis = await RedisServer.Start($"{lab.Prefix}-in", bind: "0.0.0.0");
        var gateways = lab.StartHubNodes(Hub, redis);
        var bench = lab.BenchNamespace();

        var first = new InteropLab.Gateway(bench, Bench("10.1.0.1", Peers, hold: 30));
        using var _ = first;
        InteropLab.Eventually(() => first.Lines.Any(l => l.Contains($" established {Peers} ", StringComparison.Ordinal)), TimeSpan.FromSeconds(90),
            () => "the clients did not all come up\n" + Tail(first.Output));
        var before = Carriers(redis);
        var perNode = before.Values.GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"{Peers} remote-access clients up; carried: " + string.Join(", ", perNode.OrderBy(kv => kv.Key).Select(kv => $"node {kv.Key} {kv.Value}")));
        Assert.True(perNode.Count == 3, "the upstream router did not spread the clients over three nodes");
        var killed = perNode.MaxBy(kv => kv.Value).Key;
        var survivor = perNode.Keys.First(n => n != killed);

        await Task.Delay(3000);
        gateways[killed].Terminate(9);
        var moving = before.Where(kv => kv.Value == killed).Select(kv => kv.Key).ToHashSet();
        InteropLab.Eventually(() => { var now = Carriers(redis); return moving.All(p => now.TryGetValue(p, out var n) && n != killed); },
            TimeSpan.FromSeconds(30), () => "the dead node's clients were not carried by survivors" + Diagnostics(gateways, killed));

        // New clients after the kill: the pool's ledger came back with its grain, so none gets an address already held.
        var late = new InteropLab.Gateway(bench, Bench("10.1.2.1", Latecomers, hold: 1));
        using var __ = late;
        var (lateCode, lateText) = late.WaitForExit(TimeSpan.FromSeconds(120));
        Assert.True(lateCode == 0, Tail(lateText));

        var show = "";
        var assigned = new List<string>();
        InteropLab.Eventually(() =>
        {
            show = InteropLab.Operator(lab.Node(survivor), "show", "vpn-sessiondb", "remote", "--node", $"10.92.{survivor}.2:30000");
            assigned = Regex.Matches(show, @"Assigned IP  : (10\.200\.\d+\.\d+)").Select(m => m.Groups[1].Value).ToList();
            return assigned.Count == Peers + Latecomers;
        }, TimeSpan.FromSeconds(30), () => $"{assigned.Count} sessions listed\n" + show[..Math.Min(600, show.Length)] + Diagnostics(gateways, killed));
        var duplicates = assigned.GroupBy(a => a).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"addresses given twice: {string.Join(", ", duplicates.Take(20))}");
        output.WriteLine($"node {killed} killed with {moving.Count} clients; {Latecomers} more dialled in after it: {assigned.Count} sessions, {assigned.Distinct().Count()} distinct addresses");

        // The first clients held through the kill: none lost, every one with its own address.
        var (code, text) = first.WaitForExit(TimeSpan.FromSeconds(120));
        var json = Regex.Match(text, @"^\{.*^\}", RegexOptions.Singleline | RegexOptions.Multiline);
        Assert.True(json.Success, Tail(text));
        using var report = JsonDocument.Parse(json.Value);
        var root = report.RootElement;
        Assert.True(root.GetProperty("established").GetInt32() == Peers, json.Value);
        Assert.True(root.GetProperty("modeConfig").GetProperty("distinctAddresses").GetInt32() == Peers, json.Value);
        Assert.True(root.GetProperty("lostDuringHold").GetInt32() == 0, json.Value + Diagnostics(gateways, killed));
        Assert.Equal(0, code);
        Assert.DoesNotContain(Psk, string.Concat(gateways.Values.Select(g => g.Output)) + text + lateText, StringComparison.Ordinal);
        Assert.DoesNotContain("bench-User-9931", string.Concat(gateways.Values.Select(g => g.Output)) + text + lateText, StringComparison.Ordinal);
    }
}
