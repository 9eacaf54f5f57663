using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using IkeActors.Gateway.Tests.Flood;
using IkeActors.Negotiation;
using IkeActors.Testing;
using Xunit.Abstractions;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// A hostile Internet against a real `ikeactors run` responder on loopback: floods of valid MM1s with fresh cookies
/// and malformed datagrams of every kind, from one address and from 200 addresses of 127.0.0.0/8. The configured
/// peer (the seed's initiator, 10.0.0.1 mapped to a loopback port) must still bring its tunnel up within 5 s, after
/// the flood and while 2,000 MM1/s from one address go on; the gateway's memory stays bounded; the operator sees the
/// refusals by reason in `show crypto isakmp stats`. Half-open SAs that time out inside
/// their grain must leave the front-end's count, or after 1,024 of them no MM1 would be answered again.
/// </summary>
[Collection(nameof(FloodsRunAlone))]
public class Mm1FloodTests(ITestOutputHelper log)
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");
    private static string Sample(string file) => File.ReadAllText(Path.Combine(RepoPaths.Root, "samples", "SiteToSite", file));

    /// <summary>The seed initiator's real MM1 (our engine, the seed's ASA 1 configuration).</summary>
    internal static byte[] SeedMm1()
    {
        var loaded = IkeActors.Config.AsaConfigLoader.Load(Sample("asa1-initiator.cfg"));
        using var engine = new NegotiationEngine(new GatewayContext(loaded.Config, new IPEndPoint(IPAddress.Parse("10.0.0.1"), 500)));
        var output = new NegotiationOutput();
        engine.Acquire(new IkeActors.Config.Lookup.Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), output);
        return output.OfType<SendDatagram>().Single().Datagram;
    }

    private static long RssKb(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(Regex.Match(line, @"\d+").Value, CultureInfo.InvariantCulture);
    }

    private sealed record Node(Running Process, int Port, int GatewayPort, string Dir) : IDisposable
    {
        public void Dispose()
        {
            Process.Stop();
            try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The seed's responder ASA; with <paramref name="defaultKey"/> every address has a key (DefaultL2LGroup), so floods take room.</summary>
    private static async Task<Node> StartResponder(int peerPort, bool defaultKey, params string[] extra)
    {
        var dir = Directory.CreateTempSubdirectory("ikeactors-flood-").FullName;
        var config = Sample("asa2-responder.cfg") + (defaultKey ? "\ntunnel-group DefaultL2LGroup ipsec-attributes\n ikev1 pre-shared-key flood-key\n" : "");
        File.WriteAllText(Path.Combine(dir, "responder.cfg"), config);
        var (port, silo, gateway) = (FreePorts.Udp(), FreePorts.Tcp(), FreePorts.Tcp());
        var process = Running.Start(Dll, ["run", "--config", Path.Combine(dir, "responder.cfg"), "--bind", $"127.0.0.1:{port}",
            "--peer-map", $"10.0.0.1=127.0.0.1:{peerPort}", "--silo-port", silo.ToString(CultureInfo.InvariantCulture),
            "--gateway-port", gateway.ToString(CultureInfo.InvariantCulture), "--debug", "0", "--exit-after", "600", .. extra]);
        var node = new Node(process, port, gateway, dir);
        try { await process.WaitForLine("ISAKMP on udp", TimeSpan.FromSeconds(60)); }
        catch { node.Dispose(); throw; }
        return node;
    }

    /// <summary>The configured peer negotiates (Main Mode + Quick Mode) and must have phase 2 within <paramref name="within"/>; the caller ends it.</summary>
    private LoopbackPeer TunnelUp(Node node, int peerPort, TimeSpan within, LoopbackPeer? again = null)
    {
        var peer = again ?? new LoopbackPeer(Sample("asa1-initiator.cfg"), new IPEndPoint(IPAddress.Loopback, peerPort),
            new IPEndPoint(IPAddress.Loopback, node.Port), IPAddress.Parse("10.0.0.2"));
        var clock = Stopwatch.StartNew();
        if (again is null) peer.Start();
        else peer.Reconnect();
        var up = peer.Phase2.Wait(within);
        var elapsed = clock.Elapsed;
        if (!up) peer.Dispose();
        Assert.True(up, $"the configured peer's tunnel is not up within {within.TotalSeconds} s ({peer.Retransmissions} retransmissions); its lines:\n"
            + string.Join("\n", peer.Lines.TakeLast(15)));
        log.WriteLine($"  configured peer: phase 2 up in {elapsed.TotalMilliseconds:F0} ms ({peer.Retransmissions} retransmissions)");
        return peer;
    }

    private static string Stats(Node node)
    {
        var (code, stdout, stderr) = ProcessRunner.Run("dotnet", [Dll, "show", "crypto", "isakmp", "stats", "--node", $"127.0.0.1:{node.GatewayPort}"]);
        Assert.True(code == 0, stdout + stderr);
        return stdout;
    }

    internal static long Counter(string stats, string name)
    {
        var m = Regex.Match(stats, $@"^  {Regex.Escape(name)}\s+(\d+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no '{name}' line in:\n{stats}");
        return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Polls `show crypto isakmp stats` (nodes publish every 2 s) until the condition holds.</summary>
    private static string StatsWhen(Node node, Func<string, bool> condition)
    {
        var until = Environment.TickCount64 + 20_000;
        string stats;
        do
        {
            stats = Stats(node);
            if (condition(stats)) return stats;
            Thread.Sleep(500);
        }
        while (Environment.TickCount64 < until);
        Assert.Fail("not within 20 s:\n" + stats);
        return stats;
    }

    [Fact]
    public async Task Floods_from_one_and_from_200_addresses_leave_the_configured_peer_its_tunnel_and_memory_bounded()
    {
        var peerPort = FreePorts.Udp();
        using var node = await StartResponder(peerPort, defaultKey: true);
        var mm1 = SeedMm1();
        var pid = node.Process.Process.Id;
        var target = new IPEndPoint(IPAddress.Loopback, node.Port);
        var rss = new List<(long Datagrams, long Kb)> { (0, RssKb(pid)) };

        // 200 addresses, then one address: 100,000 datagrams, one in ten malformed (every kind in turn).
        using (var many = new Mm1Flood(target, mm1, Mm1Flood.Addresses(200)))
            many.Send(50_000, perSecond: 10_000, malformedEvery: 10, TimeSpan.FromSeconds(60), every: 10_000,
                at: n => { if (n is 10_000 or 50_000) rss.Add((n, RssKb(pid))); });
        using (var one = new Mm1Flood(target, mm1, [IPAddress.Parse("127.0.0.50")]))
            one.Send(50_000, perSecond: 10_000, malformedEvery: 10, TimeSpan.FromSeconds(60), every: 50_000,
                at: _ => rss.Add((100_000, RssKb(pid))));
        Assert.False(node.Process.Process.HasExited, "the gateway died under the flood");
        foreach (var (n, kb) in rss) log.WriteLine($"  gateway RSS after {n,7} flood datagrams: {kb / 1024.0:F1} MB");

        // Right after the flood: the configured peer's tunnel, within 5 s.
        using var peer = TunnelUp(node, peerPort, TimeSpan.FromSeconds(5));

        // And while 2,000 MM1/s from one address go on (a fresh address: its own share is still empty).
        using (var cts = new CancellationTokenSource())
        using (var steady = new Mm1Flood(target, mm1, [IPAddress.Parse("127.0.0.60")]))
        {
            var flood = Task.Run(() => steady.Send(40_000, perSecond: 2_000, malformedEvery: 0, TimeSpan.FromSeconds(20), cts.Token));
            await Task.Delay(TimeSpan.FromSeconds(3));
            TunnelUp(node, peerPort, TimeSpan.FromSeconds(5), again: peer); // the peer deletes its tunnel and makes a new one
            await Task.Delay(TimeSpan.FromSeconds(2));
            cts.Cancel();
            await flood;
            log.WriteLine($"  steady flood: {steady.Sent} MM1s at 2,000/s");
            // The new IKE SA is up; the one the peer deleted counts as previous.
            var active = StatsWhen(node, s => Counter(s, "Active Tunnels:") == 1);
            Assert.True(Counter(active, "Previous Tunnels:") >= 1, active);
        }

        var stats = StatsWhen(node, s => Counter(s, "Peer In-Negotiation Limit (5):") > 50_000);
        log.WriteLine(stats);
        // One address holds at most its own share (5); 200 addresses at most 5 each: never the node's 1,024.
        Assert.InRange(Counter(stats, "In-Negotiation SAs Highwater:"), 5, 1_024);
        // Of ~100k valid flood MM1s sent (the kernel drops some on loopback under load), all but each address's share were refused.
        Assert.True(Counter(stats, "Peer In-Negotiation Limit (5):") > 50_000, stats);
        Assert.True(Counter(stats, "Malformed:") > 1_000, stats);
        Assert.True(Counter(stats, "In Drop Packets:") > 50_000, stats);
        Assert.True(Counter(stats, "No Sa Fails:") > 100, stats); // made-up cookies: no SA, nothing started

        // Memory: the old front-end grew ~11 MB per 1,000 flood MM1s; bounded means 100k cost what 10k did, give or take.
        var at10k = rss.Single(r => r.Datagrams == 10_000).Kb;
        var at100k = rss.Single(r => r.Datagrams == 100_000).Kb;
        Assert.True(at100k - at10k < 150 * 1024, $"RSS grew {(at100k - at10k) / 1024} MB from 10k to 100k flood datagrams");
    }

    [Fact]
    public async Task MM1s_from_addresses_without_any_key_take_no_room_and_get_no_answer()
    {
        var peerPort = FreePorts.Udp();
        using var node = await StartResponder(peerPort, defaultKey: false, "--max-half-open", "8");
        using (var flood = new Mm1Flood(new IPEndPoint(IPAddress.Loopback, node.Port), SeedMm1(), Mm1Flood.Addresses(50, a: 2)))
            flood.Send(5_000, perSecond: 5_000, malformedEvery: 0, TimeSpan.FromSeconds(20));

        var stats = StatsWhen(node, s => Counter(s, "No Pre-shared Key:") >= 5_000);
        Assert.Equal(0, Counter(stats, "In-Negotiation SAs Highwater:"));
        Assert.Equal(0, Counter(stats, "Out Packets:")); // no MM2 to anybody
        // A node bounded at 8 half-open SAs still has all 8 for its configured peer.
        TunnelUp(node, peerPort, TimeSpan.FromSeconds(5)).Dispose();
    }
}

/// <summary>
/// The floods count what the gateway received of what was sent on loopback: beside other tests' processes on a busy
/// machine the kernel drops datagrams before any socket sees them, so they run alone (after the parallel tests).
/// </summary>
[CollectionDefinition(nameof(FloodsRunAlone), DisableParallelization = true)]
public sealed class FloodsRunAlone;
