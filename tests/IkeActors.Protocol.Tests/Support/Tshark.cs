using System.Diagnostics;

namespace IkeActors.Protocol.Tests.Support;

/// <summary>Runs the tshark binary (Debian package <c>tshark</c>). Missing tshark is a test failure, not a skip.</summary>
public static class Tshark
{
    /// <summary>The tshark executable: $TSHARK, else the first <c>tshark</c> on PATH, else /usr/bin/tshark.</summary>
    public static string Locate()
    {
        var fromEnv = Environment.GetEnvironmentVariable("TSHARK");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv)) return fromEnv;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "tshark");
            if (File.Exists(candidate)) return candidate;
        }
        if (File.Exists("/usr/bin/tshark")) return "/usr/bin/tshark";
        throw new InvalidOperationException(
            "tshark is not installed: the independent-decoder tests need it (apt-get install tshark; tests/run-all.sh installs it as root).");
    }

    /// <summary>Runs tshark with the arguments; returns stdout. Throws (fails the test) on a non-zero exit or a timeout.</summary>
    public static string Run(params string[] arguments)
    {
        var psi = new ProcessStartInfo(Locate())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        // No user profile, no plugins or preferences of whoever runs the tests.
        psi.Environment["WIRESHARK_CONFIG_DIR"] = Path.Combine(Path.GetTempPath(), "ikeactors-tshark-profile");
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start tshark");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("tshark did not finish in 60 s: " + string.Join(' ', arguments));
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"tshark exited with {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }
}
