using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using IkeActors.Testing;
using Xunit.Abstractions;

namespace IkeActors.Interop.Tests;

/// <summary>
/// Issue 16 at a concentrator's scale: hundreds of peers on the node that dies, not one. `ikeactors bench` acts as
/// <see cref="Peers"/> peers, each from its own address behind the upstream router (which spreads them over three nodes
/// by its multipath hash), brings their tunnels up through the hub's dynamic crypto map, and holds them with DPD every
/// 10 s (RFC 3706; the hub's own DPD waits 30 s, so the peers' R-U-THEREs are what crosses the failover). The node carrying the most is SIGKILLed: its peers' next datagrams (R-U-THEREs and ACKs) reach
/// survivors, which claim them from their carrier records and answer from their IKE SAs brought back from storage. Every
/// tunnel must stay up (the bench's DPD would declare a peer dead after four unanswered R-U-THEREs, 8 s), every one of the
/// dead node's peers must be carried by a survivor, and the cluster must still hold exactly one IKE SA per peer: nothing
/// renegotiated. The figures (how long any peer waited for a DPD answer, how long until the last claim) go to the output.
/// </summary>
[Collection(ClusterLabCollection.Name)]
public sealed class ClusterScaleTests(ITestOutputHelper output)
{
    /// <summary>600 in the suite; IKEACTORS_SCALE_PEERS for a bigger run by hand (the figures in docs/cluster.md).</summary>
    private static readonly int Peers = int.TryParse(Environment.GetEnvironmentVariable("IKEACTORS_SCALE_PEERS"), out var n) && n > 0 ? n : 600;
    private const string Psk = "scale-Hub-4471";

    private const string Hub = ClusterLab.HubInterfaces + """
        crypto ipsec ikev1 transform-set AES128 esp-aes esp-sha-hmac
        crypto dynamic-map DYN 10 set ikev1 transform-set AES128
        crypto dynamic-map DYN 10 set reverse-route
        crypto map MAP 65535 ipsec-isakmp dynamic DYN
        crypto map MAP interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption aes
         hash sha
         group 2
         lifetime 86400
        tunnel-group DefaultL2LGroup ipsec-attributes
         ikev1 pre-shared-key scale-Hub-4471
         isakmp keepalive threshold 30 retry 2
        """;

    [Fact]
    public async Task A_node_carrying_hundreds_of_peers_is_killed_and_every_tunnel_stays_without_renegotiation()
    {
        using var lab = new ClusterLab(nodes: 3, insideAddress: "172.31.0.1");
        await using var redis = await RedisServer.Start($"{lab.Prefix}-in", bind: "0.0.0.0");
        var gateways = lab.StartHubNodes(Hub, redis);

        var bench = lab.BenchNamespace();

        var run = new InteropLab.Gateway(bench, ["bench", "--target", ClusterLab.Vip, "--sources", "10.1.0.1", "--peers", Peers.ToString(CultureInfo.InvariantCulture),
            "--concurrency", "60", "--psk", Psk, "--ike", "aes128-sha1-modp1024", "--esp", "aes128-sha1", "--local-ts", "172.16.0.0/12",
            "--remote-ts", "192.168.100.0/24", "--timeout", "90", "--hold", "35", "--dpd", "10", "--no-delete", "--json"]);
        using var _ = run;
        var clock = Stopwatch.StartNew();
        InteropLab.Eventually(() => run.Lines.Any(l => l.Contains($" established {Peers} ", StringComparison.Ordinal)), TimeSpan.FromSeconds(60 + Peers / 20),
            () => "the bench's tunnels did not all come up\n" + Tail(run.Output));
        var setup = clock.Elapsed;

        // Every peer's carrier from its record; the node carrying the most is the one to kill.
        var before = Carriers(redis);
        Assert.True(before.Count == Peers, $"{before.Count} carrier records for {Peers} peers");
        var perNode = before.Values.GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"{Peers} tunnels up in {setup.TotalSeconds:0.0} s; carried: " + string.Join(", ", perNode.OrderBy(kv => kv.Key).Select(kv => $"node {kv.Key} {kv.Value}")));
        Assert.True(perNode.Count == 3, "the upstream router did not spread the peers over three nodes");
        var killed = perNode.MaxBy(kv => kv.Value).Key;
        var moving = before.Where(kv => kv.Value == killed).Select(kv => kv.Key).ToHashSet();
        var survivor = perNode.Keys.First(n => n != killed);

