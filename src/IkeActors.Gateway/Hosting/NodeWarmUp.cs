using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using IkeActors.Config;
using IkeActors.LoadGenerator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// Before a node is built: a node of its own, in this process, on loopback (its own silo on free ports, in-memory
/// storage, no data plane, no exporter), and two tunnels into it from the load generator (the seed's proposals, and
/// AES-256/SHA-256/group 14), then that node stopped. Every method a tunnel runs (the sockets, the routing lanes, Main Mode and
/// Quick Mode, the hand-over, the IKE, IPsec and tunnel grains, Orleans' activation, messaging and storage, the SA
/// directory) is compiled once for the process, so the node's first peers find it compiled: a JIT-only node
/// (<see cref="LongRunningCompilation"/>) otherwise compiled some 700 methods, half a second of CPU, during its first
/// thousand tunnels. It runs before the node's own host exists, so no span or metric of it reaches the node's
/// telemetry, and nothing of it reaches the node's state; it sends only on loopback.
/// </summary>
public static class NodeWarmUp
{
    /// <summary>The node in the warm-up: a hub (a dynamic crypto map and DefaultL2LGroup's key) for both proposal sets.</summary>
    private const string Hub = """
        hostname warm-up
        interface GigabitEthernet0/1
         nameif outside
         security-level 0
         ip address 127.0.0.1 255.0.0.0
        crypto ipsec ikev1 transform-set SEED esp-aes esp-sha-hmac
        crypto ipsec ikev1 transform-set MODERN esp-aes-256 esp-sha256-hmac
        crypto dynamic-map DYN 10 set ikev1 transform-set SEED MODERN
        crypto map MAP 65535 ipsec-isakmp dynamic DYN
        crypto map MAP interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption 3des
         hash sha
         group 2
         lifetime 86400
        crypto ikev1 policy 20
         authentication pre-share
         encryption aes-256
         hash sha256
         group 14
         lifetime 86400
        tunnel-group DefaultL2LGroup ipsec-attributes
         ikev1 pre-shared-key KEY
        """;

    /// <summary>The two tunnels, at once, each from its own loopback address: (source, IKE, ESP, PFS) as `ikeactors bench` names them.</summary>
    private static readonly (string Source, string Ike, string Esp, string? Pfs)[] Tunnels =
        [("127.0.0.2", "3des-sha1-modp1024", "aes128-sha1", null), ("127.0.0.3", "aes256-sha256-modp2048", "aes256-sha256", null)];

    /// <summary>
    /// Runs the warm-up for <paramref name="node"/> (its debug level, exponent policy, front-end and half-open settings):
    /// true when both tunnels came up, how long it all took (the stop included), and otherwise what went wrong (a stop
    /// asked for by <paramref name="ct"/> included). Never throws: a warm-up that fails leaves a node that compiles as it goes.
    /// </summary>
    public static async Task<(bool Up, TimeSpan Took, string? Problem)> RunAsync(RunOptions node, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var loaded = AsaConfigLoader.Load(Hub.Replace("KEY", key, StringComparison.Ordinal), "<warm-up>");
            if (!loaded.IsValid) return (false, Stopwatch.GetElapsedTime(started), "the warm-up configuration does not load");
            var options = node with
            {
                Config = loaded.Config, Outside = IPAddress.Loopback, Bind = new IPEndPoint(IPAddress.Loopback, 0),
                NatT = new IPEndPoint(IPAddress.Loopback, 0), PeerMap = new Dictionary<IPAddress, IPEndPoint>(), Acquire = null,
                SiloPort = FreeTcpPort(), GatewayPort = FreeTcpPort(), Redis = null, Tun = null, ExitAfter = null,
                OtelConsole = false, Otlp = null, OtlpHeaders = null, OrleansDashboardPort = null, SaveKeys = null,
            };
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Logging.ClearProviders();
            // No exporter even where the environment names one (GatewayTelemetry reads the variable when the configuration has none).
            builder.Configuration[GatewayTelemetry.OtlpEndpointVariable] = "";
            builder.AddIkeActorsNode(options, TextWriter.Null);
            using var host = builder.Build();
            await host.StartAsync(ct);
            bool[] up;
            try
            {
                var sockets = host.Services.GetRequiredService<IsakmpSockets>();
                up = await Task.WhenAll(Tunnels.Select(t => Tunnel(t.Source, sockets.LocalEndPoint, sockets.NatTEndPoint, t.Ike, t.Esp, t.Pfs, key, ct)));
            }
            finally
            {
                // Its SAs are deleted (the peers sent DELETEs), its silo stops: nothing of it is left when the node starts.
                await host.StopAsync(CancellationToken.None);
            }
            var failed = up.Count(u => !u);
            return (failed == 0, Stopwatch.GetElapsedTime(started), failed == 0 ? null : $"{failed} of {up.Length} tunnels did not come up");
        }
        catch (Exception e)
        {
            return (false, Stopwatch.GetElapsedTime(started), e.Message);
        }
    }

    /// <summary>One peer of `ikeactors bench` with these proposals (a DELETE at the end); true when it came up.</summary>
    private static async Task<bool> Tunnel(string source, IPEndPoint ike, IPEndPoint? natT, string ikeProposal, string espProposal, string? pfs, string key, CancellationToken ct)
    {
        var (settings, errors) = new BenchArguments
        {
            Sources = source, Target = ike.ToString(), TargetNatTPort = natT?.Port ?? 4500, Peers = 1, Timeout = 5,
            Psk = key, Ike = ikeProposal, Esp = espProposal, Pfs = pfs, LocalTs = "198.51.100.0/24", RemoteTs = "203.0.113.0/24",
        }.Validate();
        if (settings is null) throw new InvalidOperationException(string.Join("; ", errors));
        using var run = new LoadRun(settings, TextWriter.Null);
        var report = await run.RunAsync(ct);
        return report.Established == 1;
    }

    /// <summary>Most a node touches (<see cref="TouchFirstGeneration"/>) whatever budget the operator gave the GC.</summary>
    internal const long MaxTouch = 256L << 20;

    private static byte[]? _touched;

    /// <summary>
    /// Has the GC hand out twice its first generation's <paramref name="budget"/> (at most <see cref="MaxTouch"/>) in
    /// short-lived 8 KB arrays, so that the memory its first generation cycles through has been touched once before
    /// the first peer: a fresh node's first burst of 1,000 seed tunnels otherwise took 14,000-18,000 page faults
    /// (the kernel zeroing each new page; 5,000-6,000 in a later burst) and 10-15 % more CPU per tunnel than a later
    /// burst (tests/IkeActors.Benchmarks/README.md, ninth round). Returns the bytes allocated. The pages stay with the
    /// process (its RSS) while the GC keeps those regions.
    /// </summary>
    public static long TouchFirstGeneration(long budget)
    {
        if (budget <= 0) return 0;
        var total = Math.Min(2 * budget, MaxTouch);
        const int Chunk = 8192; // under the large-object threshold (85,000 bytes): allocated in the first generation
        for (long done = 0; done < total; done += Chunk) _touched = new byte[Chunk]; // a static: never allocated on the stack
        _touched = null;
        return total;
    }

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
