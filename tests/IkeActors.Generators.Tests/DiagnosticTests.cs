using Microsoft.CodeAnalysis;

namespace IkeActors.Generators.Tests;

/// <summary>Schema mistakes are compile errors that point at the schema file, line and column.</summary>
public class DiagnosticTests
{
    private static Diagnostic Single(string schema, string file = "broken.isakmp")
    {
        var (_, _, diagnostics) = GeneratorHarness.Run((file, schema));
        return Assert.Single(diagnostics);
    }

    private static void AssertAt(Diagnostic d, string id, int line, int column, string fragment)
    {
        Assert.Equal(id, d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        var span = d.Location.GetLineSpan();
        Assert.Equal("broken.isakmp", span.Path);
        Assert.Equal((line - 1, column - 1), (span.StartLinePosition.Line, span.StartLinePosition.Character));
        Assert.Contains(fragment, d.GetMessage());
    }

    [Fact]
    public void Bytes_without_a_size() =>
        AssertAt(Single("payload P = 1\n  bytes Data\n"), "IKEGEN001", 2, 9, "bytes field 'Data' needs");

    [Fact]
    public void Unknown_directive() =>
        AssertAt(Single("paylod P = 1\n  u8 X\n"), "IKEGEN002", 1, 1, "unknown directive 'paylod'");

    [Fact]
    public void Unknown_field_kind() =>
        AssertAt(Single("payload P = 1\n  u7 X\n"), "IKEGEN002", 2, 3, "unknown field kind 'u7'");

    [Fact]
    public void Indented_line_outside_a_block() =>
        AssertAt(Single("  u8 X\n"), "IKEGEN003", 1, 3, "none is open");

    [Fact]
    public void Payload_type_out_of_range() =>
        AssertAt(Single("payload P = 300\n  u8 X\n"), "IKEGEN004", 1, 13, "'300' is not a number from 0 to 255");

    [Fact]
    public void Duplicate_names_across_files()
    {
        var (_, _, diagnostics) = GeneratorHarness.Run(("a.isakmp", "enum E : u8\n  1 One\n"), ("b.isakmp", "enum E : u8\n  2 Two\n"));
        var d = Assert.Single(diagnostics);
        Assert.Equal("IKEGEN005", d.Id);
        Assert.Equal("b.isakmp", d.Location.GetLineSpan().Path);
        Assert.Contains("first at a.isakmp:1", d.GetMessage());
    }

    [Fact]
    public void Unknown_enum() =>
        AssertAt(Single("payload P = 1\n  u8 Kind enum Missing\n"), "IKEGEN006", 2, 6, "names enum 'Missing'");

    [Fact]
    public void Unknown_size_field() =>
        AssertAt(Single("payload P = 1\n  bytes Data size Len\n"), "IKEGEN006", 2, 9, "has no field 'Len'");

    [Fact]
    public void Rest_field_not_last() =>
        AssertAt(Single("payload P = 1\n  bytes Data size rest\n  u8 After\n"), "IKEGEN007", 2, 9, "must be the last field");

    [Fact]
    public void Size_field_after_its_use() =>
        AssertAt(Single("payload P = 1\n  bytes Data size Len\n  u8 Len\n"), "IKEGEN007", 2, 9, "must come before");

    [Fact]
    public void Header_without_length() =>
        AssertAt(Single("header H\n  u8 NextPayload\n"), "IKEGEN007", 1, 8, "exactly one integer field marked 'length'");

    [Fact]
    public void Duplicate_payload_type()
    {
        var (_, _, diagnostics) = GeneratorHarness.Run(("broken.isakmp", "payload A = 1\n  u8 X\npayload B = 1\n  u8 Y\n"));
        AssertAt(Assert.Single(diagnostics), "IKEGEN008", 3, 9, "payload type 1 of 'B' is already used by 'A'");
    }

    [Fact]
    public void Duplicate_enum_value() =>
        AssertAt(Single("enum E : u8\n  1 One\n  1 Uno\n"), "IKEGEN008", 3, 5, "'Uno' has the value 1 of 'One'");

    [Fact]
    public void Template_hole_without_type() =>
        AssertAt(Single("message M id=713906 severity=6 class=IKEv1 level=1 context=peer \"bad {peer} hole\"\n"), "IKEGEN009", 1, 70, "must be '{name:type}'");

    [Fact]
    public void Template_unknown_hole_type() =>
        AssertAt(Single("message M id=713906 severity=6 class=IKEv1 level=1 context=peer \"{n:float}\"\n"), "IKEGEN009", 1, 69, "unknown hole type 'float'");

    [Fact]
    public void Message_without_level() =>
        AssertAt(Single("message M id=713906 severity=6 class=IKEv1 context=peer \"text\"\n"), "IKEGEN001", 1, 9, "has no level");

    [Fact]
    public void Message_level_out_of_range() =>
        AssertAt(Single("message M id=713906 severity=6 class=IKEv1 level=256 context=peer \"text\"\n"), "IKEGEN004", 1, 50, "from 1 to 255");

    [Fact]
    public void Vendor_with_odd_hex() =>
        AssertAt(Single("vendor V \"v\" abc\n"), "IKEGEN010", 1, 14, "not an even number of hex digits");

    [Fact]
    public void Invalid_name() =>
        AssertAt(Single("enum 1Bad : u8\n  1 One\n"), "IKEGEN011", 1, 6, "not a valid name");

    [Fact]
    public void Keyword_as_name() =>
        AssertAt(Single("payload class = 1\n  u8 X\n"), "IKEGEN011", 1, 9, "'class' is not a valid name");

    [Fact]
    public void Empty_enum() =>
        AssertAt(Single("enum E : u8\n"), "IKEGEN012", 1, 6, "has no members");

    [Fact]
    public void Enum_width_mismatch() =>
        AssertAt(Single("enum E : u16\n  1 One\npayload P = 1\n  u8 Kind enum E\n"), "IKEGEN013", 4, 6, "is 8 bits but enum 'E' is 16 bits");

    [Fact]
    public void Value_too_wide_for_enum() =>
        AssertAt(Single("enum E : u8\n  256 Big\n"), "IKEGEN013", 2, 3, "does not fit");

    [Fact]
    public void Unterminated_string() =>
        AssertAt(Single("vendor V \"oops 00\n"), "IKEGEN001", 1, 10, "unterminated string");

    [Fact]
    public void A_broken_schema_emits_no_code_but_every_error()
    {
        var (result, _, diagnostics) = GeneratorHarness.Run(("broken.isakmp", "paylod A = 1\nenum E : u8\n  1 One\n  1 Two\npayload P = 1\n  u8 K enum Nope\n"));
        Assert.Equal(new[] { "IKEGEN002", "IKEGEN006", "IKEGEN008" }, diagnostics.Select(d => d.Id).Order().ToArray());
        Assert.Empty(result.Results.Single().GeneratedSources);
    }

    [Fact]
    public void The_product_schemas_have_no_diagnostics()
    {
        var dir = Path.Combine(IkeActors.Testing.RepoPaths.Root, "schemas");
        var files = Directory.GetFiles(dir, "*.isakmp").Select(f => (f, File.ReadAllText(f))).ToArray();
        Assert.NotEmpty(files);
        var (result, output, diagnostics) = GeneratorHarness.Run(files);
        Assert.Empty(diagnostics);
        Assert.NotEmpty(result.Results.Single().GeneratedSources);
    }
}
