using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace IkeActors.Esp;

/// <summary>
/// A Linux TUN interface (/dev/net/tun, IFF_TUN | IFF_NO_PI): each read gives one whole IP packet that the
/// kernel routed into the interface, each write injects one. The device lives in the network namespace of
/// the thread that opens it and disappears when it is disposed. Needs CAP_NET_ADMIN.
/// </summary>
public sealed unsafe class TunDevice : IVirtioPacketDevice
{
    private int _fd;

    private TunDevice(int fd, string name, bool virtioHeader)
    {
        _fd = fd;
        Name = name;
        VirtioHeader = virtioHeader;
    }

    /// <summary>
    /// Opened with offloads (IFF_VNET_HDR, TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4, and USO where the kernel has it): every
    /// read starts with a <see cref="VirtioNetHeader"/> and may be a TCP super-packet of up to 64 KB (segmented by
    /// <see cref="TcpSegmenter"/>) or, with <see cref="UdpSegmentation"/>, a UDP one; plain writes get a header saying
    /// "nothing to do" prepended.
    /// </summary>
    public bool VirtioHeader { get; }

    /// <summary>
    /// The kernel took UDP segmentation offload (TUN_F_USO4 | TUN_F_USO6, Linux 6.2+): a read may be a UDP super-packet
    /// (<see cref="UdpSegmenter"/>) and a write may be one (<see cref="TunCoalescer"/> merges decapsulated datagrams).
    /// </summary>
    public bool UdpSegmentation { get; private set; }

    /// <summary>The interface name the kernel gave (e.g. "esp0" for a requested "esp%d").</summary>
    public string Name { get; }

    /// <summary>Creates the interface; <paramref name="name"/> may contain %d for the kernel to number it.</summary>
    /// <param name="offloads">The kernel hands over TCP super-packets and packets whose checksum is left to us (as wireguard-go's TUN).</param>
    public static TunDevice Open(string name = "esp%d", bool offloads = false) => Open(name, offloads, multiQueue: false);

