using System.Diagnostics;

namespace IkeActors.Testing;

/// <summary>The repository root (the folder with IkeActors.sln) and the test data kept in it.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();
    /// <summary>tests/data: data from other sources (device output, captures, vectors); each folder's README says where it comes from.</summary>
    public static string Data => Path.Combine(Root, "tests", "data");
    /// <summary>tests/data/seed: the golden transcripts and the device output of the Cisco document.</summary>
    public static string Seed => Path.Combine(Data, "seed");
    /// <summary>tests/data/strongswan-5.9.8: captures and logs of real strongSwan 5.9.8 negotiations.</summary>
    public static string StrongSwanReference => Path.Combine(Data, "strongswan-5.9.8");
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
