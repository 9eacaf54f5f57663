using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Config.Model;
using IkeActors.Config.Show;

namespace IkeActors.Config.Tests;

/// <summary>
/// The two ASAs of the seed document (tests/data/seed/asa-ikev1-main-mode-psk-debugs.device-output.txt, its configuration),
/// as samples/SiteToSite holds them. Expected values are the document's, not this parser's output.
/// </summary>
public class SeedConfigTests
{
    /// <summary>The document's "IPsec configuration" block, verbatim (two-space indents and all).</summary>
    private const string SeedIpsecBlock = """
        crypto ipsec transform-set TRANSFORM esp-aes esp-sha-hmac
        crypto map MAP 10 match address VPN
        crypto map MAP 10 set peer 10.0.0.2
        crypto map MAP 10 set transform-set TRANSFORM
        crypto map MAP 10 set reverse-route
        crypto map MAP interface outside
        crypto isakmp enable outside
        crypto isakmp policy 10
          authentication pre-share
          encryption 3des
          hash sha
          group 2
          lifetime 86400
        tunnel-group 10.0.0.2 type ipsec-l2l
        tunnel-group 10.0.0.2 ipsec-attributes
          pre-shared-key cisco
        access-list VPN extended permit tcp 192.168.1.0 255.255.255.0 192.168.2.0 255.255.255.0
        access-list VPN extended permit icmp 192.168.1.0 255.255.255.0 192.168.2.0 255.255.255.0
        """;

