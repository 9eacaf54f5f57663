using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// scripts/screenshots.sh as CI runs it: the real Aspire Dashboard, the site-to-site sample's two gateway
/// processes, headless Chromium over the DevTools protocol. The page text each capture waited for must hold
/// the span names / grain types, and the PNGs must be real images of the viewport size. The script stops
/// what it started by PID; the test checks those PIDs are gone (and kills the script's tree if it hangs).
/// </summary>
public class ScreenshotScriptTests
{
    private static readonly string[] SpanNames = ["ikev1.main_mode", "ikev1.quick_mode", "MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3"];

    [Fact]
    public async Task The_script_captures_the_negotiation_waterfall_and_the_sa_grains_in_headless_chromium()
    {
        var work = Directory.CreateTempSubdirectory("ikeactors-screenshots-test-");
        try
        {
            var images = Path.Combine(work.FullName, "images");
            var texts = Path.Combine(work.FullName, "text");
            var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(RepoPaths.Root, "scripts", "screenshots.sh"));
            psi.ArgumentList.Add(images);
            // The test's output holds ikeactors.dll, SiteToSite.dll and the DevTools client (project references).
            psi.Environment["IKEACTORS_BIN"] = AppContext.BaseDirectory;
            psi.Environment["SCREENSHOTS_TOOL"] = Path.Combine(AppContext.BaseDirectory, "ikeactors-screenshots.dll");
            psi.Environment["SCREENSHOTS_TEXT"] = texts;
            using var script = Process.Start(psi)!;
            var stdout = script.StandardOutput.ReadToEndAsync();
            var stderr = script.StandardError.ReadToEndAsync();
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150)))
            {
                try { await script.WaitForExitAsync(timeout.Token); }
                catch (OperationCanceledException)
                {
                    script.Kill(entireProcessTree: true); // by PID: the script and everything it started
                    await script.WaitForExitAsync();
                    Assert.Fail($"screenshots.sh hung:\n{await stdout}\n{await stderr}");
                }
            }
            var output = await stdout + "\n" + await stderr;
            Assert.True(script.ExitCode == 0, $"screenshots.sh exited {script.ExitCode}:\n{output}");

            // The page text Chromium waited for: both gateways' spans in the trace detail, the SA grain types.
            var waterfall = await File.ReadAllTextAsync(Path.Combine(texts, "aspire-trace-waterfall.txt"));
            foreach (var name in SpanNames) Assert.Contains(name, waterfall);
            Assert.Contains("ikeactors-ciscoasa-10.0.0.1", waterfall);
            Assert.Contains("ikeactors-ciscoasa-10.0.0.2", waterfall);
            // Every message span as a row of each gateway (the row reads the span name, then its resource).
            foreach (var name in SpanNames)
                foreach (var resource in new[] { "ikeactors-ciscoasa-10.0.0.1", "ikeactors-ciscoasa-10.0.0.2" })
                    Assert.Matches(new Regex($@"^{Regex.Escape(name)}\r?\n{Regex.Escape(resource)}\r?$", RegexOptions.Multiline), waterfall);
            var grains = await File.ReadAllTextAsync(Path.Combine(texts, "orleans-grains.txt"));
            foreach (var grain in new[] { "IkeSaGrain", "IpsecSaGrain", "TunnelGrain" }) Assert.Contains(grain, grains);

            AssertPng(Path.Combine(images, "aspire-trace-waterfall.png"), 1400, 1200);
            AssertPng(Path.Combine(images, "orleans-grains.png"), 1400, 900);

            // Everything the script started (dashboard, Aspire, sample, both gateways) is stopped.
            var stopped = Regex.Matches(output, @"^stopped: (.+)$", RegexOptions.Multiline)
                .SelectMany(m => m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(int.Parse).ToList();
            Assert.True(stopped.Count >= 5, $"expected the dashboard, Aspire, the sample and two gateways among the stopped PIDs:\n{output}");
            foreach (var pid in stopped) Assert.False(Alive(pid), $"pid {pid} still runs");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>PNG signature, IHDR first with the viewport's size (PNG spec §5.2, §11.2.2), IEND last, a plausible size.</summary>
    private static void AssertPng(string path, int width, int height)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.InRange(bytes.Length, 10_000, 2_000_000);
        Assert.Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], bytes[..8]);
        Assert.Equal(13u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(8)));
        Assert.Equal("IHDR", Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
        Assert.Equal("IEND", Encoding.ASCII.GetString(bytes, bytes.Length - 8, 4));
    }

    /// <summary>Running (a zombie or a vanished PID is not).</summary>
    private static bool Alive(int pid)
    {
        try { return !File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].StartsWith('Z'); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }
}
