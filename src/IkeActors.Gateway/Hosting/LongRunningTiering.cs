using System.Runtime.InteropServices;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// One executable, two kinds of process. A node (`run`) and the load generator (`bench`) live for hours and meet
/// bursts of handshakes: ReadyToRun code with tiered compilation off (no recompilation after each burst, measured in
/// tests/IkeActors.Benchmarks/README.md). An operator command (`show`, `debug`, `clear`) lives half a second: with
/// tiering off it compiled ~1,200 methods of the Orleans client at full optimisation, 0.35 s of its ~0.85 s.
/// Tiering is chosen when the runtime starts, so the published build keeps the default (on) and a long-running
/// command starts itself again in place (execve: same PID, same descriptors) with <c>DOTNET_TieredCompilation=0</c>.
/// Only where the published runtimeconfig asks for it (<see cref="Switch"/>); an operator who sets
/// <c>DOTNET_TieredCompilation</c> himself gets what he set.
/// </summary>
internal static partial class LongRunningTiering
{
    /// <summary>The runtimeconfig property the published build sets to false (IkeActors.Gateway.csproj).</summary>
    internal const string Switch = "IkeActors.LongRunning.TieredCompilation";

    private const string Variable = "DOTNET_TieredCompilation";

    internal static bool IsLongRunning(string[] args) => args.Length > 0 && args[0] is "run" or "bench";

    /// <summary>Returns only when nothing is to be done or execve failed (then the command runs as it is).</summary>
    internal static void Apply(string[] args)
    {
        if (!IsLongRunning(args) || !OperatingSystem.IsLinux()) return;
        if (AppContext.GetData(Switch) is not (false or "false")) return;
        if (Environment.GetEnvironmentVariable(Variable) is not null) return;
        string[] argv;
        try
        {
            // The exact argv this process was started with (`ikeactors run …` or `dotnet ikeactors.dll run …`).
            var cmdline = File.ReadAllBytes("/proc/self/cmdline");
            argv = System.Text.Encoding.UTF8.GetString(cmdline).TrimEnd('\0').Split('\0');
        }
        catch (IOException)
        {
            return;
        }
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            env.Add($"{e.Key}={e.Value}");
        env.Add($"{Variable}=0");
        // The executable's own path, not /proc/self/exe: the kernel names the process after the file it executes
        // (ps, top, systemd and the tests' PID checks would see "exe").
        if (Environment.ProcessPath is { } path) Exec(path, argv, env);
    }

    private static void Exec(string path, string[] argv, List<string> env)
    {
        var pointers = new List<IntPtr>();
        try
        {
            var argvp = Strings(argv, pointers);
            var envp = Strings(env, pointers);
            execve(path, argvp, envp);
            // Still here: execve failed; the command runs in this process, tiering as the runtime chose.
            Console.Error.WriteLine($"WARNING: could not restart with tiered compilation off (errno {Marshal.GetLastPInvokeError()}); continuing");
        }
        finally
        {
            foreach (var p in pointers) Marshal.FreeCoTaskMem(p);
        }
    }

    private static IntPtr[] Strings(IReadOnlyList<string> values, List<IntPtr> owned)
    {
        var array = new IntPtr[values.Count + 1];
        for (var i = 0; i < values.Count; i++)
        {
            array[i] = Marshal.StringToCoTaskMemUTF8(values[i]);
            owned.Add(array[i]);
        }
        return array;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int execve(string path, IntPtr[] argv, IntPtr[] envp);
}
