using System.Net;
using BenchmarkDotNet.Attributes;
using IkeActors.Config;
using IkeActors.Negotiation;

namespace IkeActors.Benchmarks;

/// <summary>
/// One remote-access dial-in in memory, both ends together: Aggressive Mode naming group EZ (AES/SHA-1/group 2), XAUTH,
/// Mode Config from the head-end's pool, Quick Mode from the given address (12 messages), beside the site-to-site
/// handshake of <see cref="NegotiationBenchmarks"/> (9 messages). Debugging off, short DH exponents (the node's `run`).
/// Each dial-in releases its address, so the pool never runs dry.
/// </summary>
[MemoryDiagnoser]
public class RemoteAccessBenchmarks
{
    private static readonly IPEndPoint Client = new(IPAddress.Parse("10.0.0.1"), 500);
    private static readonly IPEndPoint HeadEnd = new(IPAddress.Parse("10.0.0.2"), 500);

    private const string HeadEndConfig = """
        interface GigabitEthernet0/1
         nameif outside
         security-level 0
         ip address 10.0.0.2 255.255.255.0
        crypto ipsec ikev1 transform-set TRA esp-aes esp-sha-hmac
        crypto dynamic-map DYN 10 set ikev1 transform-set TRA
        crypto map MAP 65535 ipsec-isakmp dynamic DYN
        crypto map MAP interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption aes
         hash sha
         group 2
         lifetime 86400
        ip local pool P 192.168.100.10-192.168.100.250 mask 255.255.255.0
        username cisco password cisco
        group-policy EZ internal
        group-policy EZ attributes
         dns-server value 192.168.1.99
         default-domain value example.net
        tunnel-group EZ type remote-access
        tunnel-group EZ general-attributes
         address-pool P
         default-group-policy EZ
        tunnel-group EZ ipsec-attributes
         ikev1 pre-shared-key cisco
        """;

    private const string ClientConfig = """
        crypto ipsec ikev1 transform-set TRA esp-aes esp-sha-hmac
        crypto ikev1 policy 10
         authentication pre-share
         encryption aes
         hash sha
         group 2
         lifetime 86400
        """;

    private IkeActors.Config.Model.AsaConfig _headEnd = null!, _client = null!;
    private LocalRemoteAccessService _service = null!;
    private readonly RemoteAccessCredentials _credentials = new("EZ", new IkeActors.Config.Model.PreSharedKey("cisco"), "cisco", "cisco");
    private readonly NegotiationSettings _settings = new() { DhExponent = IkeActors.Crypto.DhExponentPolicy.TwiceSecurityStrength };

    [GlobalSetup]
    public void Setup()
    {
        _headEnd = AsaConfigLoader.Load(HeadEndConfig).Config;
        _client = AsaConfigLoader.Load(ClientConfig).Config;
        _service = new LocalRemoteAccessService(_headEnd);
        if (!DialIn()) throw new InvalidOperationException("the client did not get its tunnel");
    }

    [Benchmark]
    public bool DialIn()
    {
        using var headEnd = new NegotiationEngine(new GatewayContext(_headEnd, HeadEnd, settings: _settings) { RemoteAccess = _service });
        using var client = new NegotiationEngine(new GatewayContext(_client, Client, settings: _settings));
        var co = new NegotiationOutput(0);
        var ho = new NegotiationOutput(0);
        client.Adopt(IkeSa.StartRemoteAccessClient(client.Context, _credentials, HeadEnd, co));
        int cs = 0, hs = 0;
        for (var round = 0; round < 20; round++)
        {
            var moved = false;
            for (; cs < co.Actions.Count; cs++)
                if (co.Actions[cs] is SendDatagram s) { headEnd.Receive(s.Datagram, Client, ho); moved = true; }
            for (; hs < ho.Actions.Count; hs++)
                if (ho.Actions[hs] is SendDatagram s) { client.Receive(s.Datagram, HeadEnd, co); moved = true; }
            if (!moved) break;
        }
        var up = co.Actions.OfType<InstallIpsecSa>().Any() && ho.Actions.OfType<InstallIpsecSa>().Any();
        foreach (var sa in headEnd.Sas) sa.Delete(new NegotiationOutput(0)); // the address back to the pool
        return up;
    }
}
