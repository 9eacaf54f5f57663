using System.Globalization;
using System.Runtime.InteropServices;

namespace IkeActors.Testing;

/// <summary>Stops a process a test started the way systemd (SIGTERM) or an operator's Ctrl+C (SIGINT) does: a signal to its PID.</summary>
internal static class StopSignal
{
    public const int Sigint = 2, Sigterm = 15;

    /// <summary>
    /// Arguments for `env` (coreutils 8.31+) that give a process SIGINT and SIGTERM back their default handling:
    /// a test runner started in the background of a shell without job control passes SIGINT on as ignored.
    /// </summary>
    public static readonly string[] DefaultSignals = ["--default-signal=INT,TERM"];

    /// <summary>
    /// Sends <paramref name="signal"/> to <paramref name="pid"/>, which must be the dotnet process itself. A process
    /// that inherited the signal as ignored (POSIX: a shell without job control starts background commands with
    /// SIGINT ignored, and their children keep it) rightly does not stop on it: the test fails saying so.
    /// </summary>
    public static void Send(int pid, int signal)
    {
        var comm = File.ReadAllText($"/proc/{pid}/comm").Trim();
        Assert.True(comm == "dotnet", $"PID {pid} is {comm}, not the gateway's dotnet process");
        var status = File.ReadAllLines($"/proc/{pid}/status");
        var ignored = ulong.Parse(status.First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal))[7..].Trim(), NumberStyles.HexNumber);
        Assert.True((ignored & (1UL << (signal - 1))) == 0,
            $"PID {pid} ignores signal {signal}, inherited from the test runner (started in the background of a shell without job control): run the tests in the foreground");
        Assert.True(kill(pid, signal) == 0, $"kill({pid}, {signal}) failed");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
