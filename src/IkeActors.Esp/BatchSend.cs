using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace IkeActors.Esp;

/// <summary>
/// Many ESP packets to one peer in one system call: UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18+: one
/// buffer of equal-size datagrams, the last may be shorter, cut by the kernel) for ESP in UDP, sendmmsg for raw ESP.
/// On the wire each is an ordinary datagram: the peer needs nothing (strongSwan's kernel receives them as always).
/// </summary>
public static unsafe class BatchSend
{
    /// <summary>At most this many datagrams in one call (the kernel's UDP_MAX_SEGMENTS is 64 on older kernels).</summary>
    public const int MaxSegments = 64;
    /// <summary>A UDP GSO buffer must fit one UDP datagram's payload.</summary>
    public const int MaxBytes = 65_000;

    /// <summary>Sends <paramref name="datagrams"/> (each <paramref name="segmentSize"/> bytes, the last at most that) to <paramref name="to"/>.</summary>
    public static void SendUdpSegments(Socket socket, IPEndPoint to, ReadOnlySpan<byte> datagrams, int segmentSize)
    {
        var fd = (int)socket.SafeHandle.DangerousGetHandle();
        byte* address = stackalloc byte[16];
        WriteSockaddr(address, to);
        // CMSG_SPACE(sizeof(u16)) = 16-byte header + data rounded up to 8.
        byte* control = stackalloc byte[24];
        new Span<byte>(control, 24).Clear();
        var cmsg = (LinuxNative.CMsgHdr*)control;
        cmsg->Length = (nuint)(sizeof(LinuxNative.CMsgHdr) + sizeof(ushort));
        cmsg->Level = LinuxNative.SOL_UDP;
        cmsg->Type = LinuxNative.UDP_SEGMENT;
        *(ushort*)(control + sizeof(LinuxNative.CMsgHdr)) = (ushort)segmentSize;
        fixed (byte* data = datagrams)
        {
            var iov = new LinuxNative.IoVec { Base = data, Length = (nuint)datagrams.Length };
            var message = new LinuxNative.MsgHdr
            {
                Name = address, NameLength = 16, Iov = &iov, IovLength = 1, Control = control, ControlLength = 24,
            };
            if (LinuxNative.SendMsg(fd, &message, 0) < 0) throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Sends the packets of <paramref name="buffer"/> (lengths in order) to <paramref name="to"/> with sendmmsg.</summary>
    public static void SendMany(Socket socket, IPEndPoint to, ReadOnlySpan<byte> buffer, ReadOnlySpan<int> lengths)
    {
        if (lengths.Length > MaxSegments) throw new ArgumentOutOfRangeException(nameof(lengths));
        var fd = (int)socket.SafeHandle.DangerousGetHandle();
        byte* address = stackalloc byte[16];
        WriteSockaddr(address, to);
        var iovs = stackalloc LinuxNative.IoVec[lengths.Length];
        var messages = stackalloc LinuxNative.MMsgHdr[lengths.Length];
        fixed (byte* data = buffer)
        {
            var at = 0;
            for (var i = 0; i < lengths.Length; i++)
            {
                iovs[i] = new LinuxNative.IoVec { Base = data + at, Length = (nuint)lengths[i] };
                messages[i] = new LinuxNative.MMsgHdr { Header = new LinuxNative.MsgHdr { Name = address, NameLength = 16, Iov = iovs + i, IovLength = 1 } };
                at += lengths[i];
            }
            var sent = 0;
            while (sent < lengths.Length)
            {
                var n = LinuxNative.SendMMsg(fd, messages + sent, (uint)(lengths.Length - sent), 0);
                if (n <= 0) throw new SocketException(Marshal.GetLastPInvokeError());
                sent += n;
            }
        }
    }

    private static void WriteSockaddr(byte* address, IPEndPoint to)
    {
        var span = new Span<byte>(address, 16);
        span.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)AddressFamily.InterNetwork); // sa_family_t, host order
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)to.Port);
        to.Address.TryWriteBytes(span[4..8], out _);
    }
}

/// <summary>Many UDP datagrams in one system call (recvmmsg), each with its sender's IPv4 address.</summary>
public static unsafe class BatchReceive
{
    /// <summary>The bytes of one sender's sockaddr_in (family, port, IPv4 address, zeros).</summary>
    public const int AddressSize = 16;

