using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// The receive buffer of the node's UDP sockets. The kernel's default (net.core.rmem_default, 208 KB here) holds a
/// few hundred handshake datagrams; a hub meeting 1,000 new peers at once while its receive thread waits out a
/// garbage collection dropped 20-186 of them in one burst of three (the peers' retransmissions 2 s later set those
/// tunnels up: p95 setup 0.25 s became 2.2 s; tests/IkeActors.Benchmarks/README.md, ninth round). So the node asks for
/// <see cref="Bytes"/>: with SO_RCVBUFFORCE where it may (root or CAP_NET_ADMIN: past net.core.rmem_max), else
/// SO_RCVBUF (the kernel caps it at rmem_max). What the kernel still drops is counted per socket (SO_MEMINFO).
/// </summary>
public static class SocketReceiveBuffer
{
    /// <summary>4 MiB: some 4,000 MM1s (the kernel charges each datagram's whole buffer, about 1 KB for an MM1).</summary>
    public const int Bytes = 4 << 20;

    private const int SOL_SOCKET = 1, SO_RCVBUFFORCE = 33, SO_MEMINFO = 55;
    private const int SK_MEMINFO_DROPS = 8, SK_MEMINFO_VARS = 9; // linux/sock_diag.h

    /// <summary>The client with its socket's receive buffer at <see cref="Bytes"/>, or as near as the system allows.</summary>
    public static UdpClient Enlarged(UdpClient client)
    {
        Enlarge(client.Client, Bytes);
        return client;
    }

    /// <summary>Asks for <paramref name="bytes"/> of receive buffer; returns what the socket has afterwards (as the kernel reports it: doubled on Linux).</summary>
    public static int Enlarge(Socket socket, int bytes)
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                socket.SetRawSocketOption(SOL_SOCKET, SO_RCVBUFFORCE, MemoryMarshal.AsBytes(new ReadOnlySpan<int>(in bytes)));
                return socket.ReceiveBufferSize;
            }
            catch (SocketException)
            {
                // EPERM without CAP_NET_ADMIN: the ordinary option, within net.core.rmem_max.
            }
        }
        try { socket.ReceiveBufferSize = bytes; }
        catch (SocketException) { }
        return socket.ReceiveBufferSize;
    }

    /// <summary>Datagrams the kernel dropped at this socket (its receive buffer full) since it opened; 0 where that is not known.</summary>
    public static long Drops(Socket socket)
    {
        if (!OperatingSystem.IsLinux() || socket.SafeHandle.IsClosed) return 0;
        Span<uint> info = stackalloc uint[SK_MEMINFO_VARS];
        try
        {
            var length = socket.GetRawSocketOption(SOL_SOCKET, SO_MEMINFO, MemoryMarshal.AsBytes(info));
            return length >= (SK_MEMINFO_DROPS + 1) * sizeof(uint) ? info[SK_MEMINFO_DROPS] : 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return 0;
        }
    }
}
