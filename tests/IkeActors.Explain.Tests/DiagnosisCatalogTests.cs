namespace IkeActors.Explain.Tests;

/// <summary>schemas/diagnoses.ikediag: embedded, parsed at run time, mistakes reported with file:line:column.</summary>
public class DiagnosisCatalogTests
{
    [Fact]
    public void The_embedded_catalogue_has_every_signature_the_issue_asks_for()
    {
        var ids = DiagnosisCatalog.Embedded.Rules.Select(r => r.Id).ToHashSet();
        foreach (var id in new[] { "no-isakmp-policy", "psk-mismatch", "proxy-id-mismatch", "transform-set-mismatch", "dpd-timeout",
                     "retransmission-exhausted", "nat-t-problem", "rekey-collision", "initial-contact-teardown" })
            Assert.Contains(id, ids);
        Assert.All(DiagnosisCatalog.Embedded.Rules, r => Assert.NotEmpty(r.Checks));
    }

    [Fact]
    public void The_embedded_catalogue_is_the_file_in_schemas()
    {
        var onDisk = DiagnosisCatalog.Parse(File.ReadAllText(Path.Combine(Support.Repo.Root, "schemas", "diagnoses.ikediag")), "diagnoses.ikediag");
        Assert.Equal(onDisk.Rules.Select(r => (r.Id, r.Cause)), DiagnosisCatalog.Embedded.Rules.Select(r => (r.Id, r.Cause)));
    }

    [Theory]
    [InlineData("diagnosis x\n  title T\n  when LostContactWithPer\n  cause C\n", 3, "`LostContactWithPer` is not a message of schemas/debug-ikev1.isakmp (did you mean `LostContactWithPeer`?)")]
    [InlineData("diagnosis x\n  title T\n  whenever LostContactWithPeer\n  cause C\n", 3, "unknown member `whenever`")]
    [InlineData("diagnosis x\n  title T\n  when LostContactWithPeer\n", 1, "has no `cause` line")]
    [InlineData("diagnosis x\n  title T\n  when LostContactWithPeer matching ([\n  cause C\n", 3, "bad regular expression")]
    [InlineData("  title T\n", 1, "before any `diagnosis` line")]
    [InlineData("diagnosis Bad_Id\n", 1, "must be lower-case")]
    [InlineData("diagnosis x\n  title T\n  when LostContactWithPeer\n  cause C\n  config routing\n", 5, "unknown config topic `routing`")]
    [InlineData("diagnosis x\n  title T\n  when LostContactWithPeer\n  cause C\ndiagnosis x\n", 5, "defined twice")]
    public void Mistakes_are_reported_with_their_line(string text, int line, string message)
    {
        var e = Assert.Throws<DiagnosisCatalogException>(() => DiagnosisCatalog.Parse(text, "my.ikediag"));
        Assert.Equal(line, e.LineNumber);
        Assert.Contains(message, e.Message);
        Assert.StartsWith($"my.ikediag:{line}:", e.Message);
    }

    [Fact]
    public void A_user_signature_is_used()
    {
        var catalog = DiagnosisCatalog.Parse("diagnosis my-own\n  title Mine\n  when KeepAliveTypeNone\n  cause No DPD.\n  check isakmp keepalive\n", "mine.ikediag");
        var r = Explainer.Explain([("x.log", "[IKEv1]: IP = 10.0.0.2, Keep-alive type for this connection: None\n")], new ExplainOptions { Diagnoses = catalog });
        Assert.Equal("my-own", Assert.Single(r.Diagnoses).Id);
    }
}
