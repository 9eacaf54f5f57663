using System.CommandLine;
using IkeActors.Gateway.Hosting;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation.Admission;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// `ikeactors run --config asa.cfg`: one gateway node. The embedded default is a single silo with localhost
/// clustering and in-memory storage, so no other service is needed. The options become <see cref="RunArguments"/>,
/// checked into <see cref="RunOptions"/> (a bad one is one error line and exit code 1), and <see cref="GatewayNode"/> runs.
/// </summary>
public static class RunCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var config = new Option<FileInfo>("--config") { Description = "ASA running-config to serve", Required = true };
        var bind = new Option<string>("--bind") { Description = "Address:port of the ISAKMP socket", DefaultValueFactory = _ => "0.0.0.0:500" };
        var natT = new Option<string>("--natt") { Description = "Address:port of the NAT-T socket (RFC 3947: UDP 4500), or none; default: the --bind address on 4500 when --bind uses 500, none otherwise", DefaultValueFactory = _ => "auto" };
        var tun = new Option<string?>("--tun") { Description = "Carry traffic: a TUN device of this name (%d numbers it) for the inside, routes to the crypto maps' remote networks, ESP raw or in UDP/4500 outside (root)" };
        var espThreads = new Option<int?>("--esp-threads") { Description = $"With --tun: N inside pumps (a multi-queue TUN device, one thread per queue) and N raw ESP receiving threads (sharing the SPIs); an SA's packets stay in order whatever thread sends them. Default {EspNodeOptions.DefaultThreads} here" };
        var debug = new Option<int>("--debug") { Description = "debug crypto ikev1 level (0-255)", DefaultValueFactory = _ => 0 };
        var peerMap = new Option<string[]>("--peer-map") { Description = "PEER=ADDRESS:PORT: where a configured peer really listens (labs on one machine)", AllowMultipleArgumentsPerToken = true };
        var acquire = new Option<string?>("--acquire") { Description = "SRC,DST[,PROTO]: start negotiating as if the data plane had seen this packet" };
        var siloPort = new Option<int>("--silo-port") { Description = "Orleans silo port", DefaultValueFactory = _ => RunOptions.DefaultSiloPort };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Orleans client gateway port", DefaultValueFactory = _ => RunOptions.DefaultGatewayPort };
        var cluster = new Option<string?>("--cluster") { Description = "redis://HOST:PORT: join the concentrator whose membership, grain state and reminders live in that Redis" };
        var advertise = new Option<string>("--advertise") { Description = "ADDRESS this node's silo and gateway listen on and publish in the cluster membership (with --cluster)", DefaultValueFactory = _ => "127.0.0.1" };
        var otelConsole = new Option<bool>("--otel-console") { Description = "Print spans and metrics with the OpenTelemetry console exporter (OTLP: set OTEL_EXPORTER_OTLP_ENDPOINT)" };
        var maxHalfOpen = new Option<int>("--max-half-open") { Description = "Half-open IKE SAs (Main Mode not yet up) this node keeps at once", DefaultValueFactory = _ => new HalfOpenLimits().MaxHalfOpen };
        var maxHalfOpenPerPeer = new Option<int>("--max-half-open-per-peer") { Description = "Half-open IKE SAs one peer address may hold (strongSwan's block_threshold)", DefaultValueFactory = _ => new HalfOpenLimits().MaxHalfOpenPerPeer };
        var exitAfter = new Option<int>("--exit-after") { Description = "Stop after this many seconds (0 = run until Ctrl+C)", DefaultValueFactory = _ => 0 };
        var otlp = new Option<string?>("--otlp") { Description = "OTLP endpoint for traces, metrics and logs (gRPC, e.g. the URL `ikeactors dashboard` prints); same as OTEL_EXPORTER_OTLP_ENDPOINT" };
        var otlpHeaders = new Option<string?>("--otlp-headers") { Description = "KEY=VALUE[,KEY=VALUE] headers for the OTLP exporter (e.g. x-otlp-api-key=…); same as OTEL_EXPORTER_OTLP_HEADERS" };
        var otlpDebugLevel = new Option<int>("--otlp-debug-level") { Description = "Export the `debug crypto ikev1` lines up to this level as log records (0 = none)", DefaultValueFactory = _ => DebugLogExport.DefaultLevel };
        var orleansDashboard = new Option<int?>("--orleans-dashboard") { Description = "Serve the Orleans Dashboard (grains, silos) on 127.0.0.1:PORT (0 = any free port)" };
        var rekeyJitter = new Option<int>("--rekey-jitter") { Description = "PERCENT: Phase 1 and 2 rekeys up to this share of the lifetime earlier, drawn per SA, so tunnels set up together do not rekey together (0: the ASA's exact timers)", DefaultValueFactory = _ => RunOptions.DefaultRekeyJitterPercent };
        var dpdJitter = new Option<int>("--dpd-jitter") { Description = "PERCENT: each DPD idle threshold up to this share shorter, drawn per wait", DefaultValueFactory = _ => RunOptions.DefaultDpdJitterPercent };
        var dhExponent = new Option<string>("--dh-exponent") { Description = "full: private MODP exponents as long as the prime (strongSwan's default); short: RFC 3526 §8 sizes, twice the group's strength, about five times less CPU per handshake", DefaultValueFactory = _ => "full" };
        var saveKeys = new Option<string?>("--save-keys") { Description = "DIR: write every SA's keys there as they are made, as Wireshark's ikev1_decryption_table and esp_sa files (secrets: mode 0600; anyone who reads them can decrypt the traffic)" };
        var forceEncapsulation = new Option<bool>("--force-encapsulation") { Description = "Encapsulate ESP in UDP 4500 even where no NAT is seen (strongSwan's forceencaps: our NAT-D hash is a random one); both ends must announce NAT-T" };
        var command = new Command("run", "Run a gateway node");
        foreach (var o in new Option[] { config, bind, natT, debug, peerMap, acquire, siloPort, gatewayPort, cluster, otelConsole, exitAfter, maxHalfOpen,
                     maxHalfOpenPerPeer, otlp, otlpHeaders, otlpDebugLevel, orleansDashboard, advertise, tun, espThreads, rekeyJitter, dpdJitter, dhExponent, saveKeys, forceEncapsulation })
            command.Options.Add(o);
        command.SetAction(async (parse, ct) =>
        {
            var arguments = new RunArguments(parse.GetValue(config)!.FullName)
            {
                Bind = parse.GetValue(bind)!, NatT = parse.GetValue(natT) ?? "auto", Debug = parse.GetValue(debug), PeerMap = parse.GetValue(peerMap) ?? [],
                Acquire = parse.GetValue(acquire), SiloPort = parse.GetValue(siloPort), GatewayPort = parse.GetValue(gatewayPort),
                Cluster = parse.GetValue(cluster), Advertise = parse.GetValue(advertise)!, MaxHalfOpen = parse.GetValue(maxHalfOpen),
                MaxHalfOpenPerPeer = parse.GetValue(maxHalfOpenPerPeer), ExitAfter = parse.GetValue(exitAfter), Tun = parse.GetValue(tun), EspThreads = parse.GetValue(espThreads),
                OtelConsole = parse.GetValue(otelConsole), Otlp = parse.GetValue(otlp), OtlpHeaders = parse.GetValue(otlpHeaders),
                OtlpDebugLevel = parse.GetValue(otlpDebugLevel), OrleansDashboard = parse.GetValue(orleansDashboard),
                RekeyJitter = parse.GetValue(rekeyJitter), DpdJitter = parse.GetValue(dpdJitter),
                DhExponent = parse.GetValue(dhExponent)!, SaveKeys = parse.GetValue(saveKeys), ForceEncapsulation = parse.GetValue(forceEncapsulation),
            };
            var (options, errors) = arguments.Validate();
            if (options is null)
            {
                foreach (var e in errors) await error.WriteLineAsync(e);
                return 1;
            }
            return await GatewayNode.RunAsync(options, output, error, ct);
        });
        return command;
    }
}