    /// <summary>
    /// Waits (up to the socket's receive timeout) for one datagram, then takes as many as are there, up to
    /// <paramref name="lengths"/>.Length: datagram i in <paramref name="buffer"/> at i x <paramref name="slotSize"/>, its
    /// sender at i x <see cref="AddressSize"/> in <paramref name="addresses"/>. 0 when the timeout passed.
    /// </summary>
    public static int ReceiveMany(Socket socket, byte[] buffer, int slotSize, int[] lengths, byte[] addresses) =>
        ReceiveMany(socket, buffer, slotSize, lengths, addresses, segmentSizes: null);

    /// <summary>
    /// As <see cref="ReceiveMany(Socket, byte[], int, int[], byte[])"/>; on a socket with <see cref="EnableGro"/>, also
    /// each message's segment size in <paramref name="segmentSizes"/>: the size of the datagrams the kernel merged into
    /// it (each of that size, the last at most that), 0 for a datagram received as it was sent.
    /// </summary>
    public static int ReceiveMany(Socket socket, byte[] buffer, int slotSize, int[] lengths, byte[] addresses, int[]? segmentSizes)
    {
        const int MSG_WAITFORONE = 0x10000;
        var fd = (int)socket.SafeHandle.DangerousGetHandle();
        var count = Math.Min(Math.Min(lengths.Length, buffer.Length / slotSize), addresses.Length / AddressSize);
        if (segmentSizes is not null) count = Math.Min(count, segmentSizes.Length);
        var iovs = stackalloc LinuxNative.IoVec[count];
        var messages = stackalloc LinuxNative.MMsgHdr[count];
        var control = stackalloc byte[segmentSizes is null ? 0 : count * ControlSpace];
        fixed (byte* data = buffer)
        fixed (byte* names = addresses)
        {
            for (var i = 0; i < count; i++)
            {
                iovs[i] = new LinuxNative.IoVec { Base = data + i * slotSize, Length = (nuint)slotSize };
                messages[i] = new LinuxNative.MMsgHdr
                {
                    Header = new LinuxNative.MsgHdr { Name = names + i * AddressSize, NameLength = AddressSize, Iov = iovs + i, IovLength = 1 },
                };
                if (segmentSizes is not null)
                {
                    messages[i].Header.Control = control + i * ControlSpace;
                    messages[i].Header.ControlLength = ControlSpace;
                }
            }
            var n = LinuxNative.RecvMMsg(fd, messages, (uint)count, MSG_WAITFORONE, null);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno is LinuxNative.EAGAIN or LinuxNative.EINTR) return 0;
                throw new SocketException(errno);
            }
            for (var i = 0; i < n; i++)
            {
                lengths[i] = (int)messages[i].Length;
                if (segmentSizes is not null) segmentSizes[i] = GroSegmentSize(in messages[i].Header);
            }
            return n;
        }
    }

    /// <summary>CMSG_SPACE(sizeof(int)): one UDP_GRO control message (a 16-byte header, the int rounded up to 8).</summary>
    private const int ControlSpace = 24;

    /// <summary>The UDP_GRO control message's segment size (udp_cmsg_recv: an int), 0 without one.</summary>
    private static int GroSegmentSize(in LinuxNative.MsgHdr header)
    {
        if (header.Control is null || header.ControlLength < (nuint)(sizeof(LinuxNative.CMsgHdr) + sizeof(int))) return 0;
        var cmsg = (LinuxNative.CMsgHdr*)header.Control;
        return cmsg->Level == LinuxNative.SOL_UDP && cmsg->Type == LinuxNative.UDP_GRO && cmsg->Length >= (nuint)(sizeof(LinuxNative.CMsgHdr) + sizeof(int))
            ? *(int*)((byte*)header.Control + sizeof(LinuxNative.CMsgHdr)) : 0;
    }

    /// <summary>
    /// UDP generic receive offload (UDP_GRO, Linux 5.0+): the kernel may hand over a run of equal-size datagrams of one
    /// flow as one message (a peer's UDP GSO send, or datagrams merged on the way in), its segment size in a control
    /// message (<see cref="ReceiveMany(Socket, byte[], int, int[], byte[], int[])"/>). False when the kernel refuses it.
    /// </summary>
    public static bool EnableGro(Socket socket)
    {
        var on = 1;
        return LinuxNative.SetSockOpt((int)socket.SafeHandle.DangerousGetHandle(), LinuxNative.SOL_UDP, LinuxNative.UDP_GRO, &on, sizeof(int)) == 0;
    }

    /// <summary>
    /// The datagrams of one received message: the whole message, or, when the kernel merged several
    /// (<paramref name="segmentSize"/> &gt; 0), each <paramref name="segmentSize"/> bytes and the last what is left.
    /// </summary>
    public static int Segments(int length, int segmentSize) =>
        segmentSize <= 0 || segmentSize >= length ? 1 : (length + segmentSize - 1) / segmentSize;
}
