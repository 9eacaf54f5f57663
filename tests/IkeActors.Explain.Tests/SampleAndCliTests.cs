using System.Diagnostics;
using System.Text.Json;
using IkeActors.Explain.Tests.Support;
using IkeActors.Gateway.Commands;

namespace IkeActors.Explain.Tests;

/// <summary>The SiteToSite sample's own logs, and the `ikeactors explain` command.</summary>
public class SampleAndCliTests
{
    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task The_SiteToSite_sample_logs_are_explained_as_a_complete_negotiation()
    {
        var dir = Directory.CreateTempSubdirectory("explain-s2s-");
        try
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SiteToSite.dll"));
            psi.ArgumentList.Add("--out");
            psi.ArgumentList.Add(dir.FullName);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await p.WaitForExitAsync(cts.Token);
            Assert.True(p.ExitCode == 0, $"sample exit {p.ExitCode}\n{await stdout}\n{await stderr}");

            var left = Path.Combine(dir.FullName, "left.log");
            var right = Path.Combine(dir.FullName, "right.log");
            var r = Explainer.ExplainFiles([left, right], [Repo.SampleConfig("asa1-initiator.cfg"), Repo.SampleConfig("asa2-responder.cfg")]);
            string Seq(string file) => string.Join(" ", r.Lines.Where(l => l.Record.File == file && l.Message?.Name is "IkeDecodeSending" or "IkeDecodeReceived")
                .Select(l => (l.Message!.Name == "IkeDecodeSending" ? ">" : "<") + l.ExchangeMessage));
            Assert.Equal(">MM1 <MM2 >MM3 <MM4 >MM5 <MM6 >QM1 <QM2 >QM3", Seq(left));
            Assert.Equal("<MM1 >MM2 <MM3 >MM4 <MM5 >MM6 <QM1 >QM2 <QM3", Seq(right));
            Assert.Empty(r.Diagnoses);
            Assert.All(r.Lines.Where(l => l.Record.IsIke), l => Assert.Equal(MatchQuality.Exact, l.Quality));
            var policy = r.Lines.Single(l => l.Message?.Name == "IkeSaProposalAcceptable");
            Assert.Contains(policy.Config, c => c.File.EndsWith("asa2-responder.cfg", StringComparison.Ordinal) && c.Text == "crypto isakmp policy 10");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Explain_command_text_json_and_html()
    {
        var a = Repo.SampleConfig("asa1-initiator.cfg");
        var b = Repo.SampleConfig("asa2-responder.cfg");
        var text = Cli("explain", Repo.SeedDocument, "--config", a, "--config", b);
        Assert.Equal(0, text.Code);
        Assert.Contains("== Main Mode ==", text.Out);
        Assert.Contains("-- MM1 (initiator → responder; initiator builds and sends it)", text.Out);
        Assert.DoesNotContain("pre-shared-key cisco", text.Out);

        var json = Cli("explain", Repo.SeedDocument, "--config", a, "--config", b, "--format", "json");
        Assert.Equal(0, json.Code);
        using var doc = JsonDocument.Parse(json.Out);
        var lines = doc.RootElement.GetProperty("lines").EnumerateArray().ToList();
        Assert.Contains(lines, l => l.TryGetProperty("message", out var m) && m.GetString() == "IkeSaProposalAcceptable"
            && l.GetProperty("exchangeMessage").GetString() == "MM1" && l.GetProperty("side").GetString() == "responder");
        Assert.Equal(0, doc.RootElement.GetProperty("diagnoses").GetArrayLength());

        var dir = Directory.CreateTempSubdirectory("explain-cli-");
        try
        {
            var html = Path.Combine(dir.FullName, "r.html");
            var h = Cli("explain", Repo.SeedDocument, "--format", "html", "--output", html);
            Assert.Equal(0, h.Code);
            Assert.Contains("<svg id=\"ladder\"", File.ReadAllText(html));
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void Explain_command_exit_codes()
    {
        using var lab = new EngineLab(EngineLab.Initiator, EngineLab.Edit(EngineLab.Responder, " encryption 3des", " encryption aes-256")).Run();
        var dir = Directory.CreateTempSubdirectory("explain-cli-");
        try
        {
            var log = Path.Combine(dir.FullName, "right.log");
            File.WriteAllText(log, lab.RightLog);
            var r = Cli("explain", log);
            Assert.Equal(1, r.Code); // a failure was diagnosed
            Assert.Contains("No matching ISAKMP policy [no-isakmp-policy] at MM1 (responder)", r.Out);
            Assert.Equal(2, Cli("explain", Path.Combine(dir.FullName, "missing.log")).Code);
            Assert.NotEqual(0, Cli("explain", log, "--format", "pdf").Code);
            var peer = Cli("explain", log, "--peer", "192.0.2.1");
            Assert.Equal(0, peer.Code); // nothing about that peer
        }
        finally { dir.Delete(recursive: true); }
    }
}
