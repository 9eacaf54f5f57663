using System.Net;
using System.Net.Sockets;

namespace IkeActors.Esp.Tests;

/// <summary>
/// UDP generic segmentation on send (UDP_SEGMENT) and receive offload (UDP_GRO) against the kernel, on loopback: what one
/// GSO send carries reaches a GRO socket as one message with its segment size, and is cut back into exactly the
/// datagrams that were sent; a socket without GRO gets them one by one.
/// </summary>
public class UdpOffloadTests
{
    private static byte[] Datagrams(int count, int size, int last)
    {
        var bytes = new byte[(count - 1) * size + last];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 7 + i / size); // each datagram its own pattern
        return bytes;
    }

    private static (Socket Sender, Socket Receiver) Pair(bool gro)
    {
        var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        receiver.ReceiveTimeout = 2000;
        if (gro) Assert.True(BatchReceive.EnableGro(receiver), "UDP_GRO refused (Linux 5.0+)");
        var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (sender, receiver);
    }

    /// <summary>Everything received until <paramref name="bytes"/> have come: (message, segment size) in order.</summary>
    private static List<(byte[] Message, int SegmentSize)> Receive(Socket receiver, int bytes)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(8 * 65536, pinned: true);
        var lengths = new int[8];
        var sizes = new int[8];
        var addresses = new byte[8 * BatchReceive.AddressSize];
        var got = new List<(byte[], int)>();
        var total = 0;
        while (total < bytes)
        {
            var n = BatchReceive.ReceiveMany(receiver, buffer, 65536, lengths, addresses, sizes);
            Assert.True(n > 0, $"{total} of {bytes} bytes received");
            for (var i = 0; i < n; i++)
            {
                got.Add((buffer.AsSpan(i * 65536, lengths[i]).ToArray(), sizes[i]));
                total += lengths[i];
            }
        }
        return got;
    }

    [Theory]
    [InlineData(40, 1400, 900)]  // a TCP super-packet's ESP: equal segments, a shorter last one
    [InlineData(64, 120, 120)]   // small datagrams, all equal, the most one send takes
    [InlineData(2, 1000, 1)]     // a one-byte tail
    public void One_gso_send_reaches_a_gro_socket_as_one_message_and_is_cut_back_into_the_datagrams_sent(int count, int size, int last)
    {
        var (sender, receiver) = Pair(gro: true);
        using var _ = sender;
        using var __ = receiver;
        var sent = Datagrams(count, size, last);
        BatchSend.SendUdpSegments(sender, (IPEndPoint)receiver.LocalEndPoint!, sent, size);

        var got = Receive(receiver, sent.Length);
        var (message, segmentSize) = Assert.Single(got);
        Assert.Equal(size, segmentSize);
        Assert.Equal(count, BatchReceive.Segments(message.Length, segmentSize));
        for (int i = 0, at = 0; i < count; i++, at += size)
            Assert.Equal(sent.AsSpan(at, i == count - 1 ? last : size).ToArray(), message.AsSpan(at, Math.Min(size, message.Length - at)).ToArray());
    }

    [Fact]
    public void Without_gro_the_kernel_delivers_a_gso_send_datagram_by_datagram_with_no_segment_size()
    {
        var (sender, receiver) = Pair(gro: false);
        using var _ = sender;
        using var __ = receiver;
        var sent = Datagrams(10, 500, 200);
        BatchSend.SendUdpSegments(sender, (IPEndPoint)receiver.LocalEndPoint!, sent, 500);

        var got = Receive(receiver, sent.Length);
        Assert.Equal(10, got.Count);
        Assert.All(got, g => Assert.Equal(0, g.SegmentSize));
        Assert.Equal(sent, got.SelectMany(g => g.Message).ToArray());
    }

    [Fact]
    public void A_datagram_sent_alone_to_a_gro_socket_is_one_message_without_a_segment_size()
    {
        var (sender, receiver) = Pair(gro: true);
        using var _ = sender;
        using var __ = receiver;
        sender.SendTo(new byte[] { 0xFF }, receiver.LocalEndPoint!); // a NAT keepalive
        var (message, segmentSize) = Assert.Single(Receive(receiver, 1));
        Assert.Equal([0xFF], message);
        Assert.Equal(1, BatchReceive.Segments(message.Length, segmentSize));
    }

    [Theory]
    [InlineData(1400, 0, 1)]
    [InlineData(1400, 1400, 1)]
    [InlineData(2800, 1400, 2)]
    [InlineData(2801, 1400, 3)]
    [InlineData(1, 1400, 1)]
    [InlineData(0, 0, 1)]
    public void A_message_holds_as_many_datagrams_as_its_segment_size_cuts(int length, int segmentSize, int expected) =>
        Assert.Equal(expected, BatchReceive.Segments(length, segmentSize));
}
