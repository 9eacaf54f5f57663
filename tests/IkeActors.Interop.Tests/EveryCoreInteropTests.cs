using System.Buffers.Binary;
using System.Net;
using System.Text.RegularExpressions;
using IkeActors.Esp;

namespace IkeActors.Interop.Tests;

/// <summary>
/// Two of our gateways, each with 2 inside pumps (a TUN device with 2 queues) and 2 raw ESP receivers
/// (`--esp-threads 2`), carrying 12 TCP connections at once, 8 one way and 4 the other, chosen so that each gateway's
/// two pumps both send some of the data: every byte arrives (SHA-256 per connection on both ends), both pumps of each side
/// worked, and on the wire every SPI's ESP sequence numbers only grow (RFC 4303 §3.3.3): the pumps share one SA per
/// direction, and none of its packets leaves behind one numbered after it.
/// </summary>
public sealed class EveryCoreInteropTests
{
    private const int Flows = 8, Back = 4, Megabytes = 4;

    [Fact]
    public void Tcp_streams_through_two_gateways_with_two_pumps_each_arrive_whole_with_each_sas_numbers_in_order_on_the_wire()
    {
        using var lab = new InteropLab();
        var right = lab.StartGateway(lab.Right, InteropLab.RightConfig(), "10.0.0.2:500", "--tun", "ike%d", "--esp-threads", "2");
        var left = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d", "--esp-threads", "2");
        Tunnel.Ping(lab.Left, 1);
        left.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        Assert.True(Tunnel.Ping(lab.Left, 3).Received == 3, left.Output);
        foreach (var (ns, g) in new[] { (lab.Left, left), (lab.Right, right) })
        {
            var tun = InteropLab.Exec(ns, "ip", "-d", "-o", "link", "show", "type", "tun").Output;
            Assert.Contains("multi_queue numqueues 2", tun);
            var threads = ThreadNames(g.Pid);
            Assert.Equal(["esp-inside-0", "esp-inside-1", "esp-raw-0", "esp-raw-1"], threads.Where(t => t.StartsWith("esp-", StringComparison.Ordinal)).Order());
        }

        var pumpsBefore = (Left: PumpTicks(left.Pid), Right: PumpTicks(right.Pid));
        var wire = lab.StartCapture(lab.Left, "every-core-wire.pcap");
        var (sent, received) = Transfer(lab.Left, lab.Right);
        lab.StopCapture(wire);
        Assert.Equal(sent, received);

        // Each side's two pumps carried traffic (its connections out: 8 from the left, 4 from the right).
        var pumpsAfter = (Left: PumpTicks(left.Pid), Right: PumpTicks(right.Pid));
        foreach (var (side, before, after) in new[] { ("left", pumpsBefore.Left, pumpsAfter.Left), ("right", pumpsBefore.Right, pumpsAfter.Right) })
        {
            Assert.Equal(2, after.Count);
            Assert.All(after, p => Assert.True(p.Value > before.GetValueOrDefault(p.Key), $"{side} {p.Key}: no CPU time during the transfer ({string.Join(", ", after)})"));
        }

        var show = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
        var outbound = Tunnel.Spi(show, "outbound");
        var inbound = Tunnel.Spi(show, "inbound");
        var bySpi = Esp(wire);
        Assert.True(bySpi.GetValueOrDefault(outbound)?.Count > 1000 && bySpi.GetValueOrDefault(inbound)?.Count > 500,
            $"ESP captured per SPI: {string.Join(", ", bySpi.Select(s => $"{s.Key:x8}: {s.Value.Count}"))}; ours {outbound:x8} out, {inbound:x8} in");
        foreach (var (spi, numbers) in bySpi)
        {
            // dumpcap may not keep every packet at this rate (it says how many it dropped): those it kept must be in order.
            for (var i = 1; i < numbers.Count; i++)
                Assert.True(numbers[i] > numbers[i - 1], $"SPI {spi:x8}: sequence number {numbers[i]} after {numbers[i - 1]} (packet {i} of {numbers.Count})");
        }
    }

    private static List<string> ThreadNames(int pid) =>
        [.. Directory.GetDirectories($"/proc/{pid}/task").Select(t => { try { return File.ReadAllText(Path.Combine(t, "comm")).Trim(); } catch (IOException) { return ""; } })];

