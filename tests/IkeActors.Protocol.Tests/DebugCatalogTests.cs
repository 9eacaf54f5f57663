using System.Net;
using System.Text.RegularExpressions;
using IkeActors.Protocol.Tests.Support;
using IkeActors.Testing;

namespace IkeActors.Protocol.Tests;

/// <summary>
/// The generated ASA debug catalog against the seed's golden transcripts
/// (tests/data/seed/golden-*.txt, distilled from the Cisco document): every golden line
/// is produced by exactly one catalog message, and the formatters print the ASA's text.
/// </summary>
public class DebugCatalogTests
{
    public static TheoryData<string> GoldenFiles => new() { "golden-initiator.txt", "golden-responder.txt" };

    [Theory]
    [MemberData(nameof(GoldenFiles))]
    public void Every_golden_line_is_one_catalog_message(string file)
    {
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.Seed, file))
            .Where(l => l.Trim().Length > 0 && !l.StartsWith('#'))
            .Select(Instantiate)
            .ToList();
        Assert.True(lines.Count > 75, $"{file}: only {lines.Count} golden lines read");
        var patterns = AsaDebugCatalog.All.Select(m => (m, Regex: ToRegex(m))).ToList();
        var problems = new List<string>();
        foreach (var line in lines)
        {
            var matches = patterns.Where(p => p.Regex.IsMatch(line)).Select(p => p.m.Name).ToList();
            if (matches.Count != 1) problems.Add($"{matches.Count} messages [{string.Join(", ", matches)}] match: {line}");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_golden_line_prints_at_level_127()
    {
        var golden = File.ReadAllLines(Path.Combine(RepoPaths.Seed, "golden-initiator.txt"))
            .Concat(File.ReadAllLines(Path.Combine(RepoPaths.Seed, "golden-responder.txt")))
            .Where(l => l.Trim().Length > 0 && !l.StartsWith('#')).Select(Instantiate).ToList();
        foreach (var m in AsaDebugCatalog.All.Where(m => golden.Any(l => ToRegex(m).IsMatch(l))))
            Assert.True(m.Level <= 127, $"{m.Name} has level {m.Level}: the seed ran `debug crypto ikev1 127`");
    }

    [Fact]
    public void Catalog_entries_are_well_formed()
    {
        Assert.True(AsaDebugCatalog.All.Count >= 100, $"only {AsaDebugCatalog.All.Count} messages");
        foreach (var m in AsaDebugCatalog.All)
        {
            Assert.InRange(m.Level, 1, 255);
            Assert.InRange(m.Severity, 0, 7);
            Assert.InRange(m.SyslogId, 100000, 999999);
        }
        Assert.Equal(AsaDebugCatalog.All.Count, AsaDebugCatalog.All.Select(m => m.Name).Distinct().Count());
    }

    [Fact]
    public void IKE_DECODE_line_of_a_real_message_matches_the_golden_MM1_line()
    {
        var mm1 = SampleMessages.MainMode1();
        Assert.True(IsakmpMessage.TryParse(mm1, out var message, out _));
        Span<byte> types = stackalloc byte[16];
        var text = new DebugTextWriter(stackalloc char[256]);
        text.AppendPayloadList(types[..message.GetPayloadTypes(types)]);
        // golden-initiator.txt, MM1: "... with payloads : HDR + SA (1) + VENDOR (13) + VENDOR (13) + VENDOR (13) + VENDOR (13) + NONE (0) total length : {n}"
        Assert.Equal("HDR + SA (1) + VENDOR (13) + VENDOR (13) + VENDOR (13) + VENDOR (13) + NONE (0)", text.Written.ToString());
        text.Dispose();
    }

    [Fact]
    public void Context_prefixes_are_the_asa_ones()
    {
        var text = new DebugTextWriter(stackalloc char[128]);
        text.AppendContext(new DebugContext(IPAddress.Parse("10.0.0.2")));
        Assert.Equal("IP = 10.0.0.2, ", text.Written.ToString());
        text.Dispose();
        text = new DebugTextWriter(stackalloc char[128]);
        text.AppendContext(new DebugContext(IPAddress.Parse("10.0.0.2"), "10.0.0.2"));
        Assert.Equal("Group = 10.0.0.2, IP = 10.0.0.2, ", text.Written.ToString());
        text.Dispose();
    }

    [Fact]
    public void Long_lines_grow_past_the_stack_buffer()
    {
        var text = new DebugTextWriter(stackalloc char[8]);
        text.Append(new string('x', 1000));
        text.AppendInteger(42);
        Assert.Equal(new string('x', 1000) + "42", text.Written.ToString());
        text.Dispose();
    }

    /// <summary>Golden placeholders replaced by concrete values as a real run would print them.</summary>
    private static string Instantiate(string golden) => golden.Trim()
        .Replace("{peer}", "10.0.0.2").Replace("{group}", "10.0.0.2").Replace("{hex}", "7b80c2b0").Replace("{n}", "172")
        .Replace("{payloads}", "HDR + HASH (8) + SA (1) + NONE (0)");

    /// <summary>A catalog entry as a regex over the console line: tag, optional context prefix, template.</summary>
    internal static Regex ToRegex(DebugMessageInfo m)
    {
        var template = m.Template.Replace("{{", "\u0001").Replace("}}", "\u0002");
        var body = Regex.Replace(Regex.Escape(template).Replace("\\{", "{"), @"\{(\w+):(\w+)}", h => h.Groups[2].Value switch
        {
            "ip" => @"[0-9a-fA-F.:]+",
            "int" => @"-?\d+",
            "hex" => "[0-9a-f]+",
            "HEX" => "[0-9A-F]+",
            "payloads" => @"HDR( \+ [A-Z0-9 _/()-]+?)* \+ NONE \(0\)",
            _ => ".+?",
        }).Replace("\u0001", "\\{").Replace("\u0002", "}");
        var prefix = m.HasPeerContext ? @"(Group = .+?, )?IP = [0-9a-fA-F.:]+, " : "";
        return new Regex("^" + Regex.Escape(m.Tag) + prefix + body + @"\s*$", RegexOptions.CultureInvariant);
    }
}
