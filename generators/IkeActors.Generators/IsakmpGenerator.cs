using System.Collections.Immutable;
using System.Linq;
using IkeActors.Generators.Emit;
using IkeActors.Generators.Model;
using IkeActors.Generators.Parsing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace IkeActors.Generators;

/// <summary>
/// Reads the *.isakmp schema files handed to the compiler as AdditionalFiles and emits the
/// ISAKMP payload codecs, enums, vendor-ID catalog, message walker and ASA debug formatters.
/// Pipeline: parse each file (cached per file) -> resolve the set (cached while equal) -> emit.
/// No Compilation flows into the output step, so C# edits never re-run it.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class IsakmpGenerator : IIncrementalGenerator
{
    public const string ParseStep = "ParseSchema";
    public const string ResolveStep = "ResolveSchemas";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var files = context.AdditionalTextsProvider
            .Where(static t => t.Path.EndsWith(".isakmp", System.StringComparison.OrdinalIgnoreCase))
            .Select(static (t, ct) => SchemaParser.Parse(t.Path, t.GetText(ct)?.ToString() ?? ""))
            .WithTrackingName(ParseStep);

        var set = files.Collect()
            .Select(static (all, _) => SchemaSet.Resolve(all))
            .WithTrackingName(ResolveStep);

        context.RegisterSourceOutput(set, static (spc, s) => Emit(spc, s));
    }

    private static void Emit(SourceProductionContext spc, SchemaSet set)
    {
        foreach (var d in set.Diagnostics)
            spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.For(d.Id), ToLocation(d.Location), d.Message));
        // A broken schema set emits nothing: half-generated code would bury the real error under CS errors.
        if (set.Diagnostics.Count > 0) return;

        foreach (var e in set.Enums)
            spc.AddSource(e.Namespace + "." + e.Name + ".g.cs", EnumEmitter.Emit(e));
        foreach (var p in set.Payloads)
            spc.AddSource(p.Namespace + "." + p.Name + ".g.cs", PayloadEmitter.Emit(p, set));
        foreach (var a in set.AttributeClasses)
            spc.AddSource(a.Namespace + "." + a.Name + ".g.cs", AttributeEmitter.Emit(a));
        foreach (var g in set.Payloads.GroupBy(p => p.Namespace))
        {
            if (g.Any(p => !p.IsHeader))
                spc.AddSource(g.Key + ".PayloadDispatch.g.cs", MessageEmitter.EmitDispatch(g.Key, g.ToList()));
            foreach (var h in g.Where(p => p.IsHeader && p.Fields.Any(f => f.Name == "NextPayload")))
                spc.AddSource(h.Namespace + "." + h.Name + ".Message.g.cs", MessageEmitter.EmitWalker(h));
        }
        foreach (var g in set.Vendors.GroupBy(v => v.Namespace))
            spc.AddSource(g.Key + ".VendorIds.g.cs", VendorEmitter.Emit(g.Key, g.ToList()));
        foreach (var g in set.Messages.GroupBy(m => m.Namespace))
            spc.AddSource(g.Key + ".AsaDebug.g.cs", DebugEmitter.Emit(g.Key, g.ToList()));
    }

    private static Location ToLocation(SchemaLocation l)
    {
        var start = new LinePosition(l.Line, l.Column);
        var end = new LinePosition(l.Line, l.Column + l.Length);
        return Location.Create(l.Path, new TextSpan(0, 0), new LinePositionSpan(start, end));
    }
}

internal static class Diagnostics
{
    private static readonly ImmutableDictionary<string, DiagnosticDescriptor> All = new[]
    {
        Make("IKEGEN001", "Schema syntax error"),
        Make("IKEGEN002", "Unknown schema keyword"),
        Make("IKEGEN003", "Member outside a block"),
        Make("IKEGEN004", "Invalid number"),
        Make("IKEGEN005", "Duplicate name"),
        Make("IKEGEN006", "Unknown reference"),
        Make("IKEGEN007", "Field order or role"),
        Make("IKEGEN008", "Duplicate value"),
        Make("IKEGEN009", "Debug message template error"),
        Make("IKEGEN010", "Invalid vendor ID"),
        Make("IKEGEN011", "Invalid name"),
        Make("IKEGEN012", "Empty block"),
        Make("IKEGEN013", "Width mismatch"),
    }.ToImmutableDictionary(d => d.Id);

    private static DiagnosticDescriptor Make(string id, string title) =>
        new(id, title, "{0}", "IkeActors.Schema", DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static DiagnosticDescriptor For(string id) => All[id];
}
