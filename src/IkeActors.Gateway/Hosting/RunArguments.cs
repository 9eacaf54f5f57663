using IkeActors.Negotiation.Peers;
using System.Net;
using System.Net.Sockets;
using IkeActors.Config;
using IkeActors.Config.Lookup;
using IkeActors.Grains;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;
using IkeActors.Negotiation.Admission;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// `ikeactors run`'s options as the operator typed them. <see cref="Validate"/> turns them into <see cref="RunOptions"/>,
/// or into error lines: one per bad option (`--OPTION VALUE: what was expected`), or the configuration's own errors.
/// </summary>
public sealed record RunArguments(string ConfigPath)
{
    public string Bind { get; init; } = "0.0.0.0:500";
    /// <summary>ADDRESS:PORT, none, or auto (the --bind address on 4500 when --bind uses 500, none otherwise).</summary>
    public string NatT { get; init; } = "auto";
    public int Debug { get; init; }
    public IReadOnlyList<string> PeerMap { get; init; } = [];
    public string? Acquire { get; init; }
    public int SiloPort { get; init; } = RunOptions.DefaultSiloPort;
    public int GatewayPort { get; init; } = RunOptions.DefaultGatewayPort;
    public string? Cluster { get; init; }
    public string Advertise { get; init; } = "127.0.0.1";
    public int MaxHalfOpen { get; init; } = PeerPolicy.HalfOpenLimits.MaxHalfOpen;
    public int MaxHalfOpenPerPeer { get; init; } = PeerPolicy.HalfOpenLimits.MaxHalfOpenPerPeer;
    public int ExitAfter { get; init; }
    public string? Tun { get; init; }
    /// <summary>`--esp-threads N`: inside pumps (TUN queues) and raw ESP receivers; null: <see cref="EspNodeOptions.DefaultThreads"/>.</summary>
    public int? EspThreads { get; init; }
    public bool OtelConsole { get; init; }
    public string? Otlp { get; init; }
    public string? OtlpHeaders { get; init; }
    public int OtlpDebugLevel { get; init; } = DebugLogExport.DefaultLevel;
    public int? OrleansDashboard { get; init; }
    public int RekeyJitter { get; init; } = RunOptions.DefaultRekeyJitterPercent;
    public int DpdJitter { get; init; } = RunOptions.DefaultDpdJitterPercent;
    /// <summary>`--dh-exponent full|short`: our MODP private exponents as long as the prime, or RFC 3526 §8's sizes.</summary>
    public string DhExponent { get; init; } = "full";

    /// <summary>`--force-encapsulation`: ESP in UDP 4500 even where no NAT is seen (strongSwan's forceencaps).</summary>
    public bool ForceEncapsulation { get; init; }

    /// <summary>`--save-keys DIR`: write every SA's keys there for Wireshark (secrets: off by default).</summary>
    public string? SaveKeys { get; init; }

    private const string RedisScheme = "redis://";

    /// <summary>The options checked first (the first bad one is reported), then the configuration file.</summary>
    public (RunOptions? Options, IReadOnlyList<string> Errors) Validate()
    {
        if (OptionError() is { } error) return (null, [error]);
        var loaded = AsaConfigLoader.LoadFile(ConfigPath);
        if (!loaded.IsValid) return (null, loaded.Errors.Select(e => e.ToString()).ToList());
        var asa = loaded.Config;
        var outsideName = asa.IsakmpEnabledInterfaces.FirstOrDefault() ?? "outside";
        if (asa.FindInterface(outsideName)?.Address?.Address is not { } outside)
            return (null, [$"interface {outsideName} has no `ip address`: the gateway needs its outside address"]);
        TryEndPoint(Bind, out var bind);
        var options = new RunOptions
        {
            Config = asa, Outside = outside, Bind = bind, DebugLevel = Debug,
            NatT = NatT switch
            {
                "none" => null,
                "auto" => bind.Port == NegotiationEngine.IsakmpPort ? new IPEndPoint(bind.Address, IkeSa.NatTPort) : null,
                var text => TryEndPoint(text, out var e) ? e : null,
            },
            PeerMap = PeerMap.Select(e => e.Split('=', 2)).GroupBy(p => IPAddress.Parse(p[0])).ToDictionary(g => g.Key, g => IPEndPoint.Parse(g.Last()[1])), // the last one given wins
            Acquire = Acquire is null ? null : TryAcquire(Acquire, out var packet, out _) ? packet : null,
            HalfOpen = new HalfOpenLimits { MaxHalfOpen = MaxHalfOpen, MaxHalfOpenPerPeer = MaxHalfOpenPerPeer },
            SiloPort = SiloPort, GatewayPort = GatewayPort,
            Redis = Cluster?[RedisScheme.Length..], Advertise = IPAddress.Parse(Advertise), Tun = Tun,
            EspThreads = EspThreads ?? EspNodeOptions.DefaultThreads,
            ExitAfter = ExitAfter > 0 ? TimeSpan.FromSeconds(ExitAfter) : null,
            OtelConsole = OtelConsole, Otlp = Otlp, OtlpHeaders = OtlpHeaders, OtlpDebugLevel = OtlpDebugLevel,
            OrleansDashboardPort = OrleansDashboard,
            RekeyJitterPercent = RekeyJitter, DpdJitterPercent = DpdJitter,
            SaveKeys = SaveKeys is null ? null : Path.GetFullPath(SaveKeys),
            DhExponent = DhExponent == "short" ? IkeActors.Crypto.DhExponentPolicy.TwiceSecurityStrength : IkeActors.Crypto.DhExponentPolicy.FullLength,
            ForceEncapsulation = ForceEncapsulation,
        };
        return (options, []);
    }

