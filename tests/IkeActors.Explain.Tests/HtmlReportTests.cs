using System.Text.RegularExpressions;
using IkeActors.Explain.Tests.Support;

namespace IkeActors.Explain.Tests;

/// <summary>
/// The HTML report opened in headless Chromium: it renders (a screenshot that is not blank,
/// with the ladder's colours), the DOM has the ladder's nodes and the failure mark, and the
/// page's script ran without errors. Chromium missing is a failure, not a skip (tests/run-all.sh
/// installs it).
/// </summary>
public class HtmlReportTests
{
    private static string Chrome() => Chromium.Find()
        ?? throw new Xunit.Sdk.XunitException("chromium is not installed (Debian: apt-get install chromium; tests/run-all.sh installs it)");

    private static ExplainReport ProxyIdFailure()
    {
        var responder = EngineLab.Edit(EngineLab.Edit(EngineLab.Responder,
            "permit tcp 192.168.2.0 255.255.255.0 192.168.1.0", "permit tcp 192.168.20.0 255.255.255.0 192.168.1.0"),
            "permit icmp 192.168.2.0 255.255.255.0 192.168.1.0", "permit icmp 192.168.20.0 255.255.255.0 192.168.1.0");
        using var lab = new EngineLab(EngineLab.Initiator, responder).Run();
        var options = new ExplainOptions();
        options.Configs.Add(("asa1-initiator.cfg", EngineLab.Initiator));
        options.Configs.Add(("asa2-responder.cfg", responder));
        return Explainer.Explain([("left.log", lab.LeftLog), ("right.log", lab.RightLog)], options);
    }

    [Fact]
    public void The_page_is_self_contained()
    {
        var html = HtmlReport.Render(ProxyIdFailure());
        Assert.DoesNotMatch(new Regex(@"(src|href)\s*=\s*""(https?:)?//", RegexOptions.IgnoreCase), html);
        Assert.DoesNotContain("<link", html);
        Assert.Contains("<svg id=\"ladder\"", html);
        Assert.DoesNotContain("pre-shared-key cisco", html);
    }

    [Fact]
    public void One_end_alone_draws_every_message_as_delivered_and_a_silent_peer_as_unanswered()
    {
        using var good = new EngineLab(EngineLab.Initiator, EngineLab.Responder).Run();
        var html = HtmlReport.Render(Explainer.Explain([("left.log", good.LeftLog)]));
        foreach (var m in new[] { "MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3" })
            Assert.Contains($"<g class=\"msg\" id=\"msg-{m}\"", html);

        using var silent = new EngineLab(EngineLab.Initiator, EngineLab.Responder) { Tamper = (fromLeft, d) => fromLeft ? d : null }.Run().Exhaust(left: true);
        html = HtmlReport.Render(Explainer.Explain([("left.log", silent.LeftLog)]));
        Assert.Contains("<g class=\"msg failed unanswered\" id=\"msg-MM1\"", html);
        Assert.Contains("(resent ×4)", html);
        Assert.DoesNotContain("id=\"msg-MM2\"", html);
    }

    [Fact]
    public void Chromium_renders_the_ladder_with_the_failure_point()
    {
        var chrome = Chrome();
        var dir = Directory.CreateTempSubdirectory("explain-html-");
        try
        {
            var html = Path.Combine(dir.FullName, "report.html");
            File.WriteAllText(html, HtmlReport.Render(ProxyIdFailure()));

            var png = Path.Combine(dir.FullName, "ladder.png");
            var shot = Chromium.Run(chrome, html, "--screenshot=" + png);
            Assert.True(File.Exists(png), $"no screenshot (exit {shot.ExitCode}):\n{shot.Stderr}");
            var image = Png.Read(png);
            Assert.Equal((1200, 1600), (image.Width, image.Height));
            Assert.True(Png.Colours(image) > 20, "the screenshot is (nearly) one colour: blank page");
            Assert.True(Png.Ink(image) > 0.01, "the screenshot is (nearly) all white");
            Assert.True(Png.Count(image, 0x1f, 0x4e, 0x79) > 500, "no ladder arrows (#1f4e79) in the screenshot");
            Assert.True(Png.Count(image, 0xc0, 0x00, 0x00) > 50, "no failure mark (#c00000) in the screenshot");
            Assert.DoesNotContain("Uncaught", shot.Stderr);
            if (Environment.GetEnvironmentVariable("EXPLAIN_KEEP_SCREENSHOT") is { Length: > 0 } keep) File.Copy(png, keep, overwrite: true);

            var dom = Chromium.Run(chrome, html, "--dump-dom");
            var d = dom.Stdout;
            Assert.Contains("id=\"ladder\"", d);
            Assert.Contains("id=\"lifeline-initiator\"", d);
            Assert.Contains("id=\"lifeline-responder\"", d);
            foreach (var m in new[] { "MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1" })
                Assert.Contains($"id=\"msg-{m}\"", d);
            Assert.DoesNotContain("id=\"msg-QM2\"", d); // the responder rejected QM1
            Assert.Matches("<g class=\"msg failed[^\"]*\" id=\"msg-QM1\"", d);
            Assert.Contains("id=\"failure\"", d);
            Assert.Contains("Proxy-ID (crypto ACL) mismatch", d);
            // The page's script ran to its end without an error.
            Assert.Contains("data-ready=\"1\"", d);
            Assert.Matches("data-ladder-messages=\"[1-9][0-9]*\"", d);
            Assert.DoesNotContain("Uncaught", dom.Stderr);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_seed_document_renders_with_every_message_of_both_exchanges()
    {
        var chrome = Chrome();
        var report = Explainer.ExplainFiles([Repo.SeedDocument], [Repo.SampleConfig("asa1-initiator.cfg"), Repo.SampleConfig("asa2-responder.cfg")]);
        var dir = Directory.CreateTempSubdirectory("explain-html-");
        try
        {
            var html = Path.Combine(dir.FullName, "seed.html");
            File.WriteAllText(html, HtmlReport.Render(report));
            var dom = Chromium.Run(chrome, html, "--dump-dom");
            foreach (var m in new[] { "MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3" })
                Assert.Matches($"<g class=\"msg\" id=\"msg-{m}\"", dom.Stdout); // sent and received, not failed
            Assert.Contains("id=\"no-failure\"", dom.Stdout);
            Assert.Matches("id=\"lifeline-initiator\".*10\\.0\\.0\\.1", dom.Stdout);
            Assert.Matches("id=\"lifeline-responder\".*10\\.0\\.0\\.2", dom.Stdout);
            Assert.DoesNotContain("id=\"failure\"", dom.Stdout);
            Assert.Contains("data-ready=\"1\"", dom.Stdout);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
