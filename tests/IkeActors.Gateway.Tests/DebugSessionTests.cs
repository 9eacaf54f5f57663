using System.Globalization;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// `debug crypto ikev1 N` against a node running at `--debug 0`, started after the tunnel is up: as on an ASA, the
/// session sees what the node sends on its own from then on (the first DPD R-U-THERE of an SA that came up before the
/// session), not only what answers the peer's datagrams.
/// </summary>
public class DebugSessionTests
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");
    private static string Sample(string file) => Path.Combine(RepoPaths.Root, "samples", "SiteToSite", file);

    [Fact]
    public async Task A_session_started_after_the_tunnel_came_up_sees_the_node_s_own_R_U_THERE()
    {
        var dir = Directory.CreateTempSubdirectory("ikeactors-debug-session-").FullName;
        try
        {
            // The initiator probes only after an hour idle, so the responder (the ASA's default: 10 s idle, no jitter
            // here) is the one that sends R-U-THERE: a datagram no request of the peer caused.
            var initiator = Path.Combine(dir, "asa1.cfg");
            File.WriteAllText(initiator, File.ReadAllText(Sample("asa1-initiator.cfg"))
                .Replace(" pre-shared-key cisco\n", " pre-shared-key cisco\n isakmp keepalive threshold 3600 retry 2\n", StringComparison.Ordinal));
            var (leftPort, rightPort) = (FreePorts.Udp(), FreePorts.Udp());
            var (rightSilo, rightGateway, leftSilo, leftGateway) = (FreePorts.Tcp(), FreePorts.Tcp(), FreePorts.Tcp(), FreePorts.Tcp());
            string Port(int p) => p.ToString(CultureInfo.InvariantCulture);
            var right = Running.Start(Dll, "run", "--config", Sample("asa2-responder.cfg"), "--bind", $"127.0.0.1:{rightPort}",
                "--peer-map", $"10.0.0.1=127.0.0.1:{leftPort}", "--silo-port", Port(rightSilo), "--gateway-port", Port(rightGateway),
                "--debug", "0", "--dpd-jitter", "0", "--exit-after", "120");
            try
            {
                await right.WaitForLine("ISAKMP on udp", TimeSpan.FromSeconds(30));
                var left = Running.Start(Dll, "run", "--config", initiator, "--bind", $"127.0.0.1:{leftPort}",
                    "--peer-map", $"10.0.0.2=127.0.0.1:{rightPort}", "--silo-port", Port(leftSilo), "--gateway-port", Port(leftGateway),
                    "--debug", "127", "--acquire", "192.168.1.10,192.168.2.10,1", "--exit-after", "100");
                try
                {
                    await left.WaitForLine("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
                    // The tunnel is up and idle; the responder's SA grain stepped only at level 0 so far.
                    var debug = Running.Start(Dll, "debug", "crypto", "ikev1", "255", "--node", $"127.0.0.1:{rightGateway}", "--seconds", "40");
                    try
                    {
                        // The first probe's ACK names its sequence number; the probe itself must be in the session too.
                        // (Before, a timer step formatted at the level of the last datagram routed: 0 here, so the first
                        // R-U-THERE after the session began was missing, and every one of an SA that had received nothing since.)
                        const string Ack = "Received keep-alive of type DPD R-U-THERE-ACK (seq number ";
                        await debug.WaitForLine(Ack, TimeSpan.FromSeconds(35));
                        string seq;
                        lock (debug.Lines) seq = debug.Lines.First(l => l.Contains(Ack, StringComparison.Ordinal)).Split(Ack)[1].TrimEnd(')');
                        await debug.WaitForLine($"Sending keep-alive of type DPD R-U-THERE (seq number {seq})", TimeSpan.FromSeconds(5));
                        lock (right.Lines) Assert.DoesNotContain(right.Lines, l => l.StartsWith("[IKEv1", StringComparison.Ordinal));
                    }
                    finally { debug.Stop(); }
                }
                finally { left.Stop(); }
            }
            finally { right.Stop(); }
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