    /// <summary>The first option that is not what it must be, as one line for the operator; null when all are.</summary>
    private string? OptionError()
    {
        if (!TryEndPoint(Bind, out _)) return $"--bind {Bind}: expected ADDRESS:PORT";
        if (NatT is not ("none" or "auto") && !TryEndPoint(NatT, out _)) return $"--natt {NatT}: expected ADDRESS:PORT or none";
        foreach (var entry in PeerMap)
            if (entry.Split('=', 2) is not [var peer, var real] || !IsAddress(peer) || !TryEndPoint(real, out var e) || e.Port == 0)
                return $"--peer-map {entry}: expected PEER=ADDRESS:PORT";
        if (Acquire is not null && !TryAcquire(Acquire, out _, out var acquireError)) return $"--acquire {Acquire}: {acquireError}";
        if (Debug is < 0 or > 255) return $"--debug {Debug}: expected a level 0-255";
        if (DhExponent is not ("full" or "short")) return $"--dh-exponent {DhExponent}: expected full or short";
        if (OtlpDebugLevel is < 0 or > 255) return $"--otlp-debug-level {OtlpDebugLevel}: expected a level 0-255";
        if (SiloPort is < 1 or > 65535) return $"--silo-port {SiloPort}: expected a port 1-65535";
        if (GatewayPort is < 1 or > 65535) return $"--gateway-port {GatewayPort}: expected a port 1-65535";
        if (SiloPort == GatewayPort) return $"--silo-port and --gateway-port: two different ports, not {SiloPort} twice";
        if (OrleansDashboard is < 0 or > 65535) return $"--orleans-dashboard {OrleansDashboard}: expected a port 1-65535, or 0 for any free port";
        if (MaxHalfOpen < 1 || MaxHalfOpenPerPeer < 1) return "--max-half-open and --max-half-open-per-peer: at least 1";
        if (RekeyJitter is < 0 or > 50) return $"--rekey-jitter {RekeyJitter}: expected a percentage 0-50";
        if (DpdJitter is < 0 or > 50) return $"--dpd-jitter {DpdJitter}: expected a percentage 0-50";
        if (EspThreads is < 1 or > IkeActors.Esp.TunQueues.KernelMaxQueues) return $"--esp-threads {EspThreads}: expected 1-{IkeActors.Esp.TunQueues.KernelMaxQueues} (TUN queues, one pump each)";
        if (ExitAfter < 0) return $"--exit-after {ExitAfter}: expected seconds, 0 to run until stopped";
        if (Cluster is not null && !IsRedis(Cluster)) return $"--cluster {Cluster}: expected redis://HOST:PORT";
        if (!IsAddress(Advertise)) return $"--advertise {Advertise}: expected an IP address";
        if (SaveKeys is not null && (SaveKeys.Length == 0 || File.Exists(SaveKeys))) return $"--save-keys {SaveKeys}: expected a directory (made if missing)";
        return null;
    }

    /// <summary>SRC,DST[,PROTO]: two IPv4 addresses and an IP protocol number (0, any, when left out).</summary>
    private static bool TryAcquire(string text, out Packet packet, out string error)
    {
        packet = default;
        var parts = text.Split(',');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
        {
            error = "expected SRC,DST[,PROTO] (e.g. 192.168.1.10,192.168.2.10,1)";
            return false;
        }
        foreach (var address in parts[..2])
            if (!IsAddress(address) || IPAddress.Parse(address).AddressFamily != AddressFamily.InterNetwork)
            {
                error = $"{address} is not an IPv4 address";
                return false;
            }
        var protocol = 0;
        if (parts.Length == 3 && (!int.TryParse(parts[2], out protocol) || protocol is < 0 or > 255))
        {
            error = $"protocol {parts[2]} is not a number 0-255";
            return false;
        }
        packet = new Packet(IPAddress.Parse(parts[0]), IPAddress.Parse(parts[1]), protocol);
        error = "";
        return true;
    }

    /// <summary>ADDRESS:PORT with the port written out (IPv6 as [ADDRESS]:PORT).</summary>
    private static bool TryEndPoint(string text, out IPEndPoint endPoint)
    {
        endPoint = null!;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon < text.LastIndexOf(']') || !IsAddress(text[..colon].Trim('[', ']'))) return false;
        if (!IPEndPoint.TryParse(text, out var parsed)) return false;
        endPoint = parsed;
        return true;
    }

    /// <summary>An IPv4 address in dotted-quad form, or an IPv6 address (IPAddress alone would take "10.1" for 10.0.0.1).</summary>
    private static bool IsAddress(string text) =>
        IPAddress.TryParse(text, out var address) && (address.AddressFamily == AddressFamily.InterNetworkV6 || text.Count(c => c == '.') == 3);

    private static bool IsRedis(string text)
    {
        if (!text.StartsWith(RedisScheme, StringComparison.Ordinal) || text.Length == RedisScheme.Length) return false;
        try
        {
            StackExchange.Redis.ConfigurationOptions.Parse(text[RedisScheme.Length..]);
            return true;
        }
        catch (ArgumentException) { return false; }
    }
}
