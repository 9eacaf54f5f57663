using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace IkeActors.Esp;

/// <summary>
/// IPv4 routes through a device in the kernel's main table, written over rtnetlink (RFC 3549; linux/rtnetlink.h) with
/// a protocol number of ours, so that a routing daemon can learn exactly these (BIRD's `kernel` protocol with `learn`
/// and <c>krt_source = 197</c>: docs/cluster.md) and a reader can tell them apart (<c>ip route show proto 197</c>).
/// One request at a time, each acknowledged; no process started per route (a hub installs thousands).
/// </summary>
public sealed unsafe class KernelRoutes : IDisposable
{
    /// <summary>Our routes' protocol (rtm_protocol): above the kernel's and the daemons' registered numbers.</summary>
    public const byte Protocol = 197;

    /// <summary>
    /// A route being handed over (docs/cluster.md §3): still in the kernel, so packets that reach this node still enter
    /// the TUN device and are handed on, but no longer ours to announce (the daemon learns only <see cref="Protocol"/>).
    /// </summary>
    public const byte HandedOverProtocol = 198;

    private const ushort RtmNewRoute = 24, RtmDelRoute = 25, NlmsgError = 2;
    private const ushort NlmFRequest = 0x1, NlmFAck = 0x4, NlmFReplace = 0x100, NlmFCreate = 0x400;
    private const byte RtTableMain = 254, RtScopeLink = 253, RtnUnicast = 1;
    private const ushort RtaDst = 1, RtaOif = 4, RtaPriority = 6, RtaPrefSrc = 7;

    private readonly int _fd;
    private readonly Lock _lock = new();
    private uint _sequence;
    private int _disposed;

    private KernelRoutes(int fd) => _fd = fd;

    /// <summary>A route socket of this process's network namespace; null with the reason when the kernel refuses one.</summary>
    public static KernelRoutes? Open(out string? problem)
    {
        var fd = LinuxNative.Socket(LinuxNative.AF_NETLINK, LinuxNative.SOCK_RAW | LinuxNative.SOCK_CLOEXEC, LinuxNative.NETLINK_ROUTE);
        problem = fd < 0 ? $"netlink socket: errno {Marshal.GetLastPInvokeError()}" : null;
        return fd < 0 ? null : new KernelRoutes(fd);
    }

    /// <summary>The interface index of <paramref name="device"/> (0 when there is none).</summary>
    public static int IndexOf(string device) => (int)LinuxNative.IfNameToIndex(device);

    /// <summary>Adds or replaces <paramref name="network"/>/<paramref name="prefixLength"/> via <paramref name="ifIndex"/>; 0 or a negative errno.</summary>
    public int Replace(uint network, int prefixLength, int ifIndex, uint metric, uint? preferredSource = null, byte protocol = Protocol) =>
        Request(RtmNewRoute, NlmFRequest | NlmFAck | NlmFCreate | NlmFReplace, network, prefixLength, ifIndex, metric, preferredSource, protocol);

    /// <summary>Removes that route (ours only: the protocol is part of the match); 0 or a negative errno (-3, ESRCH: not there).</summary>
    public int Delete(uint network, int prefixLength, int ifIndex, uint metric, byte protocol = Protocol) =>
        Request(RtmDelRoute, NlmFRequest | NlmFAck, network, prefixLength, ifIndex, metric, null, protocol);

    /// <summary>The request's bytes (nlmsghdr, rtmsg, attributes; host byte order but the addresses): <see cref="Request"/> sends them.</summary>
    public static int Build(Span<byte> m, ushort type, ushort flags, uint sequence, uint network, int prefixLength, int ifIndex, uint metric, uint? preferredSource, byte protocol = Protocol)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)prefixLength, 32u, nameof(prefixLength));
        m[..64].Clear();
        var length = 16 + 12;
        // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
        m[16] = 2; m[17] = (byte)prefixLength; m[20] = RtTableMain; m[21] = protocol; m[22] = RtScopeLink; m[23] = RtnUnicast;
        length = Attribute(m, length, RtaDst, network, bigEndian: true);
        length = Attribute(m, length, RtaOif, (uint)ifIndex, bigEndian: false);
        length = Attribute(m, length, RtaPriority, metric, bigEndian: false);
        if (preferredSource is { } src) length = Attribute(m, length, RtaPrefSrc, src, bigEndian: true);
        BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(m[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(m[6..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(m[8..], sequence);
        return length;
    }

    private static int Attribute(Span<byte> m, int at, ushort type, uint value, bool bigEndian)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(m[at..], 8);
        BinaryPrimitives.WriteUInt16LittleEndian(m[(at + 2)..], type);
        if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(m[(at + 4)..], value);
        else BinaryPrimitives.WriteUInt32LittleEndian(m[(at + 4)..], value);
        return at + 8;
    }

    private int Request(ushort type, ushort flags, uint network, int prefixLength, int ifIndex, uint metric, uint? preferredSource, byte protocol)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("rtnetlink requests are written for little-endian hosts");
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            var sequence = ++_sequence;
            Span<byte> request = stackalloc byte[64];
            var length = Build(request, type, flags, sequence, network, prefixLength, ifIndex, metric, preferredSource, protocol);
            fixed (byte* p = request)
                if (LinuxNative.Write(_fd, p, (nuint)length) != length) return -Marshal.GetLastPInvokeError();
            // The acknowledgement: an NLMSG_ERROR whose error is 0 (done) or a negative errno. Others' messages are skipped.
            Span<byte> answer = stackalloc byte[1024];
            for (var attempt = 0; attempt < 8; attempt++)
            {
                nint read;
                fixed (byte* p = answer) read = LinuxNative.Read(_fd, p, (nuint)answer.Length);
                if (read < 0) return -Marshal.GetLastPInvokeError();
                for (var at = 0; at + 20 <= read;)
                {
                    var messageLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(answer[at..]);
                    if (messageLength < 16 || at + messageLength > read) break;
                    if (BinaryPrimitives.ReadUInt16LittleEndian(answer[(at + 4)..]) == NlmsgError
                        && BinaryPrimitives.ReadUInt32LittleEndian(answer[(at + 8)..]) == sequence)
                        return BinaryPrimitives.ReadInt32LittleEndian(answer[(at + 16)..]);
                    at += (messageLength + 3) & ~3;
                }
            }
            return -5; // EIO: no acknowledgement
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            LinuxNative.Close(_fd);
        }
    }
}