    /// <summary>
    /// As <see cref="Open(string, bool)"/>; with <paramref name="multiQueue"/> (IFF_MULTI_QUEUE) this descriptor is one
    /// queue of the interface, and opening the same name again adds a queue (<see cref="TunQueues"/>).
    /// </summary>
    public static TunDevice Open(string name, bool offloads, bool multiQueue)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("TUN devices need Linux");
        var nameBytes = Encoding.ASCII.GetBytes(name);
        if (nameBytes.Length >= LinuxNative.IFNAMSIZ) throw new ArgumentException("interface names have at most 15 characters", nameof(name));
        int fd = LinuxNative.Open("/dev/net/tun", LinuxNative.O_RDWR | LinuxNative.O_CLOEXEC | LinuxNative.O_NONBLOCK);
        if (fd < 0) throw new IOException($"open /dev/net/tun failed: errno {Marshal.GetLastPInvokeError()}");
        var req = default(LinuxNative.IfReq);
        nameBytes.CopyTo(new Span<byte>(req.Name, LinuxNative.IFNAMSIZ));
        req.Flags = (short)(LinuxNative.IFF_TUN | LinuxNative.IFF_NO_PI | (offloads ? LinuxNative.IFF_VNET_HDR : 0)
            | (multiQueue ? LinuxNative.IFF_MULTI_QUEUE : 0));
        if (LinuxNative.Ioctl(fd, LinuxNative.TUNSETIFF, &req) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LinuxNative.Close(fd);
            throw new IOException($"ioctl TUNSETIFF {name} failed: errno {errno}");
        }
        var given = new ReadOnlySpan<byte>(req.Name, LinuxNative.IFNAMSIZ);
        int end = given.IndexOf((byte)0);
        var device = new TunDevice(fd, Encoding.ASCII.GetString(end < 0 ? given : given[..end]), offloads);
        if (offloads)
        {
            // UDP segmentation (USO) only both ways at once (the kernel takes USO4 with USO6 or neither) and only from
            // Linux 6.2: an older kernel refuses the flags (EINVAL) and the device keeps TCP's offloads alone.
            const uint tcp = LinuxNative.TUN_F_CSUM | LinuxNative.TUN_F_TSO4;
            if (LinuxNative.IoctlValue(fd, LinuxNative.TUNSETOFFLOAD, tcp | LinuxNative.TUN_F_USO4 | LinuxNative.TUN_F_USO6) >= 0)
                device.UdpSegmentation = true;
            else if (LinuxNative.IoctlValue(fd, LinuxNative.TUNSETOFFLOAD, tcp) < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                device.Dispose();
                throw new IOException($"ioctl TUNSETOFFLOAD {name} failed: errno {errno}");
            }
        }
        return device;
    }

    public int Read(Span<byte> buffer, int timeoutMilliseconds)
    {
        int fd = Volatile.Read(ref _fd);
        if (fd < 0) throw new ObjectDisposedException(nameof(TunDevice));
        // The descriptor is non-blocking: under load a packet is waiting and one read takes it (no poll before every
        // packet: one system call a packet, not two); only an empty queue waits in poll.
        int n = TryRead(fd, buffer);
        if (n != 0) return n;
        var pfd = new LinuxNative.PollFd { Fd = fd, Events = LinuxNative.POLLIN };
        if (LinuxNative.Poll(&pfd, 1, timeoutMilliseconds) <= 0) return 0;
        return TryRead(fd, buffer);
    }

    private int TryRead(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            nint n = LinuxNative.Read(fd, p, (nuint)buffer.Length);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is LinuxNative.EINTR or LinuxNative.EAGAIN) return 0;
                throw new IOException($"read {Name} failed: errno {errno}");
            }
            return (int)n;
        }
    }

    public void Write(ReadOnlySpan<byte> packet)
    {
        int fd = Volatile.Read(ref _fd);
        if (fd < 0) throw new ObjectDisposedException(nameof(TunDevice));
        fixed (byte* p = packet)
        {
            nint written;
            if (VirtioHeader)
            {
                // A header of zeros: no segmentation, checksums complete (what decapsulation delivers).
                byte* header = stackalloc byte[VirtioNetHeader.Size];
                new Span<byte>(header, VirtioNetHeader.Size).Clear();
                var iov = stackalloc LinuxNative.IoVec[2];
                iov[0] = new LinuxNative.IoVec { Base = header, Length = VirtioNetHeader.Size };
                iov[1] = new LinuxNative.IoVec { Base = p, Length = (nuint)packet.Length };
                written = LinuxNative.Writev(fd, iov, 2);
            }
            else written = LinuxNative.Write(fd, p, (nuint)packet.Length);
            if (written < 0)
            {
                throw new IOException($"write {Name} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
    }

    /// <summary>Writes a packet or a TCP super-packet with its virtio-net header (a device opened with offloads).</summary>
    public void Write(in VirtioNetHeader header, ReadOnlySpan<byte> packet)
    {
        if (!VirtioHeader) throw new InvalidOperationException($"{Name} was opened without offloads");
        int fd = Volatile.Read(ref _fd);
        if (fd < 0) throw new ObjectDisposedException(nameof(TunDevice));
        byte* h = stackalloc byte[VirtioNetHeader.Size];
        var span = new Span<byte>(h, VirtioNetHeader.Size);
        header.WriteTo(span);
        fixed (byte* p = packet)
        {
            var iov = stackalloc LinuxNative.IoVec[2];
            iov[0] = new LinuxNative.IoVec { Base = h, Length = VirtioNetHeader.Size };
            iov[1] = new LinuxNative.IoVec { Base = p, Length = (nuint)packet.Length };
            if (LinuxNative.Writev(fd, iov, 2) < 0) throw new IOException($"write {Name} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Sets the address, MTU and link state with iproute2 (<c>ip addr add</c>, <c>ip link set</c>), in the caller's namespace.</summary>
    public void ConfigureWithIp(string addressWithPrefix, int mtu = 1400)
    {
        RunIp("addr", "add", addressWithPrefix, "dev", Name);
        RunIp("link", "set", "dev", Name, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture), "up");
    }

    /// <summary>Runs iproute2 (`ip ARGS`) in the caller's namespace; throws IOException with its error when it fails.</summary>
    public static void RunIp(params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new IOException("cannot start ip");
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new IOException($"ip {string.Join(' ', args)}: {err.Trim()}");
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) LinuxNative.Close(fd);
    }
}
