using IkeActors.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace IkeActors.Generators.Tests;

/// <summary>The pipeline is incremental: C# edits are served from cache, a schema edit re-parses only that file.</summary>
public class CachingTests
{
    private const string Enums = """
        namespace Cache.Test
        enum Kind : u8
          1 One "ONE"
        """;

    private const string Payloads = """
        namespace Cache.Test
        payload OnePayload = 1 "ONE"
          u8 Value enum Kind
        """;

    [Fact]
    public void An_unrelated_csharp_edit_is_served_from_cache()
    {
        var driver = GeneratorHarness.Driver(new SchemaText("enums.isakmp", Enums), new SchemaText("payloads.isakmp", Payloads));
        var compilation = GeneratorHarness.Compilation("namespace Host { class A { } }");
        driver = driver.RunGenerators(compilation);

        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Host { class B { int X => 1; } }", new CSharpParseOptions(LanguageVersion.Preview)));
        driver = driver.RunGenerators(edited);
        var run = driver.GetRunResult().Results.Single();

        Assert.All(run.TrackedSteps[IsakmpGenerator.ParseStep].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        Assert.All(run.TrackedSteps[IsakmpGenerator.ResolveStep].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        Assert.All(run.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void A_comment_only_schema_edit_reparses_that_file_and_emits_nothing_new()
    {
        var enums = new SchemaText("enums.isakmp", Enums);
        var driver = GeneratorHarness.Driver(enums, new SchemaText("payloads.isakmp", Payloads));
        var compilation = GeneratorHarness.Compilation("namespace Host { class A { } }");
        driver = driver.RunGenerators(compilation);

        driver = driver.ReplaceAdditionalText(enums, new SchemaText("enums.isakmp", Enums + "\n# a comment line\n"));
        driver = driver.RunGenerators(compilation);
        var run = driver.GetRunResult().Results.Single();

        var parse = run.TrackedSteps[IsakmpGenerator.ParseStep].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        // enums.isakmp is read again and parses to an equal model; payloads.isakmp is not read at all.
        Assert.Contains(IncrementalStepRunReason.Unchanged, parse);
        Assert.Contains(IncrementalStepRunReason.Cached, parse);
        Assert.All(run.TrackedSteps[IsakmpGenerator.ResolveStep].SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Unchanged or IncrementalStepRunReason.Cached, o.Reason.ToString()));
    }

    [Fact]
    public void A_real_schema_edit_regenerates()
    {
        var payloads = new SchemaText("payloads.isakmp", Payloads);
        var driver = GeneratorHarness.Driver(new SchemaText("enums.isakmp", Enums), payloads);
        var compilation = GeneratorHarness.Compilation("namespace Host { class A { } }");
        driver = driver.RunGenerators(compilation);
        driver = driver.ReplaceAdditionalText(payloads, new SchemaText("payloads.isakmp", Payloads + "\n  u16 Extra\n"));
        driver = driver.RunGenerators(compilation);
        var run = driver.GetRunResult().Results.Single();
        Assert.Contains(run.TrackedSteps[IsakmpGenerator.ResolveStep].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains(run.GeneratedSources, s => s.SourceText.ToString().Contains("public ushort Extra"));
    }
}
