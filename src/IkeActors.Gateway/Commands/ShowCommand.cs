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
/// gateway port: `show crypto isakmp sa`, `show crypto ipsec sa`. The SA list comes from the SA directory's partitions,
/// asked in parallel; `show crypto isakmp sa`, `stats`, `timers` and `show vpn-sessiondb summary` need nothing else
/// (no grain call per SA: under 2 s at 100,000 SAs); the detail views ask each SA's grain, <see cref="Batch"/> at a time.
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
        isakmpStats.SetAction((parse, ct) => Run(parse.GetValue(node)!, null, output, error, IsakmpStats, ct, needsEntries: false));
        isakmp.Subcommands.Add(isakmpStats);
        var isakmpTimers = new Command("timers", "IkeActors command, not ASA: how the IKE SAs' Phase 1 rekey points are spread (count, earliest, latest, most due in one second, per minute)");
        isakmpTimers.Options.Add(node);
        isakmpTimers.SetAction((parse, ct) => Run(parse.GetValue(node)!, null, output, error, Timers, ct));
        isakmp.Subcommands.Add(isakmpTimers);
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
        var remote = new Command("remote", "show vpn-sessiondb remote: remote-access (IKEv1 IPsec) sessions");
        remote.Options.Add(node);
        remote.SetAction((parse, ct) => Run(parse.GetValue(node)!, null, output, error, (c, s) => Remote(c, s, detailed: false), ct));
        sessionDb.Subcommands.Add(remote);
        var sessionSummary = new Command("summary", "show vpn-sessiondb summary: L2L and remote-access sessions and tunnels, active, cumulative and peak");
        sessionSummary.Options.Add(node);
        sessionSummary.SetAction((parse, ct) => Run(parse.GetValue(node)!, null, output, error, SessionSummary, ct, needsEntries: false));
        sessionDb.Subcommands.Add(sessionSummary);
        var detail = new Command("detail", "Detailed sessions");
        var l2l = new Command("l2l", "show vpn-sessiondb detail l2l");
        l2l.Options.Add(node);
        l2l.SetAction((parse, ct) => Run(parse.GetValue(node)!, null, output, error, SessionsDetail, ct));
        detail.Subcommands.Add(l2l);
        var remoteDetail = new Command("remote", "show vpn-sessiondb detail remote");
        remoteDetail.Options.Add(node);
        remoteDetail.SetAction((parse, ct) => Run(parse.GetValue(node)!, null, output, error, (c, s) => Remote(c, s, detailed: true), ct));
        detail.Subcommands.Add(remoteDetail);
        sessionDb.Subcommands.Add(detail);
        show.Subcommands.Add(sessionDb);
        return show;
    }

    /// <summary>Grain calls a detail view has in flight at once.</summary>
    internal const int Batch = 256;

    private static Task<string> IsakmpSa(IClusterClient client, IReadOnlyList<SaDirectoryEntry> sas) => Task.FromResult(IsakmpSaView.Render(sas));

    private static async Task<string> IsakmpStats(IClusterClient client, IReadOnlyList<SaDirectoryEntry> sas)
    {
        var summary = SaDirectory.Summary(client);
        var nodes = await client.GetGrain<IIkeStatsGrain>(0).Nodes();
        return IsakmpStatsView.Render(await summary, IkeNodeCounters.Sum(nodes.Values), nodes.Count);
    }

    private static async Task<string> SessionSummary(IClusterClient client, IReadOnlyList<SaDirectoryEntry> sas)
    {
        var summary = SaDirectory.Summary(client);
        var nodes = await client.GetGrain<IIkeStatsGrain>(0).Nodes();
        return SessionSummaryView.Render(await summary, nodes.Count);
    }

    private static Task<string> Timers(IClusterClient client, IReadOnlyList<SaDirectoryEntry> sas) =>
        Task.FromResult(RekeyTimersView.Render(sas, DateTime.UtcNow));

    private static async Task<string> IsakmpSaDetail(IClusterClient client, IReadOnlyList<SaDirectoryEntry> sas)
    {
        var entries = await Numbered(sas, (key, n) => client.GetGrain<IIkeSaReport>(key).ShowIsakmpDetail(n));
        return entries.Count == 0 ? "There are no IKEv1 SAs\n" : ShowCommands.IsakmpHeader(entries.Count) + string.Concat(entries);
    }

    private static async Task<string> Sessions(IClusterClient client, IReadOnlyList<SaDirectoryEntry> sas)
    {
        var blocks = await Numbered(sas, (key, n) => client.GetGrain<IIkeSaReport>(key).ShowVpnSession(n));
        return blocks.Count == 0 ? "INFO: There are presently no active sessions of the type specified\n" : "Session Type: LAN-to-LAN\n\n" + string.Concat(blocks);
    }

    private static async Task<string> Remote(IClusterClient client, IReadOnlyList<SaDirectoryEntry> sas, bool detailed)
    {
        var blocks = await Numbered(sas, (key, n) => client.GetGrain<IIkeSaReport>(key).ShowVpnSessionRemote(n, detailed));
        return blocks.Count == 0 ? "INFO: There are presently no active sessions of the type specified\n"
            : (detailed ? "Session Type: IPsec Detailed\n\n" : "Session Type: IPsec\n\n") + string.Concat(blocks);
    }

    private static async Task<string> SessionsDetail(IClusterClient client, IReadOnlyList<SaDirectoryEntry> sas)
    {
        var blocks = await Numbered(sas, (key, n) => client.GetGrain<IIkeSaReport>(key).ShowVpnSessionDetail(n));
        return blocks.Count == 0 ? "INFO: There are presently no active sessions of the type specified\n" : "Session Type: LAN-to-LAN Detailed\n" + string.Concat(blocks);
    }

    private static async Task<string> IpsecSa(IClusterClient client, IReadOnlyList<SaDirectoryEntry> sas)
    {
        var text = new StringBuilder();
        foreach (var batch in sas.Chunk(Batch))
            foreach (var part in await Task.WhenAll(batch.Select(e => client.GetGrain<IIkeSaGrain>(e.Key).ShowIpsecSa())))
                text.Append(part);
        return text.Length == 0 ? "There are no ipsec sas\n" : text.ToString();
    }

    /// <summary>
    /// Numbered blocks from each SA's grain, <see cref="Batch"/> calls at a time, in directory order. An SA gone since the
    /// directory listed it answers null; the blocks after it in its batch are asked again with their right number.
    /// </summary>
    internal static async Task<List<string>> Numbered(IReadOnlyList<SaDirectoryEntry> sas, Func<string, int, Task<string?>> render)
    {
        var blocks = new List<string>();
        foreach (var batch in sas.Chunk(Batch))
        {
            var first = blocks.Count + 1;
            var answers = await Task.WhenAll(batch.Select((e, j) => render(e.Key, first + j)));
            for (var j = 0; j < batch.Length; j++)
            {
                if (answers[j] is not { } block) continue;
                var number = blocks.Count + 1;
                if (number != first + j && await render(batch[j].Key, number) is { } renumbered) block = renumbered;
                else if (number != first + j) continue;
                blocks.Add(block);
            }
        }
        return blocks;
    }

    private static Task<int> Run(string node, string? peerFilter, TextWriter output, TextWriter error,
        Func<IClusterClient, IReadOnlyList<SaDirectoryEntry>, Task<string>> render, CancellationToken ct, bool needsEntries = true) =>
        OperatorClient.RunAsync(node, error, async client =>
        {
            IReadOnlyList<SaDirectoryEntry> sas = needsEntries ? await SaDirectory.Entries(client) : [];
            if (peerFilter is not null) sas = sas.Where(e => e.Peer == peerFilter).ToList();
            await output.WriteAsync(await render(client, sas));
            return 0;
        }, ct);
}