    /// <summary>CPU ticks so far of each inside pump thread (esp-inside-N) of a gateway process.</summary>
    private static Dictionary<string, long> PumpTicks(int pid)
    {
        var ticks = new Dictionary<string, long>();
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            string comm, stat;
            try
            {
                comm = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                stat = File.ReadAllText(Path.Combine(task, "stat"));
            }
            catch (IOException) { continue; } // the thread ended
            if (!comm.StartsWith("esp-inside-", StringComparison.Ordinal)) continue;
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            ticks[comm] = long.Parse(fields[11]) + long.Parse(fields[12]); // utime, stime (fields 14 and 15 of stat)
        }
        return ticks;
    }

    /// <summary>ESP sequence numbers on the left's outside link, per SPI, in capture order.</summary>
    private static Dictionary<uint, List<uint>> Esp(string pcap) =>
        TwoGatewaysTests.Tshark(pcap, "esp.spi", "esp.sequence").Where(f => f[0].Length > 0)
            .GroupBy(f => Convert.ToUInt32(f[0], 16)).ToDictionary(g => g.Key, g => g.Select(f => uint.Parse(f[1])).ToList());

    /// <summary>
    /// Source ports for connections from <paramref name="client"/> to <paramref name="server"/>:5201 that the server side's
    /// gateway puts on its pumps in turn. Its first packet of such a connection is the SYN it writes to its TUN device: on
    /// the queue <see cref="TunQueues.QueueOf"/> picks (no packet of the flow read yet), and the kernel then hands it the
    /// connection's packets out on that queue.
    /// </summary>
    private static List<int> Ports(string client, string server, int count, int firstPort)
    {
        var ports = new List<int>();
        var syn = new byte[24];
        syn[0] = 0x45;
        syn[9] = 6;
        IPAddress.Parse(client).TryWriteBytes(syn.AsSpan(12), out _);
        IPAddress.Parse(server).TryWriteBytes(syn.AsSpan(16), out _);
        BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(22), 5201);
        for (var port = firstPort; ports.Count < count; port++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(syn.AsSpan(20), (ushort)port);
            if (TunQueues.QueueOf(syn, 2) == ports.Count % 2) ports.Add(port);
        }
        return ports;
    }

    /// <summary>
    /// <see cref="Flows"/> connections carrying <see cref="Megabytes"/> MB each from 192.168.1.1 to 192.168.2.1 and
    /// <see cref="Back"/> the other way, all at once. The data's sender is the side that accepts (so that its gateway
    /// sees the connection first from the tunnel: <see cref="Ports"/>). Per connection "port bytes sha256" as each end
    /// saw it, sorted.
    /// </summary>
    private static (string Sent, string Received) Transfer(string left, string right)
    {
        const string server = """
            import socket, hashlib, random, sys, threading
            ip, count = sys.argv[1], int(sys.argv[2])
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((ip, 5201)); s.listen(64); s.settimeout(60)
            out = []
            def send(c, port):
                data = random.Random(port).randbytes(MEGABYTES << 20)
                c.settimeout(60); c.sendall(data); c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
                out.append(f"{port} {len(data)} {hashlib.sha256(data).hexdigest()}")
            threads = []
            for _ in range(count):
                c, peer = s.accept(); t = threading.Thread(target=send, args=(c, peer[1])); t.start(); threads.append(t)
            for t in threads: t.join()
            print("\n".join(sorted(out)))
            """;
        const string client = """
            import socket, hashlib, sys, threading, time
            src, dst, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3].split(",")]
            out = []
            def take(port):
                for attempt in range(100):
                    try:
                        c = socket.create_connection((dst, 5201), source_address=(src, port), timeout=60); break
                    except OSError:
                        time.sleep(0.1)
                h = hashlib.sha256(); n = 0
                while True:
                    b = c.recv(1 << 20)
                    if not b: break
                    h.update(b); n += len(b)
                c.sendall(b"k"); c.close(); out.append(f"{port} {n} {h.hexdigest()}")
            threads = [threading.Thread(target=take, args=(p,)) for p in ports]
            for t in threads: t.start()
            for t in threads: t.join()
            print("\n".join(sorted(out)))
            """;
        var serverScript = server.Replace("MEGABYTES", Megabytes.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var forth = Ports("192.168.2.1", "192.168.1.1", Flows, 41000); // the left sends: its clients are on the right
        var back = Ports("192.168.1.1", "192.168.2.1", Back, 42000);
        var sendingForth = Task.Run(() => InteropLab.Exec(left, "timeout", "120", "python3", "-c", serverScript, "192.168.1.1", Flows.ToString()));
        var sendingBack = Task.Run(() => InteropLab.Exec(right, "timeout", "120", "python3", "-c", serverScript, "192.168.2.1", Back.ToString()));
        Thread.Sleep(500); // the servers listen
        var receivingBack = Task.Run(() => InteropLab.Exec(left, "timeout", "120", "python3", "-c", client, "192.168.1.1", "192.168.2.1", string.Join(',', back)));
        var (code, receivedForth) = InteropLab.Exec(right, "timeout", "120", "python3", "-c", client, "192.168.2.1", "192.168.1.1", string.Join(',', forth));
        var (backCode, receivedBack) = receivingBack.GetAwaiter().GetResult();
        var (forthCode, sentForth) = sendingForth.GetAwaiter().GetResult();
        var (sentBackCode, sentBack) = sendingBack.GetAwaiter().GetResult();
        Assert.True(code == 0 && backCode == 0 && forthCode == 0 && sentBackCode == 0,
            $"senders: {sentForth}\n{sentBack}\nreceivers: {receivedForth}\n{receivedBack}");
        Assert.Equal(Flows, sentForth.Trim().Split('\n').Length);
        Assert.Equal(Back, sentBack.Trim().Split('\n').Length);
        return (sentForth.Trim() + "\n" + sentBack.Trim(), receivedForth.Trim() + "\n" + receivedBack.Trim());
    }
}
