using System.Text.RegularExpressions;

namespace IkeActors.Interop.Tests;

/// <summary>
/// TUN offloads (the kernel hands our TUN device TCP super-packets, cut into segments by the data plane) and batched
/// sends (sendmmsg for raw ESP, UDP GSO for ESP in UDP), against the kernel and a real peer: 32 MB over TCP through the
/// tunnel arrive byte for byte (SHA-256 on both ends), the capture on our TUN device holds super-packets (longer than its
/// MTU), and on the wire the ESP sequence numbers of the SA only grow (RFC 4303 §3.3.3: no reordering within an SA,
/// nothing sent twice). With strongSwan as the peer (no GSO of its own): the same over NAT-T.
/// </summary>
public sealed class OffloadInteropTests
{
    private const int Megabytes = 32;

    [Fact]
    public void Tcp_through_two_of_our_gateways_arrives_byte_for_byte_from_super_packets_with_esp_in_sequence()
    {
        using var lab = new InteropLab();
        var right = lab.StartGateway(lab.Right, InteropLab.RightConfig(), "10.0.0.2:500", "--tun", "ike%d");
        var left = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        Tunnel.Ping(lab.Left, 1);
        left.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        Assert.True(Tunnel.Ping(lab.Left, 3).Received == 3, left.Output);
        var tun = Regex.Match(InteropLab.Exec(lab.Left, "ip", "-o", "link", "show", "type", "tun").Output, @"\d+: (ike\d+)").Groups[1].Value;

        var wire = lab.StartCapture(lab.Left, "offload-wire.pcap");
        var inside = lab.StartCapture(lab.Left, "offload-tun.pcap", tun, "tcp");
        var (sent, received) = Transfer(lab.Left, lab.Right);
        lab.StopCapture(inside);
        lab.StopCapture(wire);
        Assert.Equal(sent, received);

        var lengths = TwoGatewaysTests.Tshark(inside, "ip.len").Select(f => int.TryParse(f[0], out var n) ? n : 0).ToList();
        var big = lengths.Count(n => n > 1500);
        Assert.True(big > 0, $"no TCP super-packet reached the TUN device ({lengths.Count} packets captured, the longest {(lengths.Count > 0 ? lengths.Max() : 0)} bytes): offloads off?\n" + (File.Exists(inside + ".out") ? File.ReadAllText(inside + ".out") : "") + $"\ntun {tun}\n" + InteropLab.Exec(lab.Left, "ip", "-o", "link").Output + InteropLab.Exec(lab.Left, "ip", "route").Output);
        AssertInSequence(wire, "ip.src == 10.0.0.1 && esp");
    }

