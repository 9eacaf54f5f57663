using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// An operator command's connection to a running node (an Orleans client to its gateway port):
/// connects, runs the command's work, reports an unreachable node the same way for every command.
/// </summary>
public static class OperatorClient
{
    /// <summary>`--node ADDRESS:PORT`, the node an operator command talks to (every operator command has it).</summary>
    public static System.CommandLine.Option<string> NodeOption() =>
        new("--node") { Description = "ADDRESS:PORT of a node's Orleans gateway", DefaultValueFactory = _ => $"127.0.0.1:{RunOptions.DefaultGatewayPort}" };

    public static async Task<int> RunAsync(string node, TextWriter error, Func<IClusterClient, Task<int>> work, CancellationToken ct)
    {
        if (!IPEndPoint.TryParse(node, out var gateway))
        {
            await error.WriteLineAsync($"--node {node}: expected ADDRESS:PORT");
            return 1;
        }
        // No configuration files, environment or command-line sources, logging providers or validation: an operator
        // command is a client of half a second (the defaults cost ~50 ms of it).
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client => client.ConnectTo(gateway));
        using var host = builder.Build();
        try
        {
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                connect.CancelAfter(TimeSpan.FromSeconds(15));
                await host.StartAsync(connect.Token);
            }
            var code = await work(host.Services.GetRequiredService<IClusterClient>());
            await host.StopAsync(CancellationToken.None);
            return code;
        }
        catch (Exception e) when (e is OperationCanceledException or Orleans.Runtime.OrleansException or System.Net.Sockets.SocketException)
        {
            await error.WriteLineAsync($"ERROR: cannot reach the node at {node}: {e.Message}");
            return 1;
        }
    }
}