        // Every IKE SA's Phase 1 rekey point (absolute, in its stored state): they must be the same after the failover.
        // (SAs negotiated in the front-end's lanes report theirs once their grains take them: FrontEndOptions.PromotionGrace.)
        var timersBefore = "";
        InteropLab.Eventually(() => (timersBefore = Timers(lab, survivor)).Contains($"Phase 1 rekey timers: {Peers} IKE SAs", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), () => timersBefore);

        // Let DPD settle into its rhythm, then kill.
        await Task.Delay(5000);
        gateways[killed].Terminate(9);
        var killedAt = DateTime.UtcNow;
        var sinceKill = Stopwatch.StartNew();
        TimeSpan? allMoved = null;
        while (sinceKill.Elapsed < TimeSpan.FromSeconds(30))
        {
            var now = Carriers(redis);
            if (moving.All(p => now.TryGetValue(p, out var n) && n != killed)) { allMoved = sinceKill.Elapsed; break; }
            await Task.Delay(200);
        }
        var after = Carriers(redis);
        Assert.True(allMoved is not null, $"{moving.Count(p => !after.TryGetValue(p, out var n) || n == killed)} of node {killed}'s {moving.Count} peers not carried by a survivor 30 s after the kill: " +
            string.Join(" ", moving.Where(p => !after.TryGetValue(p, out var n) || n == killed).Take(20)) + Diagnostics(gateways, killed) + "\n--- bench:\n" + Tail(run.Output));
        // Peers of the live nodes stay where they were (the plain multipath route may move some: then a live hand-over).
        var rehashed = before.Count(kv => kv.Value != killed && after[kv.Key] != kv.Value);
        output.WriteLine($"node {killed} killed with {moving.Count} peers: all carried by survivors {allMoved!.Value.TotalSeconds:0.0} s after the kill " +
            $"(each at its first datagram after it: DPD every 10 s); {rehashed} peers of live nodes moved by the router's rehash");

        // Nothing renegotiated: the cluster holds one IKE SA per peer, as before the kill (once Orleans has declared the
        // node dead, 1 s probes x 3, and its IKE SA grains are back on the survivors: show asks them).
        var show = "";
        InteropLab.Eventually(() => (show = InteropLab.Operator(lab.Node(survivor), "show", "crypto", "isakmp", "sa", "--node", $"10.92.{survivor}.2:30000"))
            .Contains($"Total IKE SA: {Peers}\n", StringComparison.Ordinal), TimeSpan.FromSeconds(20), () => MissingFromShow(show, before, killed, after) + Diagnostics(gateways, killed));
        output.WriteLine($"show crypto isakmp sa on node {survivor}, {sinceKill.Elapsed.TotalSeconds:0.0} s after the kill: Total IKE SA: {Peers}");
        // The lifetimes went with the SAs: the moved ones' rekey timers were re-armed at their stored due times, not anew.
        var timersAfter = Timers(lab, survivor);
        Assert.True(timersAfter == timersBefore, $"the Phase 1 rekey points changed with the failover:\n{timersBefore}\n{timersAfter}");

        // The bench ends after its hold: every tunnel still up, none declared dead by its DPD.
        var (code, text) = run.WaitForExit(TimeSpan.FromSeconds(120));
        Assert.True(code is not null, "the bench did not end\n" + Tail(text));
        var json = Regex.Match(text, @"^\{.*^\}", RegexOptions.Singleline | RegexOptions.Multiline);
        Assert.True(json.Success, Tail(text));
        using var report = JsonDocument.Parse(json.Value);
        var root = report.RootElement;
        var dpd = root.GetProperty("dpd");
        output.WriteLine($"bench: established {root.GetProperty("established")}, lost during hold {root.GetProperty("lostDuringHold")}; DPD {dpd}");
        // A lane that went on without a grain's answer (its silo had just died) says so: seen here, passed or failed.
        foreach (var (node, gateway) in gateways.Where(g => g.Key != killed))
            foreach (var line in Logged(gateway.Lines).Where(l => l.Contains("lanes:", StringComparison.Ordinal)).TakeLast(4))
                output.WriteLine($"node {node}: {line}");
        Assert.True(root.GetProperty("established").GetInt32() == Peers, json.Value);
        var lost = root.GetProperty("lostPeers").EnumerateArray().Select(e => e.GetString()!.Split(' ')[0]).ToList();
        Assert.True(root.GetProperty("lostDuringHold").GetInt32() == 0, json.Value + $"\nnode {killed} killed at {killedAt:HH:mm:ss.fff}; the lost peers' carriers before -> after: "
            + string.Join(", ", lost.Select(p => $"{p} {before.GetValueOrDefault(p)}->{after.GetValueOrDefault(p)}")) + Diagnostics(gateways, killed)
            + string.Concat(gateways.Where(g => g.Key != killed).Select(g => $"\n--- node {g.Key} on the lost peers:\n"
                + string.Join("\n", g.Value.Lines.Where(l => lost.Any(p => l.Contains(p + " ", StringComparison.Ordinal) || l.EndsWith(p, StringComparison.Ordinal))).TakeLast(40)))));
        Assert.Equal(0, code);
        // A peer waited for a DPD answer at most: the claim (0.25 s without an answer from the dead node) and Orleans
        // declaring the node dead (1 s probes x 3) before its IKE SA grain activates on the survivor.
        Assert.True(dpd.GetProperty("longestWaitMs").GetDouble() < 8000, dpd.ToString());

