using System.Text.RegularExpressions;

namespace IkeActors.Interop.Tests;

/// <summary>
/// TUN offloads (the kernel hands our TUN device TCP super-packets, cut into segments by the data plane) and batched
/// sends (sendmmsg for raw ESP, UDP GSO for ESP in UDP), against the kernel and a real peer: 32 MB over TCP through the
/// tunnel arrive byte for byte (SHA-256 on both ends), the capture on our TUN device holds super-packets (longer than its
/// MTU), and on the wire the ESP sequence numbers of the SA only grow (RFC 4303 §3.3.3: no reordering within an SA,
/// nothing sent twice). With strongSwan as the peer (no GSO of its own): the same over NAT-T. UDP sent with UDP_SEGMENT
/// reaches our TUN device as super-packets (TUN USO: one read per send, the device's own counters) and leaves the far
/// gateway's merged, every datagram intact and in order.
/// </summary>
public sealed class OffloadInteropTests
{
    private const int Megabytes = 32;

    [Fact]
    public void Tcp_through_two_of_our_gateways_arrives_byte_for_byte_from_super_packets_with_esp_in_sequence()
    {
        using var lab = new InteropLab();
        TunnelUp(lab);
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
        var (_, right) = TunnelUp(lab, "--force-encapsulation");
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

    [Fact]
    public async Task Udp_sent_with_udp_segment_crosses_two_of_our_gateways_as_super_packets_and_arrives_datagram_for_datagram()
    {
        using var lab = new InteropLab();
        var (_, right) = TunnelUp(lab);
        var leftBefore = TunCounters(lab.Left);
        var rightBefore = TunCounters(lab.Right);

        // 300 sends of 20 datagrams of 1,000 bytes each (UDP_SEGMENT), each datagram numbered and filled from its number.
        const int sends = 300, perSend = 20, size = 1000, datagrams = sends * perSend;
        var receiver = $$"""
            import socket, hashlib
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            s.bind(("192.168.2.1", 5300)); s.settimeout(3)
            got, bad = [], 0
            try:
                while len(got) < {{datagrams}}:
                    b = s.recv(2048)
                    n = int.from_bytes(b[:4], "big")
                    if len(b) != {{size}} or b[4:] != (hashlib.sha256(b[:4]).digest() * 32)[:{{size}} - 4]: bad += 1
                    else: got.append(n)
            except socket.timeout:
                pass
            print(len(got), len(set(got)), bad, int(got == sorted(got)))
            """;
        var sender = $$"""
            import socket, hashlib, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("192.168.1.1", 0))
            s.setsockopt(socket.SOL_UDP, 103, {{size}})  # UDP_SEGMENT
            time.sleep(0.5)
            for k in range({{sends}}):
                run = b"".join(n.to_bytes(4, "big") + (hashlib.sha256(n.to_bytes(4, "big")).digest() * 32)[:{{size}} - 4]
                               for n in range(k * {{perSend}}, (k + 1) * {{perSend}}))
                s.sendto(run, ("192.168.2.1", 5300))
                time.sleep(0.002)
            print("sent")
            """;
        var receiving = Task.Run(() => InteropLab.Exec(lab.Right, "timeout", "60", "python3", "-c", receiver));
        var (code, sent) = InteropLab.Exec(lab.Left, "timeout", "60", "python3", "-c", sender);
        var (rcode, received) = await receiving;
        Assert.True(code == 0 && rcode == 0, $"sender: {sent}\nreceiver: {received}");
        var f = received.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        var (count, distinct, bad, inOrder) = (f[0], f[1], f[2], f[3]);
        Assert.True(bad == 0, $"{bad} datagrams arrived changed");
        Assert.Equal(count, distinct); // none twice
        Assert.Equal(1, inOrder);      // one flow, one SA: in the order sent
        Assert.True(count >= datagrams * 99 / 100, $"{count} of {datagrams} datagrams arrived");

        // The kernel handed the left gateway's TUN device super-packets (far fewer reads than datagrams), and the right
        // gateway wrote the decapsulated datagrams to its TUN device merged (fewer writes than datagrams).
        var leftReads = TunCounters(lab.Left).Tx - leftBefore.Tx;
        var rightWrites = TunCounters(lab.Right).Rx - rightBefore.Rx;
        Assert.True(leftReads <= datagrams / 10, $"the left TUN device handed over {leftReads} packets for {datagrams} datagrams: no UDP super-packets (USO off?)");
        Assert.True(rightWrites < count * 9 / 10, $"the right gateway wrote {rightWrites} packets for {count} datagrams: none merged");
        Assert.DoesNotContain("error", right.Output, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Two of our gateways with TUN devices (and <paramref name="options"/>), the tunnel up and passing pings.</summary>
    private static (InteropLab.Gateway Left, InteropLab.Gateway Right) TunnelUp(InteropLab lab, params string[] options)
    {
        var right = lab.StartGateway(lab.Right, InteropLab.RightConfig(), "10.0.0.2:500", ["--tun", "ike%d", .. options]);
        var left = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", ["--tun", "ike%d", .. options]);
        Tunnel.Ping(lab.Left, 1);
        left.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        Assert.True(Tunnel.Ping(lab.Left, 3).Received == 3, left.Output);
        return (left, right);
    }

    /// <summary>Packets the TUN device in <paramref name="ns"/> took in (Rx: written by the gateway) and gave out (Tx: read by it).</summary>
    private static (long Rx, long Tx) TunCounters(string ns)
    {
        var (code, output) = InteropLab.Exec(ns, "ip", "-s", "-j", "link", "show", "type", "tun");
        Assert.True(code == 0, output);
        var stats = System.Text.Json.JsonDocument.Parse(output).RootElement.EnumerateArray().Single().GetProperty("stats64");
        return (stats.GetProperty("rx").GetProperty("packets").GetInt64(), stats.GetProperty("tx").GetProperty("packets").GetInt64());
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
