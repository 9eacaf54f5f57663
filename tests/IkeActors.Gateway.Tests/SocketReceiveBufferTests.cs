using System.Net;
using System.Net.Sockets;
using IkeActors.Gateway.Hosting;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// The node's UDP sockets ask the kernel for a 4 MiB receive buffer, and what the kernel still drops at a full buffer
/// is read back per socket (SO_MEMINFO): against the kernel, on loopback.
/// </summary>
public class SocketReceiveBufferTests
{
    [Fact]
    public void A_node_socket_gets_its_receive_buffer_where_the_system_allows()
    {
        using var client = SocketReceiveBuffer.Enlarged(new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)));
        var size = client.Client.ReceiveBufferSize;
        // Root (CI, the lab) may pass net.core.rmem_max: the kernel reports twice what was asked (its bookkeeping).
        if (Environment.UserName == "root") Assert.Equal(2 * SocketReceiveBuffer.Bytes, size);
        else Assert.True(size >= 2 * Math.Min(SocketReceiveBuffer.Bytes, RmemMax()), $"{size}");
    }

    [Fact]
    public void The_datagrams_a_full_receive_buffer_dropped_are_counted()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        receiver.ReceiveBufferSize = 4096; // the kernel's minimum: a handful of datagrams
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.Equal(0, SocketReceiveBuffer.Drops(receiver));
        const int Sent = 200;
        var datagram = new byte[1000];
        for (var i = 0; i < Sent; i++) sender.SendTo(datagram, receiver.LocalEndPoint!);
        var received = 0;
        receiver.ReceiveTimeout = 200;
        var buffer = new byte[2048];
        while (receiver.Available > 0 && receiver.Receive(buffer) > 0) received++;
        var drops = SocketReceiveBuffer.Drops(receiver);
        Assert.True(received > 0 && received < Sent, $"{received} received");
        Assert.Equal(Sent - received, drops); // loopback loses nothing else: every datagram was received or dropped at the buffer
    }

    [Fact]
    public void A_closed_socket_reads_as_no_drops_not_an_exception()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Dispose();
        Assert.Equal(0, SocketReceiveBuffer.Drops(socket));
    }

    private static int RmemMax() => int.Parse(File.ReadAllText("/proc/sys/net/core/rmem_max").Trim(), System.Globalization.CultureInfo.InvariantCulture);
}
