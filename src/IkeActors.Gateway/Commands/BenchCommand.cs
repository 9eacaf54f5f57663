using System.CommandLine;
using IkeActors.LoadGenerator;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// `ikeactors bench --target ADDR[:PORT] --peers N --psk KEY …`: N IKEv1 initiators (our engine), each from its own
/// source address, bring up Main Mode + Quick Mode against any responder; a progress line a second on stderr, the
/// report (text, or JSON with --json) on stdout. Exit 0 when every tunnel came up, 1 otherwise, 2 on usage errors.
/// </summary>
internal static class BenchCommand
{
    public const int ExitAllUp = 0;
    public const int ExitSomeFailed = 1;
    public const int ExitUsage = 2;

    public static Command Create(TextWriter output, TextWriter error)
    {
        var d = new BenchArguments();
        var sources = new Option<string>("--sources") { Description = "First source address: peer i sends from it plus i (127.0.0.0/8 is local on lo; elsewhere make the range local: ip route add local 10.1.0.0/16 dev lo)", DefaultValueFactory = _ => d.Sources };
        var sourcePort = new Option<int>("--source-port") { Description = "Source UDP port of every peer (0 = ephemeral per socket; 500 as root)", DefaultValueFactory = _ => d.SourcePort };
        var target = new Option<string>("--target") { Description = "The responder: ADDRESS[:PORT] (UDP 500 by default)", DefaultValueFactory = _ => d.Target };
        var targetNatT = new Option<int>("--target-natt-port") { Description = "The responder's NAT-T port once it floats (RFC 3947)", DefaultValueFactory = _ => d.TargetNatTPort };
        var peers = new Option<int>("--peers") { Description = "Number of peers (tunnels)", DefaultValueFactory = _ => d.Peers };
        var rate = new Option<double>("--rate") { Description = "New peers started per second (0 = as fast as --concurrency allows)", DefaultValueFactory = _ => d.Rate };
        var concurrency = new Option<int>("--concurrency") { Description = "Negotiations in flight at most", DefaultValueFactory = _ => d.Concurrency };
        var hold = new Option<double>("--hold") { Description = "Seconds to keep the tunnels once all are up (DPD, rekeys as the engine does); 0 = stop at once", DefaultValueFactory = _ => d.Hold };
        var timeout = new Option<double>("--timeout") { Description = "Seconds one tunnel may take from MM1 to its IPsec SA", DefaultValueFactory = _ => d.Timeout };
        var noDelete = new Option<bool>("--no-delete") { Description = "Leave without sending DELETEs (the responder keeps the SAs until DPD or lifetime)" };
        var debug = new Option<int>("--debug") { Description = "debug crypto ikev1 level of the first peer's lines (stderr; 0 = none)", DefaultValueFactory = _ => d.Debug };
        var json = new Option<bool>("--json") { Description = "The report as JSON (property names: see src/IkeActors.LoadGenerator/README.md)" };
        var config = new Option<FileInfo?>("--config") { Description = "An ASA initiator config: its crypto map entry, policies, transform set, PFS and the tunnel-group's PSK (instead of the proposal options)" };
        var psk = new Option<string?>("--psk") { Description = "Pre-shared key of the target's tunnel-group (never printed)" };
        var ike = new Option<string>("--ike") { Description = "Phase 1 proposal ENCRYPTION-HASH-GROUP, e.g. 3des-sha1-modp1024, aes256-sha256-modp2048", DefaultValueFactory = _ => d.Ike };
        var esp = new Option<string>("--esp") { Description = "Phase 2 proposal ENCRYPTION-INTEGRITY, e.g. aes128-sha1, aes256-sha256", DefaultValueFactory = _ => d.Esp };
        var pfs = new Option<string?>("--pfs") { Description = "PFS DH group for Quick Mode (e.g. 14); none by default" };
        var localTs = new Option<string>("--local-ts") { Description = "Local networks: peer i proposes the i-th /24 of this prefix", DefaultValueFactory = _ => d.LocalTs };
        var remoteTs = new Option<string>("--remote-ts") { Description = "Remote network every peer proposes", DefaultValueFactory = _ => d.RemoteTs };
        var ikeLifetime = new Option<int>("--ike-lifetime") { Description = "IKE SA lifetime, seconds", DefaultValueFactory = _ => d.IkeLifetime };
        var espLifetime = new Option<int>("--esp-lifetime") { Description = "IPsec SA lifetime, seconds", DefaultValueFactory = _ => d.EspLifetime };
        var group = new Option<string?>("--group") { Description = "Remote-access profile: dial in as EzVPN clients do, Aggressive Mode naming this group (ID_KEY_ID) with --psk as the group key, then XAUTH (--user/--password) and Mode Config; each peer's Quick Mode runs from the address it is given" };
        var user = new Option<string?>("--user") { Description = "XAUTH user name of the remote-access profile (every peer the same user: the head-end's vpn-simultaneous-logins must allow them)" };
        var password = new Option<string?>("--password") { Description = "XAUTH password of --user (never printed)" };
        var dpd = new Option<int>("--dpd") { Description = "Send DPD (RFC 3706) after this many idle seconds (0 = off; R-U-THERE is always answered)", DefaultValueFactory = _ => d.Dpd };
        var command = new Command("bench", "Load generator: N IKEv1 peers bring up tunnels against any responder and report the rate, latencies and failures");
        foreach (var o in new Option[] { sources, sourcePort, target, targetNatT, peers, rate, concurrency, hold, timeout, noDelete, debug, json, config, psk,
                     ike, esp, pfs, localTs, remoteTs, ikeLifetime, espLifetime, dpd, group, user, password })
            command.Options.Add(o);
        command.SetAction(async (parse, ct) =>
        {
            if (parse.Errors.Count > 0) return ExitUsage;
            var arguments = new BenchArguments
            {
                Sources = parse.GetValue(sources)!, SourcePort = parse.GetValue(sourcePort), Target = parse.GetValue(target)!,
                TargetNatTPort = parse.GetValue(targetNatT), Peers = parse.GetValue(peers), Rate = parse.GetValue(rate),
                Concurrency = parse.GetValue(concurrency), Hold = parse.GetValue(hold), Timeout = parse.GetValue(timeout),
                NoDelete = parse.GetValue(noDelete), Debug = parse.GetValue(debug), ConfigFile = parse.GetValue(config)?.FullName,
                Psk = parse.GetValue(psk), Ike = parse.GetValue(ike)!, Esp = parse.GetValue(esp)!, Pfs = parse.GetValue(pfs),
                LocalTs = parse.GetValue(localTs)!, RemoteTs = parse.GetValue(remoteTs)!, IkeLifetime = parse.GetValue(ikeLifetime),
                EspLifetime = parse.GetValue(espLifetime), Dpd = parse.GetValue(dpd),
                Group = parse.GetValue(group), User = parse.GetValue(user), Password = parse.GetValue(password),
            };
            return await Run(arguments, parse.GetValue(json), output, error, ct);
        });
        return command;
    }

    public static async Task<int> Run(BenchArguments arguments, bool json, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var (settings, errors) = arguments.Validate();
        if (settings is null)
        {
            foreach (var e in errors) await error.WriteLineAsync(e);
            return ExitUsage;
        }
        if (LoadRun.ReserveDescriptors(settings.Peers) is { } tooFew)
        {
            await error.WriteLineAsync(tooFew);
            return ExitUsage;
        }
        using var run = new LoadRun(settings, error, settings.Debug > 0 ? error : null);
        var report = await run.RunAsync(ct);
        await output.WriteAsync(json ? report.ToJson() : report.ToText());
        await output.FlushAsync(CancellationToken.None);
        return report.AllUp ? ExitAllUp : ExitSomeFailed;
    }
}
