using System.Collections.Immutable;
using IkeActors.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace IkeActors.Generators.Tests;

/// <summary>Runs the generator in-process with CSharpGeneratorDriver (docs/dependencies.md, trap 4).</summary>
internal static class GeneratorHarness
{
    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return tpa.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(IkeActors.Protocol.WireError).Assembly.Location))
            .ToImmutableArray();
    });

    public static CSharpCompilation Compilation(params string[] sources) =>
        CSharpCompilation.Create("GeneratorTest",
            sources.Select(s => CSharpSyntaxTree.ParseText(s, new CSharpParseOptions(LanguageVersion.Preview))),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver(params AdditionalText[] schemas) =>
        CSharpGeneratorDriver.Create(
            [new IsakmpGenerator().AsSourceGenerator()],
            schemas,
            parseOptions: new CSharpParseOptions(LanguageVersion.Preview),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public static (GeneratorDriverRunResult Result, Compilation Output, ImmutableArray<Diagnostic> Diagnostics) Run(params (string Path, string Text)[] schemas)
    {
        var driver = Driver(schemas.Select(s => (AdditionalText)new SchemaText(s.Path, s.Text)).ToArray());
        driver = driver.RunGeneratorsAndUpdateCompilation(Compilation("namespace Host { internal static class Anchor { } }"), out var output, out var diagnostics);
        return (driver.GetRunResult(), output, diagnostics);
    }
}

internal sealed class SchemaText(string path, string text) : AdditionalText
{
    private readonly SourceText _text = SourceText.From(text);
    public override string Path { get; } = path;
    public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
}
