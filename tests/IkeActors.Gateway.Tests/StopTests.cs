using System.Text.RegularExpressions;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// `ikeactors run` on loopback stopped as systemd or an operator stops it (SIGTERM, or SIGINT from Ctrl+C):
/// exit code 0 and nothing on stderr; a node with a tunnel tells its peer (RFC 2408 §3.15 DELETEs) first.
/// </summary>
public class StopTests
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");

    [Theory]
    [InlineData(Running.Sigterm)]
    [InlineData(Running.Sigint)]
    public async Task A_gateway_without_SAs_stops_on_a_signal_with_exit_code_0_and_no_error(int signal)
    {
        var node = Running.Start(Dll, "run", "--config", RepoPaths.SiteToSite("asa2-responder.cfg"), "--bind", $"127.0.0.1:{FreePorts.Udp()}",
            "--silo-port", FreePorts.Tcp().ToString(), "--gateway-port", FreePorts.Tcp().ToString(), "--debug", "127", "--exit-after", "120");
        try
        {
            await node.WaitForLine("ISAKMP on udp", TimeSpan.FromSeconds(60));
            node.Signal(signal);
            var code = node.WaitForExit(TimeSpan.FromSeconds(15));
            Assert.True(code == 0, $"exit code {code?.ToString() ?? "none (still running)"}\n{Output(node)}");
            AssertClean(node);
        }
        finally { node.Stop(); }
    }

    [Fact]
    public async Task A_gateway_with_a_tunnel_deletes_it_at_the_peer_when_stopped()
    {
        var (leftPort, rightPort) = (FreePorts.Udp(), FreePorts.Udp());
        var rightNode = $"127.0.0.1:{FreePorts.Tcp()}";
        var right = Running.Start(Dll, "run", "--config", RepoPaths.SiteToSite("asa2-responder.cfg"), "--bind", $"127.0.0.1:{rightPort}",
            "--peer-map", $"10.0.0.1=127.0.0.1:{leftPort}", "--silo-port", FreePorts.Tcp().ToString(), "--gateway-port", rightNode.Split(':')[1],
            "--debug", "127", "--exit-after", "120");
        try
        {
            await right.WaitForLine("ISAKMP on udp", TimeSpan.FromSeconds(60));
            var left = Running.Start(Dll, "run", "--config", RepoPaths.SiteToSite("asa1-initiator.cfg"), "--bind", $"127.0.0.1:{leftPort}",
                "--peer-map", $"10.0.0.2=127.0.0.1:{rightPort}", "--silo-port", FreePorts.Tcp().ToString(), "--gateway-port", FreePorts.Tcp().ToString(),
                "--debug", "127", "--acquire", "192.168.1.10,192.168.2.10,1", "--exit-after", "120");
            try
            {
                await left.WaitForLine("PHASE 2 COMPLETED", TimeSpan.FromSeconds(60));
                await right.WaitForLine("PHASE 2 COMPLETED", TimeSpan.FromSeconds(10));
                left.Signal(Running.Sigterm);
                var code = left.WaitForExit(TimeSpan.FromSeconds(15));
                Assert.True(code == 0, $"exit code {code?.ToString() ?? "none (still running)"}\n{Output(left)}");
                AssertClean(left);
                var output = Output(left);
                var ipsecDelete = output.IndexOf("constructing IPSec delete payload", StringComparison.Ordinal);
                var ikeDelete = output.IndexOf("constructing IKE delete payload", StringComparison.Ordinal);
                Assert.True(ipsecDelete >= 0 && ikeDelete > ipsecDelete, output);

                // The peer heard it: its IKE SA and IPsec SAs are gone (it saw the DELETEs, not a silence).
                await right.WaitForLine("IKE Deleting SA: Remote Proxy 192.168.1.0, Local Proxy 192.168.2.0", TimeSpan.FromSeconds(10));
                var after = ProcessRunner.Run("dotnet", [Dll, "show", "crypto", "isakmp", "sa", "--node", rightNode]);
                Assert.True(after.Code == 0, after.Stdout + after.Stderr);
                Assert.Contains("There are no IKEv1 SAs", after.Stdout);
                var ipsec = ProcessRunner.Run("dotnet", [Dll, "show", "crypto", "ipsec", "sa", "--node", rightNode]);
                Assert.Contains("There are no ipsec sas", ipsec.Stdout);
            }
            finally { left.Stop(); }
        }
        finally { right.Stop(); }
    }

    /// <summary>Nothing on stderr (the host logs warnings and errors there), no failure word on stdout.</summary>
    private static void AssertClean(Running node)
    {
        lock (node.ErrorLines) Assert.True(node.ErrorLines.Count == 0, "stderr:\n" + string.Join('\n', node.ErrorLines));
        string stdout;
        lock (node.Lines) stdout = string.Join('\n', node.Lines);
        foreach (var word in new[] { "fail", "error", "exception", "Unhandled", "warn" })
            Assert.DoesNotMatch(new Regex(Regex.Escape(word), RegexOptions.IgnoreCase), stdout);
    }

    private static string Output(Running node)
    {
        lock (node.Lines) lock (node.ErrorLines) return string.Join('\n', node.Lines) + "\nstderr:\n" + string.Join('\n', node.ErrorLines);
    }
}
