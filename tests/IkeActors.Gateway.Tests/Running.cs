using System.Diagnostics;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>An `ikeactors` process started by a test, its stdout collected line by line; stopped by PID.</summary>
internal sealed class Running(Process process)
{
    public Process Process { get; } = process;
    public List<string> Lines { get; } = new();
    public List<string> ErrorLines { get; } = new();

    public static Running Start(string dll, params string[] args)
    {
        // env --default-signal: SIGINT as an operator's Ctrl+C delivers it, even when the test runner was started
        // with it ignored (a shell without job control does that to background commands); env execs in place.
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in StopSignal.DefaultSignals) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("dotnet");
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var running = new Running(Process.Start(psi)!);
        running.Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (running.Lines) running.Lines.Add(e.Data); };
        running.Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (running.ErrorLines) running.ErrorLines.Add(e.Data); };
        running.Process.BeginOutputReadLine();
        running.Process.BeginErrorReadLine();
        return running;
    }

    public async Task WaitForLine(string text, TimeSpan timeout)
    {
        var until = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Environment.TickCount64 < until)
        {
            lock (Lines) if (Lines.Any(l => l.Contains(text, StringComparison.Ordinal))) return;
            if (Process.HasExited) break;
            await Task.Delay(100);
        }
        lock (Lines) Assert.Fail($"no line with '{text}'; output:\n{string.Join("\n", Lines)}");
    }

    public const int Sigint = StopSignal.Sigint, Sigterm = StopSignal.Sigterm;

    /// <summary>A signal to the PID we started (the dotnet process itself), as systemd or an operator stops a node.</summary>
    public void Signal(int signal) => StopSignal.Send(Process.Id, signal);

    /// <summary>The exit code once the process ended within the timeout (its output read to the end), else null.</summary>
    public int? WaitForExit(TimeSpan timeout)
    {
        if (!Process.WaitForExit(timeout)) return null;
        Process.WaitForExit();
        return Process.ExitCode;
    }

    public void Stop()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        Process.WaitForExit(5000);
        Process.Dispose();
    }
}
