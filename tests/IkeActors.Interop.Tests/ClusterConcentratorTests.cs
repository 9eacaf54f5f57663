using System.Diagnostics;
using System.Text.RegularExpressions;
using IkeActors.Testing;
using Xunit.Abstractions;
using static IkeActors.Interop.Tests.ClusterReadings;

namespace IkeActors.Interop.Tests;

/// <summary>
/// Issue 16's proof: three nodes are one concentrator behind one address (docs/cluster.md), three strongSwan peers
/// with their own networks, pre-shared keys and proposals, each pinging a host behind the concentrator at 10/s and one
/// sending iperf3 through it. The peers are spread over the nodes by the upstream router; the node carrying peer A is
/// killed with SIGKILL: A's pings go on after a gap of at most 2 s, B and C lose nothing, strongSwan keeps every IKE SA
/// and SPI, and a survivor's `show crypto ipsec sa` lists A with its counters continuing. The node comes back (nothing
/// lost), then another carrier is killed (the same again). After the failovers the moved peer's DPD is answered, and
/// its Phase 2 and Phase 1 rekeys happen when its short lifetimes run out (strongSwan's own timers, 95 s and 110 s).
/// The lab: tests/lab/cluster-lab.sh (upstream and inside routers, BIRD, BGP + BFD), Redis on the inside router.
/// </summary>
[Collection(ClusterLabCollection.Name)]
public sealed class ClusterConcentratorTests(ITestOutputHelper output)
{
    private const string Hub = ClusterLab.HubInterfaces + """
        crypto ipsec ikev1 transform-set AES128 esp-aes esp-sha-hmac
        crypto ipsec ikev1 transform-set AES256 esp-aes-256 esp-sha256-hmac
        crypto ipsec ikev1 transform-set TDES esp-3des esp-sha-hmac
        crypto dynamic-map DYN 10 set ikev1 transform-set AES128 AES256 TDES
        crypto dynamic-map DYN 10 set reverse-route
        crypto map MAP 65535 ipsec-isakmp dynamic DYN
        crypto map MAP interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption 3des
         hash sha
         group 2
         lifetime 86400
        crypto ikev1 policy 20
         authentication pre-share
         encryption aes
         hash sha
         group 5
         lifetime 86400
        crypto ikev1 policy 30
         authentication pre-share
         encryption aes-256
         hash sha256
         group 14
         lifetime 86400
        """;

    /// <summary>A peer: its namespace name, protected network, key and proposals (tunnel-group by its address).</summary>
    private sealed record PeerSpec(string Name, int Net, string Psk, string Ike, string Esp)
    {
        public int Index { get; set; }
        public string Address => $"198.51.100.{Index * 4 - 2}";
        public string Host => $"192.168.{Net}.1";
        public string Ns { get; set; } = "";
    }

    /// <summary>
    /// A peer handed over between live nodes (the router's re-hash when a path goes or comes back) loses nothing. Two
    /// causes of a lost reply were found and fixed: the old carrier deleting its inside routes before the inside router
    /// had the new carrier's (2.3-2.7 s after a kill; now withdrawn in two steps), and the claim's queue: B's iperf3 at
    /// 20 Mbit/s put 96-142 packets behind one claim on the returning node, and the queue held 64 (now 2,048 a peer).
    /// Each step prints its claims and how many packets waited for each.
    /// </summary>
    private const int MaxLostInLiveHandOver = 0;

    /// <summary>
    /// B's lifetimes (strongswan-peer.sh): its CHILD_SA rekeyed at 85 s, its IKE SA reauthenticated at 99 s. Both after
    /// the failovers, which end 58 s after B came up here (the test checks B's SAs unchanged until then, and says so
    /// if they were not done in time), and no longer after them than needed (they were 108 s and 144 s: 55 s of waiting).
    /// </summary>
    private const int EspLifetime = 95, IkeLifetime = 110;

