using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SiteToSite;

/// <summary>
/// The same lab with each ASA as its own `ikeactors run` process (an Orleans silo with its IKE SAs
/// as grains) on loopback; the tunnel comes up, then each node is asked for its `show` output.
/// Processes are started and stopped by PID.
/// </summary>
internal static class ProcessLab
{
    /// <summary>Where the gateways export (OTLP, e.g. `ikeactors dashboard`) and whether they serve the Orleans Dashboard.</summary>
    public sealed record Telemetry(string? Otlp, string? OtlpHeaders, bool OrleansDashboard)
    {
        public string[] Arguments =>
        [
            .. Otlp is null ? Array.Empty<string>() : ["--otlp", Otlp],
            .. OtlpHeaders is null ? Array.Empty<string>() : ["--otlp-headers", OtlpHeaders],
            .. OrleansDashboard ? ["--orleans-dashboard", "0"] : Array.Empty<string>(),
        ];
    }

    public static async Task<int> RunAsync(DirectoryInfo? outDir, int level, int timeoutSeconds, Telemetry? telemetry = null, CancellationToken ct = default)
    {
        telemetry ??= new Telemetry(null, null, false);
        var dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");
        var configs = Path.Combine(Path.GetTempPath(), "sitetosite-" + Environment.ProcessId);
        Directory.CreateDirectory(configs);
        var leftCfg = Path.Combine(configs, "asa1-initiator.cfg");
        var rightCfg = Path.Combine(configs, "asa2-responder.cfg");
        await File.WriteAllTextAsync(leftCfg, Resource("asa1-initiator.cfg"));
        await File.WriteAllTextAsync(rightCfg, Resource("asa2-responder.cfg"));
        var (leftPort, rightPort) = (FreeUdpPort(), FreeUdpPort());
        var (leftGateway, rightGateway) = (FreeTcpPort(), FreeTcpPort());
        var right = Node.Start("right", dll, outDir, ["run", "--config", rightCfg, "--bind", $"127.0.0.1:{rightPort}",
            "--peer-map", $"10.0.0.1=127.0.0.1:{leftPort}", "--silo-port", FreeTcpPort().ToString(), "--gateway-port", rightGateway.ToString(),
            "--debug", level.ToString(), "--rekey-jitter", "0", .. telemetry.Arguments]); // the document's exact rekey timers
        Node? left = null;
        try
        {
            if (!await right.WaitFor("ISAKMP on udp", timeoutSeconds)) return Fail("the right node did not start", right);
            left = Node.Start("left", dll, outDir, ["run", "--config", leftCfg, "--bind", $"127.0.0.1:{leftPort}",
                "--peer-map", $"10.0.0.2=127.0.0.1:{rightPort}", "--silo-port", FreeTcpPort().ToString(), "--gateway-port", leftGateway.ToString(),
                "--debug", level.ToString(), "--acquire", "192.168.1.10,192.168.2.10,1", "--rekey-jitter", "0", .. telemetry.Arguments]);
            if (!await left.WaitFor("PHASE 2 COMPLETED", timeoutSeconds) || !await right.WaitFor("PHASE 2 COMPLETED", timeoutSeconds))
                return Fail("the tunnel did not come up", left);
            foreach (var (name, gateway) in new[] { ("left", leftGateway), ("right", rightGateway) })
            {
                foreach (var command in new[] { "isakmp", "ipsec" })
                {
                    Console.WriteLine();
                    Console.WriteLine($"{name}# show crypto {command} sa");
                    if (command == "isakmp") Console.WriteLine();
                    Console.Write(Show(dll, command, gateway));
                }
            }
            if (telemetry.OrleansDashboard || telemetry.Otlp is not null)
            {
                // Keep the tunnel (and the dashboards' live views) up until Ctrl+C.
                Console.WriteLine();
                Console.WriteLine("the tunnel stays up for the dashboards: Ctrl+C stops both gateways");
                try { await Task.Delay(Timeout.Infinite, ct); } catch (OperationCanceledException) { }
            }
            return 0;
        }
        finally
        {
            left?.Stop();
            right.Stop();
            Directory.Delete(configs, recursive: true);
        }
    }

    private static int Fail(string why, Node node)
    {
        Console.Error.WriteLine($"tunnel did not come up: {why}");
        return 1;
    }

    private static string Show(string dll, string what, int gateway)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, "show", "crypto", what, "sa", "--node", $"127.0.0.1:{gateway}" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit(30_000);
        return text;
    }

    private static string Resource(string name)
    {
        using var stream = typeof(ProcessLab).Assembly.GetManifestResourceStream(name)!;
        return new StreamReader(stream).ReadToEnd();
    }

    private static int FreeUdpPort()
    {
        using var s = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.Client.LocalEndPoint!).Port;
    }

    private static int FreeTcpPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>One `ikeactors` process: its debug lines echoed with the node's name and kept in DIR/name.log.</summary>
    private sealed class Node
    {
        private readonly Process _process;
        private readonly List<string> _lines = new();
        private readonly StreamWriter? _log;

        private Node(string name, Process process, StreamWriter? log)
        {
            _process = process;
            _log = log;
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (_lines)
                {
                    _lines.Add(e.Data);
                    if (e.Data.StartsWith("[IKEv1", StringComparison.Ordinal) || e.Data.StartsWith("IPSEC", StringComparison.Ordinal)) _log?.WriteLine(e.Data);
                }
                Console.WriteLine($"{name,-6}| {e.Data}");
            };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public static Node Start(string name, string dll, DirectoryInfo? outDir, params string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(dll);
            foreach (var a in args) psi.ArgumentList.Add(a);
            outDir?.Create();
            var log = outDir is null ? null : new StreamWriter(Path.Combine(outDir.FullName, name + ".log")) { AutoFlush = true };
            return new Node(name, Process.Start(psi)!, log);
        }

        public async Task<bool> WaitFor(string text, int timeoutSeconds)
        {
            var until = DateTime.UtcNow.AddSeconds(timeoutSeconds);
            while (DateTime.UtcNow < until && !_process.HasExited)
            {
                lock (_lines) if (_lines.Any(l => l.Contains(text, StringComparison.Ordinal))) return true;
                await Task.Delay(100);
            }
            return false;
        }

        public void Stop()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
            _process.Dispose();
            lock (_lines) _log?.Dispose();
        }
    }
}
