using System.CommandLine;
using System.Net;
using IkeActors.Gateway.Hosting;
using IkeActors.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace IkeActors.Gateway.Commands;

/// <summary>`ikeactors clear crypto isakmp sa [PEER]`: deletes IKE SAs (and their IPsec SAs) across the cluster.</summary>
public static class ClearCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var node = OperatorClient.NodeOption();
        var peer = new Argument<string?>("peer") { Description = "Only the SAs with this peer", Arity = ArgumentArity.ZeroOrOne };
        var sa = new Command("sa", "clear crypto isakmp sa [peer]");
        sa.Arguments.Add(peer);
        sa.Options.Add(node);
        sa.SetAction((parse, ct) => Run(parse.GetValue(node)!, parse.GetValue(peer), output, error, ct));
        var isakmp = new Command("isakmp", "IKE SAs");
        isakmp.Subcommands.Add(sa);
        var crypto = new Command("crypto", "IKE and IPsec SAs");
        crypto.Subcommands.Add(isakmp);
        var clear = new Command("clear", "Delete SAs of a running concentrator");
        clear.Subcommands.Add(crypto);
        return clear;
    }

    private static async Task<int> Run(string node, string? peer, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (peer is not null && !IPAddress.TryParse(peer, out _))
        {
            await error.WriteLineAsync("ERROR: % Invalid input detected: expected `clear crypto isakmp sa [PEER-ADDRESS]`");
            return 1;
        }
        return await OperatorClient.RunAsync(node, error, async client =>
        {
            var sas = await SaDirectory.Entries(client);
            var cleared = 0;
            foreach (var batch in sas.Where(e => peer is null || e.Peer == peer).Chunk(ShowCommand.Batch))
            {
                var answers = await Task.WhenAll(batch.Select(e => client.GetGrain<IIkeSaAdmin>(e.Key).Clear()));
                cleared += answers.Count(a => a);
                await Task.WhenAll(batch.Select(e => SaDirectory.ForKey(client, e.Key).Remove(e.Key)));
            }
            await output.WriteLineAsync($"{cleared} IKE SA(s) cleared");
            return 0;
        }, ct);
    }
}
