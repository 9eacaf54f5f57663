using System.Diagnostics;
using IkeActors.Testing;

namespace IkeActors.Interop.Tests;

/// <summary>
/// tests/lab/cluster-lab.sh for one test: an upstream router, N node namespaces holding the concentrator's address
/// (the VIP) and an inside router, each with BIRD 2 (docs/cluster.md); gateways started in the nodes by the test.
/// Torn down on every path: the gateways by the PIDs we started, the BIRDs and namespaces by the script.
/// </summary>
public sealed class ClusterLab : IDisposable
{
    private static readonly string Scripts = Path.Combine(RepoPaths.Root, "tests", "lab");
    private readonly List<string> _strongSwans = [];
    private static int _instances;
    private readonly string _state = Directory.CreateTempSubdirectory("ikeactors-cluster-").FullName;
    private readonly List<InteropLab.Gateway> _gateways = [];
    private readonly string? _insideAddress;

    public const string Vip = "203.0.113.10";

    /// <summary>The hub's interfaces: the VIP outside, the inside address every node holds (ends with a line break).</summary>
    public const string HubInterfaces = """
        hostname hub
        interface GigabitEthernet0/0
         nameif inside
         security-level 100
         ip address 172.31.0.1 255.255.255.0
        interface GigabitEthernet0/1
         nameif outside
         security-level 0
         ip address 203.0.113.10 255.255.255.0

        """;
    public string Prefix { get; }

    /// <param name="insideAddress">The configuration's inside interface address, held by every node like the VIP.</param>
    public ClusterLab(int nodes, string? insideAddress = null)
    {
        Assert.True(InteropLab.IsRoot, "cluster lab tests need root (network namespaces, TUN); CI runs as root");
        RequiredProgram.Check("bird", "bird2");
        Prefix = $"icl{Environment.ProcessId % 10000}{Interlocked.Increment(ref _instances)}";
        _insideAddress = insideAddress;
        _nodes = nodes;
        try { Run("up", Prefix, nodes.ToString()); }
        catch { Dispose(); throw; }
    }

    private readonly int _nodes;

    /// <summary>The gateways' `debug crypto ikev1` level (0: none).</summary>
    public int DebugLevel { get; set; }

    public string Node(int i) => $"{Prefix}-n{i}";

    /// <summary>`ikeactors run` in node <paramref name="i"/>: bound to the VIP, its TUN device `ike0` (what BIRD announces the VIP through).</summary>
    public InteropLab.Gateway StartGateway(int i, string config, params string[] args) => StartGatewayIn(i, config, args);

    /// <summary>The nodes print their cluster events (carrier claims, hand-overs, directory repairs): a failure's diagnostics.</summary>
    private const string ClusterLogging = "Logging__LogLevel__IkeActors.Gateway.Hosting.Cluster=Information";

    private InteropLab.Gateway StartGatewayIn(int i, string config, string[] args)
    {
        var file = Path.Combine(_state, $"n{i}-{_gateways.Count}.cfg");
        File.WriteAllText(file, config);
        var g = new InteropLab.Gateway(Node(i), ["run", "--config", file, "--bind", $"{Vip}:500", "--tun", "ike0", "--debug", DebugLevel.ToString(), .. args],
            [ClusterLogging]);
        _gateways.Add(g);
        g.WaitFor("ISAKMP on udp", TimeSpan.FromSeconds(60));
        Assert.True(g.Lines.Any(l => l.Contains("ISAKMP on udp", StringComparison.Ordinal)), $"the gateway in {Node(i)} did not start:\n{g.Output}");
        return g;
    }

    /// <summary>The next hops of the upstream router's route to the VIP (the nodes' outside addresses).</summary>
    public IReadOnlyList<string> VipNextHops()
    {
        var (_, output) = InteropLab.Exec($"{Prefix}-up", "ip", "-4", "route", "show", Vip);
        return System.Text.RegularExpressions.Regex.Matches(output, @"via (10\.91\.\d+\.2)").Select(m => m.Groups[1].Value).Distinct().Order().ToList();
    }

    /// <summary>The node (its outside address) the upstream router forwards a packet from <paramref name="source"/> to the VIP to.</summary>
    public string Via(string source) => Run("via", Prefix, source).Trim();

