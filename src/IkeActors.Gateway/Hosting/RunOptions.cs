using IkeActors.Negotiation.Peers;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Config.Model;
using IkeActors.Grains;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;
using IkeActors.Negotiation.Admission;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// One gateway node as `ikeactors run` describes it, every value checked (<see cref="RunArguments.Validate"/>):
/// the ASA configuration it serves, its sockets, its cluster, its telemetry.
/// </summary>
public sealed record RunOptions
{
    public const int DefaultSiloPort = 11111;

    /// <summary>The Orleans client gateway port of a node unless --gateway-port says otherwise (operator commands' default too).</summary>
    public const int DefaultGatewayPort = 30000;

    public required AsaConfig Config { get; init; }

    /// <summary>The address of the interface ISAKMP is enabled on: the node's own address in the negotiations.</summary>
    public required IPAddress Outside { get; init; }

    /// <summary>The ISAKMP socket (UDP 500 in production).</summary>
    public IPEndPoint Bind { get; init; } = new(IPAddress.Any, NegotiationEngine.IsakmpPort);

    /// <summary>The NAT-T socket (UDP 4500), or none.</summary>
    public IPEndPoint? NatT { get; init; }

    /// <summary>`debug crypto ikev1` level on the console (0 = off).</summary>
    public int DebugLevel { get; init; }

    /// <summary>Configured peer address -> where it really listens (labs on one machine).</summary>
    public IReadOnlyDictionary<IPAddress, IPEndPoint> PeerMap { get; init; } = new Dictionary<IPAddress, IPEndPoint>();

    /// <summary>A packet to start negotiating for once the node runs, as if the data plane had seen it.</summary>
    public Packet? Acquire { get; init; }

    public HalfOpenLimits HalfOpen { get; init; } = PeerPolicy.HalfOpenLimits;

    public int SiloPort { get; init; } = DefaultSiloPort;
    public int GatewayPort { get; init; } = DefaultGatewayPort;

    /// <summary>The Redis (StackExchange.Redis configuration, HOST:PORT) holding the concentrator's membership, grain state and reminders; null: a single embedded silo.</summary>
    public string? Redis { get; init; }

    /// <summary>The address this node's silo and gateway publish in the cluster membership.</summary>
    public IPAddress Advertise { get; init; } = IPAddress.Loopback;

    /// <summary>Carry traffic: the TUN device (a name, %d numbered by the kernel); null: negotiation only.</summary>
    public string? Tun { get; init; }

    /// <summary>With <see cref="Tun"/>: inside pumps (TUN queues) and raw ESP receiving threads (<see cref="EspNodeOptions.Threads"/>).</summary>
    public int EspThreads { get; init; } = EspNodeOptions.DefaultThreads;

    /// <summary>How long the node runs before it stops by itself; null: until a signal.</summary>
    public TimeSpan? ExitAfter { get; init; }

    /// <summary>Print spans and metrics with the OpenTelemetry console exporter.</summary>
    public bool OtelConsole { get; init; }

    /// <summary>The OTLP endpoint and headers (else OTEL_EXPORTER_OTLP_* apply).</summary>
    public string? Otlp { get; init; }
    public string? OtlpHeaders { get; init; }

    /// <summary>The `debug crypto ikev1` level exported as log records (0 = none).</summary>
    public int OtlpDebugLevel { get; init; } = DebugLogExport.DefaultLevel;

    /// <summary>Serve the Orleans Dashboard on 127.0.0.1 at this port (0 = any free port); null: not served.</summary>
    public int? OrleansDashboardPort { get; init; }

    /// <summary>The length of our private MODP exponents (<see cref="NegotiationSettings.DhExponent"/>).</summary>
    public IkeActors.Crypto.DhExponentPolicy DhExponent { get; init; } = IkeActors.Crypto.DhExponentPolicy.FullLength;

    /// <summary>ESP in UDP 4500 even without a NAT (<see cref="NegotiationSettings.ForceEncapsulation"/>).</summary>
    public bool ForceEncapsulation { get; init; }

    /// <summary>The node's name in telemetry (service.instance.id): the hostname alone does not tell the seed's two ASAs (both "ciscoasa") apart.</summary>
    public string Instance => $"{Config.Hostname ?? Environment.MachineName}-{Outside}";

    /// <summary>The first packet's request to the tunnel grain, from <see cref="Acquire"/>.</summary>
    public AcquireRequest? AcquireRequest => Acquire is { } p ? new(p.Source.ToString(), p.Destination.ToString(), p.Protocol) : null;

    public FrontEndOptions FrontEnd => new()
    {
        Ike = Bind, NatT = NatT, DebugLevel = DebugLevel, PeerMap = PeerMap, HalfOpen = HalfOpen,
        WarmUp = LongRunningCompilation.Applied,
    };

    /// <summary>
    /// What the grains negotiate with. A pair this node replaces by a rekey stays 2 s after QM3 before its DELETE:
    /// the peer installs the new pair on QM3, and traffic moves over while both exist (no packet between the two
    /// installs is lost). Rekey and DPD timers are spread (<see cref="RekeyJitterPercent"/>, <see cref="DpdJitterPercent"/>):
    /// 100,000 tunnels set up within minutes must not rekey or probe in the same second.
    /// </summary>
    /// <summary>`--save-keys DIR`: Wireshark's key files for every SA made (<see cref="WiresharkKeyLog"/>); null: none.</summary>
    public string? SaveKeys { get; init; }

    public GatewayContext CreateGateway() => new(Config, new IPEndPoint(Outside, NegotiationEngine.IsakmpPort), settings: Settings)
    {
        KeyLog = SaveKeys is null ? null : new WiresharkKeyLog(SaveKeys),
        // Remote-access groups: this node's user database and pools (one node; a cluster shares no pool yet).
        RemoteAccess = new LocalRemoteAccessService(Config),
    };

    /// <summary>Rekeys up to this share of the lifetime earlier (`--rekey-jitter`, default 10 %; 0: the ASA's exact timers).</summary>
    public int RekeyJitterPercent { get; init; } = DefaultRekeyJitterPercent;

    /// <summary>DPD idle thresholds up to this share shorter (`--dpd-jitter`, default 20 %).</summary>
    public int DpdJitterPercent { get; init; } = DefaultDpdJitterPercent;

    public const int DefaultRekeyJitterPercent = 10, DefaultDpdJitterPercent = 20;

    /// <summary>The engine's timers as this node runs them.</summary>
    public NegotiationSettings Settings => new()
    {
        RekeyedPairGrace = TimeSpan.FromSeconds(2),
        RekeyJitter = RekeyJitterPercent / 100.0,
        DpdJitter = DpdJitterPercent / 100.0,
        DhExponent = DhExponent,
        ForceEncapsulation = ForceEncapsulation,
    };
}
