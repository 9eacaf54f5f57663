using System.CommandLine;
using System.Net;
using IkeActors.Gateway.Hosting;
using IkeActors.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace IkeActors.Gateway.Commands;

/// <summary>`ikeactors debug crypto ikev1 N`: streams the debug lines of every node of the cluster.</summary>
public static class DebugCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var node = OperatorClient.NodeOption();
        var seconds = new Option<int>("--seconds") { Description = "Stop after this many seconds (0 = until Ctrl+C)", DefaultValueFactory = _ => 0 };
        var level = new Argument<int>("level") { Description = "1-255, as on the ASA", DefaultValueFactory = _ => 1 };
        var ikev1 = new Command("ikev1", "debug crypto ikev1 [level]");
        ikev1.Arguments.Add(level);
        ikev1.Options.Add(node);
        ikev1.Options.Add(seconds);
        ikev1.SetAction((parse, ct) => Run(parse.GetValue(node)!, parse.GetValue(level), parse.GetValue(seconds), output, error, ct));
        var crypto = new Command("crypto", "IKE debugging");
        crypto.Subcommands.Add(ikev1);
        var debug = new Command("debug", "Stream debug output from a running concentrator");
        debug.Subcommands.Add(crypto);
        return debug;
    }

    private sealed class Printer(TextWriter output) : IDebugObserver
    {
        public void OnLines(IReadOnlyList<string> lines)
        {
            lock (output) foreach (var line in lines) output.WriteLine(line);
            output.Flush();
        }
    }

    private static async Task<int> Run(string node, int level, int seconds, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (level is < 1 or > 255)
        {
            await error.WriteLineAsync("ERROR: % Invalid input detected: the level is 1-255");
            return 1;
        }
        return await OperatorClient.RunAsync(node, error, async client =>
        {
            var hub = client.GetGrain<IDebugHubGrain>(0);
            var reference = client.CreateObjectReference<IDebugObserver>(new Printer(output));
            var until = seconds > 0 ? DateTime.UtcNow.AddSeconds(seconds) : DateTime.MaxValue;
            await error.WriteLineAsync($"debug crypto ikev1 {level}: streaming from the cluster at {node}");
            while (DateTime.UtcNow < until && !ct.IsCancellationRequested)
            {
                await hub.Subscribe(reference, level); // renewed: the hub forgets silent observers after a minute
                var wait = TimeSpan.FromSeconds(Math.Min(20, Math.Max(0.1, (until - DateTime.UtcNow).TotalSeconds)));
                try { await Task.Delay(wait, ct); } catch (OperationCanceledException) { break; }
            }
            await hub.Unsubscribe(reference);
            client.DeleteObjectReference<IDebugObserver>(reference);
            return 0;
        }, ct);
    }
}
