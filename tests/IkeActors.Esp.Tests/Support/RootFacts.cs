using System.Runtime.InteropServices;

namespace IkeActors.Esp.Tests.Support;

/// <summary>
/// Why a namespace test cannot run here, or null when it can (Linux, root, /dev/net/tun). A missing program is
/// no reason to skip: the test fails naming its package (RequiredProgram), as tests/install-deps.sh installs it.
/// </summary>
internal static partial class RootCheck
{
    public static string? Reason()
    {
        if (!OperatingSystem.IsLinux()) return "needs Linux";
        if (GetEuid() != 0) return "needs root (network namespaces, TUN, raw sockets); CI runs as root";
        if (!File.Exists("/dev/net/tun")) return "needs /dev/net/tun";
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

/// <summary>A fact that is skipped, with the reason, where namespaces cannot be made.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (RootCheck.Reason() is { } reason) Skip = reason;
    }
}
