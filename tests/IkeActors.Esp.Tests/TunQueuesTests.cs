using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using IkeActors.Esp.Tests.Support;
using IkeActors.Testing;

namespace IkeActors.Esp.Tests;

/// <summary>
/// The multi-queue TUN device against the kernel, in a namespace of the test's own: one interface, one descriptor per
/// queue, offloads on each; the kernel spreads flows over the queues and puts a connection's packets out on the queue
/// its packets in were written to (so one pump sees both ways); and what happens when the kernel refuses: more queues
/// than it allows, a queue that fails to open, no multi-queue at all.
/// </summary>
public class TunQueuesTests
{
    private static string Details(string ns, string name) => ProcessRunner.Run("ip", ["-n", ns, "-d", "link", "show", name], 10_000).Stdout;

    [RootFact]
    public void Every_queue_reads_its_share_of_the_flows_and_a_reply_leaves_on_the_queue_its_request_came_in_by()
    {
        using var lab = new NetnsLab();
        using var tun = NetnsLab.InNamespace(lab.Left, () => TunQueues.Open("mq%d", 4, offloads: true));
        Assert.Equal(4, tun.QueueCount);
        var details = Details(lab.Left, tun.Name);
        Assert.Contains("multi_queue numqueues 4", details);
        Assert.Contains("vnet_hdr on", details);
        NetnsLab.Ip("-n", lab.Left, "addr", "add", "172.16.0.1/24", "dev", tun.Name);
        NetnsLab.Ip("-n", lab.Left, "link", "set", "dev", tun.Name, "up");

        // 64 flows out: each arrives whole on one queue, and every queue has some.
        using var sender = NetnsLab.InNamespace(lab.Left, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        for (var port = 0; port < 64; port++) sender.SendTo(new byte[10], new IPEndPoint(IPAddress.Parse("172.16.0.9"), 7000 + port));
        var byQueue = ReadAll(tun, 64);
        Assert.All(byQueue, q => Assert.NotEmpty(q));
        Assert.Equal(Enumerable.Range(7000, 64), byQueue.SelectMany(q => q.Select(DestinationPort)).Order());

        // Requests in by Write (queue picked by the flow), replies out: each on its request's queue.
        using var echo = NetnsLab.InNamespace(lab.Left, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Parse("172.16.0.1"), 5000));
            return s;
        });
        var expected = new Dictionary<int, int>();
        for (var port = 0; port < 32; port++)
        {
            var request = Make.Udp("172.16.0.9", "172.16.0.1", (ushort)(9000 + port), 5000);
            expected[9000 + port] = TunQueues.QueueOf(request, 4);
            tun.Write(request);
        }
        var buffer = new byte[100];
        for (var i = 0; i < 32; i++)
        {
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            echo.ReceiveTimeout = 5000;
            var n = echo.ReceiveFrom(buffer, ref from);
            echo.SendTo(buffer.AsSpan(0, n), from);
        }
        var replies = ReadAll(tun, 32);
        for (var q = 0; q < 4; q++)
            foreach (var reply in replies[q])
                Assert.Equal(expected[DestinationPort(reply)], q);
        Assert.Equal(expected.Values.Distinct().Count(), replies.Count(r => r.Count > 0)); // the flows' queues, and only those
    }

    [RootFact]
    public void A_flow_stays_on_the_queue_the_kernel_first_gave_it_when_its_replies_are_written()
    {
        // Without the rule, a reply written on the queue of QueueOf would move the flow there (the kernel follows writes).
        using var lab = new NetnsLab();
        using var tun = NetnsLab.InNamespace(lab.Left, () => TunQueues.Open("mq%d", 2, offloads: true));
        NetnsLab.Ip("-n", lab.Left, "addr", "add", "172.16.0.1/24", "dev", tun.Name);
        NetnsLab.Ip("-n", lab.Left, "link", "set", "dev", tun.Name, "up");
        var sockets = Enumerable.Range(0, 32).Select(i => NetnsLab.InNamespace(lab.Left, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Parse("172.16.0.1"), 0));
            s.Connect(new IPEndPoint(IPAddress.Parse("172.16.0.9"), 7100 + i));
            return s;
        })).ToList();
        try
        {
            foreach (var s in sockets) s.Send(new byte[10]);
            var first = QueueByPort(ReadAll(tun, 32));
            var moved = 0;
            foreach (var s in sockets)
            {
                var local = (IPEndPoint)s.LocalEndPoint!;
                var remote = (IPEndPoint)s.RemoteEndPoint!;
                var reply = Make.Udp("172.16.0.9", "172.16.0.1", (ushort)remote.Port, (ushort)local.Port);
                if (TunQueues.QueueOf(reply, 2) != first[remote.Port]) moved++;
                tun.Write(reply);
                s.ReceiveTimeout = 5000;
                Assert.Equal(16, s.Receive(new byte[100])); // the reply arrived
                s.Send(new byte[10]);
            }
            Assert.Equal(first, QueueByPort(ReadAll(tun, 32)));
            Assert.True(moved > 0, "every reply's hash queue was the flow's own: the test proves nothing");
        }
        finally
        {
            foreach (var s in sockets) s.Dispose();
        }
    }

    private static Dictionary<int, int> QueueByPort(List<byte[]>[] byQueue) =>
        byQueue.SelectMany((packets, q) => packets.Select(p => (Port: DestinationPort(p), Queue: q))).ToDictionary(x => x.Port, x => x.Queue);

    [RootFact]
    public void More_queues_than_the_kernel_allows_leave_the_device_with_the_queues_it_allows_and_a_warning()
    {
        using var lab = new NetnsLab();
        var warnings = new List<string>();
        using var tun = NetnsLab.InNamespace(lab.Left, () => TunQueues.Open("mq%d", TunQueues.KernelMaxQueues + 44, offloads: true, warnings.Add));
        Assert.Equal((TunQueues.KernelMaxQueues, TunQueues.KernelMaxQueues + 44), (tun.QueueCount, tun.Requested));
        Assert.Contains($"numqueues {TunQueues.KernelMaxQueues}", Details(lab.Left, tun.Name));
        var warning = Assert.Single(warnings);
        Assert.Contains($"queue {TunQueues.KernelMaxQueues + 1} refused", warning);
    }

    [RootFact]
    public void A_queue_that_fails_to_open_leaves_the_ones_opened_before_it_and_a_warning()
    {
        using var lab = new NetnsLab();
        var warnings = new List<string>();
        var calls = 0;
        using var tun = NetnsLab.InNamespace(lab.Left, () => TunQueues.Open("mq%d", 4, true, warnings.Add, (name, offloads, multi) =>
            ++calls == 3 ? throw new IOException("ioctl TUNSETIFF failed: errno 24") : TunDevice.Open(name, offloads, multi)));
        Assert.Equal(2, tun.QueueCount);
        Assert.Contains("numqueues 2", Details(lab.Left, tun.Name));
        Assert.Contains("queue 3 refused (ioctl TUNSETIFF failed: errno 24): 2 queues", Assert.Single(warnings));
    }

    [RootFact]
    public void Without_multi_queue_the_device_opens_with_one_queue_and_a_warning_and_without_a_device_it_throws()
    {
        using var lab = new NetnsLab();
        var warnings = new List<string>();
        using var tun = NetnsLab.InNamespace(lab.Left, () => TunQueues.Open("mq%d", 4, true, warnings.Add, (name, offloads, multi) =>
            multi ? throw new IOException("ioctl TUNSETIFF failed: errno 22") : TunDevice.Open(name, offloads, multi)));
        Assert.Equal(1, tun.QueueCount);
        Assert.DoesNotContain("multi_queue", Details(lab.Left, tun.Name));
        Assert.Contains("1 queue, 1 inside pump", Assert.Single(warnings));

        Assert.Throws<IOException>(() => TunQueues.Open("mq%d", 4, true, null, (_, _, _) => throw new IOException("no /dev/net/tun")));
        var single = 0;
        Assert.Throws<IOException>(() => TunQueues.Open("mq%d", 1, true, null, (_, _, _) => { single++; throw new IOException("no /dev/net/tun"); }));
        Assert.Equal(1, single);
    }

    [Fact]
    public void A_flow_always_takes_the_same_queue_and_flows_spread_over_all()
    {
        var counts = new int[4];
        for (var port = 0; port < 4000; port++)
        {
            var packet = Make.Udp("192.168.2.1", "192.168.1.1", (ushort)port, 53);
            var q = TunQueues.QueueOf(packet, 4);
            Assert.Equal(q, TunQueues.QueueOf(packet, 4));
            counts[q]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 800, 1200));
        Assert.Equal(0, TunQueues.QueueOf(Make.Udp("192.168.2.1", "192.168.1.1", 1, 2), 1));
        Assert.Equal(0, TunQueues.QueueOf(new byte[] { 0x60, 0, 0 }, 4)); // not IPv4
    }

    /// <summary>Reads every queue until <paramref name="total"/> packets came (virtio-net header stripped), per queue.</summary>
    private static List<byte[]>[] ReadAll(TunQueues tun, int total)
    {
        var byQueue = Enumerable.Range(0, tun.QueueCount).Select(_ => new List<byte[]>()).ToArray();
        var buffer = new byte[65535];
        var until = Environment.TickCount64 + 10_000;
        while (byQueue.Sum(q => q.Count) < total && Environment.TickCount64 < until)
        {
            for (var q = 0; q < tun.QueueCount; q++)
            {
                var n = tun.Queue(q).Read(buffer, 10);
                if (n <= VirtioNetHeader.Size) continue;
                var packet = buffer.AsSpan(VirtioNetHeader.Size, n - VirtioNetHeader.Size).ToArray();
                if (packet[0] >> 4 == 4 && packet[9] == 17) byQueue[q].Add(packet); // UDP only (no IPv6 router solicitations)
            }
        }
        Assert.Equal(total, byQueue.Sum(q => q.Count));
        return byQueue;
    }

    private static int DestinationPort(byte[] packet) => BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan((packet[0] & 15) * 4 + 2));
}

