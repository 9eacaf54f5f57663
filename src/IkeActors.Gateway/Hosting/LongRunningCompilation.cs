using System.Runtime.InteropServices;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// One executable, two kinds of process. A node (`run`) lives for months and meets bursts of handshakes; an operator
/// command (`show`, `debug`, `clear`) lives half a second. The published build is
/// one composite ReadyToRun image, which starts fast (the commands: ~0.4 s), but a handshake through ReadyToRun code
/// cost 1.5-1.8 ms of CPU where the same code compiled by the JIT at full optimisation cost 0.94-1.05 ms
/// (tests/IkeActors.Benchmarks/README.md, sixth round). So a node starts itself again in place
/// (execve: same PID, same descriptors) with <c>DOTNET_ReadyToRun=0</c> and <c>DOTNET_TieredCompilation=0</c>:
/// every method compiled once, optimised, never recompiled (tiering recompiled hot methods after each burst), and
/// the node's start-up warm-up (<see cref="NodeWarmUp"/>, on where this applies) compiles the handshake path
/// before the first peer. Start-up takes 3.6-4.5 s (4.2-4.9 s of CPU) instead of ~0.6 s. The restart also gives the GC a
/// 64 MiB first generation (<c>DOTNET_GCgen0size</c>, <see cref="Gen0Budget"/>) unless the operator set one: a burst of
/// new tunnels allocates ~80 KB each, and with the default budget (a few MiB) a burst of 1,000 met blocking gen1
/// collections long enough that peers retransmitted into them (more datagrams, more CPU per tunnel;
/// tests/IkeActors.Benchmarks/README.md, eighth round). These are runtime start-up choices, hence the restart. Only where
/// the published runtimeconfig asks for it (<see cref="Switch"/>); an operator who sets either of the first two
/// variables himself gets what he set, and no restart.
/// </summary>
internal static partial class LongRunningCompilation
{
    /// <summary>The runtimeconfig switch the published build sets (IkeActors.Gateway.csproj).</summary>
    internal const string Switch = "IkeActors.LongRunning.JitOnly";

    private static readonly string[] Variables = ["DOTNET_ReadyToRun", "DOTNET_TieredCompilation"];

    /// <summary>The first generation's budget of a restarted node (64 MiB), unless the environment sets one.</summary>
    internal const string Gen0Budget = "DOTNET_GCgen0size=0x4000000";

    /// <summary>
    /// The first generation's budget set by <c>DOTNET_GCgen0size</c> (hexadecimal, with or without 0x, as the runtime
    /// reads its variables), or null when it is unset or not a positive number.
    /// </summary>
    internal static long? FirstGenerationBudget(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var digits = value.Trim();
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) digits = digits[2..];
        return long.TryParse(digits, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var bytes)
            && bytes > 0 ? bytes : null;
    }

    /// <summary>This process's first-generation budget (<see cref="FirstGenerationBudget(string?)"/> of its environment).</summary>
    internal static long? FirstGenerationBudget() => FirstGenerationBudget(Environment.GetEnvironmentVariable(Gen0Budget[..Gen0Budget.IndexOf('=')]));

    /// <summary>The runtimeconfig asks for it (a published build).</summary>
    private static bool Requested => AppContext.TryGetSwitch(Switch, out var on) && on;

    /// <summary>This process is a node restarted by <see cref="Apply"/> (so the warm-up runs).</summary>
    internal static bool Applied => Requested && Environment.GetEnvironmentVariable("DOTNET_ReadyToRun") == "0";

    /// <summary>
    /// A node. Not `bench`: a rate run starts one per burst, and JIT-only its own start-up (~3 s of CPU) competed with
    /// the responder it measures (the same 2 cores) and lowered every responder's rate.
    /// </summary>
    internal static bool IsNode(string[] args) => args.Length > 0 && args[0] is "run";

    /// <summary>Returns only when nothing is to be done or execve failed (then the command runs as it is).</summary>
    internal static void Apply(string[] args)
    {
        if (!IsNode(args) || !OperatingSystem.IsLinux()) return;
        if (!Requested) return;
        if (Variables.Any(v => Environment.GetEnvironmentVariable(v) is not null)) return;
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
        env.AddRange(Variables.Select(v => $"{v}=0"));
        if (Environment.GetEnvironmentVariable(Gen0Budget[..Gen0Budget.IndexOf('=')]) is null) env.Add(Gen0Budget);
        RemoveDiagnosticsSocket();
        // The executable's own path, not /proc/self/exe: the kernel names the process after the file it executes
        // (ps, top, systemd and the tests' PID checks would see "exe").
        if (Environment.ProcessPath is { } path) Exec(path, argv, env);
    }

    /// <summary>
    /// The runtime's diagnostics socket (TMPDIR/dotnet-diagnostic-PID-…-socket) would outlive execve, and dotnet-trace,
    /// dotnet-counters and dotnet-stack, which find a process by that name, would knock on the dead one; the restarted
    /// runtime opens its own.
    /// </summary>
    private static void RemoveDiagnosticsSocket()
    {
        try
        {
            foreach (var socket in Directory.EnumerateFiles(Path.GetTempPath(), $"dotnet-diagnostic-{Environment.ProcessId}-*-socket"))
                File.Delete(socket);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static void Exec(string path, string[] argv, List<string> env)
    {
        var pointers = new List<IntPtr>();
        try
        {
            var argvp = Strings(argv, pointers);
            var envp = Strings(env, pointers);
            execve(path, argvp, envp);
            // Still here: execve failed; the command runs in this process as the runtime started it.
            Console.Error.WriteLine($"WARNING: could not restart JIT-only (errno {Marshal.GetLastPInvokeError()}); continuing with ReadyToRun code");
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
