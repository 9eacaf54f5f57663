using IkeActors.Testing;

namespace IkeActors.Interop.Tests;

/// <summary>
/// A lab removes what it made on every path of failure, not only on Dispose. Each test makes one
/// step fail on purpose (a `ping` that fails, an address the kernel refuses, a proposal the peer refuses,
/// an output file that cannot be opened, a configuration the gateway refuses) and then counts what is left:
/// namespaces by the lab's own name prefix, processes by the namespaces they run in.
/// </summary>
public sealed class LabCleanupTests
{
    private static readonly string Scripts = Path.Combine(RepoPaths.Root, "tests", "lab");
    private static int _labs;

    [Fact]
    public void Netns_up_that_fails_at_an_address_removes_the_two_namespaces_it_made()
    {
        var (left, right) = UniqueNames();
        var (code, stdout, stderr) = ProcessRunner.Run("env",
            ["LAB_RIGHT_OUTSIDE=10.0.0.256/24", Path.Combine(Scripts, "netns.sh"), "up", left, right]);

        Assert.True(code != 0, $"netns.sh up accepted 10.0.0.256/24: {stdout}{stderr}");
        // The kernel refuses the right side's address: both namespaces and the veth pair exist by then.
        Assert.Contains("10.0.0.256/24", stderr);
        Assert.Empty(NamespacesNamed(left, right));
    }

    [Fact]
    public void Netns_up_whose_ping_fails_removes_the_two_namespaces_it_made()
    {
        var (left, right) = UniqueNames();
        using var ping = new FailingPing();
        var (code, stdout, stderr) = ProcessRunner.Run("env",
            [$"PATH={ping.Directory}:{Environment.GetEnvironmentVariable("PATH")}", Path.Combine(Scripts, "netns.sh"), "up", left, right]);

        Assert.True(code != 0, $"netns.sh up succeeded with a failing ping: {stdout}{stderr}");
        Assert.True(ping.SawNamespace(left) && ping.SawNamespace(right), "ping ran before both namespaces existed:\n" + ping.Seen);
        Assert.Empty(NamespacesNamed(left, right));
    }

    [Theory]
    [InlineData("ping")]
    [InlineData("address")]
    public void A_lab_whose_setup_fails_half_way_throws_and_leaves_no_namespace(string failure)
    {
        var prefix = $"ikc{Interlocked.Increment(ref _labs)}";
        using var ping = new FailingPing();
        var environment = failure == "ping"
            ? new Dictionary<string, string> { ["PATH"] = $"{ping.Directory}:{Environment.GetEnvironmentVariable("PATH")}" }
            : new Dictionary<string, string> { ["LAB_RIGHT_OUTSIDE"] = "10.0.0.256/24" };

        var e = Assert.ThrowsAny<Exception>(() => new InteropLab(prefix, environment));

        Assert.Contains("netns.sh up", e.Message);
        if (failure == "ping") Assert.True(ping.SawNamespace(prefix + "l") && ping.SawNamespace(prefix + "r"), "ping ran before both namespaces existed:\n" + ping.Seen);
        Assert.Empty(LabNamespaces(prefix));
    }

    [Fact]
    public void A_strongSwan_that_refuses_its_configuration_is_stopped_by_the_failed_start()
    {
        string left, right;
        using (var lab = new InteropLab())
        {
            (left, right) = (lab.Left, lab.Right);
            var e = Assert.ThrowsAny<Exception>(() => lab.StartStrongSwan("--role", "responder", "--ike", "no-such-proposal"));

            // charon was running when swanctl refused the connection; nothing else runs on the right.
            Assert.Empty(ProcessesIn(right));
            Assert.Contains("swanctl could not load", e.Message);
        }
        Assert.Empty(NamespacesNamed(left, right));
    }

    [Fact]
    public void A_Libreswan_that_refuses_its_configuration_is_stopped_by_the_failed_start()
    {
        string left, right;
        using (var lab = new InteropLab())
        {
            (left, right) = (lab.Left, lab.Right);
            var e = Assert.ThrowsAny<Exception>(() => lab.StartLibreswan("--role", "responder", "--ike", "no-such-proposal"));

            // pluto was running when addconn's connection was refused.
            Assert.Empty(ProcessesIn(right));
            Assert.Contains("addconn could not add", e.Message);
        }
        Assert.Empty(NamespacesNamed(left, right));
    }

    [Fact]
    public void A_capture_that_cannot_open_its_file_fails_and_leaves_no_dumpcap()
    {
        string left, right;
        using (var lab = new InteropLab())
        {
            (left, right) = (lab.Left, lab.Right);
            Assert.ThrowsAny<Exception>(() => lab.StartCapture(lab.Left, Path.Combine("no-such-folder", "x.pcap")));
            Assert.Empty(ProcessesIn(left));
        }
        Assert.Empty(NamespacesNamed(left, right));
    }

    [Fact]
    public void A_gateway_that_exits_before_listening_fails_its_start_with_its_output_and_leaves_nothing()
    {
        string left, right;
        using (var lab = new InteropLab())
        {
            (left, right) = (lab.Left, lab.Right);
            var e = Assert.ThrowsAny<Exception>(() => lab.StartGateway(lab.Left, "crypto map MAP 10 set peer\n", "10.0.0.1:500"));

            Assert.Contains("exited before listening", e.Message);
            Assert.Empty(ProcessesIn(left));
        }
        Assert.Empty(NamespacesNamed(left, right));
    }

