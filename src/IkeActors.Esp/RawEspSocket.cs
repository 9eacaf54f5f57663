using System.Net;
using System.Net.Sockets;

namespace IkeActors.Esp;

/// <summary>
/// A raw IPv4 socket for IP protocol 50: receiving gives the outer IPv4 header followed by the ESP packet,
/// sending takes the ESP packet only (the kernel adds the IPv4 header). Needs CAP_NET_RAW. The socket lives
/// in the network namespace of the thread that creates it.
/// </summary>
public sealed class RawEspSocket : IDisposable
{
    public const ProtocolType Esp = (ProtocolType)50;

    private readonly Socket _socket;

    public RawEspSocket(IPAddress? localAddress = null)
    {
        // .NET's Socket constructor refuses protocol numbers it has no name for (EPROTONOSUPPORT), so the
        // descriptor comes from libc and Socket wraps it.
        int fd = LinuxNative.Socket(LinuxNative.AF_INET, LinuxNative.SOCK_RAW | LinuxNative.SOCK_CLOEXEC, LinuxNative.IPPROTO_ESP);
        if (fd < 0)
        {
            throw new SocketException(System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
        _socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        if (localAddress is not null)
        {
            _socket.Bind(new IPEndPoint(localAddress, 0));
        }
    }

    /// <summary>
    /// Makes this socket one of <paramref name="count"/> that share the arriving ESP by SPI: it receives only packets whose
    /// SPI % <paramref name="count"/> is <paramref name="index"/> (a classic BPF filter, run by the kernel before the
    /// packet is queued), and socket 0 also the packets too short to hold an SPI (they are counted as malformed there).
    /// Each raw socket of protocol 50 sees every ESP packet; with the filters each packet is received once, and all the
    /// packets of one SA by one socket: its receiving thread keeps them in order (an SPI names one SA, RFC 4301 §4.1).
    /// Steer before traffic comes: what a socket queued before has not been filtered. A count of 1 removes the filter.
    /// </summary>
    public unsafe void SteerBySpi(int index, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
        var fd = (int)_socket.SafeHandle.DangerousGetHandle();
        if (count == 1)
        {
            int none = 0;
            LinuxNative.SetSockOpt(fd, LinuxNative.SOL_SOCKET, LinuxNative.SO_DETACH_FILTER, &none, sizeof(int)); // ENOENT: there was none
            return;
        }
        const uint Accept = uint.MaxValue, Drop = 0;
        // Classic BPF over the packet from its IPv4 header (linux/filter.h opcodes): X = header length, A = SPI.
        var program = stackalloc LinuxNative.SockFilter[]
        {
            new() { Code = 0xb1, K = 0 },                            // ldxb 4*([0]&0xf)
            new() { Code = 0x80 },                                   // ld len
            new() { Code = 0x1c },                                   // sub x
            new() { Code = 0x35, K = 4, JumpTrue = 0, JumpFalse = 5 }, // jge #4 (room for an SPI), else to the last
            new() { Code = 0x40, K = 0 },                            // ld [x+0]: the SPI
            new() { Code = 0x94, K = (uint)count },                  // mod #count
            new() { Code = 0x15, K = (uint)index, JumpTrue = 0, JumpFalse = 1 }, // jeq #index
            new() { Code = 0x06, K = Accept },                       // ret: whole packet
            new() { Code = 0x06, K = Drop },                         // ret: none
            new() { Code = 0x06, K = index == 0 ? Accept : Drop },   // too short: socket 0's
        };
        var fprog = new LinuxNative.SockFprog { Length = 10, Filter = program };
        if (LinuxNative.SetSockOpt(fd, LinuxNative.SOL_SOCKET, LinuxNative.SO_ATTACH_FILTER, &fprog, (uint)sizeof(LinuxNative.SockFprog)) < 0)
        {
            throw new SocketException(System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Receives one datagram (IPv4 header + ESP); 0 when nothing arrived within the timeout.</summary>
    public int Receive(Span<byte> buffer, int timeoutMilliseconds)
    {
        if (!_socket.Poll(timeoutMilliseconds * 1000, SelectMode.SelectRead)) return 0;
        return _socket.Receive(buffer, SocketFlags.None);
    }

    /// <summary>
    /// Receives up to <paramref name="lengths"/>.Length datagrams in one recvmmsg, each into its slot of
    /// <paramref name="slotSize"/> bytes of <paramref name="buffer"/>; 0 when nothing arrived within the timeout.
    /// </summary>
    public int ReceiveMany(byte[] buffer, int slotSize, int[] lengths, int timeoutMilliseconds)
    {
        // Under load the socket has datagrams waiting: one recvmmsg, no poll before it (one system call a batch, not two).
        var n = TryReceiveMany(buffer, slotSize, lengths);
        if (n > 0 || !_socket.Poll(timeoutMilliseconds * 1000, SelectMode.SelectRead)) return n;
        return TryReceiveMany(buffer, slotSize, lengths);
    }

    private unsafe int TryReceiveMany(byte[] buffer, int slotSize, int[] lengths)
    {
        var fd = (int)_socket.SafeHandle.DangerousGetHandle();
        var count = Math.Min(lengths.Length, buffer.Length / slotSize);
        var iovs = stackalloc LinuxNative.IoVec[count];
        var messages = stackalloc LinuxNative.MMsgHdr[count];
        fixed (byte* data = buffer)
        {
            for (var i = 0; i < count; i++)
            {
                iovs[i] = new LinuxNative.IoVec { Base = data + i * slotSize, Length = (nuint)slotSize };
                messages[i] = new LinuxNative.MMsgHdr { Header = new LinuxNative.MsgHdr { Iov = iovs + i, IovLength = 1 } };
            }
            var n = LinuxNative.RecvMMsg(fd, messages, (uint)count, LinuxNative.MSG_DONTWAIT, null);
            if (n < 0)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno is LinuxNative.EAGAIN or LinuxNative.EINTR) return 0;
                throw new SocketException(errno);
            }
            for (var i = 0; i < n; i++) lengths[i] = (int)messages[i].Length;
            return n;
        }
    }

    /// <summary>Sends an ESP packet to the peer (a pair's <see cref="EspSaPair.PeerAddress"/>: no allocation).</summary>
    public void Send(ReadOnlySpan<byte> esp, SocketAddress peer) => _socket.SendTo(esp, SocketFlags.None, peer);

    /// <summary>The data plane's raw sender delegate over this socket.</summary>
    public void Send(ReadOnlySpan<byte> esp, EspSaPair pair) => Send(esp, pair.PeerAddress);

    /// <summary>The data plane's batch sender: several ESP packets to one peer in one sendmmsg.</summary>
    public void SendBatch(ReadOnlySpan<byte> packets, ReadOnlySpan<int> lengths, EspSaPair pair) => BatchSend.SendMany(_socket, pair.Peer, packets, lengths);

    public void Dispose() => _socket.Dispose();
}
