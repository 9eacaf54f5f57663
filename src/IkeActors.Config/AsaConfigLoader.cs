using IkeActors.Config.Model;
using IkeActors.Config.Parsing;
using IkeActors.Config.Validation;

namespace IkeActors.Config;

/// <summary>
/// Loads ASA CLI text (a full `show running-config`, or just its VPN part) into an
/// <see cref="AsaConfig"/>. Never throws on file content: every problem is a
/// <see cref="ConfigDiagnostic"/>, all of them reported at once.
/// </summary>
public static class AsaConfigLoader
{
    public static ConfigLoadResult Load(string text, string file = "<input>")
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new AsaConfigParser(file);
        var config = parser.Parse(text);
        var diagnostics = parser.Diagnostics.ToList();
        // Reference checks are only meaningful on what parsed: they run even when
        // some commands had syntax errors, so all problems come out in one pass.
        diagnostics.AddRange(new ConfigValidator(config, parser.Sources).Validate());
        diagnostics.Sort((a, b) => a.Location.Line != b.Location.Line
            ? a.Location.Line.CompareTo(b.Location.Line)
            : a.Location.Column.CompareTo(b.Location.Column));
        return new ConfigLoadResult
        {
            File = file,
            Config = config,
            AsaVersion = parser.Version,
            Diagnostics = diagnostics,
            NotInterpreted = parser.NotInterpreted,
        };
    }

    /// <summary>Reads and loads a file; an unreadable file is a diagnostic too, not an exception.</summary>
    public static ConfigLoadResult LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new ConfigLoadResult
            {
                File = path,
                Config = new AsaConfig(),
                Diagnostics =
                [
                    new ConfigDiagnostic(DiagnosticSeverity.Error, DiagnosticKind.Semantic, new SourceLocation(path, 0, 0),
                        $"cannot read the file: {e.Message}", "", []),
                ],
                NotInterpreted = [],
            };
        }
        return Load(text, path);
    }
}
