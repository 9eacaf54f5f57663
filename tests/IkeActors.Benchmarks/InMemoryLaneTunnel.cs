using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using IkeActors.Config;
using IkeActors.Gateway.Hosting;
using IkeActors.Grains;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;

namespace IkeActors.Benchmarks;

/// <summary>
/// One whole tunnel in memory, between an initiator engine and a routing lane's <see cref="FrontEndNegotiations"/>
/// of a hub of its own (documentation addresses, RFC 5737; a random key, never shown), then the hand-over's JSON and
/// the grain's restore: what <see cref="LaneNegotiationBenchmarks"/> measures. No socket, no silo, no span or metric.
/// </summary>
public static class InMemoryLaneTunnel
{
    /// <summary>Both ends: the inside and outside interfaces (RFC 5737 documentation addresses).</summary>
    private static string Interfaces(string hostname, string inside, string outside) => $"""
        hostname {hostname}
        interface GigabitEthernet0/0
         nameif inside
         security-level 100
         ip address {inside} 255.255.255.0
        interface GigabitEthernet0/1
         nameif outside
         security-level 0
         ip address {outside} 255.255.255.0

        """;

    /// <summary>Both ends: the seed's proposals (3DES/SHA/group 2; ESP AES/SHA).</summary>
    private const string Proposals = """
        crypto ipsec ikev1 transform-set T esp-aes esp-sha-hmac
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption 3des
         hash sha
         group 2
         lifetime 86400

        """;

    /// <summary>A hub: a dynamic crypto map and DefaultL2LGroup's key.</summary>
    private static readonly string Responder = Interfaces("warm-up", "203.0.113.1", "192.0.2.2") + Proposals + """
        crypto dynamic-map DYN 10 set ikev1 transform-set T
        crypto map MAP 65535 ipsec-isakmp dynamic DYN
        crypto map MAP interface outside
        tunnel-group DefaultL2LGroup ipsec-attributes
         ikev1 pre-shared-key KEY
        """;

    /// <summary>A site-to-site peer of the hub.</summary>
    private static readonly string Initiator = Interfaces("warm-up-peer", "198.51.100.1", "192.0.2.1") + Proposals + """
        access-list WARM extended permit ip 198.51.100.0 255.255.255.0 203.0.113.0 255.255.255.0
        crypto map MAP 10 match address WARM
        crypto map MAP 10 set peer 192.0.2.2
        crypto map MAP 10 set ikev1 transform-set T
        crypto map MAP interface outside
        tunnel-group 192.0.2.2 type ipsec-l2l
        tunnel-group 192.0.2.2 ipsec-attributes
         ikev1 pre-shared-key KEY
        """;

    /// <summary>
    /// The two gateways, loaded once: <see cref="Tunnel.Run"/> negotiates one tunnel between them as a node's lane would
    /// (the responder is a <see cref="FrontEndNegotiations"/>; its hand-over is restored as a grain would restore it).
    /// </summary>
    public sealed class Tunnel
    {
        private static readonly IPEndPoint Local = new(IPAddress.Parse("192.0.2.2"), 500);
        private static readonly IPEndPoint PeerAddress = new(IPAddress.Parse("192.0.2.1"), 500);
        private readonly GatewayContext _responder, _initiator;

        private Tunnel(GatewayContext responder, GatewayContext initiator) => (_responder, _initiator) = (responder, initiator);

        /// <summary>Null when the built-in configurations do not load (not expected).</summary>
        public static Tunnel? Create(NegotiationSettings settings)
        {
            var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var responder = AsaConfigLoader.Load(Responder.Replace("KEY", key, StringComparison.Ordinal));
            var initiator = AsaConfigLoader.Load(Initiator.Replace("KEY", key, StringComparison.Ordinal));
            if (!responder.IsValid || !initiator.IsValid) return null;
            return new Tunnel(new GatewayContext(responder.Config, Local, settings: settings),
                new GatewayContext(initiator.Config, PeerAddress, settings: settings));
        }

        /// <summary>One tunnel: true when Main Mode and Quick Mode completed and the hand-over restored with its pair.</summary>
        public bool Run(int debugLevel)
        {
            var host = new Host(_responder, debugLevel);
            var lane = new FrontEndNegotiations(_responder, host, TimeSpan.FromSeconds(2), recordsTelemetry: false);
            using var peer = new NegotiationEngine(_initiator);
            var output = new NegotiationOutput(debugLevel);
            peer.Acquire(new IkeActors.Config.Lookup.Packet(IPAddress.Parse("198.51.100.10"), IPAddress.Parse("203.0.113.10"), 1), output);
            var mm1 = output.OfType<SendDatagram>().Select(d => d.Datagram).ToList();
            if (mm1.Count != 1) return false;
            var saKey = IIkeSaGrain.KeyFor(PeerAddress.Address.ToString(), Cookie(mm1[0]));
            if (!lane.Start(saKey, mm1[0], PeerAddress)) return false;
            for (var round = 0; round < 8 && lane.Holds(saKey); round++)
            {
                output = new NegotiationOutput(debugLevel);
                foreach (var d in host.TakeSent()) peer.Receive(d, Local, output);
                foreach (var d in output.OfType<SendDatagram>().Select(s => s.Datagram).ToList())
                    if (lane.Holds(saKey)) lane.Receive(saKey, d, PeerAddress, natT: false).GetAwaiter().GetResult();
            }
            return host.TookOver;
        }
    }

    /// <summary>The initiator cookie as the grain key spells it (RFC 2408 §3.1: the header's first eight bytes).</summary>
    private static ulong Cookie(byte[] datagram) => ulong.Parse(Convert.ToHexString(datagram, 0, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>The lane's node: sends go to the initiator, the hand-over is restored as a grain would.</summary>
    private sealed class Host(GatewayContext gateway, int debugLevel) : IFrontEndNegotiationHost
    {
        private readonly List<byte[]> _sent = [];
        public GatewayContext Gateway { get; } = gateway;
        public bool TookOver { get; private set; }
        public int DebugLevel => debugLevel;
        public DebugLogExport? Export => null;

        public IAddressBook AddressBook { get; } = new LocalAddressBook();

        public void LeaseFailed(Exception error, string session) => throw error;

        public void Emit(IkeStepResult result) => _sent.AddRange(result.Send.Select(d => d.Bytes));

        public void StateChanged(string key, string state, string? phase1Failure) { }

        public Task<IkeStepResult?> Promote(string key, FrontEndHandOver handOver, IkeSa sa)
        {
            // The grain's way when it lives on another node (the snapshot), so that path is warm too.
            var json = IkeSaSnapshotJson.Serialize(sa);
            sa.Dispose();
            var snapshot = IkeSaSnapshotJson.Deserialize(json);
            if (snapshot is not null)
            {
                try
                {
                    using var restored = IkeSa.Restore(Gateway, snapshot);
                    restored.ResumeTimers(new NegotiationOutput(debugLevel));
                    TookOver = restored.State == MainModeState.MM_ACTIVE && restored.IpsecSas.Count == 1;
                }
                finally
                {
                    snapshot.ClearSecrets();
                    CryptographicOperations.ZeroMemory(json);
                }
            }
            return Task.FromResult<IkeStepResult?>(new IkeStepResult([], [], nameof(MainModeState.MM_ACTIVE)));
        }

        public List<byte[]> TakeSent()
        {
            var sent = _sent.ToList();
            _sent.Clear();
            return sent;
        }
    }
}
