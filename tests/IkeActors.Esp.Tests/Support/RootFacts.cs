using System.Runtime.InteropServices;

namespace IkeActors.Esp.Tests.Support;

/// <summary>Why a namespace test cannot run here, or null when it can (root, /dev/net/tun, iproute2).</summary>
internal static partial class RootCheck
{
    public static string? Reason()
    {
        if (!OperatingSystem.IsLinux()) return "needs Linux";
        if (GetEuid() != 0) return "needs root (network namespaces, TUN, raw sockets); CI runs as root";
        if (!File.Exists("/dev/net/tun")) return "needs /dev/net/tun";
        if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip")) return "needs iproute2 (ip)";
        return null;
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}

/// <summary>A theory that is skipped, with the reason, where namespaces cannot be made.</summary>
public sealed class RootTheoryAttribute : TheoryAttribute
{
    public RootTheoryAttribute()
    {
        if (RootCheck.Reason() is { } reason) Skip = reason;
    }
}
