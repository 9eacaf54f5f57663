using System.Net;
using IkeActors.Config.Lookup;

namespace IkeActors.Config.Tests;

/// <summary>Crypto map lookups on small hand-written maps: order, ports, deny lines, peers.</summary>
public class CryptoMapLookupTests
{
    private const string Config = """
        access-list WEB extended permit tcp 10.1.1.0 255.255.255.0 host 10.2.2.2 eq https
        access-list ALL extended deny ip host 10.1.1.66 any
        access-list ALL extended permit ip 10.1.0.0 255.255.0.0 10.2.0.0 255.255.0.0
        access-list OTHER extended permit ip 10.1.0.0 255.255.0.0 10.2.0.0 255.255.0.0
        crypto ipsec ikev1 transform-set T esp-aes esp-sha-hmac
        crypto map M 30 match address OTHER
        crypto map M 30 set peer 192.0.2.3
        crypto map M 30 set ikev1 transform-set T
        crypto map M 10 match address WEB
        crypto map M 10 set peer 192.0.2.1
        crypto map M 10 set ikev1 transform-set T
        crypto map M 20 match address ALL
        crypto map M 20 set peer 192.0.2.2
        crypto map M 20 set ikev1 transform-set T
        crypto map M 25 match address ALL
        crypto map M interface outside
        crypto map UNUSED 1 match address OTHER
        crypto map UNUSED 1 set peer 192.0.2.9
        crypto map UNUSED 1 set ikev1 transform-set T
        """;

    private static readonly CryptoMapLookup Lookup = new(AsaConfigLoader.Load(Config, "lookup.cfg").Config);

    private static IPAddress Ip(string s) => IPAddress.Parse(s);

    [Fact]
    public void Entries_are_tried_in_sequence_order_not_file_order()
    {
        var m = Lookup.MatchOutbound(new Packet(Ip("10.1.1.5"), Ip("10.2.2.2"), 6, 50000, 443))!;
        Assert.Equal(10, m.Entry.Sequence);
        Assert.Equal("10.1.1.0/255.255.255.0/6/0", m.Local.ToString());
        Assert.Equal("10.2.2.2/255.255.255.255/6/443", m.Remote.ToString());
        Assert.Equal(20, Lookup.MatchOutbound(new Packet(Ip("10.1.1.5"), Ip("10.2.2.2"), 6, 50000, 80))!.Entry.Sequence);
    }

    [Fact]
    public void A_deny_line_sends_the_packet_to_the_next_entry()
    {
        // 10.1.1.66 is denied in ALL (entry 20) and so falls through to entry 30.
        var m = Lookup.MatchOutbound(new Packet(Ip("10.1.1.66"), Ip("10.2.9.9"), 17, 1, 2))!;
        Assert.Equal(30, m.Entry.Sequence);
    }

    [Fact]
    public void Maps_not_applied_to_an_interface_are_not_used()
    {
        Assert.DoesNotContain(Lookup.StaticCryptoMapCheck(Ip("192.0.2.9"), ProxyId.Subnet("10.1.0.0 255.255.0.0"), ProxyId.Subnet("10.2.0.0 255.255.0.0")).Steps,
            s => s.Map == "UNUSED");
        Assert.Null(Lookup.MatchOutbound(new Packet(Ip("10.1.1.5"), Ip("10.2.2.2"), 6, 1, 443), "inside"));
    }

    [Fact]
    public void Static_crypto_map_check_needs_ports_inside_the_ace_and_the_right_peer()
    {
        var local = ProxyId.Subnet("10.1.1.0 255.255.255.0", 6);
        var web = ProxyId.Host(Ip("10.2.2.2"), 6, 443);
        Assert.Equal(10, Lookup.MatchProxy(Ip("192.0.2.1"), local, web)!.Entry.Sequence);
        // Port 0 (all ports) is wider than `eq https`: entry 10 does not cover it; entry 20 (ip) does, for its peer.
        var anyPort = ProxyId.Host(Ip("10.2.2.2"), 6, 0);
        var check = Lookup.StaticCryptoMapCheck(Ip("192.0.2.2"), local, anyPort);
        Assert.Equal(new[] { (10, false), (20, true) }, check.Steps.Select(s => (s.Sequence, s.Matched)).ToArray());
        // The incomplete entry 25 is reported as such when reached.
        var fromOther = Lookup.StaticCryptoMapCheck(Ip("192.0.2.3"), ProxyId.Subnet("10.1.0.0 255.255.0.0"), ProxyId.Subnet("10.2.0.0 255.255.0.0"));
        Assert.Equal(30, fromOther.Match!.Entry.Sequence);
        Assert.Contains(fromOther.Steps, s => s.Sequence == 25 && s.Reason == "crypto map entry incomplete");
        Assert.Contains(fromOther.Steps, s => s.Sequence == 20 && s.Reason.Contains("not a peer", StringComparison.Ordinal));
    }

    [Fact]
    public void A_proposal_wider_than_the_acl_matches_nothing()
    {
        Assert.Null(Lookup.MatchProxy(Ip("192.0.2.3"), ProxyId.Subnet("10.0.0.0 255.0.0.0"), ProxyId.Subnet("10.2.0.0 255.255.0.0")));
    }

    [Fact]
    public void Ipv6_packets_match_nothing()
    {
        Assert.Null(Lookup.MatchOutbound(new Packet(Ip("2001:db8::1"), Ip("2001:db8::2"), 6, 1, 443)));
        Assert.Null(Lookup.MatchProxy(Ip("2001:db8::9"), ProxyId.Subnet("10.1.0.0 255.255.0.0"), ProxyId.Subnet("10.2.0.0 255.255.0.0")));
    }
}
