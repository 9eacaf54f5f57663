using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Config.Model;
using IkeActors.Config.Show;

namespace IkeActors.Config.Tests;

/// <summary>
/// Full running-configs of the kind ASAs really carry (8.2, 8.4, 9.6, 9.12), with VPN and
/// non-VPN commands. Expected values are read off the configuration text by hand.
/// </summary>
public class RealisticConfigTests
{
    private static IPAddress Ip(string s) => IPAddress.Parse(s);

    [Theory]
    [InlineData("asa82-legacy-nat0.cfg")]
    [InlineData("asa84-hq-two-branches.cfg")]
    [InlineData("asa96-dual-site-services.cfg")]
    [InlineData("asa912-dual-isp.cfg")]
    public void Full_configuration_loads_and_survives_show_and_reparse(string file)
    {
        var result = TestFiles.LoadConfig(file);
        TestFiles.AssertValid(result);
        Assert.Empty(result.Warnings);
        Assert.NotEmpty(result.NotInterpreted);
        var shown = RunningConfigWriter.ShowRunningConfig(result.Config, ShowOptions.Revealed);
        var again = AsaConfigLoader.Load(shown, "shown.cfg");
        TestFiles.AssertValid(again);
        Assert.Empty(again.NotInterpreted);
        Assert.Equal(result.Config.CryptoMaps, again.Config.CryptoMaps);
        Assert.Equal(result.Config.TunnelGroups, again.Config.TunnelGroups);
        Assert.Equal(result.Config.AccessLists, again.Config.AccessLists);
        Assert.Equal(result.Config.IsakmpPolicies, again.Config.IsakmpPolicies);
        // The whole model comes back (user and security groups, known by name only, aside).
        var printable = result.Config with
        {
            ObjectGroups = result.Config.ObjectGroups.Where(g => g.Type is not (ObjectGroupType.User or ObjectGroupType.Security)).ToValueList(),
        };
        Assert.Equal(printable, again.Config);
    }