    [Fact]
    public void Initiator_sample_loads_to_the_documents_model()
    {
        var result = TestFiles.LoadSample("asa1-initiator.cfg");
        TestFiles.AssertValid(result);
        Assert.Empty(result.Warnings);
        Assert.Empty(result.NotInterpreted);
        Assert.Equal("9.3(2)", result.AsaVersion);
        var c = result.Config;

        Assert.Equal("ciscoasa", c.Hostname);
        // "show ip": GigabitEthernet0/0 inside 192.168.1.1/24, GigabitEthernet0/1 outside 10.0.0.1/24
        var inside = c.FindInterface("inside")!;
        Assert.Equal("GigabitEthernet0/0", inside.HardwareName);
        Assert.Equal(IPAddress.Parse("192.168.1.1"), inside.Address!.Value.Address);
        Assert.Equal(24, inside.Address!.Value.Length);
        var outside = c.FindInterface("outside")!;
        Assert.Equal("GigabitEthernet0/1", outside.HardwareName);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), outside.Address!.Value.Address);

        var ts = Assert.Single(c.TransformSets);
        Assert.Equal(new TransformSet("TRANSFORM", EspEncryption.Aes, EspAuthentication.ShaHmac), ts);
        Assert.Equal(IpsecMode.Tunnel, ts.Mode);

        var map = Assert.Single(c.CryptoMaps);
        Assert.Equal("MAP", map.Name);
        Assert.Equal("outside", map.Interface);
        var entry = Assert.Single(map.Entries);
        Assert.Equal(10, entry.Sequence);
        Assert.Equal("VPN", entry.MatchAddress);
        Assert.Equal([IPAddress.Parse("10.0.0.2")], entry.Peers);
        Assert.Equal(["TRANSFORM"], entry.TransformSets);
        Assert.True(entry.ReverseRoute);
        Assert.Null(entry.PfsGroup);
        Assert.Equal(ConnectionType.Bidirectional, entry.ConnectionType);
        // No lifetime on the entry: the ASA default 28800 s / 4608000 kB applies.
        Assert.Equal(new IpsecSaLifetime(28800, 4608000), entry.EffectiveLifetime(c.GlobalSaLifetime));

        Assert.Equal(["outside"], c.IsakmpEnabledInterfaces);
        var policy = Assert.Single(c.IsakmpPolicies);
        Assert.Equal(10, policy.Priority);
        Assert.Equal(IsakmpAuthentication.PreShare, policy.Authentication);
        Assert.Equal(IkeEncryption.TripleDes, policy.Encryption);
        Assert.Equal(IkeHash.Sha, policy.Hash);
        Assert.Equal(2, policy.Group);
        Assert.Equal(86400, policy.LifetimeSeconds);
        // "Related configuration: crypto isakmp identity auto" — the default.
        Assert.Equal(IsakmpIdentity.Auto, c.Identity.Kind);
        Assert.True(c.NatTraversal.Enabled);
        Assert.Equal(20, c.NatTraversal.KeepaliveSeconds);

        var group = Assert.Single(c.TunnelGroups);
        Assert.Equal("10.0.0.2", group.Name);
        Assert.Equal(TunnelGroupType.IpsecL2L, group.Type);
        Assert.Equal(new PreSharedKey("cisco"), group.PreSharedKey);
        // "Keep-alive type for this connection: DPD" with the L2L defaults.
        Assert.Equal(new IsakmpKeepalive(false, 10, 2), group.Keepalive);
        Assert.Same(group, c.TunnelGroupForPeer(IPAddress.Parse("10.0.0.2")));
        Assert.Equal(new PreSharedKey("cisco"), c.PreSharedKeyForPeer(IPAddress.Parse("10.0.0.2")));
        Assert.Null(c.PreSharedKeyForPeer(IPAddress.Parse("10.0.0.3")));
        Assert.Equal(IPAddress.Parse("10.0.0.1"), c.LocalAddressOf(c.CryptoMaps[0]));
        Assert.Equal([c.TransformSets[0]], c.TransformSetsOf(c.CryptoMaps[0].Entries[0]));

        var acl = c.FindAccessList("VPN")!;
        Assert.Equal(2, acl.Entries.Count);
        Assert.Equal(6, acl.Entries[0].Protocol);
        Assert.Equal(1, acl.Entries[1].Protocol);
        Assert.All(acl.Entries, e =>
        {
            Assert.Equal(AclAction.Permit, e.Action);
            Assert.Equal(AddressSpec.ForSubnet(Ipv4Prefix.Parse("192.168.1.0 255.255.255.0")), e.Source);
            Assert.Equal(AddressSpec.ForSubnet(Ipv4Prefix.Parse("192.168.2.0 255.255.255.0")), e.Destination);
        });

        Assert.Equal(Ipv4Prefix.Parse("192.168.1.0/24"), c.FindObject("INSIDE-RANGE")!.Subnet);
        Assert.Equal(Ipv4Prefix.Parse("192.168.2.0/24"), c.FindObject("FOREIGN_NETWORK")!.Subnet);
        var nat = Assert.Single(c.NatRules);
        Assert.Equal(("inside", "outside"), (nat.RealInterface, nat.MappedInterface));
        Assert.Equal(("INSIDE-RANGE", "INSIDE-RANGE"), (nat.SourceReal, nat.SourceMapped));
        Assert.Equal(("FOREIGN_NETWORK", "FOREIGN_NETWORK"), (nat.DestinationMapped, nat.DestinationReal));
        Assert.True(nat.NoProxyArp);
        Assert.True(nat.RouteLookup);
        Assert.False(nat.SourceDynamic);
    }

    [Fact]
    public void Responder_sample_is_the_mirror_with_a_3600_second_lifetime()
    {
        var result = TestFiles.LoadSample("asa2-responder.cfg");
        TestFiles.AssertValid(result);
        var c = result.Config;
        Assert.Equal(IPAddress.Parse("10.0.0.2"), c.FindInterface("outside")!.Address!.Value.Address);
        Assert.Equal(IPAddress.Parse("192.168.2.1"), c.FindInterface("inside")!.Address!.Value.Address);
        var entry = c.FindCryptoMap("MAP")!.Entry(10)!;
        Assert.Equal([IPAddress.Parse("10.0.0.1")], entry.Peers);
        Assert.Equal(3600, entry.LifetimeSeconds);
        Assert.Equal(new IpsecSaLifetime(3600, 4608000), entry.EffectiveLifetime(c.GlobalSaLifetime));
        Assert.Equal(new PreSharedKey("cisco"), c.FindTunnelGroup("10.0.0.1")!.PreSharedKey);
        Assert.All(c.FindAccessList("VPN")!.Entries, e =>
        {
            Assert.Equal(AddressSpec.ForSubnet(Ipv4Prefix.Parse("192.168.2.0/24")), e.Source);
            Assert.Equal(AddressSpec.ForSubnet(Ipv4Prefix.Parse("192.168.1.0/24")), e.Destination);
        });
        Assert.Equal(Ipv4Prefix.Parse("192.168.2.0/24"), c.FindObject("INSIDE-RANGE")!.Subnet);
        Assert.Equal(Ipv4Prefix.Parse("192.168.1.0/24"), c.FindObject("FOREIGN_NETWORK")!.Subnet);
    }

    [Fact]
    public void Documents_ipsec_block_verbatim_loads_to_the_same_vpn_model_as_the_sample()
    {
        var seed = AsaConfigLoader.Load(SeedIpsecBlock, "seed");
        TestFiles.AssertValid(seed);
        var sample = TestFiles.LoadSample("asa1-initiator.cfg").Config;
        Assert.Equal(sample.CryptoMaps, seed.Config.CryptoMaps);
        Assert.Equal(sample.TransformSets, seed.Config.TransformSets);
        Assert.Equal(sample.IsakmpPolicies, seed.Config.IsakmpPolicies);
        Assert.Equal(sample.TunnelGroups, seed.Config.TunnelGroups);
        Assert.Equal(sample.AccessLists, seed.Config.AccessLists);
    }

    [Fact]
    public void Documents_damaged_nat_block_gives_precise_errors()
    {
        // The document's "NAT Configuration" as its page layout left it: two object blocks run
        // into one line, a mask cut short, and the nat command wrapped over two lines.
        const string damaged = "object network INSIDE-RANGE\n" +
            "  subnet 192.168.1.0 255.255.255.0 object network FOREIGN_NETWORK\n" +
            "  subnet 192.168.2.0 255.255.255\n" +
            "\n" +
            "nat (inside,outside) source static INSIDE-RANGE INSIDE-RANGE destination static\n" +
            "FOREIGN_NETWORK FOREIGN_NETWORK no-proxy-arp route-lookup\n";
        var r = AsaConfigLoader.Load(damaged, "seed-nat.txt");
        var errors = r.Errors.Select(e => (e.Location.Line, e.Location.Column, e.Kind)).ToList();
        Assert.Equal(
        [
            (2, 36, Parsing.DiagnosticKind.InvalidInput),      // "object": expected end of command
            (3, 22, Parsing.DiagnosticKind.InvalidInput),      // "255.255.255": not a mask
            (5, 81, Parsing.DiagnosticKind.IncompleteCommand), // destination static needs two objects
        ], errors);
        Assert.Contains(r.NotInterpreted, u => u.Line == 6);
    }

    [Fact]
    public void Asa_8x_and_9x_spellings_give_the_same_model()
    {
        var v9 = SeedIpsecBlock
            .Replace("crypto ipsec transform-set", "crypto ipsec ikev1 transform-set", StringComparison.Ordinal)
            .Replace("set transform-set", "set ikev1 transform-set", StringComparison.Ordinal)
            .Replace("crypto isakmp enable", "crypto ikev1 enable", StringComparison.Ordinal)
            .Replace("crypto isakmp policy", "crypto ikev1 policy", StringComparison.Ordinal)
            .Replace("  pre-shared-key", " ikev1 pre-shared-key", StringComparison.Ordinal);
        Assert.Contains("crypto ikev1 policy 10", v9);
        var a = AsaConfigLoader.Load(SeedIpsecBlock, "8x");
        var b = AsaConfigLoader.Load(v9, "9x");
        TestFiles.AssertValid(b);
        Assert.Equal(a.Config, b.Config);
    }

    [Fact]
    public void Show_running_config_crypto_prints_the_9x_form_the_document_shows()
    {
        var c = TestFiles.LoadSample("asa1-initiator.cfg").Config;
        var expected = """
            crypto ipsec ikev1 transform-set TRANSFORM esp-aes esp-sha-hmac
            crypto map MAP 10 match address VPN
            crypto map MAP 10 set peer 10.0.0.2
            crypto map MAP 10 set ikev1 transform-set TRANSFORM
            crypto map MAP 10 set reverse-route
            crypto map MAP interface outside
            crypto ikev1 enable outside
            crypto ikev1 policy 10
             authentication pre-share
             encryption 3des
             hash sha
             group 2
             lifetime 86400

            """.Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.Equal(expected, RunningConfigWriter.ShowCrypto(c));
    }

    [Fact]
    public void Show_running_config_tunnel_group_masks_the_key_like_the_asa()
    {
        var c = TestFiles.LoadSample("asa1-initiator.cfg").Config;
        var text = RunningConfigWriter.ShowTunnelGroup(c);
        Assert.Equal("tunnel-group 10.0.0.2 type ipsec-l2l\ntunnel-group 10.0.0.2 ipsec-attributes\n ikev1 pre-shared-key *****\n", text);
        // The hostname is "ciscoasa"; the key "cisco" must not appear as a word anywhere.
        Assert.DoesNotMatch(@"\bcisco\b", RunningConfigWriter.ShowRunningConfig(c));
        Assert.DoesNotMatch(@"\bcisco\b", c.ToString());
        Assert.DoesNotMatch(@"\bcisco\b", c.TunnelGroups[0].ToString());
        Assert.Contains("PreSharedKey = *****", c.TunnelGroups[0].ToString());
        Assert.Contains(" ikev1 pre-shared-key cisco\n", RunningConfigWriter.ShowTunnelGroup(c, ShowOptions.Revealed));
    }

    [Fact]
    public void Show_running_config_access_list_prints_the_documents_lines()
    {
        var c = TestFiles.LoadSample("asa1-initiator.cfg").Config;
        Assert.Equal(
            "access-list VPN extended permit tcp 192.168.1.0 255.255.255.0 192.168.2.0 255.255.255.0\n" +
            "access-list VPN extended permit icmp 192.168.1.0 255.255.255.0 192.168.2.0 255.255.255.0\n",
            RunningConfigWriter.ShowAccessList(c));
    }

    [Fact]
    public void Initiator_ping_hits_map_MAP_10_and_sends_the_documents_proxy_ids()
    {
        // "IPSEC(crypto_map_check)-3: Checking crypto map MAP 10: matched." then
        // "Transmitting Proxy Id: Local subnet: 192.168.1.0 mask 255.255.255.0 Protocol 1 Port 0
        //  Remote subnet: 192.168.2.0 Mask 255.255.255.0 Protocol 1 Port 0"
        var c = TestFiles.LoadSample("asa1-initiator.cfg").Config;
        var lookup = new CryptoMapLookup(c);
        var match = lookup.MatchOutbound(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.20"), 1, IcmpType: 8));
        Assert.NotNull(match);
        Assert.Equal(("MAP", 10), (match.Map.Name, match.Entry.Sequence));
        Assert.Equal("192.168.1.0/255.255.255.0/1/0", match.Local.ToString());
        Assert.Equal("192.168.2.0/255.255.255.0/1/0", match.Remote.ToString());
        Assert.Equal(IPAddress.Parse("10.0.0.2"), match.Entry.Peers[0]);

        var tcp = lookup.MatchOutbound(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.20"), 6, 40000, 22));
        Assert.Equal(6, tcp!.Local.Protocol);
        Assert.Null(lookup.MatchOutbound(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.20"), 17, 5000, 53)));
        Assert.Null(lookup.MatchOutbound(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.3.20"), 1)));
    }

    [Fact]
    public void Responder_static_crypto_map_check_matches_MAP_10_for_the_documents_proposal()
    {
        // Responder (10.0.0.2) receives from 10.0.0.1: remote proxy 192.168.1.0/24 proto 1,
        // local proxy 192.168.2.0/24 proto 1 -> "Static Crypto Map check, map MAP seq = 10 is a successful match".
        var c = TestFiles.LoadSample("asa2-responder.cfg").Config;
        var lookup = new CryptoMapLookup(c);
        var local = ProxyId.Subnet("192.168.2.0 255.255.255.0", 1);
        var remote = ProxyId.Subnet("192.168.1.0 255.255.255.0", 1);
        var check = lookup.StaticCryptoMapCheck(IPAddress.Parse("10.0.0.1"), local, remote, "outside");
        var step = Assert.Single(check.Steps);
        Assert.Equal(new StaticMapCheckStep("MAP", 10, true, "successful match"), step);
        Assert.Equal(10, check.Match!.Entry.Sequence);

        // Another peer, or traffic the ACL does not cover, does not match.
        Assert.Null(lookup.MatchProxy(IPAddress.Parse("10.0.0.9"), local, remote));
        Assert.Null(lookup.MatchProxy(IPAddress.Parse("10.0.0.1"), ProxyId.Subnet("192.168.2.0 255.255.255.0", 17), ProxyId.Subnet("192.168.1.0 255.255.255.0", 17)));
        Assert.Null(lookup.MatchProxy(IPAddress.Parse("10.0.0.1"), ProxyId.Subnet("192.168.0.0 255.255.0.0", 1), remote));
        // A narrower proposal (one host) is inside the ACL and matches.
        Assert.NotNull(lookup.MatchProxy(IPAddress.Parse("10.0.0.1"), ProxyId.Host(IPAddress.Parse("192.168.2.5"), 1), remote));
    }

    [Theory]
    [InlineData(1, 0, 0)]
    [InlineData(6, 40000, 22)]
    public void What_the_initiator_proposes_the_responder_accepts(int protocol, int sourcePort, int destinationPort)
    {
        // The two samples are mirrors: the proxy IDs asa1 derives from a packet are exactly what
        // asa2's Static Crypto Map check accepts from peer 10.0.0.1 (local and remote swapped).
        var asa1 = TestFiles.LoadSample("asa1-initiator.cfg").Config;
        var asa2 = TestFiles.LoadSample("asa2-responder.cfg").Config;
        var sent = new CryptoMapLookup(asa1).MatchOutbound(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.20"), protocol, sourcePort, destinationPort))!;
        var peer = asa1.LocalAddressOf(sent.Map)!;
        Assert.Equal(IPAddress.Parse("10.0.0.1"), peer);
        var accepted = new CryptoMapLookup(asa2).MatchProxy(peer, local: sent.Remote, remote: sent.Local, interfaceName: "outside");
        Assert.NotNull(accepted);
        Assert.Equal(("MAP", 10), (accepted.Map.Name, accepted.Entry.Sequence));
        Assert.Equal(sent.Entry.Peers[0], asa2.LocalAddressOf(accepted.Map));
        // Quick Mode settles on the shorter lifetime: the responder's 3600 s.
        var lifetime = Math.Min(sent.Entry.EffectiveLifetime(asa1.GlobalSaLifetime).Seconds, accepted.Entry.EffectiveLifetime(asa2.GlobalSaLifetime).Seconds);
        Assert.Equal(3600, lifetime);
    }
}
