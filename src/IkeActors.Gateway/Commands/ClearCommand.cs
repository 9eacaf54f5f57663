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
            var directory = client.GetGrain<ISaDirectoryGrain>(0);
            var cleared = 0;
            foreach (var key in await directory.List())
            {
                if (peer is not null && !key.StartsWith(peer + "/", StringComparison.Ordinal)) continue;
                if (await client.GetGrain<IIkeSaAdmin>(key).Clear()) cleared++;
                await directory.Remove(key);
            }
            await output.WriteLineAsync($"{cleared} IKE SA(s) cleared");
            return 0;
        }, ct);
    }
}