    /// <summary>A program left running in one of this lab's namespaces until the lab goes (its PID is ours to stop).</summary>
    public void Daemon(string ns, string program, params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["netns", "exec", ns, program, .. args]) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { }; // read and dropped: a full pipe would stop it
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _daemons.Add(p);
    }

    private readonly List<Process> _daemons = [];

    /// <summary>
    /// Every node running <paramref name="hub"/> as one cluster on <paramref name="redis"/>'s store, and the anycast
    /// address announced by all of them.
    /// </summary>
    internal Dictionary<int, InteropLab.Gateway> StartHubNodes(string hub, RedisServer redis)
    {
        var gateways = new Dictionary<int, InteropLab.Gateway>();
        for (var i = 1; i <= _nodes; i++)
            gateways[i] = StartGateway(i, hub, "--cluster", $"redis://10.92.{i}.1:{redis.Port}", "--advertise", $"10.92.{i}.2");
        InteropLab.Eventually(() => VipNextHops().Count == _nodes, TimeSpan.FromSeconds(30), () => "VIP: " + string.Join(", ", VipNextHops()));
        return gateways;
    }

    /// <summary>
    /// The namespace `ikeactors bench` runs in, behind the upstream router: its peers' addresses (10.1.0.0/16) are its
    /// own (a local route) and the router routes them to it.
    /// </summary>
    public string BenchNamespace()
    {
        var bench = Peer("bench", 1, "192.168.11.1/24");
        ClusterScaleTests.Ip("-n", bench, "route", "add", "local", "10.1.0.0/16", "dev", "lo");
        ClusterScaleTests.Ip("-n", $"{Prefix}-up", "route", "add", "10.1.0.0/16", "via", "198.51.100.2");
        return bench;
    }

    public static string OutsideOf(int i) => $"10.91.{i}.2";

    /// <summary>A peer namespace PREFIX-NAME behind the upstream router (198.51.100.(4I-2)) with its protected network's address.</summary>
    public string Peer(string name, int i, string inside)
    {
        Run("peer", Prefix, name, i.ToString(), inside);
        return $"{Prefix}-{name}";
    }

    /// <summary>tests/lab/strongswan-peer.sh (start, list-sas, ...) for a peer namespace of this lab.</summary>
    public string StrongSwan(string command, string ns, params string[] args)
    {
        if (command == "start") _strongSwans.Add(ns);
        return RunScript("strongswan-peer.sh", [command, ns, .. args]);
    }

    /// <summary>The charon log of a peer started with <see cref="StrongSwan"/>.</summary>
    public string StrongSwanLog(string ns) => File.ReadAllText(Path.Combine(_state, $"strongswan-{ns}", "charon.log"));

    /// <summary>Extra environment for the peer scripts (SS_EXTRA_CONN and the like).</summary>
    public Dictionary<string, string> PeerEnvironment { get; } = [];

    private string Run(params string[] args) => RunScript("cluster-lab.sh", args);

    private string RunScript(string script, string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(Scripts, script)) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["IKE_INTEROP_DIR"] = _state;
        if (_insideAddress is not null) psi.Environment["LAB_INSIDE_ADDRESS"] = _insideAddress;
        foreach (var (k, v) in PeerEnvironment) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000)) { p.Kill(entireProcessTree: true); Assert.Fail($"{script} {string.Join(' ', args)}: no end in 60 s"); }
        Assert.True(p.ExitCode == 0, $"{script} {string.Join(' ', args)}: exit {p.ExitCode}\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result;
    }

    public void Dispose()
    {
        foreach (var ns in _strongSwans) try { RunScript("strongswan-peer.sh", ["stop", ns]); } catch (Exception) { } // the lab's down stops it anyway
        foreach (var g in _gateways) g.Dispose();
        _gateways.Clear();
        foreach (var d in _daemons) try { if (!d.HasExited) d.Kill(); d.WaitForExit(5000); d.Dispose(); } catch (InvalidOperationException) { }
        try { Run("down", Prefix); }
        finally { Directory.Delete(_state, recursive: true); }
    }
}

/// <summary>
/// The cluster lab tests run one at a time and alone (after the other tests): their figures (gaps of tenths of a second,
/// a 250 ms release deadline) are the concentrator's, not those of other labs sharing this machine's two cores (with a
/// second lab beside it a live hand-over lost a ping in one run of three).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterLabCollection
{
    public const string Name = "cluster lab";
}

/// <summary>What the cluster tests read from ping and swanctl output.</summary>
internal static class ClusterReadings
{
    /// <summary>The longest run of consecutive sequence numbers in an ordered list (pings lost in a row).</summary>
    public static int LongestRun(List<int> seqs)
    {
        int longest = 0, run = 0, last = -2;
        foreach (var s in seqs) { run = s == last + 1 ? run + 1 : 1; last = s; longest = Math.Max(longest, run); }
        return longest;
    }

    /// <summary>The CHILD_SA SPIs of `swanctl --list-sas`, in and out, in order.</summary>
    public static string Spis(string listSas) => string.Join(",", System.Text.RegularExpressions.Regex.Matches(listSas, @"\b(?:in|out)\s+([0-9a-f]{8})").Select(m => m.Groups[1].Value));

    /// <summary>The IKE SA's SPIs (cookies) of `swanctl --list-sas`.</summary>
    public static string IkeSpis(string listSas) => System.Text.RegularExpressions.Regex.Match(listSas, @"[0-9a-f]{16}_i\*?\s+[0-9a-f]{16}_r\*?").Value;
}
