using System.Net;
using System.Net.Sockets;
using IkeActors.Esp.Tests.Support;
using IkeActors.Testing;

namespace IkeActors.Esp.Tests;

/// <summary>
/// The real I/O: two data planes, each with a TUN device and a raw ESP (or UDP/4500) socket in a
/// namespace of this test's own; the kernel's ping goes through both and back.
/// </summary>
public class NamespaceTests
{
    /// <param name="queues">
    /// TUN queues (one inside pump each) and raw ESP sockets (steered by SPI: 0x2222 is socket 0's, 0x1111 socket 1's).
    /// </param>
    [RootTheory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 2)]
    public void Kernel_ping_crosses_two_userspace_esp_gateways(bool udp, int queues)
    {
        RequiredProgram.Check("ping", "iputils-ping");
        using var lab = new NetnsLab();
        var left = Gateway.Create(lab.Left, "10.0.0.1", "10.0.0.2", "192.168.1.1", "192.168.2.0/24", udp, queues);
        try
        {
            var right = Gateway.Create(lab.Right, "10.0.0.2", "10.0.0.1", "192.168.2.1", "192.168.1.0/24", udp, queues);
            try
            {
                // The same keys both ways, as one Quick Mode gives them (the SPIs are the peers' inbound ones).
                left.Sad.Add(new EspSaPair(Make.Sa(0x1111, EspDirection.Inbound), Make.Sa(0x2222, EspDirection.Outbound),
                    EspSaDatabaseTests.Left, EspSaDatabaseTests.Right, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 4500), udp));
                right.Sad.Add(new EspSaPair(Make.Sa(0x2222, EspDirection.Inbound), Make.Sa(0x1111, EspDirection.Outbound),
                    EspSaDatabaseTests.Right, EspSaDatabaseTests.Left, new IPEndPoint(IPAddress.Parse("10.0.0.1"), 4500), udp));

                var (code, stdout, stderr) = ProcessRunner.Run("ip",
                    ["netns", "exec", lab.Left, "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", "192.168.1.1", "192.168.2.1"], 30_000);
                Assert.True(code == 0, $"ping failed: {stdout}{stderr}");
                Assert.Contains("3 received", stdout);

                var l = left.Sad.Pairs[0];
                var lo = l.Outbound.Counters.Snapshot();
                var li = l.Inbound.Counters.Snapshot();
                Assert.Equal((3, 3, 0), (lo.Encaps, li.Decaps, li.RecvErrors));
                Assert.Equal(3, right.Sad.Pairs[0].Inbound.Counters.Snapshot().Decaps);
            }
            finally
            {
                right.Dispose();
            }
        }
        finally
        {
            left.Dispose();
        }
    }

    private sealed class Gateway : IDisposable
    {
        public EspSaDatabase Sad { get; } = new();
        private TunQueues? _tun;
        private readonly List<RawEspSocket> _raw = [];
        private Socket? _udp;
        private EspDataPlane? _plane;
        private Thread? _udpThread;
        private volatile bool _stop;

        public static Gateway Create(string ns, string outside, string peer, string inside, string remoteSubnet, bool udp, int queues)
        {
            var g = new Gateway();
            try
            {
                g._tun = NetnsLab.InNamespace(ns, () => TunQueues.Open("esp%d", queues, offloads: queues > 1,
                    warn: w => throw new InvalidOperationException(w)));
                Assert.Equal(queues, g._tun.QueueCount);
                if (udp)
                {
                    g._udp = NetnsLab.InNamespace(ns, () =>
                    {
                        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                        s.Bind(new IPEndPoint(IPAddress.Parse(outside), 4500));
                        return s;
                    });
                }
                else
                {
                    for (var i = 0; i < queues; i++) g._raw.Add(NetnsLab.InNamespace(ns, () => new RawEspSocket(IPAddress.Parse(outside))));
                    for (var i = 0; i < queues; i++) g._raw[i].SteerBySpi(i, queues);
                }
                NetnsLab.Ip("-n", ns, "addr", "add", inside + "/32", "dev", g._tun.Name);
                NetnsLab.Ip("-n", ns, "link", "set", "dev", g._tun.Name, "mtu", "1400", "up");
                NetnsLab.Ip("-n", ns, "route", "add", remoteSubnet, "dev", g._tun.Name, "src", inside);

                g._plane = new EspDataPlane(g.Sad, g._tun);
                foreach (var raw in g._raw) g._plane.AttachRawSocket(raw);
                if (g._udp is { } socket)
                {
                    g._plane.UdpSend = (p, pair) => socket.SendTo(p, SocketFlags.None, pair.PeerAddress);
                    g._udpThread = new Thread(() => g.ReceiveUdp(socket)) { IsBackground = true };
                    g._udpThread.Start();
                }
                g._plane.Start();
                Assert.Equal((queues, udp ? 0 : queues), (g._plane.InsidePumps, g._plane.RawReceivers));
                return g;
            }
            catch
            {
                g.Dispose();
                throw;
            }
        }

        private void ReceiveUdp(Socket socket)
        {
            var buffer = new byte[65535];
            while (!_stop)
            {
                try
                {
                    if (!socket.Poll(200_000, SelectMode.SelectRead)) continue;
                    EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                    int n = socket.ReceiveFrom(buffer, ref from);
                    if (UdpEncapsulation.Classify(buffer.AsSpan(0, n), out var body) == UdpPayloadKind.Esp)
                        _plane!.OnUdpEsp(buffer.AsSpan(0, n)[body], (IPEndPoint)from);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }
            }
        }

        public void Dispose()
        {
            _stop = true;
            _plane?.Dispose();
            _udpThread?.Join(2000);
            _udp?.Dispose();
            foreach (var raw in _raw) raw.Dispose();
            _tun?.Dispose();
            Sad.Dispose();
        }
    }
}
