using System.CommandLine;
using IkeActors.Gateway.Hosting;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// The `ikeactors` command tree. Each command lives in its own file under Commands/ and is
/// added here; output goes to the writers given, so tests can run the CLI in-process.
/// </summary>
public static class CliApp
{
    public static RootCommand CreateRoot(TextWriter output, TextWriter error)
    {
        var root = new RootCommand("IkeActors: a clustered IKEv1 VPN concentrator");
        root.Subcommands.Add(ConfigCommand.Create(output, error));
        root.Subcommands.Add(ExplainCommand.Create(output, error));
        root.Subcommands.Add(RunCommand.Create(output, error));
        root.Subcommands.Add(ShowCommand.Create(output, error));
        root.Subcommands.Add(DebugCommand.Create(output, error));
        root.Subcommands.Add(ClearCommand.Create(output, error));
        root.Subcommands.Add(DashboardCommand.Create(output, error));
        root.Subcommands.Add(BenchCommand.Create(output, error));
        return root;
    }

    public static readonly TimeSpan ProcessTerminationTimeout = GatewayNode.ShutdownTimeout + TimeSpan.FromSeconds(4);

    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var root = CreateRoot(output, error);
        var parse = root.Parse(args);
        // `bench` keeps 2 for usage errors (1 means: some tunnel did not come up), a value the parser refuses included.
        if (parse.Errors.Count > 0 && parse.CommandResult.Command.Name == "bench")
        {
            foreach (var e in parse.Errors) error.WriteLine(e.Message);
            return BenchCommand.ExitUsage;
        }
        // SIGTERM/SIGINT cancel the command's token; the command then has this long to end by itself (a gateway
        // deletes its SAs and stops its silo within GatewayNode.ShutdownTimeout) before the exit code becomes 143/130.
        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = ProcessTerminationTimeout });
    }
}
