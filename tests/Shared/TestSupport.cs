using System.Diagnostics;

namespace IkeActors.Testing;

/// <summary>The repository root (the folder with IkeActors.sln) and the shared/ folder CI lays beside it.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();
    public static string Shared => Path.GetFullPath(Path.Combine(Root, "..", "shared"));
    public static string Seed => Path.Combine(Shared, "seed");
    public static string SiteToSite(string file) => Path.Combine(Root, "samples", "SiteToSite", file);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IkeActors.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("IkeActors.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Free loopback ports for the processes a test starts (the kernel picks one; the socket is closed again).</summary>
internal static class FreePorts
{
    public static int Udp()
    {
        using var s = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)s.Client.LocalEndPoint!).Port;
    }

    public static int Tcp()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

/// <summary>Runs a program to completion (bounded in time) and captures its output.</summary>
internal static class ProcessRunner
{
    public static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, int timeoutMs = 60_000)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            return (-1, stdout.Result, "timed out after " + timeoutMs + " ms\n" + stderr.Result);
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>The seed's own checker (../shared/seed/check-golden.py) on a debug log.</summary>
internal static class GoldenCheck
{
    /// <summary>Returns the checker's report; <c>Passed</c> is true when every golden line was found in order.</summary>
    public static (bool Passed, string Report) Run(string goldenFile, IEnumerable<string> logLines, string peer)
    {
        var log = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(log, logLines);
            var (code, stdout, stderr) = ProcessRunner.Run("python3",
                [Path.Combine(RepoPaths.Seed, "check-golden.py"), Path.Combine(RepoPaths.Seed, goldenFile), log, "--peer", peer]);
            return (code == 0 && System.Text.RegularExpressions.Regex.IsMatch(stdout, @"golden: (\d+)/\1 lines in order"), stdout + stderr);
        }
        finally
        {
            File.Delete(log);
        }
    }
}
