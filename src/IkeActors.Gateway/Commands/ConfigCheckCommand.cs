using System.CommandLine;
using IkeActors.Config;
using IkeActors.Config.Parsing;
using IkeActors.Config.Show;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// `ikeactors config check FILE`: load an ASA configuration; exit 0 and print
/// `show running-config crypto` when it is valid, exit 1 and print every error
/// (file:line:column and the ASA's caret message) when it is not. Commands outside
/// the interpreted VPN subset are listed as warnings either way.
/// </summary>
internal static class ConfigCheckCommand
{
    public const int ExitValid = 0;
    public const int ExitInvalid = 1;
    public const int ExitUsage = 2;

    public static Command Create(TextWriter output, TextWriter error)
    {
        var file = new Argument<FileInfo>("file") { Description = "ASA configuration (show running-config text)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Do not list the commands that are not interpreted" };
        var command = new Command("check", "Check an ASA configuration and print its VPN part as `show running-config crypto`");
        command.Arguments.Add(file);
        command.Options.Add(quiet);
        command.SetAction(parse => Run(parse.GetValue(file)!, parse.GetValue(quiet), output, error));
        return command;
    }

    /// <summary>
    /// Control characters from the file (escape sequences, NULs) are shown as '?' so a hostile
    /// file cannot drive the terminal; one character each, so carets stay aligned.
    /// </summary>
    internal static string Safe(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (chars[i] is < ' ' and not '\t' and not '\n' || chars[i] == '\u007F') chars[i] = '?';
        }
        return new string(chars);
    }

    public static int Run(FileInfo file, bool quiet, TextWriter output, TextWriter error)
    {
        if (!file.Exists)
        {
            error.WriteLine($"{file.FullName}: error: no such file");
            return ExitUsage;
        }
        var result = AsaConfigLoader.LoadFile(file.FullName);
        var display = file.ToString(); // as the user wrote it

        foreach (var d in result.Diagnostics)
        {
            var writer = d.Severity == DiagnosticSeverity.Error ? error : output;
            var located = d with { Location = d.Location with { File = display } };
            writer.WriteLine(Safe(located.ToString()));
            if (located.Location.Line > 0) writer.WriteLine(Safe(located.AsaStyle()));
        }
        if (!quiet)
        {
            foreach (var u in result.NotInterpreted)
                output.WriteLine($"{display}:{u.Line}: warning: not interpreted: {Safe(u.Text)}"
                    + (u.Context is null ? "" : $" (in {Safe(u.Context)})")
                    + (u.SubLines > 0 ? $" (and {u.SubLines} sub-command lines)" : ""));
        }

        var errors = result.Errors.Count();
        var warnings = result.Warnings.Count();
        if (errors > 0)
        {
            error.WriteLine($"{display}: {errors} error(s), {warnings} warning(s), {result.NotInterpreted.Count} command(s) not interpreted");
            return ExitInvalid;
        }
        output.WriteLine($"{display}: valid ({warnings} warning(s), {result.NotInterpreted.Count} command(s) not interpreted)");
        output.WriteLine();
        output.WriteLine("ciscoasa# show running-config crypto".Replace("ciscoasa", result.Config.Hostname ?? "ciscoasa", StringComparison.Ordinal));
        output.Write(RunningConfigWriter.ShowCrypto(result.Config));
        return ExitValid;
    }
}