    [Fact]
    public void Asa84_hq_two_branches()
    {
        var r = TestFiles.LoadConfig("asa84-hq-two-branches.cfg");
        TestFiles.AssertValid(r);
        var c = r.Config;
        Assert.Equal("8.4(5)", r.AsaVersion);
        Assert.Equal("hq-asa", c.Hostname);
        Assert.Equal(3, c.Interfaces.Count(i => i.Nameif is not null));
        Assert.Null(c.Interfaces.Single(i => i.HardwareName == "Ethernet0/2").Nameif);

        var map = c.FindCryptoMap("outside_map")!;
        Assert.Equal([1, 2], map.Entries.Select(e => e.Sequence).ToArray());
        var e1 = map.Entry(1)!;
        Assert.Equal(5, e1.PfsGroup);
        Assert.Equal(new[] { "ESP-AES-256-SHA", "ESP-3DES-SHA" }, e1.TransformSets);
        Assert.Equal(new IpsecSaLifetime(3600, 10000), e1.EffectiveLifetime(c.GlobalSaLifetime));
        var e2 = map.Entry(2)!;
        Assert.Equal(new[] { Ip("192.0.2.30"), Ip("192.0.2.31") }, e2.Peers);
        Assert.Null(e2.PfsGroup);

        Assert.Equal([10, 20], c.IsakmpPolicies.Select(p => p.Priority).ToArray());
        Assert.Equal(IkeEncryption.Aes256, c.IsakmpPolicies[0].Encryption);
        Assert.Equal(28800, c.IsakmpPolicies[1].LifetimeSeconds);

        Assert.Equal(new IsakmpKeepalive(false, 30, 5), c.FindTunnelGroup("198.51.100.20")!.Keepalive);
        // Branch 1's general-attributes name GP-BRANCHES, which allows IKEv1 only.
        Assert.Equal("GP-BRANCHES", c.FindTunnelGroup("198.51.100.20")!.DefaultGroupPolicy);
        Assert.Equal([VpnTunnelProtocol.Ikev1], c.FindGroupPolicy("GP-BRANCHES")!.TunnelProtocols!);
        Assert.Equal(AsaDefaults.DfltGrpPolicy, c.FindTunnelGroup("192.0.2.30")!.DefaultGroupPolicy);
        Assert.True(c.FindTunnelGroup("192.0.2.31")!.Keepalive.Disabled);
        Assert.Equal(new PreSharedKey("York.Key.2"), c.FindTunnelGroup("192.0.2.31")!.PreSharedKey);

        // Object-group of objects; the object with auto NAT keeps its subnet.
        var branches = c.FindObjectGroup("REMOTE-BRANCHES")!;
        Assert.Equal("All branch office LANs", branches.Description);
        Assert.Equal(2, branches.Members.Count);
        Assert.Equal(NetworkObjectKind.Range, c.FindObject("HQ-SERVERS")!.Kind);

        // Non-VPN commands are kept, secrets masked in the listing.
        Assert.Contains(r.NotInterpreted, u => u.Text == "route outside 0.0.0.0 0.0.0.0 203.0.113.9 1");
        Assert.Contains(r.NotInterpreted, u => u.Text == "crypto map outside_map 2 set nat-t-disable");
        Assert.Contains(r.NotInterpreted, u => u.Text == "nat (inside,outside) dynamic interface");
        Assert.Contains(r.NotInterpreted, u => u.Text == "enable password ***** encrypted");
        Assert.Contains(r.NotInterpreted, u => u.Text.StartsWith("policy-map global_policy", StringComparison.Ordinal) && u.SubLines == 4);
        Assert.DoesNotContain(r.NotInterpreted, u => u.Text.Contains("8Ry2YjIyt7RRXU24", StringComparison.Ordinal));

        // Branch 2 ACL: servers range to BRANCH2, and DMZ hosts on tcp 8000-8080.
        var lookup = new CryptoMapLookup(c);
        var m = lookup.MatchOutbound(new Packet(Ip("10.10.5.20"), Ip("172.16.2.9"), 6, 1025, 22))!;
        Assert.Equal(2, m.Entry.Sequence);
        Assert.Equal("10.10.5.10-10.10.5.50/0/0", m.Local.ToString());
        var dmz = lookup.MatchOutbound(new Packet(Ip("10.10.8.4"), Ip("172.16.2.9"), 6, 1025, 8080))!;
        Assert.Equal(2, dmz.Entry.Sequence);
        Assert.Null(lookup.MatchOutbound(new Packet(Ip("10.10.8.4"), Ip("172.16.2.9"), 6, 1025, 8081)));
        var b1 = lookup.MatchOutbound(new Packet(Ip("10.10.200.1"), Ip("172.16.1.1"), 17, 5000, 53))!;
        Assert.Equal(1, b1.Entry.Sequence);
        Assert.Equal("10.10.0.0/255.255.0.0/0/0", b1.Local.ToString());
    }