/// <summary>
/// Raw ESP sockets sharing the arriving ESP by SPI (a classic BPF filter each): every packet reaches exactly one of them,
/// all the packets of one SPI the same one, and a packet too short for an SPI reaches socket 0.
/// </summary>
public class SteerBySpiTests
{
    [RootFact]
    public void Each_socket_receives_exactly_its_share_of_the_spis_and_socket_0_the_runts()
    {
        using var lab = new NetnsLab();
        const int Count = 3;
        var sockets = Enumerable.Range(0, Count).Select(_ => NetnsLab.InNamespace(lab.Right, () => new RawEspSocket())).ToList();
        using var unsteered = NetnsLab.InNamespace(lab.Right, () => new RawEspSocket());
        using var sender = NetnsLab.InNamespace(lab.Left, () => new RawEspSocket());
        try
        {
            for (var i = 0; i < Count; i++) sockets[i].SteerBySpi(i, Count);
            var to = new IPEndPoint(IPAddress.Parse("10.0.0.2"), 0).Serialize();
            var spis = Enumerable.Range(0, 60).Select(i => 0x9000_0000u + (uint)(i * 7919)).ToList();
            foreach (var spi in spis)
            {
                var esp = new byte[40];
                BinaryPrimitives.WriteUInt32BigEndian(esp, spi);
                sender.Send(esp, to);
            }
            sender.Send(new byte[] { 1, 2 }, to); // shorter than an SPI

            var all = Receive(unsteered, spis.Count + 1);
            Assert.Equal(spis.Count + 1, all.Count);
            for (var i = 0; i < Count; i++)
            {
                var got = Receive(sockets[i], spis.Count + 1);
                var expected = spis.Where(s => s % Count == i).Select(s => (long)s).ToList();
                if (i == 0) expected.Add(-2); // the runt, by its length
                Assert.Equal(expected.Order(), got.Order());
            }
        }
        finally
        {
            foreach (var s in sockets) s.Dispose();
        }
    }

    /// <summary>The SPIs of what arrives until a quiet half second (-length for what holds no SPI).</summary>
    private static List<long> Receive(RawEspSocket socket, int most)
    {
        var buffer = new byte[16 * 2048];
        var lengths = new int[16];
        var spis = new List<long>();
        int n;
        while (spis.Count < most && (n = socket.ReceiveMany(buffer, 2048, lengths, 500)) > 0)
        {
            for (var i = 0; i < n; i++)
            {
                var datagram = buffer.AsSpan(i * 2048, lengths[i]);
                var header = (datagram[0] & 15) * 4;
                spis.Add(datagram.Length - header >= 4 ? BinaryPrimitives.ReadUInt32BigEndian(datagram[header..]) : -(datagram.Length - header));
            }
        }
        return spis;
    }
}