        Assert.DoesNotContain(Psk, string.Concat(gateways.Values.Select(g => g.Output)) + text, StringComparison.Ordinal);
    }

    /// <summary>Every carrier record's node (its inside address' last digit) by peer address, in one round trip.</summary>
    internal static Dictionary<string, int> Carriers(RedisServer redis)
    {
        const string script = """
            local r = {}
            for _, k in ipairs(redis.call('KEYS', 'ikeactors:carrier:*')) do
              local v = redis.call('HGET', k, 'record')
              if v then table.insert(r, k .. ' ' .. (string.match(v, '"node":"10%.92%.(%d)%.2:') or '?')) end
            end
            return r
            """;
        var result = new Dictionary<string, int>();
        foreach (var line in redis.Cli("EVAL", script, "0").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var m = Regex.Match(line, @"ikeactors:carrier:(\S+) (\d)$");
            if (m.Success) result[m.Groups[1].Value] = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        }
        return result;
    }

    /// <summary>`show crypto isakmp timers` without the "(in N s)" countdowns: the SAs' absolute Phase 1 rekey points.</summary>
    private static string Timers(ClusterLab lab, int node) =>
        Regex.Replace(InteropLab.Operator(lab.Node(node), "show", "crypto", "isakmp", "timers", "--node", $"10.92.{node}.2:30000"), @" \(in \d+ s\)", "");

    /// <summary>The peers `show crypto isakmp sa` does not list, with where they were carried before and after the kill.</summary>
    private static string MissingFromShow(string show, Dictionary<string, int> before, int killed, Dictionary<string, int> after)
    {
        var listed = Regex.Matches(show, @"IKE Peer: (\S+)").Select(m => m.Groups[1].Value).ToHashSet();
        var missing = before.Keys.Where(p => !listed.Contains(p)).ToList();
        return show[..Math.Min(300, show.Length)] + $"\n{missing.Count} peers not listed (node {killed} killed): " +
            string.Join(", ", missing.Take(40).Select(p => $"{p} {before[p]}->{(after.TryGetValue(p, out var n) ? n : 0)}"));
    }

    /// <summary>The survivors' cluster events, warnings and failures (the last 30), and their last 10 carrier lines.</summary>
    internal static string Diagnostics(Dictionary<int, InteropLab.Gateway> gateways, int killed) =>
        string.Concat(gateways.Where(g => g.Key != killed).Select(g =>
            $"\n--- node {g.Key}:\n" + string.Join("\n", Logged(g.Value.Lines).Where(l => l.Contains("cluster:", StringComparison.Ordinal)
                || l.Contains("warn", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase)).TakeLast(30)
                .Concat(g.Value.Lines.Where(l => l.Contains("carrier", StringComparison.Ordinal)).TakeLast(10)))));

    /// <summary>A node's output with each log entry's header ("warn: Category[0]") joined to its message line.</summary>
    internal static IEnumerable<string> Logged(IReadOnlyList<string> lines)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            var header = Regex.IsMatch(lines[i], @"^(stderr: |stdout: )?(trce|dbug|info|warn|fail|crit): \S+\[\d+\]$");
            if (header && i + 1 < lines.Count) yield return lines[i] + " " + Regex.Replace(lines[++i], @"^(stderr: |stdout: )?\s*", "");
            else yield return lines[i];
        }
    }

    internal static string Tail(string text) => text[^Math.Min(6000, text.Length)..];

    internal static void Ip(params string[] args)
    {
        var (code, stdout, stderr) = ProcessRunner.Run("ip", args);
        Assert.True(code == 0, $"ip {string.Join(' ', args)}: {stdout}{stderr}");
    }
}