    [Fact]
    public void Tcp_through_two_of_our_gateways_forcing_encapsulation_crosses_the_wire_in_udp_gso_runs_byte_for_byte()
    {
        using var lab = new InteropLab();
        var right = lab.StartGateway(lab.Right, InteropLab.RightConfig(), "10.0.0.2:500", "--tun", "ike%d", "--force-encapsulation");
        var left = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d", "--force-encapsulation");
        Tunnel.Ping(lab.Left, 1);
        left.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        Assert.True(Tunnel.Ping(lab.Left, 3).Received == 3, left.Output);
        // No NAT between them, yet each saw the other "behind a NAT" (the random NAT-D hash) and ESP goes in UDP 4500.
        Assert.Contains("NAT-T-Encaps", InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa"));
        Assert.Contains("NAT-T-Encaps", InteropLab.Operator(lab.Right, "show", "crypto", "ipsec", "sa"));

        var wire = lab.StartCapture(lab.Left, "offload-forced.pcap");
        var (sent, received) = Transfer(lab.Left, lab.Right);
        lab.StopCapture(wire);
        Assert.Equal(sent, received);
        // A UDP GSO send crosses the veth as one buffer (the capture sees it whole, longer than the MTU), and the right's
        // UDP_GRO socket takes it as one message (UdpOffloadTests); its segments are cut and decrypted one by one.
        var (code, stdout, stderr) = IkeActors.Testing.ProcessRunner.Run("tshark",
            ["-r", wire, "-n", "-Y", "ip.src == 10.0.0.1 && udp.dstport == 4500", "-T", "fields", "-e", "udp.length"]);
        Assert.True(code == 0, stderr);
        var lengths = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        Assert.True(lengths.Count(n => n > 1500) > 10, $"{lengths.Count(n => n > 1500)} UDP GSO runs of {lengths.Count} datagrams to 4500 (the longest {(lengths.Count > 0 ? lengths.Max() : 0)} bytes)");
        // tshark reads the first ESP packet of each GSO run (one frame): those numbers only grow.
        AssertInSequence(wire, "ip.src == 10.0.0.1 && esp", atLeast: 100);
        Assert.DoesNotContain("error", right.Output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Tcp_to_strongswan_over_nat_t_arrives_byte_for_byte_with_esp_in_sequence()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        lab.StrongSwan("wait-established", "30");
        Assert.True(Tunnel.Ping(lab.Left, 3).Received == 3, gateway.Output);
        var show = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
        Assert.Contains("NAT-T-Encaps", show);

        var wire = lab.StartCapture(lab.Left, "offload-natt.pcap");
        var (sent, received) = Transfer(lab.Left, lab.Right);
        lab.StopCapture(wire);
        Assert.Equal(sent, received);
        AssertInSequence(wire, "ip.src == 10.0.0.1 && esp");
        // What strongSwan decrypted and verified: every packet we sent on the CHILD_SA (it counts them in).
        var sas = lab.StrongSwan("list-sas");
        Assert.Matches(new Regex(@"in\s+[0-9a-f]{8}[^,]*,\s+\d{8,} bytes"), sas);
    }

    /// <summary>32 MB from 192.168.1.1 (left) to a receiver at 192.168.2.1:5201 (right): the SHA-256 and length each end saw.</summary>
    private static (string Sent, string Received) Transfer(string left, string right)
    {
        const string receiver = """
            import socket, hashlib
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("192.168.2.1", 5201)); s.listen(1); s.settimeout(60)
            c, _ = s.accept(); c.settimeout(60); h = hashlib.sha256(); n = 0
            while True:
                b = c.recv(1 << 20)
                if not b: break
                h.update(b); n += len(b)
            print(n, h.hexdigest())
            """;
        var sender = $$"""
            import socket, hashlib, random, time
            data = random.Random(1).randbytes({{Megabytes}} << 20)
            for attempt in range(50):
                try:
                    c = socket.create_connection(("192.168.2.1", 5201), source_address=("192.168.1.1", 0), timeout=60); break
                except OSError:
                    time.sleep(0.1)
            c.sendall(data); c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
            print(len(data), hashlib.sha256(data).hexdigest())
            """;
        var receiving = Task.Run(() => InteropLab.Exec(right, "timeout", "90", "python3", "-c", receiver));
        var (code, sent) = InteropLab.Exec(left, "timeout", "90", "python3", "-c", sender);
        var (rcode, received) = receiving.GetAwaiter().GetResult();
        Assert.True(code == 0 && rcode == 0, $"sender: {sent}\nreceiver: {received}");
        return (sent.Trim(), received.Trim());
    }

    /// <summary>The ESP sequence numbers of the captured packets matching <paramref name="filter"/>, per SPI: each the next.</summary>
    private static void AssertInSequence(string pcap, string filter, int atLeast = 1000)
    {
        // dumpcap may not keep every packet at this rate (it says how many it dropped): those it kept must be in order.
        var bySpi = Tshark(pcap, filter);
        Assert.True(bySpi.Count > atLeast, $"{bySpi.Count} ESP packets from us captured");
        foreach (var spi in bySpi.GroupBy(f => f[0]))
        {
            var numbers = spi.Select(f => uint.Parse(f[1])).ToList();
            for (var i = 1; i < numbers.Count; i++)
                Assert.True(numbers[i] > numbers[i - 1], $"SPI {spi.Key}: sequence {numbers[i - 1]} then {numbers[i]} (packet {i})");
        }
    }

    private static List<string[]> Tshark(string pcap, string filter)
    {
        var (code, stdout, stderr) = IkeActors.Testing.ProcessRunner.Run("tshark",
            ["-r", pcap, "-n", "-Y", filter, "-T", "fields", "-E", "occurrence=f", "-e", "esp.spi", "-e", "esp.sequence"]);
        Assert.True(code == 0, stderr);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).Where(f => f[0].Length > 0).ToList();
    }
}
