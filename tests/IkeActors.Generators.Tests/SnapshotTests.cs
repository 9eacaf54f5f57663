using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;

namespace IkeActors.Generators.Tests;

/// <summary>
/// The generated code for a small schema, compared with checked-in snapshots. To accept a
/// deliberate change: UPDATE_SNAPSHOTS=1 dotnet test tests/IkeActors.Generators.Tests, then review the diff.
/// </summary>
public class SnapshotTests
{
    internal const string SmallSchema = """
        # A small schema exercising every construct.
        namespace Snapshot.Demo

        enum DemoType : u8                 # payload numbers
          0   None       "NONE"
          1   Widget     "WIDGET"
          200 Gadget     "GADGET"

        enum Colour : u16
          1   Red        "red"
          2   Green      "green"

        header DemoHeader                  # a tiny header
          u64      Cookie
          u8       NextPayload enum DemoType
          u8       Version
          u8       ExchangeType
          u8       Flags
          u32      MessageId
          u32      Length      length

        payload WidgetPayload = 1 "WIDGET"     # a payload with a nested chain
          u16      Colour      enum Colour
          u8       TagSize
          u8       PartCount
          reserved u16
          bytes    Tag         size TagSize
          payloads Parts       of PartPayload count PartCount

        payload PartPayload = 2 "PART" nested
          u8       Number
          reserved u8
          reserved u16
          attributes Settings  of DemoAttribute

        payload GadgetPayload = 200 "GADGET"
          u8       ElementSize
          u8       ElementCount
          array    Elements    element ElementSize count ElementCount

        attributes DemoAttribute
          1   Shade      basic enum Colour "Shade"
          2   Label      variable          "Label"

        vendor DemoVendor "Demo vendor" 0011223344556677
        vendor DemoFamily "Demo family" aabb prefix

        message WidgetSeen id=715046 severity=7 class=DEBUG level=10 context=peer "saw widget {colour:text} of {size:int} bytes, spi 0x{spi:hex}"
        message Hello id=713906 severity=6 class=IKEv1 level=1 context=none "hello {{world}} from {where:ip}: {payloads:payloads}"
        """;

    [Fact]
    public void Generated_code_matches_the_snapshots_and_compiles()
    {
        var (result, output, diagnostics) = GeneratorHarness.Run(("demo.isakmp", SmallSchema));
        Assert.Empty(diagnostics);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));

        var update = Environment.GetEnvironmentVariable("UPDATE_SNAPSHOTS") == "1";
        var dir = SnapshotDirectory();
        var generated = result.Results.Single().GeneratedSources;
        Assert.Equal(
            new[] { "Snapshot.Demo.AsaDebug.g.cs", "Snapshot.Demo.Colour.g.cs", "Snapshot.Demo.DemoAttribute.g.cs", "Snapshot.Demo.DemoHeader.Message.g.cs",
                    "Snapshot.Demo.DemoHeader.g.cs", "Snapshot.Demo.DemoType.g.cs", "Snapshot.Demo.GadgetPayload.g.cs", "Snapshot.Demo.PartPayload.g.cs",
                    "Snapshot.Demo.PayloadDispatch.g.cs", "Snapshot.Demo.VendorIds.g.cs", "Snapshot.Demo.WidgetPayload.g.cs" },
            generated.Select(g => g.HintName).Order(StringComparer.Ordinal).ToArray());
        var mismatches = new List<string>();
        foreach (var source in generated)
        {
            var path = Path.Combine(dir, source.HintName + ".txt");
            var text = source.SourceText.ToString().Replace("\r\n", "\n");
            if (update) { File.WriteAllText(path, text); continue; }
            Assert.True(File.Exists(path), $"no snapshot {path}: run with UPDATE_SNAPSHOTS=1 and review it");
            if (File.ReadAllText(path).Replace("\r\n", "\n") != text) mismatches.Add(source.HintName);
        }
        Assert.True(mismatches.Count == 0, "generated code differs from the snapshot for: " + string.Join(", ", mismatches));
    }

    private static string SnapshotDirectory([CallerFilePath] string file = "") => Path.Combine(Path.GetDirectoryName(file)!, "Snapshots");
}
