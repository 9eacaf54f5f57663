using System.Text;

namespace IkeActors.Explain.Tests;

/// <summary>Garbage in: no exception, a clear report.</summary>
public class HostileInputTests
{
    private static ExplainReport Explain(string text) => Explainer.Explain([("input.log", text)]);

    private static void Renders(ExplainReport r)
    {
        Assert.NotNull(TextReport.Render(r));
        Assert.NotNull(JsonReport.Render(r));
        Assert.NotNull(HtmlReport.Render(r));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\n\t\n")]
    public void Empty_input_says_so(string text)
    {
        var r = Explain(text);
        Assert.Empty(r.Diagnoses);
        Assert.Contains(r.Problems, p => p.Contains("empty", StringComparison.Ordinal));
        Renders(r);
        Assert.Contains("empty", TextReport.Render(r));
    }

    [Fact]
    public void Binary_input_is_read_as_text_with_control_characters_shown_as_question_marks()
    {
        var bytes = new byte[64 * 1024];
        new Random(7).NextBytes(bytes);
        var r = Explain(LogReader.Decode(bytes));
        Assert.Equal(0, r.Recognised);
        Assert.Contains(r.Problems, p => p.Contains("no line of the input is an ASA", StringComparison.Ordinal));
        var text = TextReport.Render(r);
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\0', text);
        Renders(r);
    }

    [Fact]
    public void Terminal_escape_sequences_in_a_debug_line_are_neutralised()
    {
        var r = Explain("[IKEv1]: IP = 10.0.0.2, Connection landed on tunnel_group \u001b]0;owned\u0007\u001b[2J");
        var text = TextReport.Render(r);
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\u0007', text);
    }

    [Fact]
    public void A_huge_line_is_cut_and_reported()
    {
        var huge = "[IKEv1 DEBUG]: IP = 10.0.0.2, processing " + new string('A', 5_000_000) + " payload";
        var r = Explain(huge + "\n[IKEv1]: IP = 10.0.0.2, PHASE 1 COMPLETED\n");
        Assert.Contains(r.Problems, p => p.Contains("cut at", StringComparison.Ordinal));
        Assert.Contains(r.Lines, l => l.Message?.Name == "Phase1Completed");
        Assert.True(TextReport.Render(r).Length < 200_000);
    }

    [Fact]
    public void Many_tags_on_one_line_and_nested_brackets_do_not_explode()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < 2000; i++) sb.Append("[IKEv1]: IP = ").Append("{{{{ [[[ ((( ");
        var r = Explain(sb.ToString());
        Renders(r);
    }

    [Fact]
    public void Garbage_lines_are_kept_and_marked_and_real_lines_still_recognised()
    {
        var r = Explain("hello\n%%%% ASA-7-??\n[IKEv1]: IP = , \n[IKEv1 DEBUG]: IP = 999.1.1.1, constructing ISAKMP SA payload\n[IKEv1 FOO]: bar\nIPSEC(crypto_map_check)-3: looking for crypto map matching 5-tuple\n");
        Assert.Contains(r.Lines, l => l.Message?.Name == "ConstructingIsakmpSaPayload");
        Assert.True(r.Unrecognised >= 4);
        Assert.Contains("?", TextReport.Render(r));
    }

    [Fact]
    public void A_long_log_is_read()
    {
        var line = "[IKEv1 DEBUG]: IP = 10.0.0.2, processing VID payload\n";
        var r = Explain(string.Concat(Enumerable.Repeat(line, 100_000)));
        Assert.Equal(100_000, r.Recognised);
    }
}

/// <summary>Keys never leave: not from the configuration, not from text pasted into the log.</summary>
public class SecretTests
{
    [Theory]
    [InlineData(" pre-shared-key cisco", " pre-shared-key *****")]
    [InlineData(" ikev1 pre-shared-key s3cr3t!", " ikev1 pre-shared-key *****")]
    [InlineData("crypto isakmp key topsecret address 10.0.0.2", "crypto isakmp key ***** address 10.0.0.2")]
    [InlineData("Authentication pre-shared key begins now.", "Authentication pre-shared key begins now.")]
    public void Keys_are_masked(string line, string masked) => Assert.Equal(masked, ConfigIndex.Mask(line));

    [Fact]
    public void No_format_prints_a_key_of_the_configuration_or_of_the_log()
    {
        var config = File.ReadAllText(Support.Repo.SampleConfig("asa1-initiator.cfg")).Replace("pre-shared-key cisco", "pre-shared-key Zq9-unique-key", StringComparison.Ordinal);
        var options = new ExplainOptions();
        options.Configs.Add(("asa1.cfg", config));
        var log = "tunnel-group 10.0.0.2 ipsec-attributes\n pre-shared-key Zq9-unique-key\n[IKEv1]: IP = 10.0.0.2, Connection landed on tunnel_group 10.0.0.2\n"
            + "[IKEv1]: IP = 10.0.0.2, Received encrypted Oakley Main Mode packet with invalid payloads, MessID = 0\n";
        var r = Explainer.Explain([("x.log", log)], options);
        Assert.NotEmpty(r.Diagnoses);
        Assert.Contains(r.Lines, l => l.Config.Any(c => c.Text.Contains("*****", StringComparison.Ordinal)));
        foreach (var output in new[] { TextReport.Render(r), JsonReport.Render(r), HtmlReport.Render(r) })
            Assert.DoesNotContain("Zq9-unique-key", output);
    }
}
