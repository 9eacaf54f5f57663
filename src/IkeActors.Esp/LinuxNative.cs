using System.Runtime.InteropServices;

namespace IkeActors.Esp;

/// <summary>The few libc calls TUN needs (Linux, x86-64 and arm64 share these numbers).</summary>
internal static unsafe partial class LinuxNative
{
    public const int O_RDWR = 2, O_CLOEXEC = 0x80000, O_NONBLOCK = 0x800;
    public const short POLLIN = 1;
    public const uint TUNSETIFF = 0x400454ca; // _IOW('T', 202, int), linux/if_tun.h
    public const short IFF_TUN = 0x0001, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000, IFF_MULTI_QUEUE = 0x0100;
    public const uint TUNSETOFFLOAD = 0x400454d0; // _IOW('T', 208, unsigned int)
    public const uint TUN_F_CSUM = 0x01, TUN_F_TSO4 = 0x02, TUN_F_USO4 = 0x20, TUN_F_USO6 = 0x40; // linux/if_tun.h (USO: Linux 6.2+)
    public const int SOL_UDP = 17, UDP_SEGMENT = 103, UDP_GRO = 104; // linux/udp.h: UDP generic segmentation and receive offload
    public const int IFNAMSIZ = 16;
    public const int EINTR = 4, EAGAIN = 11;

    [StructLayout(LayoutKind.Sequential)]
    public struct IfReq
    {
        public fixed byte Name[IFNAMSIZ];
        public short Flags;
        private fixed byte _rest[22]; // the rest of the union in struct ifreq (40 bytes in all)
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, IfReq* argument);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlValue(int fd, nuint request, nuint value);

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CMsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [LibraryImport("libc", EntryPoint = "writev", SetLastError = true)]
    public static partial nint Writev(int fd, IoVec* iov, int count);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(int fd, MsgHdr* message, int flags);

    public const int MSG_DONTWAIT = 0x40;

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMMsg(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMMsg(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    public const int AF_INET = 2, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000, IPPROTO_ESP = 50;

    public const int SOL_SOCKET = 1, SO_ATTACH_FILTER = 26, SO_DETACH_FILTER = 27;

    /// <summary>One classic BPF instruction (linux/filter.h struct sock_filter).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockFilter
    {
        public ushort Code;
        public byte JumpTrue;
        public byte JumpFalse;
        public uint K;
    }

    /// <summary>linux/filter.h struct sock_fprog.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockFprog
    {
        public ushort Length;
        public SockFilter* Filter;
    }

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    public const int AF_NETLINK = 16, NETLINK_ROUTE = 0;

    [LibraryImport("libc", EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint IfNameToIndex(string name);
}
