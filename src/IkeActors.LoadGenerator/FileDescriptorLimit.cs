using System.Runtime.InteropServices;

namespace IkeActors.LoadGenerator;

/// <summary>
/// RLIMIT_NOFILE (setrlimit(2)): one UDP socket per peer needs as many descriptors as peers. The soft limit is
/// raised up to the hard one; root may raise the hard one up to /proc/sys/fs/nr_open.
/// </summary>
public static partial class FileDescriptorLimit
{
    private const int RlimitNofile = 7; // Linux

    [StructLayout(LayoutKind.Sequential)]
    private struct Rlimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out Rlimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, in Rlimit limit);

    /// <summary>The soft limit after trying to make it at least <paramref name="wanted"/> (unchanged off Linux).</summary>
    public static ulong RaiseTo(ulong wanted)
    {
        if (!OperatingSystem.IsLinux()) return wanted;
        if (getrlimit(RlimitNofile, out var limit) != 0) return 0;
        if (limit.Current >= wanted) return limit.Current;
        var raised = limit with { Current = Math.Min(wanted, limit.Maximum) };
        if (wanted > limit.Maximum && NrOpen() is { } nrOpen)
        {
            var asRoot = new Rlimit { Current = Math.Min(wanted, nrOpen), Maximum = Math.Max(limit.Maximum, Math.Min(wanted, nrOpen)) };
            if (setrlimit(RlimitNofile, asRoot) == 0) return asRoot.Current;
        }
        if (setrlimit(RlimitNofile, raised) == 0) return raised.Current;
        return limit.Current;
    }

    private static ulong? NrOpen()
    {
        try { return ulong.Parse(File.ReadAllText("/proc/sys/fs/nr_open").Trim(), System.Globalization.CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException) { return null; }
    }
}
