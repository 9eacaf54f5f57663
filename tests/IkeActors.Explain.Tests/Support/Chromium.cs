using System.Diagnostics;

namespace IkeActors.Explain.Tests.Support;

/// <summary>Headless Chromium (Debian package `chromium`), each run with a fresh profile and no network.</summary>
internal static class Chromium
{
    public static string? Find()
    {
        foreach (var name in new[] { "chromium", "chromium-browser", "google-chrome" })
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                var p = Path.Combine(dir, name);
                if (File.Exists(p)) return p;
            }
        }
        return null;
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(string exe, string html, params string[] extra)
    {
        var profile = Directory.CreateTempSubdirectory("explain-chromium-");
        try
        {
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile.FullName,
                "--window-size=1200,1600", "--enable-logging=stderr", "--v=0",
            }) psi.ArgumentList.Add(a);
            foreach (var a in extra) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(new Uri(html).AbsoluteUri);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(90)))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException("chromium did not finish in 90 s");
            }
            return new Result(p.ExitCode, stdout.Result, stderr.Result);
        }
        finally
        {
            try { profile.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