    [Fact]
    public void Dispose_stops_every_process_the_lab_started_and_removes_both_namespaces()
    {
        var lab = new InteropLab();
        string left = lab.Left, right = lab.Right;
        int[] started;
        try
        {
            lab.StartStrongSwan("--role", "responder");
            lab.StartCapture(lab.Left, "left.pcap");
            lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500");
            started = [.. ProcessesIn(left), .. ProcessesIn(right)];
            Assert.True(started.Length >= 3, $"charon, dumpcap and the gateway: {started.Length} processes in the lab");
        }
        finally
        {
            lab.Dispose();
        }

        Assert.Empty(NamespacesNamed(left, right));
        Assert.All(started, pid => Assert.False(Running(pid), $"process {pid} outlived the lab"));
    }

    /// <summary>
    /// cluster-lab.sh down removes every namespace under the lab's prefix, not only its routers, nodes and `-p…` peers: a
    /// load generator's namespace (ClusterScaleTests' `-bench`) was left behind once per run before.
    /// </summary>
    [Fact]
    public void Cluster_lab_down_removes_every_namespace_under_its_prefix()
    {
        Assert.True(InteropLab.IsRoot, "needs root (network namespaces)");
        RequiredProgram.Check("bird", "bird2");
        var prefix = $"iclc{Environment.ProcessId % 10000}{Interlocked.Increment(ref _labs)}";
        var state = Directory.CreateTempSubdirectory("ikeactors-cluster-cleanup-").FullName;
        string[] env = [$"IKE_INTEROP_DIR={state}"];
        try
        {
            var (code, stdout, stderr) = ProcessRunner.Run("env", [.. env, Path.Combine(Scripts, "cluster-lab.sh"), "up", prefix, "1"]);
            Assert.True(code == 0, stdout + stderr);
            ProcessRunner.Run("env", [.. env, Path.Combine(Scripts, "cluster-lab.sh"), "peer", prefix, "pa", "1"]);
            ProcessRunner.Run("ip", ["netns", "add", $"{prefix}-bench"]);
            Assert.Equal(5, Namespaces().Count(n => n.StartsWith(prefix + "-", StringComparison.Ordinal)));
            (code, stdout, stderr) = ProcessRunner.Run("env", [.. env, Path.Combine(Scripts, "cluster-lab.sh"), "down", prefix]);
            Assert.True(code == 0, stdout + stderr);
            Assert.DoesNotContain(Namespaces(), n => n.StartsWith(prefix + "-", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var ns in Namespaces().Where(n => n.StartsWith(prefix + "-", StringComparison.Ordinal))) ProcessRunner.Run("ip", ["netns", "del", ns]);
            Directory.Delete(state, recursive: true);
        }
    }

    private static (string Left, string Right) UniqueNames()
    {
        var n = Interlocked.Increment(ref _labs);
        return ($"ikcsl{Environment.ProcessId % 10000}-{n}", $"ikcsr{Environment.ProcessId % 10000}-{n}");
    }

    private static string[] Namespaces()
    {
        var (code, stdout, stderr) = ProcessRunner.Run("ip", ["netns", "list"]);
        Assert.True(code == 0, "ip netns list: " + stderr);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => l.Split(' ')[0]).ToArray();
    }

    private static string[] NamespacesNamed(params string[] names) => Namespaces().Where(names.Contains).ToArray();

    /// <summary>The namespaces of InteropLab(prefix, ...) of this process: PREFIXl{pid}-n and PREFIXr{pid}-n.</summary>
    private static string[] LabNamespaces(string prefix) =>
        Namespaces().Where(n => n.StartsWith($"{prefix}l{Environment.ProcessId % 10000}-", StringComparison.Ordinal)
            || n.StartsWith($"{prefix}r{Environment.ProcessId % 10000}-", StringComparison.Ordinal)).ToArray();

    private static int[] ProcessesIn(string ns)
    {
        var (_, stdout, _) = ProcessRunner.Run("ip", ["netns", "pids", ns]);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
    }

    /// <summary>True while a process runs (a zombie its parent has not reaped yet has ended: state Z in /proc/PID/stat).</summary>
    private static bool Running(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); } catch (IOException) { return false; }
        var state = stat[(stat.LastIndexOf(')') + 2)..];
        return !state.StartsWith('Z');
    }

    /// <summary>A folder with a `ping` that fails, after noting the namespaces that existed when it ran.</summary>
    private sealed class FailingPing : IDisposable
    {
        public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("ikeactors-failing-ping-").FullName;
        private string Log => Path.Combine(Directory, "seen");

        public FailingPing()
        {
            var ping = Path.Combine(Directory, "ping");
            File.WriteAllText(ping, $"#!/bin/sh\nip netns list >>'{Log}'\nexit 1\n");
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(ping, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        public string Seen => File.Exists(Log) ? File.ReadAllText(Log) : "(ping never ran)";

        public bool SawNamespace(string namePrefix) =>
            Seen.Split('\n').Any(l => l.StartsWith(namePrefix, StringComparison.Ordinal));

        public void Dispose()
        {
            try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
        }
    }
}
