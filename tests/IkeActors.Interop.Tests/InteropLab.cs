using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using IkeActors.Testing;

namespace IkeActors.Interop.Tests;

/// <summary>
/// One lab of tests/lab per test: two namespaces of its own (unique names), strongSwan, Libreswan or a
/// second gateway on the right, `ikeactors run` on the left, and everything torn down afterwards
/// (processes by the PIDs we started, the peer by its script, the namespaces). Torn down on every path
/// of failure too: a constructor whose setup fails half-way removes what was made before it throws,
/// and a Start... that fails stops what it launched.
/// </summary>
public sealed class InteropLab : IDisposable
{
    private static readonly string Scripts = Path.Combine(RepoPaths.Root, "tests", "lab");
    private static int _instances;

    public string State { get; }
    public string Left { get; }
    public string Right { get; }
    private readonly IReadOnlyDictionary<string, string> _scriptEnvironment;
    private readonly List<Gateway> _gateways = [];
    private readonly List<string> _captures = [];
    private bool _strongSwan, _libreswan, _vpnc, _up;
    private string? _libreswanRoot;

    public InteropLab()
        : this("ik", new Dictionary<string, string>())
    {
    }

    /// <summary>
    /// A lab whose namespaces are named PREFIXl… and PREFIXr…, its scripts run with extra environment
    /// variables (LabCleanupTests make the setup fail this way and count what is left).
    /// </summary>
    internal InteropLab(string prefix, IReadOnlyDictionary<string, string> scriptEnvironment)
    {
        Assert.True(geteuid() == 0, "interop tests need root (network namespaces, TUN); CI runs as root");
        RequiredProgram.Check("ip", "iproute2");
        RequiredProgram.Check("ping", "iputils-ping");
        RequiredProgram.Check("unshare", "util-linux");
        _scriptEnvironment = scriptEnvironment;
        var n = Interlocked.Increment(ref _instances);
        Left = $"{prefix}l{Environment.ProcessId % 10000}-{n}";
        Right = $"{prefix}r{Environment.ProcessId % 10000}-{n}";
        State = Directory.CreateTempSubdirectory("ikeactors-interop-").FullName;
        try
        {
            _up = true; // from the first command on: `netns.sh down` removes whatever a half-made `up` left
            Script("netns.sh", "up", Left, Right);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The seed's initiator ASA with one `permit ip` line, so any traffic between the inside networks is protected.</summary>
    public static string LeftConfig(Func<string, string>? edit = null) => Edited(RepoPaths.SiteToSite("asa1-initiator.cfg"), edit);

    /// <summary>The seed's responder ASA (10.0.0.2, 192.168.2.0/24), likewise.</summary>
    public static string RightConfig(Func<string, string>? edit = null) => Edited(RepoPaths.SiteToSite("asa2-responder.cfg"), edit);

    private static string Edited(string path, Func<string, string>? edit)
    {
        var text = File.ReadAllText(path);
        text = Regex.Replace(text, @"(access-list VPN extended permit )tcp( [0-9. ]+)\r?\n", "$1ip$2\n");
        text = Regex.Replace(text, @"access-list VPN extended permit icmp [0-9. ]+\r?\n", "");
        return edit is null ? text : edit(text);
    }

    public static string Replace(string text, string find, string with)
    {
        Assert.Contains(find, text);
        return text.Replace(find, with);
    }

    public string WriteFile(string name, string text)
    {
        var path = Path.Combine(State, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void StartStrongSwan(params string[] args)
    {
        RequiredProgram.Check("/usr/lib/ipsec/charon", "strongswan-charon");
        RequiredProgram.Check("swanctl", "strongswan-swanctl");
        _strongSwan = true;
        Starting(() => Script("strongswan-peer.sh", ["start", Right, "--local", "10.0.0.2", "--remote", "10.0.0.1",
                "--local-ts", "192.168.2.0/24", "--remote-ts", "192.168.1.0/24", "--psk", "cisco", "--retransmit", "1,1.5,2", .. args]),
            () => Script("strongswan-peer.sh", "stop", Right));
    }

    public string StrongSwanLog => File.ReadAllText(Path.Combine(State, "strongswan-" + Right, "charon.log"));

    /// <summary>vpnc 0.5.3 as a remote-access client in the right namespace (vpnc-peer.sh: its own TUN, our script for routes).</summary>
    public void StartVpnc(params string[] args)
    {
        RequiredProgram.Check("vpnc", "vpnc");
        _vpnc = true;
        Starting(() => Script("vpnc-peer.sh", ["start", Right, .. args]), () => Script("vpnc-peer.sh", "stop", Right));
    }

    public string Vpnc(params string[] args) => Script("vpnc-peer.sh", [args[0], Right, .. args[1..]]);

    public string VpncLog => File.Exists(Path.Combine(State, "vpnc-" + Right, "vpnc.log")) ? File.ReadAllText(Path.Combine(State, "vpnc-" + Right, "vpnc.log")) : "";

    public string StrongSwan(params string[] args) => Script("strongswan-peer.sh", [args[0], Right, .. args[1..]]);

    /// <summary>
    /// SIGKILL to the charon this lab started (its PID as `strongswan-peer.sh paths` reports it, only while it runs in the
    /// right namespace): it dies without a DELETE, as a crashed or power-cut peer does. Waits until it is gone.
    /// </summary>
    public void KillStrongSwan()
    {
        var pid = Regex.Match(StrongSwan("paths"), @"^pid=(\d+)$", RegexOptions.Multiline);
        Assert.True(pid.Success, "charon is not running in " + Right);
        ProcessRunner.Run("kill", ["-KILL", pid.Groups[1].Value]);
        Eventually(() => !Directory.Exists($"/proc/{pid.Groups[1].Value}") || File.ReadAllText($"/proc/{pid.Groups[1].Value}/stat").Contains(") Z ", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10), () => $"charon {pid.Groups[1].Value} still running after SIGKILL");
    }

    /// <summary>dumpcap on a namespace's outside veth (capture.sh: udp 500/4500 and esp) into State/name; stopped on Dispose.</summary>
    public string StartCapture(string ns, string name, string iface = "outside", string? filter = null)
    {
        RequiredProgram.Check("dumpcap", "wireshark-common");
        var pcap = Path.Combine(State, name);
        string[] args = filter is null ? ["start", ns, pcap, iface] : ["start", ns, pcap, iface, filter];
        Starting(() => Script("capture.sh", args), () => Script("capture.sh", "stop", pcap));
        _captures.Add(pcap);
        return pcap;
    }

    /// <summary>Stops a capture (SIGINT, the pcap is flushed).</summary>
    public void StopCapture(string pcap)
    {
        if (!_captures.Remove(pcap)) return;
        Thread.Sleep(1000); // frames still on their way to dumpcap's file
        Script("capture.sh", "stop", pcap);
    }

    /// <summary>
    /// Starts `ikeactors run` in a namespace and waits for its "ISAKMP on udp" line; a gateway that exits
    /// or stays silent instead is stopped and the start fails with its output.
    /// </summary>
    public Gateway StartGateway(string ns, string config, string bind, params string[] args)
    {
        var file = WriteFile($"{ns}.cfg", config);
        var g = new Gateway(ns, ["run", "--config", file, "--bind", bind, "--debug", "127", .. args]);
        _gateways.Add(g);
        try
        {
            g.WaitFor("ISAKMP on udp", TimeSpan.FromSeconds(60));
        }
        catch
        {
            Abandon(g);
            throw;
        }
        if (!g.Lines.Any(l => l.Contains("ISAKMP on udp", StringComparison.Ordinal)))
        {
            Abandon(g);
            Assert.Fail($"ikeactors run in {ns} exited before listening:\n{g.Output}");
        }
        return g;
    }

    private void Abandon(Gateway g)
    {
        _gateways.Remove(g);
        g.Dispose();
    }

    private static readonly Lock LibreswanCache = new();

    /// <summary>Libreswan 4.10's pluto on the right (libreswan-peer.sh; Main Mode only on this kernel, MODP2048).</summary>
    public void StartLibreswan(params string[] args)
    {
        RequiredProgram.Check("certutil", "libnss3-tools");
        _libreswanRoot = EnsureLibreswan();
        _libreswan = true;
        Starting(() => Script("libreswan-peer.sh", ["start", Right, "--local", "10.0.0.2", "--remote", "10.0.0.1",
                "--local-ts", "192.168.2.0/24", "--remote-ts", "192.168.1.0/24", "--psk", "cisco", .. args]),
            () => Script("libreswan-peer.sh", "stop", Right));
    }

    public string Libreswan(params string[] args) => Script("libreswan-peer.sh", [args[0], Right, .. args[1..]]);

    public string LibreswanLog => File.ReadAllText(Path.Combine(State, "libreswan-" + Right, "pluto.log"));

    /// <summary>
    /// The unpacked libreswan .deb (Debian's package conflicts with strongSwan, so it is never installed):
    /// LIBRESWAN_ROOT, else a machine-wide cache filled once by `libreswan-peer.sh extract` (apt-get download).
    /// </summary>
    public static string EnsureLibreswan()
    {
        lock (LibreswanCache)
        {
            var root = Environment.GetEnvironmentVariable("LIBRESWAN_ROOT") is { Length: > 0 } r ? r : "/var/cache/ikeactors/libreswan";
            if (File.Exists(Path.Combine(root, "usr/libexec/ipsec/pluto"))) return root;
            RequiredProgram.Check("apt-get", "apt");
            RequiredProgram.Check("dpkg-deb", "dpkg");
            var (code, stdout, stderr) = ProcessRunner.Run(Path.Combine(Scripts, "libreswan-peer.sh"), ["extract", root], timeoutMs: 300_000);
            Assert.True(code == 0 && File.Exists(Path.Combine(root, "usr/libexec/ipsec/pluto")),
                $"libreswan could not be unpacked into {root} (apt-get download libreswan): {stdout}{stderr}");
            return root;
        }
    }

    /// <summary>A command inside a namespace; returns its exit code and output.</summary>
    public static (int Code, string Output) Exec(string ns, string file, params string[] args)
    {
        var (code, stdout, stderr) = ProcessRunner.Run("ip", ["netns", "exec", ns, file, .. args], timeoutMs: 300_000);
        return (code, stdout + stderr);
    }

    /// <summary>An operator command (`ikeactors show ...`) against the gateway of a namespace.</summary>
    public static string Operator(string ns, params string[] args)
    {
        var (code, output) = Exec(ns, "dotnet", [Path.Combine(AppContext.BaseDirectory, "ikeactors.dll"), .. args]);
        Assert.True(code == 0, $"ikeactors {string.Join(' ', args)}: {output}");
        return output;
    }

    /// <summary>Waits until a condition holds (polling), failing with a description when it does not.</summary>
    public static void Eventually(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout) Assert.Fail($"not within {timeout.TotalSeconds} s: {what()}");
            Thread.Sleep(200);
        }
    }

    /// <summary>Runs a start; when it fails, undoes whatever part of it had happened, then lets the failure through.</summary>
    private static void Starting(Action start, Action undo)
    {
        try
        {
            start();
        }
        catch
        {
            Quietly(undo);
            throw;
        }
    }

    private static void Quietly(Action action)
    {
        try { action(); } catch (Exception) { }
    }

    private string Script(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(Scripts, script)) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["IKE_INTEROP_DIR"] = State;
        if (_libreswanRoot is not null) psi.Environment["LIBRESWAN_ROOT"] = _libreswanRoot;
        foreach (var (name, value) in _scriptEnvironment) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        var output = stdout.Result + stderr.Result;
        Assert.True(p.ExitCode == 0, $"{script} {string.Join(' ', args)}: {output}");
        return output;
    }

    /// <summary>Gateways, captures, peers, then the namespaces (which stops anything still running in them); each step whatever the others did.</summary>
    public void Dispose()
    {
        foreach (var g in _gateways) Quietly(g.Dispose);
        _gateways.Clear();
        foreach (var c in _captures) Quietly(() => Script("capture.sh", "stop", c));
        _captures.Clear();
        if (_strongSwan) Quietly(() => Script("strongswan-peer.sh", "stop", Right));
        if (_vpnc) Quietly(() => Script("vpnc-peer.sh", "stop", Right));
        if (_libreswan) Quietly(() => Script("libreswan-peer.sh", "stop", Right));
        if (_up) Quietly(() => Script("netns.sh", "down", Left, Right));
        _strongSwan = _libreswan = _vpnc = _up = false;
        try { Directory.Delete(State, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();

    public static bool IsRoot => geteuid() == 0;

    /// <summary>An `ikeactors` process in a namespace, its output collected line by line.</summary>
    public sealed class Gateway : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new();

        /// <param name="environment">NAME=VALUE settings for the process (e.g. a log category's level).</param>
        public Gateway(string ns, string[] args, string[]? environment = null)
        {
            // env --default-signal (see StopSignal.DefaultSignals); env and `ip netns exec` exec in place: the PID is dotnet's.
            var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])[.. StopSignal.DefaultSignals, .. environment ?? [], "ip", "netns", "exec", ns, "dotnet", Path.Combine(AppContext.BaseDirectory, "ikeactors.dll"), .. args]) psi.ArgumentList.Add(a);
            _process = Process.Start(psi)!;
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue("stderr: " + e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        /// <summary>The dotnet process's PID (env and `ip netns exec` exec in place).</summary>
        public int Pid => _process.Id;

        public IReadOnlyList<string> Lines => _lines.ToList();
        public string Output => string.Join('\n', _lines);

        public void WaitFor(string text, TimeSpan timeout) =>
            Eventually(() => _lines.Any(l => l.Contains(text, StringComparison.Ordinal)) || _process.HasExited, timeout, () => $"\"{text}\" in\n{Output}");

        /// <summary>SIGTERM (the gateway deletes its SAs, telling the peer), then SIGKILL if it lingers.</summary>
        public void Stop()
        {
            if (_process.HasExited) return;
            ProcessRunner.Run("kill", ["-TERM", _process.Id.ToString()]);
            if (!_process.WaitForExit(15_000)) _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public void Dispose()
        {
            try { Stop(); } catch (InvalidOperationException) { }
            _process.Dispose();
        }

        /// <summary>
        /// Sends a signal (SIGTERM by default, as systemd or an operator stops a node) to the PID we started:
        /// `ip netns exec` execs the command in place, so that PID is the dotnet process itself (checked).
        /// </summary>
        public void Terminate(int signal = Sigterm) => StopSignal.Send(_process.Id, signal);

        public const int Sigint = StopSignal.Sigint, Sigterm = StopSignal.Sigterm;

        /// <summary>Waits for the process to end: its exit code (null while it still runs) and everything it printed.</summary>
        public (int? Code, string Output) WaitForExit(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout)) return (null, Output);
            _process.WaitForExit(); // the output and error streams read to their end
            return (_process.ExitCode, Output);
        }
    }
}
