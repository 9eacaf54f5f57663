using System.Text;
using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

public enum DiagnosticSeverity { Error, Warning }

public enum DiagnosticKind
{
    /// <summary>A word the ASA would reject: "ERROR: % Invalid input detected at '^' marker."</summary>
    InvalidInput,
    /// <summary>The command ends before a required word: "ERROR: % Incomplete command".</summary>
    IncompleteCommand,
    /// <summary>The command parses but the configuration does not hold together (missing reference, unsupported policy…).</summary>
    Semantic,
}

/// <summary>
/// One problem found in a configuration file, with where it is and what was expected.
/// Parsing never throws on user input: problems are these values.
/// </summary>
public sealed record ConfigDiagnostic(
    DiagnosticSeverity Severity,
    DiagnosticKind Kind,
    SourceLocation Location,
    string Message,
    string SourceLine,
    IReadOnlyList<string> Expected)
{
    public const string InvalidInputText = "ERROR: % Invalid input detected at '^' marker.";
    public const string IncompleteText = "ERROR: % Incomplete command";

    /// <summary>Compiler style: "asa.cfg:12:23: error: …".</summary>
    public override string ToString() =>
        $"{Location}: {(Severity == DiagnosticSeverity.Error ? "error" : "warning")}: {Message}";

    /// <summary>The caret line: spaces (tabs kept) up to the column, then '^'.</summary>
    public string CaretLine
    {
        get
        {
            var sb = new StringBuilder();
            var upTo = Math.Min(Location.Column - 1, SourceLine.Length);
            for (var i = 0; i < upTo; i++) sb.Append(SourceLine[i] == '\t' ? '\t' : ' ');
            for (var i = upTo; i < Location.Column - 1; i++) sb.Append(' ');
            return sb.Append('^').ToString();
        }
    }

    /// <summary>
    /// The ASA's own way of saying it: the command, a caret under the spot, and the ERROR line.
    /// </summary>
    public string AsaStyle() => Kind switch
    {
        DiagnosticKind.InvalidInput => $"{SourceLine}\n{CaretLine}\n{InvalidInputText}",
        DiagnosticKind.IncompleteCommand => $"{SourceLine}\n{CaretLine}\n{IncompleteText}",
        _ => $"{SourceLine}\n{CaretLine}\n{(Severity == DiagnosticSeverity.Error ? "ERROR" : "WARNING")}: {Message}",
    };
}

/// <summary>A command kept as written but outside the VPN subset this gateway interprets.</summary>
public sealed record UninterpretedCommand(int Line, string Text, int SubLines = 0)
{
    /// <summary>For a sub-command, the command that opened its block (e.g. "tunnel-group 10.0.0.2 ipsec-attributes").</summary>
    public string? Context { get; init; }

    public override string ToString() =>
        $"line {Line}: {Text}"
        + (Context is null ? "" : $" (in {Context})")
        + (SubLines == 0 ? "" : $" (and {SubLines} sub-command lines)");
}

/// <summary>What loading a configuration file gives: the model (best effort), all errors and warnings, the commands not interpreted.</summary>
public sealed class ConfigLoadResult
{
    public required string File { get; init; }
    public required AsaConfig Config { get; init; }
    public string? AsaVersion { get; init; }
    public required IReadOnlyList<ConfigDiagnostic> Diagnostics { get; init; }
    public required IReadOnlyList<UninterpretedCommand> NotInterpreted { get; init; }

    public IEnumerable<ConfigDiagnostic> Errors => Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error);
    public IEnumerable<ConfigDiagnostic> Warnings => Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning);
    public bool IsValid => !Errors.Any();
}
