using System.CommandLine;
using System.Net;
using IkeActors.Config;
using IkeActors.Gateway.Hosting;
using IkeActors.Grains;
using IkeActors.Negotiation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// `ikeactors run --config asa.cfg`: one gateway node. The embedded default is a single silo
/// with localhost clustering and in-memory storage, so no other service is needed.
/// </summary>
public static class RunCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var config = new Option<FileInfo>("--config") { Description = "ASA running-config to serve", Required = true };
        var bind = new Option<string>("--bind") { Description = "Address:port of the ISAKMP socket", DefaultValueFactory = _ => "0.0.0.0:500" };
        var natT = new Option<string>("--natt") { Description = "Address:port of the NAT-T socket (RFC 3947: UDP 4500), or none; default: the --bind address on 4500 when --bind uses 500, none otherwise", DefaultValueFactory = _ => "auto" };
        var tun = new Option<string?>("--tun") { Description = "Carry traffic: a TUN device of this name (%d numbers it) for the inside, routes to the crypto maps' remote networks, ESP raw or in UDP/4500 outside (root)" };
        var debug = new Option<int>("--debug") { Description = "debug crypto ikev1 level (0-255)", DefaultValueFactory = _ => 0 };
        var peerMap = new Option<string[]>("--peer-map") { Description = "PEER=ADDRESS:PORT: where a configured peer really listens (labs on one machine)", AllowMultipleArgumentsPerToken = true };
        var acquire = new Option<string?>("--acquire") { Description = "SRC,DST,PROTO: start negotiating as if the data plane had seen this packet" };
        var siloPort = new Option<int>("--silo-port") { Description = "Orleans silo port", DefaultValueFactory = _ => 11111 };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Orleans client gateway port", DefaultValueFactory = _ => 30000 };
        var cluster = new Option<string?>("--cluster") { Description = "redis://HOST:PORT: join the concentrator whose membership, grain state and reminders live in that Redis" };
        var advertise = new Option<string>("--advertise") { Description = "ADDRESS this node's silo and gateway listen on and publish in the cluster membership (with --cluster)", DefaultValueFactory = _ => "127.0.0.1" };
        var otelConsole = new Option<bool>("--otel-console") { Description = "Print spans and metrics with the OpenTelemetry console exporter (OTLP: set OTEL_EXPORTER_OTLP_ENDPOINT)" };
        var maxHalfOpen = new Option<int>("--max-half-open") { Description = "Half-open IKE SAs (Main Mode not yet up) this node keeps at once", DefaultValueFactory = _ => new Negotiation.Admission.HalfOpenLimits().MaxHalfOpen };
        var maxHalfOpenPerPeer = new Option<int>("--max-half-open-per-peer") { Description = "Half-open IKE SAs one peer address may hold (strongSwan's block_threshold)", DefaultValueFactory = _ => new Negotiation.Admission.HalfOpenLimits().MaxHalfOpenPerPeer };
        var exitAfter = new Option<int>("--exit-after") { Description = "Stop after this many seconds (0 = run until Ctrl+C)", DefaultValueFactory = _ => 0 };
        var command = new Command("run", "Run a gateway node");
        foreach (var o in new Option[] { config, bind, natT, debug, peerMap, acquire, siloPort, gatewayPort, cluster, otelConsole, exitAfter, maxHalfOpen, maxHalfOpenPerPeer }) command.Options.Add(o);
        var telemetry = TelemetryOptions.AddTo(command); // --otlp, --otlp-headers, --otlp-debug-level, --orleans-dashboard
        command.Options.Add(advertise);
        command.Options.Add(tun);
        command.SetAction(async (parse, ct) =>
        {
            var loaded = AsaConfigLoader.LoadFile(parse.GetValue(config)!.FullName);
            if (!loaded.IsValid)
            {
                foreach (var e in loaded.Errors) await error.WriteLineAsync(e.ToString());
                return 1;
            }
            var asa = loaded.Config;
            var outsideName = asa.IsakmpEnabledInterfaces.FirstOrDefault() ?? "outside";
            var outside = asa.FindInterface(outsideName)?.Address?.Address;
            if (outside is null)
            {
                await error.WriteLineAsync($"interface {outsideName} has no `ip address`: the gateway needs its outside address");
                return 1;
            }
            var map = new Dictionary<IPAddress, IPEndPoint>();
            foreach (var entry in parse.GetValue(peerMap) ?? [])
            {
                var parts = entry.Split('=', 2);
                if (parts.Length != 2 || !IPAddress.TryParse(parts[0], out var peer) || !IPEndPoint.TryParse(parts[1], out var real))
                {
                    await error.WriteLineAsync($"--peer-map {entry}: expected PEER=ADDRESS:PORT");
                    return 1;
                }
                map[peer] = real;
            }
            if (!IPEndPoint.TryParse(parse.GetValue(bind)!, out var bindEndPoint))
            {
                await error.WriteLineAsync($"--bind {parse.GetValue(bind)}: expected ADDRESS:PORT");
                return 1;
            }
            IPEndPoint? natTEndPoint;
            switch (parse.GetValue(natT))
            {
                case "none": natTEndPoint = null; break;
                case "auto" or null: natTEndPoint = bindEndPoint.Port == NegotiationEngine.IsakmpPort ? new IPEndPoint(bindEndPoint.Address, IkeSa.NatTPort) : null; break;
                case var text when IPEndPoint.TryParse(text, out var e): natTEndPoint = e; break;
                case var text:
                    await error.WriteLineAsync($"--natt {text}: expected ADDRESS:PORT or none");
                    return 1;
            }
            if (parse.GetValue(maxHalfOpen) < 1 || parse.GetValue(maxHalfOpenPerPeer) < 1)
            {
                await error.WriteLineAsync("--max-half-open and --max-half-open-per-peer: at least 1");
                return 1;
            }
            var options = new FrontEndOptions
            {
                Ike = bindEndPoint, NatT = natTEndPoint, DebugLevel = parse.GetValue(debug), PeerMap = map,
                HalfOpen = new Negotiation.Admission.HalfOpenLimits { MaxHalfOpen = parse.GetValue(maxHalfOpen), MaxHalfOpenPerPeer = parse.GetValue(maxHalfOpenPerPeer) },
            };
            // A pair this node replaces by a rekey stays 2 s after QM3 before its DELETE: the peer installs the new
            // pair on QM3, and traffic moves over while both exist (no packet between the two installs is lost).
            var gateway = new GatewayContext(asa, new IPEndPoint(outside, NegotiationEngine.IsakmpPort),
                settings: new NegotiationSettings { RekeyedPairGrace = TimeSpan.FromSeconds(2) });

            var builder = Host.CreateApplicationBuilder();
            // Debug lines own stdout; the host's own log goes to stderr, Orleans only when something is wrong.
            builder.Logging.ClearProviders();
            builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Orleans", LogLevel.Error);
            builder.Logging.AddFilter("Polly", LogLevel.Error); // Orleans' placement retries while the silo starts: not an operator's concern
            builder.Services.AddSingleton(gateway);
            builder.Services.AddSingleton(options);
            var redis = parse.GetValue(cluster);
            if (redis is not null && !redis.StartsWith("redis://", StringComparison.Ordinal))
            {
                await error.WriteLineAsync($"--cluster {redis}: expected redis://HOST:PORT");
                return 1;
            }
            if (!IPAddress.TryParse(parse.GetValue(advertise), out var advertised))
            {
                await error.WriteLineAsync($"--advertise {parse.GetValue(advertise)}: expected an IP address");
                return 1;
            }
            // The silo first: hosted services start in this order (the front-end's and data plane's grain calls find a
            // running silo) and stop in the reverse one (they end before the silo does).
            builder.UseOrleans(silo =>
            {
                // Grain calls carry the caller's trace context: one negotiation is one trace across silos.
                silo.AddActivityPropagation();
                if (redis is null)
                {
                    // The embedded default: one silo, nothing else to run.
                    silo.UseLocalhostClustering(parse.GetValue(siloPort), parse.GetValue(gatewayPort), serviceId: GatewayHost.ServiceId, clusterId: GatewayHost.ClusterId)
                        .AddMemoryGrainStorageAsDefault();
                    return;
                }
                // Several nodes form one concentrator: Redis holds membership, grain state and reminders.
                var endpoint = StackExchange.Redis.ConfigurationOptions.Parse(redis["redis://".Length..]);
                silo.Configure<Orleans.Configuration.ClusterOptions>(o => { o.ServiceId = GatewayHost.ServiceId; o.ClusterId = GatewayHost.ClusterId; })
                    .ConfigureEndpoints(advertised, parse.GetValue(siloPort), parse.GetValue(gatewayPort))
                    .UseRedisClustering(o => o.ConfigurationOptions = endpoint)
                    .AddRedisGrainStorageAsDefault(o => o.ConfigurationOptions = endpoint)
                    .UseRedisReminderService(o => o.ConfigurationOptions = endpoint);
            });
            if (parse.GetValue(tun) is { } tunName)
            {
                // The userspace ESP data plane (src/IkeActors.Esp): IPsec SA grains install into it, show and metrics read it.
                builder.Services.AddSingleton<IkeActors.Esp.EspSaDatabase>();
                builder.Services.AddSingleton(new EspNodeOptions { Tun = tunName });
                builder.Services.AddSingleton<EspNode>();
                builder.Services.AddSingleton<IEspSaDatabase, EspSaInstaller>();
                builder.Services.AddSingleton<IkeActors.Grains.Telemetry.IEspCounterSource>(sp => sp.GetRequiredService<EspNode>());
                builder.Services.AddHostedService(sp => sp.GetRequiredService<EspNode>());
            }
            else builder.Services.AddSingleton<IEspSaDatabase, InMemoryEspSaDatabase>(); // negotiation only: SAs are kept, no traffic passes
            builder.Services.AddSingleton<UdpFrontEnd>();
            builder.Services.AddSingleton<IDatagramTransmitter>(sp => sp.GetRequiredService<UdpFrontEnd>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<UdpFrontEnd>());
            // A stop deletes this node's SAs, telling the peers, before any service (the silo, the sockets) stops.
            builder.Services.AddSingleton(new GracefulShutdownOptions());
            builder.Services.AddHostedService<GracefulShutdown>();
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
            builder.Services.AddSingleton<IHostLifetime, CommandLineLifetime>();
            // service.instance.id: the hostname alone does not tell the seed's two ASAs (both "ciscoasa") apart.
            GatewayTelemetry.Configure(builder, parse.GetValue(otelConsole), $"{asa.Hostname ?? Environment.MachineName}-{outside}",
                telemetry.Read(parse, parse.GetValue(gatewayPort), output));
            using var host = builder.Build();
            // A start is not cancelled half-way (a silo stopped while it starts throws; see CommandLineLifetime): a signal
            // during the start is seen once it is complete, and the node stops at once.
            await host.StartAsync(CancellationToken.None);
            var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, stopping);
            var frontEnd = host.Services.GetRequiredService<UdpFrontEnd>();
            await output.WriteLineAsync($"{asa.Hostname ?? "ikeactors"}: ISAKMP on udp {frontEnd.LocalEndPoint}"
                + (frontEnd.NatTEndPoint is { } n ? $", NAT-T on udp {n}" : "") + $", outside {outside}");

            if (parse.GetValue(acquire) is { } a && !stop.IsCancellationRequested)
            {
                var p = a.Split(',');
                var packet = new AcquireRequest(p[0], p[1], p.Length > 2 && int.TryParse(p[2], out var proto) ? proto : 0);
                var match = gateway.Lookup.MatchOutbound(new IkeActors.Config.Lookup.Packet(IPAddress.Parse(p[0]), IPAddress.Parse(p[1]), packet.Protocol), gateway.OutsideInterface);
                if (match is null || match.Entry.Peers.Count == 0) await error.WriteLineAsync($"--acquire {a}: no crypto map entry protects this traffic");
                else await frontEnd.Acquire(match.Entry.Peers[0], packet);
            }

            // Runs until --exit-after, SIGTERM or SIGINT (the command line's token), or until something asks the host to
            // stop (ApplicationStopping), then one stop: SAs deleted, data plane and silo closed.
            var seconds = parse.GetValue(exitAfter);
            try { await Task.Delay(seconds > 0 ? TimeSpan.FromSeconds(seconds) : Timeout.InfiniteTimeSpan, stop.Token); }
            catch (OperationCanceledException) { }
            await host.StopAsync(CancellationToken.None); // bounded by HostOptions.ShutdownTimeout
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The bound on a whole stop (deletes, data plane, silo): a stop never hangs. Below the command line's
    /// ProcessTerminationTimeout (<see cref="CliApp"/>), which would end the process with 143 or 130 instead of 0.
    /// </summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(8);
}
