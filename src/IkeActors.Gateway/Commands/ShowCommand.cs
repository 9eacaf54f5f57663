using System.CommandLine;
using System.Net;
using System.Text;
using IkeActors.Gateway.Hosting;
using IkeActors.Grains;
using IkeActors.Negotiation.Show;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// ASA-like operator commands against a running node, over an Orleans client connection to its
/// gateway port: `show crypto isakmp sa`, `show crypto ipsec sa`.
/// </summary>
public static class ShowCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var node = OperatorClient.NodeOption();
        var show = new Command("show", "Show the state of a running concentrator");
        var crypto = new Command("crypto", "IKE and IPsec SAs");
        var isakmp = new Command("isakmp", "IKE (ISAKMP) SAs");
        var isakmpSa = new Command("sa", "show crypto isakmp sa");
        var ipsec = new Command("ipsec", "IPsec SAs");
        var ipsecSa = new Command("sa", "show crypto ipsec sa");
        var peer = new Argument<string[]>("peer") { Description = "`peer ADDRESS`: only the SAs with that peer", Arity = ArgumentArity.ZeroOrMore };
        isakmpSa.Options.Add(node);
        ipsecSa.Options.Add(node);
        ipsecSa.Arguments.Add(peer);
        var detailWord = new Argument<string?>("detail") { Description = "`detail`: cipher, hash, authentication and lifetimes", Arity = ArgumentArity.ZeroOrOne };
        isakmpSa.Arguments.Add(detailWord);
        isakmpSa.SetAction(async (parse, ct) =>
        {
            var word = parse.GetValue(detailWord);
            if (word is not null && word != "detail")
            {
                await error.WriteLineAsync("ERROR: % Invalid input detected: expected `show crypto isakmp sa [detail]`");
                return 1;
            }
            return await Run(parse.GetValue(node)!, null, output, error, word is null ? IsakmpSa : IsakmpSaDetail, ct);
        });
        ipsecSa.SetAction(async (parse, ct) =>
        {
            var words = parse.GetValue(peer) ?? [];
            if (words.Length != 0 && (words.Length != 2 || words[0] != "peer" || !IPAddress.TryParse(words[1], out _)))
            {
                await error.WriteLineAsync("ERROR: % Invalid input detected: expected `show crypto ipsec sa [peer ADDRESS]`");
                return 1;
            }
            return await Run(parse.GetValue(node)!, words.Length == 2 ? words[1] : null, output, error, IpsecSa, ct);
        });
        isakmp.Subcommands.Add(isakmpSa);
        var isakmpStats = new Command("stats", "show crypto isakmp stats: IKEv1 counters and half-open admission, the whole concentrator");
        isakmpStats.Options.Add(node);
        isakmpStats.SetAction((parse, ct) => Run(parse.GetValue(node)!, null, output, error, IsakmpStats, ct));
        isakmp.Subcommands.Add(isakmpStats);
        ipsec.Subcommands.Add(ipsecSa);
        crypto.Subcommands.Add(isakmp);
        crypto.Subcommands.Add(ipsec);
        show.Subcommands.Add(crypto);
        // show vpn-sessiondb l2l, show vpn-sessiondb detail l2l
        var sessionDb = new Command("vpn-sessiondb", "VPN sessions");
        var summary = new Command("l2l", "show vpn-sessiondb l2l");
        summary.Options.Add(node);
        summary.SetAction((parse, ct) => Run(parse.GetValue(node)!, null, output, error, Sessions, ct));
        sessionDb.Subcommands.Add(summary);
        var detail = new Command("detail", "Detailed sessions");
        var l2l = new Command("l2l", "show vpn-sessiondb detail l2l");
        l2l.Options.Add(node);
        l2l.SetAction((parse, ct) => Run(parse.GetValue(node)!, null, output, error, SessionsDetail, ct));
        detail.Subcommands.Add(l2l);
        sessionDb.Subcommands.Add(detail);
        show.Subcommands.Add(sessionDb);
        return show;
    }

    private static async Task<string> IsakmpSa(IClusterClient client, IReadOnlyList<string> keys)
    {
        var entries = new StringBuilder();
        var n = 0;
        foreach (var key in keys)
            if (await client.GetGrain<IIkeSaGrain>(key).ShowIsakmpEntry(n + 1) is { } entry) { n++; entries.Append(entry); }
        return n == 0 ? "There are no IKEv1 SAs\n" : ShowCommands.IsakmpHeader(n) + entries;
    }

    private static async Task<string> IsakmpStats(IClusterClient client, IReadOnlyList<string> keys)
    {
        var summary = await client.GetGrain<ISaDirectoryGrain>(0).Summary();
        var nodes = await client.GetGrain<IIkeStatsGrain>(0).Nodes();
        return IsakmpStatsView.Render(summary, IkeNodeCounters.Sum(nodes.Values), nodes.Count);
    }

    private static async Task<string> IsakmpSaDetail(IClusterClient client, IReadOnlyList<string> keys)
    {
        var entries = new StringBuilder();
        var n = 0;
        foreach (var key in keys)
            if (await client.GetGrain<IIkeSaReport>(key).ShowIsakmpDetail(n + 1) is { } entry) { n++; entries.Append(entry); }
        return n == 0 ? "There are no IKEv1 SAs\n" : ShowCommands.IsakmpHeader(n) + entries;
    }

    private static async Task<string> Sessions(IClusterClient client, IReadOnlyList<string> keys)
    {
        var text = new StringBuilder();
        var index = 0;
        foreach (var key in keys)
            if (await client.GetGrain<IIkeSaReport>(key).ShowVpnSession(index + 1) is { } block) { index++; text.Append(block); }
        return index == 0 ? "INFO: There are presently no active sessions of the type specified\n" : "Session Type: LAN-to-LAN\n\n" + text;
    }

    private static async Task<string> SessionsDetail(IClusterClient client, IReadOnlyList<string> keys)
    {
        var text = new StringBuilder();
        var index = 0;
        foreach (var key in keys)
            if (await client.GetGrain<IIkeSaReport>(key).ShowVpnSessionDetail(index + 1) is { } block) { index++; text.Append(block); }
        return index == 0 ? "INFO: There are presently no active sessions of the type specified\n" : "Session Type: LAN-to-LAN Detailed\n" + text;
    }

    private static async Task<string> IpsecSa(IClusterClient client, IReadOnlyList<string> keys)
    {
        var text = new StringBuilder();
        foreach (var key in keys) text.Append(await client.GetGrain<IIkeSaGrain>(key).ShowIpsecSa());
        return text.Length == 0 ? "There are no ipsec sas\n" : text.ToString();
    }

    private static Task<int> Run(string node, string? peerFilter, TextWriter output, TextWriter error,
        Func<IClusterClient, IReadOnlyList<string>, Task<string>> render, CancellationToken ct) =>
        OperatorClient.RunAsync(node, error, async client =>
        {
            var keys = await client.GetGrain<ISaDirectoryGrain>(0).List();
            // IKE SA grains are named "peer/cookie": the peer filter needs no grain call.
            if (peerFilter is not null) keys = keys.Where(k => k.StartsWith(peerFilter + "/", StringComparison.Ordinal)).ToList();
            await output.WriteAsync(await render(client, keys));
            return 0;
        }, ct);
}
