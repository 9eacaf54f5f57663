using System.CommandLine;
using IkeActors.Explain;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// `ikeactors explain LOG [LOG…] [--config CFG]… [--format text|json|html] [--peer ADDR] [--output FILE]`:
/// turn `debug crypto ikev1` output (an ASA's or ours; console or syslog form; one or both
/// tunnel ends) into the negotiation story: the exchange, message, side and state of every
/// line, the configuration lines behind it, and the likely cause of a failure.
/// Exit 0 when nothing failed, 1 when a failure was diagnosed, 2 on usage errors.
/// </summary>
internal static class ExplainCommand
{
    public const int ExitOk = 0;
    public const int ExitFailureFound = 1;
    public const int ExitUsage = 2;

    public static Command Create(TextWriter output, TextWriter error)
    {
        var logs = new Argument<FileInfo[]>("log") { Description = "Debug log(s): `debug crypto ikev1` output, with or without timestamps, console or syslog form; both tunnel ends in one file or two", Arity = ArgumentArity.OneOrMore };
        var config = new Option<FileInfo[]>("--config", "-c") { Description = "ASA configuration(s) behind the log (one per gateway; keys are never shown)", AllowMultipleArgumentsPerToken = true };
        var format = new Option<string>("--format", "-f") { Description = "text (default), json or html", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json", "html");
        var peer = new Option<string?>("--peer") { Description = "Only the lines about this peer address" };
        var file = new Option<FileInfo?>("--output", "-o") { Description = "Write the report to this file instead of the console" };
        var command = new Command("explain", "Explain an IKEv1 debug log: exchange and message of every line, the configuration behind it, the likely cause of a failure");
        command.Arguments.Add(logs);
        command.Options.Add(config);
        command.Options.Add(format);
        command.Options.Add(peer);
        command.Options.Add(file);
        command.SetAction(parse => Run(parse.GetValue(logs) ?? [], parse.GetValue(config) ?? [], parse.GetValue(format) ?? "text",
            parse.GetValue(peer), parse.GetValue(file), output, error));
        return command;
    }

    public static int Run(FileInfo[] logs, FileInfo[] configs, string format, string? peer, FileInfo? outputFile, TextWriter output, TextWriter error)
    {
        foreach (var f in logs.Concat(configs))
        {
            if (!f.Exists)
            {
                error.WriteLine($"{f}: error: no such file");
                return ExitUsage;
            }
        }
        ExplainReport report;
        try
        {
            var options = new ExplainOptions { Peer = peer };
            foreach (var c in configs) options.Configs.Add((c.ToString(), File.ReadAllText(c.FullName)));
            report = Explainer.Explain(logs.Select(l => (l.ToString(), LogReader.Decode(File.ReadAllBytes(l.FullName)))).ToList(), options);
        }
        catch (IOException e)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitUsage;
        }
        catch (DiagnosisCatalogException e)
        {
            error.WriteLine(e.Message);
            return ExitUsage;
        }
        var text = format switch
        {
            "json" => JsonReport.Render(report),
            "html" => HtmlReport.Render(report),
            _ => TextReport.Render(report),
        };
        if (outputFile is not null)
        {
            File.WriteAllText(outputFile.FullName, text);
            output.WriteLine($"{outputFile}: {format} report written ({report.Recognised} lines recognised, {report.Diagnoses.Count} failure(s) diagnosed)");
        }
        else output.Write(text);
        return report.Diagnoses.Count > 0 ? ExitFailureFound : ExitOk;
    }
}