    [Fact]
    public void Asa82_legacy_names_and_nat0()
    {
        var r = TestFiles.LoadConfig("asa82-legacy-nat0.cfg");
        TestFiles.AssertValid(r);
        var c = r.Config;
        Assert.Equal("Branch office users", c.Names.Single(n => n.Name == "Branch-LAN").Description);
        var outside = c.FindInterface("outside")!;
        Assert.True(outside.Dhcp);
        Assert.True(outside.DhcpSetRoute);

        // `name` addresses resolve in ACLs, object-groups and `set peer`.
        var entry = c.FindCryptoMap("outside_map")!.Entry(10)!;
        Assert.Equal(new[] { Ip("198.51.100.1") }, entry.Peers);
        Assert.Equal(2, entry.PfsGroup); // `set pfs` alone is group2
        Assert.Equal(ConnectionType.OriginateOnly, entry.ConnectionType);
        var ace = c.FindAccessList("outside_cryptomap_10")!.Entries.Single();
        Assert.Equal(AddressSpec.ForSubnet(Ipv4Prefix.Parse("10.1.0.0/24")), ace.Source);
        Assert.Equal(AddressSpec.ForObjectGroup("HQ-NETS"), ace.Destination);

        var exemption = Assert.Single(c.NatRules);
        Assert.Equal(NatKind.Exemption, exemption.Kind);
        Assert.Equal("inside_nat0_outbound", exemption.AccessList);
        Assert.Contains(r.NotInterpreted, u => u.Text == "nat (inside) 1 0.0.0.0 0.0.0.0");
        Assert.Contains(r.NotInterpreted, u => u.Text == "global (outside) 1 interface");
        Assert.Contains(r.NotInterpreted, u => u.Text == "snmp-server host inside 10.1.0.20 community ***** version 2c");
        // The local user: its password given as the ASA's legacy hash, privilege 15; never printed.
        var admin = c.FindUser("admin")!;
        Assert.Equal((PasswordForm.Encrypted, 15), (admin.Password!.Form, admin.Privilege));
        Assert.Equal(PasswordCheck.CannotVerify, admin.Password.Check("anything"));
        Assert.DoesNotContain("e1z89R3cZe9Kt6Ib", admin.ToString());
        Assert.Contains("username admin password ***** pbkdf2 privilege 15\n", RunningConfigWriter.ShowRunningConfig(c));

        Assert.Equal(IsakmpIdentity.Address, c.Identity.Kind);
        Assert.Equal(new NatTraversal(true, 30), c.NatTraversal);
        Assert.Equal(IpsecSaLifetime.Default, c.GlobalSaLifetime);
        var p = c.IsakmpPolicies.Single(x => x.Priority == 65535);
        Assert.Equal((IkeEncryption.Des, IkeHash.Md5, 1, 43200), (p.Encryption, p.Hash, p.Group, p.LifetimeSeconds));
        Assert.Equal(new IsakmpKeepalive(false, 20, 3), c.FindTunnelGroup("198.51.100.1")!.Keepalive);

        var log = c.FindAccessList("outside_access_in")!.Entries;
        Assert.Equal("log", log[0].Log);
        Assert.Equal(0, log[0].IcmpType);
        Assert.Equal("log 4 interval 300", log[1].Log);

        var lookup = new CryptoMapLookup(c);
        Assert.Equal(10, lookup.MatchOutbound(new Packet(Ip("10.1.0.50"), Ip("10.60.3.3"), 6, 3000, 445))!.Entry.Sequence);
        Assert.Null(lookup.MatchOutbound(new Packet(Ip("10.1.0.50"), Ip("10.70.3.3"), 6, 3000, 445)));
    }

