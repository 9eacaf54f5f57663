using System.Text.RegularExpressions;
using IkeActors.Testing;

namespace IkeActors.Interop.Tests;

/// <summary>
/// Two `ikeactors run --tun` gateways of ours, the seed's two ASA configs, one in each
/// namespace. Nothing translates addresses between them, so the NAT-D hashes match (RFC 3947 §3.2), nobody
/// floats to 4500 and ESP travels as IP protocol 50 (RFC 4303), which tshark on the veth must confirm.
/// </summary>
public sealed class TwoGatewaysTests
{
    [Fact]
    public void Two_of_our_gateways_carry_pings_over_raw_esp_with_isakmp_on_500_only()
    {
        using var lab = new InteropLab();
        var pcap = lab.StartCapture(lab.Left, "two-gateways.pcap");
        var right = lab.StartGateway(lab.Right, InteropLab.RightConfig(), "10.0.0.2:500", "--tun", "ike%d");
        var left = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");

        // The first ping is the key acquire on the left; it waits in the queue while both phases run.
        var trigger = Tunnel.Ping(lab.Left, 1);
        left.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        right.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        var pings = Tunnel.Ping(lab.Left, 20);
        Assert.True(pings.Received == 20, $"20 pings, {pings.Received} answered:\n{pings.Output}\n--- left\n{left.Output}\n--- right\n{right.Output}");
        lab.StopCapture(pcap);

        // Both sides: plain tunnel mode (no NAT-T-Encaps), raw ESP endpoints (/0), counters equal to the pings answered.
        var answered = trigger.Received + pings.Received;
        var leftShow = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
        var rightShow = InteropLab.Operator(lab.Right, "show", "crypto", "ipsec", "sa");
        foreach (var (show, local, remote) in new[] { (leftShow, "10.0.0.1", "10.0.0.2"), (rightShow, "10.0.0.2", "10.0.0.1") })
        {
            Assert.Contains("in use settings ={L2L, Tunnel, IKEv1, }", show);
            Assert.DoesNotContain("NAT-T-Encaps", show);
            Assert.Contains($"local crypto endpt.: {local}/0, remote crypto endpt.: {remote}/0", show);
            var (encaps, decaps) = Tunnel.Counters(show);
            Assert.True(encaps == answered && decaps == answered, $"pings answered {answered}\n{show}");
        }
        // Each side's outbound SPI is the other's inbound SPI.
        Assert.Equal(Tunnel.Spi(leftShow, "outbound"), Tunnel.Spi(rightShow, "inbound"));
        Assert.Equal(Tunnel.Spi(leftShow, "inbound"), Tunnel.Spi(rightShow, "outbound"));

        // tshark's view of the veth: ISAKMP on 500 only, no UDP 4500 at all, ESP as protocol 50 both ways,
        // one ESP packet per echo request and reply, on the SPIs the gateways show.
        var frames = Tshark(pcap, "ip.proto", "udp.srcport", "udp.dstport", "isakmp.ispi", "esp.spi", "ip.src");
        Assert.NotEmpty(frames);
        Assert.DoesNotContain(frames, f => f[1] == "4500" || f[2] == "4500");
        var isakmp = frames.Where(f => f[3].Length > 0).ToList();
        Assert.True(isakmp.Count >= 9, $"Main Mode + Quick Mode: {isakmp.Count} ISAKMP frames"); // 6 MM + 3 QM
        Assert.All(isakmp, f => Assert.True(f[0] == "17" && f[1] == "500" && f[2] == "500", string.Join(' ', f)));
        var esp = frames.Where(f => f[0] == "50").ToList();
        Assert.All(frames, f => Assert.True(f[0] == "50" || f[3].Length > 0, "neither ESP nor ISAKMP: " + string.Join(' ', f)));
        var fromLeft = esp.Count(f => f[5] == "10.0.0.1" && Convert.ToUInt32(f[4], 16) == Tunnel.Spi(leftShow, "outbound"));
        var fromRight = esp.Count(f => f[5] == "10.0.0.2" && Convert.ToUInt32(f[4], 16) == Tunnel.Spi(rightShow, "outbound"));
        Assert.True(fromLeft == answered && fromRight == answered && esp.Count == 2 * answered,
            $"ESP frames: {esp.Count}, from left on its SA {fromLeft}, from right {fromRight}, pings answered {answered}");
    }

    /// <summary>tshark -r PCAP -T fields: one string array per frame (an empty string for an absent field).</summary>
    internal static List<string[]> Tshark(string pcap, params string[] fields)
    {
        RequiredProgram.Check("tshark", "tshark");
        var args = new List<string> { "-r", pcap, "-n", "-T", "fields", "-E", "occurrence=f" };
        foreach (var f in fields) args.AddRange(["-e", f]);
        var (code, stdout, stderr) = ProcessRunner.Run("tshark", args);
        Assert.True(code == 0, stderr);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
    }
}