    [Fact]
    public async Task Three_nodes_three_peers_carriers_killed_and_returned_under_traffic_without_renegotiation()
    {
        using var lab = new ClusterLab(nodes: 3, insideAddress: "172.31.0.1");
        await using var redis = await RedisServer.Start($"{lab.Prefix}-in", bind: "0.0.0.0");
        lab.Daemon($"{lab.Prefix}-in", "iperf3", "-s", "-B", "192.168.100.1"); // stopped with the lab
        var peers = new[]
        {
            new PeerSpec("pa", 11, "alpha-7Jq2", "3des-sha1-modp1024", "aes128-sha1"),
            new PeerSpec("pb", 12, "bravo-x81K", "aes128-sha1-modp1536", "aes256-sha256"),
            new PeerSpec("pc", 13, "charlie-Pz4", "aes256-sha256-modp2048", "3des-sha1"),
        };
        var gateways = _gateways = new Dictionary<int, InteropLab.Gateway>();
        string Config() => Hub + "\n" + string.Join("\n", peers.Select(p => $"tunnel-group {p.Address} type ipsec-l2l\ntunnel-group {p.Address} ipsec-attributes\n ikev1 pre-shared-key {p.Psk}"));
        InteropLab.Gateway Start(int i) =>
            lab.StartGateway(i, Config(), "--cluster", $"redis://10.92.{i}.1:{redis.Port}", "--advertise", $"10.92.{i}.2");

        // Addresses the upstream router spreads over the three nodes (its hash is the kernel's, seeded at boot): the
        // first peer index that lands on each node. The TUN devices must exist for the router to have three paths.
        for (var i = 1; i <= 3; i++) gateways[i] = Start(i);
        InteropLab.Eventually(() => lab.VipNextHops().Count == 3, TimeSpan.FromSeconds(30), () => "VIP: " + string.Join(", ", lab.VipNextHops()));
        var taken = new HashSet<string>();
        var next = 0;
        for (var index = 1; index <= 40 && next < peers.Length; index++)
        {
            var node = lab.Via($"198.51.100.{index * 4 - 2}");
            if (taken.Add(node)) peers[next++].Index = index;
        }
        Assert.True(next == peers.Length, "the upstream router did not spread 40 addresses over three nodes");
        // The configuration names the peers: the gateways restart with it (a node's restart is part of the test anyway).
        foreach (var g in gateways.Values) g.Terminate(15);
        foreach (var g in gateways.Values) g.WaitForExit(TimeSpan.FromSeconds(10));
        for (var i = 1; i <= 3; i++) gateways[i] = Start(i);
        InteropLab.Eventually(() => lab.VipNextHops().Count == 3, TimeSpan.FromSeconds(30), () => "VIP: " + string.Join(", ", lab.VipNextHops()));

        lab.PeerEnvironment["SS_EXTRA_CONN"] = "dpd_delay = 2s"; // an R-U-THERE after 2 s without traffic from us (RFC 3706)
        foreach (var p in peers)
        {
            p.Ns = lab.Peer(p.Name, p.Index, $"{p.Host}/24");
            // B's lifetimes are short: strongSwan rekeys its CHILD_SA at 90 % of 120 s and reauthenticates its IKE SA at
            // 90 % of 160 s (strongswan-peer.sh, rand_time 0), after the three failovers (about 70 s in).
            string[] lifetimes = p.Name == "pb" ? ["--esp-lifetime", EspLifetime.ToString(), "--ike-lifetime", IkeLifetime.ToString()] : [];
            lab.StrongSwan("start", p.Ns, ["--local", p.Address, "--remote", ClusterLab.Vip, "--local-ts", $"192.168.{p.Net}.0/24",
                "--remote-ts", "192.168.100.0/24", "--role", "initiator", "--psk", p.Psk, "--ike", p.Ike, "--esp", p.Esp, .. lifetimes]);
        }
        foreach (var p in peers) lab.StrongSwan("wait-established", p.Ns, "30");
        var bUp = Stopwatch.StartNew();
        foreach (var p in peers)
            InteropLab.Eventually(() => InteropLab.Exec(p.Ns, "ping", "-n", "-c", "1", "-W", "1", "-I", p.Host, "192.168.100.1").Code == 0,
                TimeSpan.FromSeconds(20), () => $"no ping through {p.Name}'s tunnel\n" + redis.Dump());
        var before = peers.ToDictionary(p => p.Name, p => lab.StrongSwan("list-sas", p.Ns));
        int CarrierOf(PeerSpec p) => int.Parse(Regex.Match(redis.Cli("HGET", $"ikeactors:carrier:{p.Address}", "record"), @"""node"":""10\.92\.(\d)\.2:").Groups[1].Value);
        var carriers = peers.ToDictionary(p => p.Name, CarrierOf);
        output.WriteLine("carriers: " + string.Join(", ", peers.Select(p => $"{p.Name} ({p.Address}, {p.Ike}) on node {carriers[p.Name]}")));
        Assert.True(carriers.Values.Distinct().Count() >= 2, "the peers are not spread over two nodes or more");
        // Any node's `show vpn-sessiondb detail l2l` says which node carries each tunnel.
        var sessions = InteropLab.Operator(lab.Node(1), "show", "vpn-sessiondb", "detail", "l2l", "--node", "10.92.1.2:30000");
        foreach (var p in peers)
            Assert.True(Regex.IsMatch(sessions, $@"Connection\s*: {Regex.Escape(p.Address)}\n(?:(?!Connection).*\n)*?\s*Carrier\s*: 10\.92\.{carriers[p.Name]}\.2:"),
                $"{p.Name} on node {carriers[p.Name]}:\n{sessions}\n{redis.Dump()}");

        // 1. The carrier of A killed under traffic (B runs iperf3). A's traffic before it, then a pause: the counts carried
        // to a successor are written every 2 s (CarrierService.CheckpointInterval), so these are in the record.
        var a = peers[0];
        var b = peers[1];
        var killed = carriers[a.Name];
        Assert.Contains(" 100 received", InteropLab.Exec(a.Ns, "ping", "-n", "-q", "-c", "100", "-i", "0.01", "-W", "1", "-I", a.Host, "192.168.100.1").Output);
        await Task.Delay(3000);
        var round = await Traffic(lab, peers, seconds: 15, killAt: 3, iperf: b, () => gateways[killed].Terminate(9));
        Report("node " + killed + " (A's carrier) killed", round);
        Assert.True(round[a.Name].LongestGap <= 20, $"A: a gap of {round[a.Name].LongestGap} pings\n{round[a.Name].Output}");
        Untouched(peers.Skip(1), carriers, killed, round, CarrierOf);
        foreach (var p in peers) SameSas(before[p.Name], lab.StrongSwan("list-sas", p.Ns), p.Name);
        var survivor = CarrierOf(a);
        Assert.NotEqual(killed, survivor);
        // A survivor lists A, its counters going on from the dead node's: what strongSwan sent on the CHILD_SA, less the
        // pings lost in the gap and the 3 s before the kill (at most one checkpoint behind); from zero it would be ~150 short.
        var show = "";
        InteropLab.Eventually(() => (show = Show(lab, survivor, a)).Contains("#pkts decaps", StringComparison.Ordinal), TimeSpan.FromSeconds(20), () => show);
        var (encaps, decaps) = Tunnel.Counters(show);
        var sent = StrongSwanPackets(lab.StrongSwan("list-sas", a.Ns), "out");
        output.WriteLine($"A on node {survivor} after the failover: {decaps} decaps, {encaps} encaps; strongSwan sent {sent}");
        Assert.True(decaps >= sent - 30 - round[a.Name].Lost && decaps <= sent, $"decaps {decaps}, strongSwan sent {sent}\n{show}");
        Assert.True(encaps >= decaps - 30 - round[a.Name].Lost, show);

        // 2. The node returns under traffic: nothing lost.
        carriers = peers.ToDictionary(p => p.Name, CarrierOf);
        round = await Traffic(lab, peers, seconds: 15, killAt: 2, iperf: b, () =>
        {
            gateways[killed] = Start(killed);
            InteropLab.Eventually(() => lab.VipNextHops().Count == 3, TimeSpan.FromSeconds(30), () => "VIP after the return: " + string.Join(", ", lab.VipNextHops()));
        });
        Report($"node {killed} back", round);
        // Peers the upstream router moves onto the returning node are handed over by their live carriers (exact numbers):
        // no ping goes unanswered, a few may come late.
        foreach (var p in peers)
            Assert.True(round[p.Name].MissingFromAct <= MaxLostInLiveHandOver && round[p.Name].LongestGap <= 5, $"{p.Name}: {round[p.Name].Missing} lost, a gap of {round[p.Name].LongestGap} pings\n{round[p.Name].Output}{Warnings(gateways)}");
        foreach (var p in peers) SameSas(before[p.Name], lab.StrongSwan("list-sas", p.Ns), p.Name);

        // 3. Another carrier killed: B's.
        carriers = peers.ToDictionary(p => p.Name, CarrierOf);
        var second = carriers[b.Name];
        round = await Traffic(lab, peers, seconds: 15, killAt: 3, iperf: b, () => gateways[second].Terminate(9));
        Report($"node {second} (B's carrier) killed", round);
        foreach (var p in peers.Where(p => carriers[p.Name] == second))
            Assert.True(round[p.Name].LongestGap <= 20, $"{p.Name}: a gap of {round[p.Name].LongestGap} pings\n{round[p.Name].Output}");
        Untouched(peers.Where(p => carriers[p.Name] != second), carriers, second, round, CarrierOf);
        foreach (var p in peers) SameSas(before[p.Name], lab.StrongSwan("list-sas", p.Ns), p.Name);

        // 4. After the failovers, the moved peer B: DPD answered, a Phase 2 rekey, a Phase 1 rekey, traffic on each.
        // DPD: with the traffic stopped, B's R-U-THEREs (every 2 s) reach its IKE SA on the new carrier, which answers.
        var acks = Regex.Matches(lab.StrongSwanLog(b.Ns), @"N\(DPD_ACK\)").Count;
        var dpd = Stopwatch.StartNew();
        InteropLab.Eventually(() => Regex.Matches(lab.StrongSwanLog(b.Ns), @"N\(DPD_ACK\)").Count > acks, TimeSpan.FromSeconds(30),
            () => "no DPD_ACK for B after the failover\n" + string.Join("\n", lab.StrongSwanLog(b.Ns).Split('\n').Where(l => l.Contains("DPD") || l.Contains("INFORMATIONAL")).TakeLast(20)) + Outputs(gateways));
        output.WriteLine($"B's DPD answered after the failover: {dpd.Elapsed.TotalSeconds:0.0} s after the traffic stopped");
        SameSas(before[b.Name], lab.StrongSwan("list-sas", b.Ns), b.Name);
        // Phase 2 and Phase 1 rekeys when B's lifetimes run out, with the IKE SA and pairs on their new carrier.
        output.WriteLine($"B up for {bUp.Elapsed.TotalSeconds:0} s when the failovers were done (its CHILD_SA rekeys at {EspLifetime * 9 / 10} s)");
        Assert.True(bUp.Elapsed < TimeSpan.FromSeconds(EspLifetime * 9 / 10 - 5),
            $"the failovers took {bUp.Elapsed.TotalSeconds:0} s: too close to B's Phase 2 rekey at {EspLifetime * 9 / 10} s (a slow machine: lengthen EspLifetime)");
        InteropLab.Eventually(() => Spis(lab.StrongSwan("list-sas", b.Ns)) != Spis(before[b.Name]) && Pings(b, 3),
            TimeSpan.FromSeconds(EspLifetime + 30) - bUp.Elapsed, () => "B's Phase 2 rekey after the failover\n" + lab.StrongSwan("list-sas", b.Ns) + Outputs(gateways));
        output.WriteLine($"B's Phase 2 rekey (its {EspLifetime} s lifetime) done and pinging {bUp.Elapsed.TotalSeconds:0.0} s after it came up");
        InteropLab.Eventually(() => IkeSpis(lab.StrongSwan("list-sas", b.Ns)) != IkeSpis(before[b.Name]) && Pings(b, 3),
            TimeSpan.FromSeconds(IkeLifetime + 30) - bUp.Elapsed, () => "B's Phase 1 rekey after the failover\n" + lab.StrongSwan("list-sas", b.Ns) + Outputs(gateways));
        output.WriteLine($"B's Phase 1 reauthentication (its {IkeLifetime} s lifetime) done and pinging {bUp.Elapsed.TotalSeconds:0.0} s after it came up");
    }

    /// <summary>
    /// Peers the killed node did not carry lose nothing. The upstream router's plain multipath route may move one to
    /// another live node when a path goes (docs/cluster.md §1); its live carrier hands it over with exact numbers, its
    /// ESP packets wait for the claim and the inside packets that still reach the old carrier are handed on: nothing
    /// lost, a few replies late at most.
    /// </summary>
    private void Untouched(IEnumerable<PeerSpec> peers, Dictionary<string, int> carriers, int killed, Dictionary<string, PingRound> round, Func<PeerSpec, int> carrierOf)
    {
        foreach (var p in peers)
        {
            var now = carrierOf(p);
            var r = round[p.Name];
            if (now == carriers[p.Name])
                Assert.True(r.LostFromAct == 0, $"{p.Name} (node {now}, not moved) lost {r.LostFromAct} pings after the kill\n{r.Output}");
            else
            {
                output.WriteLine($"{p.Name} moved from live node {carriers[p.Name]} to node {now} by the router's rehash when node {killed} went");
                Assert.True(r.MissingFromAct <= MaxLostInLiveHandOver && r.LongestGap <= 3, $"{p.Name} (moved from live node {carriers[p.Name]} to {now}) lost {r.MissingFromAct} after the kill, gap {r.LongestGap}\n{r.Output}{Warnings(_gateways!)}");
            }
        }
    }

    private Dictionary<int, InteropLab.Gateway>? _gateways;

    /// <summary>The carrier lines of the gateways' warnings (a release not answered in time, for one).</summary>
    private static string Warnings(Dictionary<int, InteropLab.Gateway> gateways) =>
        string.Concat(gateways.Select(g => $"\n--- node {g.Key}: " + string.Join("\n", g.Value.Lines.Where(l => l.Contains("carrier:", StringComparison.Ordinal)))));

    private static string Outputs(Dictionary<int, InteropLab.Gateway> gateways) =>
        string.Concat(gateways.Select(g => $"\n--- node {g.Key}:\n" + g.Value.Output[^Math.Min(4000, g.Value.Output.Length)..]));

    private bool Pings(PeerSpec p, int count) =>
        InteropLab.Exec(p.Ns, "ping", "-n", "-c", count.ToString(), "-i", "0.2", "-W", "1", "-I", p.Host, "192.168.100.1").Output.Contains($" {count} received", StringComparison.Ordinal);

    private static string Show(ClusterLab lab, int node, PeerSpec p) =>
        InteropLab.Operator(lab.Node(node), "show", "crypto", "ipsec", "sa", "peer", p.Address, "--node", $"10.92.{node}.2:30000");

    /// <param name="Lost">Pings without a reply within 1 s or late (ping -O's "no answer yet": over 0.1 s)</param>
    /// <param name="Missing">Pings never answered</param>
    /// <param name="LostBefore">Of <paramref name="Lost"/>, pings sent before the step's action (a kill, a return): not
    /// its doing (B's own iperf3 at 20 Mbit/s shares its tunnel); reported, and the checks count from the action on</param>
    /// <param name="MissingBefore">Of <paramref name="Missing"/>, the same</param>
    private sealed record PingRound(int Lost, int LongestGap, string Output, int Missing = 0, int LostBefore = 0, int MissingBefore = 0)
    {
        public int LostFromAct => Lost - LostBefore;
        public int MissingFromAct => Missing - MissingBefore;
    }

    /// <summary>Every peer pings at 10/s for <paramref name="seconds"/>, one also runs iperf3 (20 Mbit/s); <paramref name="act"/> at <paramref name="killAt"/> s.</summary>
    private static async Task<Dictionary<string, PingRound>> Traffic(ClusterLab lab, PeerSpec[] peers, int seconds, int killAt, PeerSpec iperf, Action act)
    {
        var count = seconds * 10;
        var pings = peers.ToDictionary(p => p.Name, p => Task.Run(() =>
            InteropLab.Exec(p.Ns, "ping", "-n", "-D", "-O", "-c", count.ToString(), "-i", "0.1", "-W", "1", "-I", p.Host, "192.168.100.1").Output));
        var stream = Task.Run(() => InteropLab.Exec(iperf.Ns, "iperf3", "-c", "192.168.100.1", "-B", iperf.Host, "-t", (seconds - 2).ToString(), "-b", "20M", "-i", "1"));
        await Task.Delay(killAt * 1000);
        var actedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        act();
        var result = new Dictionary<string, PingRound>();
        foreach (var (name, task) in pings)
        {
            var text = await task;
            var lost = Regex.Matches(text, @"no answer yet for icmp_seq=(\d+)").Select(m => int.Parse(m.Groups[1].Value)).Distinct().Order().ToList();
            var received = Regex.Match(text, @"(\d+) received");
            var missing = count - (received.Success ? int.Parse(received.Groups[1].Value) : 0);
            // ping -O reports a late ping when it sends the next one (0.1 s later): that time, less the interval, is when it left.
            var before = Regex.Matches(text, @"\[(\d+\.\d+)\] no answer yet for icmp_seq=(\d+)")
                .Where(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) - 0.1 < actedAt)
                .Select(m => int.Parse(m.Groups[2].Value)).Distinct().ToList();
            var answered = Regex.Matches(text, @"icmp_seq=(\d+) ttl=").Select(m => int.Parse(m.Groups[1].Value)).ToHashSet();
            // The lines of the pings not answered in time first (they may lie outside the tail kept), then the tail.
            var late = string.Join("\n", text.Split('\n').Where(l => l.Contains("no answer yet", StringComparison.Ordinal)));
            result[name] = new PingRound(Math.Max(lost.Count, missing), LongestRun(lost),
                $"(acted at [{actedAt:F3}])\n" + late + "\n...\n" + text[^Math.Min(3000, text.Length)..], missing,
                before.Count, before.Count(n => !answered.Contains(n)));
        }
        var (_, iperfOut) = await stream;
        result["iperf3"] = new PingRound(0, 0, iperfOut);
        return result;
    }

    private void Report(string step, Dictionary<string, PingRound> round)
    {
        foreach (var (name, r) in round.Where(r => r.Key != "iperf3"))
            output.WriteLine($"{step}: {name} {r.Lost} pings late or lost ({r.Missing} never answered), longest gap {r.LongestGap * 0.1:0.0} s"
                + (r.LostBefore > 0 ? $"; {r.LostBefore} of them ({r.MissingBefore} never answered) before the action" : ""));
        var iperf = round["iperf3"].Output;
        output.WriteLine($"{step}: iperf3 from B: " + string.Join(" | ", Regex.Matches(iperf, @"(\S+ [KMG]?bits/sec)\s+(\d+)?\s*(sender|receiver)?").Select(m => m.Value.Trim()).TakeLast(4)));
        // The claims this step made: by whom, from whom, and how many packets waited for each (or found its queue full).
        if (_gateways is null) return;
        foreach (var (node, g) in _gateways)
        {
            var claims = g.Lines.Where(l => l.Contains("carried here", StringComparison.Ordinal)).ToList();
            var seen = _claimsReported.GetValueOrDefault(g);
            foreach (var line in claims.Skip(seen)) output.WriteLine($"{step}: node {node}: {Regex.Replace(line, @"^.*?carrier: ", "")}");
            _claimsReported[g] = claims.Count;
        }
    }

    private readonly Dictionary<InteropLab.Gateway, int> _claimsReported = [];

    private static void SameSas(string before, string after, string name)
    {
        Assert.True(Spis(before) == Spis(after), $"{name}: CHILD_SA SPIs changed\n{before}\n{after}");
        Assert.True(IkeSpis(before) == IkeSpis(after), $"{name}: IKE SA changed\n{before}\n{after}");
    }

    /// <summary>The packets strongSwan counts on its CHILD_SA in one direction (`in`/`out` of swanctl --list-sas).</summary>
    private static long StrongSwanPackets(string listSas, string direction)
    {
        var m = Regex.Match(listSas, $@"\b{direction}\s+[0-9a-f]{{8}}[^,]*,\s+\d+ bytes,\s+(\d+) packets");
        Assert.True(m.Success, listSas);
        return long.Parse(m.Groups[1].Value);
    }
}