    [Fact]
    public void Asa96_services_groups_and_deny_lines()
    {
        var r = TestFiles.LoadConfig("asa96-dual-site-services.cfg");
        TestFiles.AssertValid(r);
        var c = r.Config;
        Assert.Equal("9.6(4)20", r.AsaVersion);
        Assert.Equal(Ipv4.ToUInt32(Ip("10.20.0.2")), c.FindInterface("inside")!.StandbyAddress);
        Assert.Equal(IpsecMode.Transport, c.FindTransformSet("AES-SHA-TRANSPORT")!.Mode);
        Assert.Equal(EspAuthentication.Sha256Hmac, c.FindTransformSet("AES256-SHA256")!.Integrity);

        var e10 = c.FindCryptoMap("OUTSIDE-MAP")!.Entry(10)!;
        Assert.Equal(14, e10.PfsGroup);
        Assert.True(e10.LifetimeKilobytesUnlimited);
        Assert.Equal(new IpsecSaLifetime(28800, null), e10.EffectiveLifetime(c.GlobalSaLifetime));
        Assert.Equal(ConnectionType.AnswerOnly, c.FindCryptoMap("OUTSIDE-MAP")!.Entry(20)!.ConnectionType);
        Assert.Equal("DYN-MAP", c.FindCryptoMap("OUTSIDE-MAP")!.Entry(65535)!.DynamicMap);
        Assert.Equal(["AES256-SHA"], c.FindDynamicMap("DYN-MAP")!.Entry(65535)!.TransformSets);

        // Policy 10 has no lifetime line: the default 86400 applies.
        Assert.Equal(86400, c.IsakmpPolicies.Single(p => p.Priority == 10).LifetimeSeconds);
        Assert.True(c.FindTunnelGroup("203.0.113.50")!.Keepalive.Infinite);

        // PARTNER-B-VPN: web ports via a service group, DNS from one host, then deny, then a permit never reached.
        var acl = c.FindAccessList("PARTNER-B-VPN")!.Entries;
        Assert.True(acl[0].IsRemark);
        Assert.Equal(new PortSpec(PortOperator.ObjectGroup, GroupName: "WEB-PORTS"), acl[1].DestinationPort);
        Assert.Equal(new PortSpec(PortOperator.Eq, 53), acl[2].SourcePort);
        Assert.Equal(AclAction.Deny, acl[3].Action);
        var dmzIn = c.FindAccessList("dmz_in")!.Entries;
        Assert.Equal("RDP", dmzIn[0].ServiceObject);
        Assert.True(dmzIn[1].Inactive);
        Assert.Equal(("log disable", "WORKHOURS"), (dmzIn[2].Log, dmzIn[2].TimeRange));

        var lookup = new CryptoMapLookup(c);
        // DNS reply from 10.30.0.53 to partner B: entry 20.
        Assert.Equal(20, lookup.MatchOutbound(new Packet(Ip("10.30.0.53"), Ip("100.64.21.1"), 17, 53, 33000))!.Entry.Sequence);
        // Other DMZ traffic to partner B hits the deny line: entry 20 is skipped, nothing else matches.
        Assert.Null(lookup.MatchOutbound(new Packet(Ip("10.30.0.9"), Ip("100.64.21.1"), 6, 1000, 22)));
        // Web traffic from the DMZ web server to partner B: the WEB-PORTS service group, entry 20.
        var web = lookup.MatchOutbound(new Packet(Ip("10.30.0.80"), Ip("100.64.20.5"), 6, 40000, 443))!;
        Assert.Equal(20, web.Entry.Sequence);
        Assert.Equal("100.64.20.0/255.255.254.0/6/443", web.Remote.ToString());
        Assert.Null(lookup.MatchOutbound(new Packet(Ip("10.30.0.80"), Ip("100.64.20.5"), 6, 40000, 8443)));
        Assert.Equal(new ServiceSpec(6, DestinationPort: new PortSpec(PortOperator.Eq, 3389)), c.FindServiceObject("RDP")!.Service);
        // Nested group: DC-NETS (object-group of objects) to partner A: entry 10.
        var a = lookup.MatchOutbound(new Packet(Ip("10.20.1.1"), Ip("100.64.10.5"), 1))!;
        Assert.Equal(10, a.Entry.Sequence);
        Assert.Equal("10.20.0.0/255.255.252.0/0/0", a.Local.ToString());
        // Responder check for partner A's proposal of the DMZ subnet.
        var check = lookup.StaticCryptoMapCheck(Ip("203.0.113.50"), ProxyId.Subnet("10.30.0.0 255.255.255.0"), ProxyId.Subnet("100.64.10.0 255.255.255.0"));
        Assert.Equal(10, check.Match!.Entry.Sequence);
        // Partner B proposing all of ip between DMZ and its net: the first covering line is the deny.
        var b = lookup.StaticCryptoMapCheck(Ip("198.51.100.77"), ProxyId.Subnet("10.30.0.0 255.255.255.0"), ProxyId.Subnet("100.64.20.0 255.255.254.0"));
        Assert.Null(b.Match);
        // Partner B is a listed peer, so the dynamic map is skipped for it (ASA: "cannot match peerless map").
        Assert.Equal([("OUTSIDE-MAP", 10, MapCheckOutcome.NotMatched), ("OUTSIDE-MAP", 20, MapCheckOutcome.NotMatched),
                ("OUTSIDE-MAP", 65535, MapCheckOutcome.DynamicReference), ("DYN-MAP", 65535, MapCheckOutcome.DynamicSkipped)],
            b.Steps.Select(s => (s.Map, s.Sequence, s.Outcome)).ToArray());
        // An unlisted peer with the same proposal lands on the dynamic map.
        Assert.Equal("DYN-MAP", lookup.MatchProxy(Ip("192.0.2.99"), ProxyId.Subnet("10.30.0.0 255.255.255.0"), ProxyId.Subnet("100.64.20.0 255.255.254.0"))!.Tag);

        Assert.Contains(r.NotInterpreted, u => u.Text == "ikev2 remote-authentication pre-shared-key *****");
        Assert.Contains(r.NotInterpreted, u => u.Text.StartsWith("crypto ca certificate chain", StringComparison.Ordinal) && u.SubLines == 4);
        Assert.Contains(r.NotInterpreted, u => u.Text == "banner motd Authorised access only.");
    }

    [Fact]
    public void Asa912_two_maps_two_interfaces_and_DefaultL2LGroup()
    {
        var r = TestFiles.LoadConfig("asa912-dual-isp.cfg");
        TestFiles.AssertValid(r);
        var c = r.Config;
        Assert.Equal(new IpsecSaLifetime(14400, 4608000), c.GlobalSaLifetime);
        Assert.Equal("isp-a", c.FindCryptoMap("MAP-A")!.Interface);
        Assert.Equal("MAP-B", c.CryptoMapOnInterface("isp-b")!.Name);
        Assert.Equal(new IpsecSaLifetime(14400, 102400), c.FindCryptoMap("MAP-B")!.Entry(10)!.EffectiveLifetime(c.GlobalSaLifetime));
        Assert.Equal(IsakmpIdentity.Hostname, c.Identity.Kind);
        Assert.Equal(10, c.NatTraversal.KeepaliveSeconds);
        Assert.Equal(AsaDefaults.DefaultL2LGroup, c.TunnelGroupForPeer(Ip("192.0.2.101"))!.Name);
        Assert.Equal("192.0.2.100", c.TunnelGroupForPeer(Ip("192.0.2.100"))!.Name);
        Assert.Equal(90, c.FindInterface("voice")!.SecurityLevel);
        Assert.Contains(r.NotInterpreted, u => u.Text == "ntp authentication-key 1 md5 *****");

        var lookup = new CryptoMapLookup(c);
        // Voice RTP to the PBX: first by sequence number, MAP-A 10, before the broader 20.
        var rtp = lookup.MatchOutbound(new Packet(Ip("10.0.20.7"), Ip("10.99.20.10"), 17, 20000, 20002), "isp-a")!;
        Assert.Equal(("MAP-A", 10), (rtp.Map.Name, rtp.Entry.Sequence));
        Assert.Equal("10.99.20.10/255.255.255.255/17/0", rtp.Remote.ToString());
        var sip = lookup.MatchOutbound(new Packet(Ip("10.0.20.7"), Ip("10.99.20.10"), 17, 5060, 5060), "isp-a")!;
        Assert.Equal(10, sip.Entry.Sequence);
        // Data over ISP B uses MAP-B only.
        var data = lookup.MatchOutbound(new Packet(Ip("10.0.0.9"), Ip("10.99.1.1"), 6, 1000, 443), "isp-b")!;
        Assert.Equal(("MAP-B", 10), (data.Map.Name, data.Entry.Sequence));
        Assert.Null(lookup.MatchOutbound(new Packet(Ip("10.0.20.7"), Ip("10.99.20.10"), 17, 20000, 20002), "isp-b"));
        // Responder: peer 192.0.2.101 proposing data subnets on isp-a matches MAP-A 20 (not 10: wrong peer and ACL).
        var check = lookup.StaticCryptoMapCheck(Ip("192.0.2.101"), ProxyId.Subnet("10.0.0.0 255.255.255.0"), ProxyId.Subnet("10.99.0.0 255.255.0.0"), "isp-a");
        Assert.Equal(20, check.Match!.Entry.Sequence);
        Assert.False(check.Steps[0].Matched);
    }
}
