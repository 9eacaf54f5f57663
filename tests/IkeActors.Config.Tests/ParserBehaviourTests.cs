using IkeActors.Config.Model;

namespace IkeActors.Config.Tests;

/// <summary>How the reader treats the shapes configuration text comes in.</summary>
public class ParserBehaviourTests
{
    [Fact]
    public void Unindented_sub_commands_stay_in_their_block_until_a_global_command()
    {
        // Configuration pasted from a web page often loses its indentation; the ASA keeps the sub-mode.
        var r = AsaConfigLoader.Load("crypto ikev1 policy 10\nauthentication pre-share\nencryption aes-256\nhash sha\ngroup 5\nlifetime 3600\nhostname edge\nencryption des\n", "flat.cfg");
        var p = Assert.Single(r.Config.IsakmpPolicies);
        Assert.Equal((IkeEncryption.Aes256, 5, 3600), (p.Encryption, p.Group, p.LifetimeSeconds));
        Assert.Equal("edge", r.Config.Hostname);
        // After `hostname` the policy block is closed: `encryption des` is not a global command.
        Assert.Contains(r.NotInterpreted, u => u.Line == 8 && u.Text == "encryption des");
    }

    [Fact]
    public void Exit_closes_a_block()
    {
        var r = AsaConfigLoader.Load("crypto ikev1 policy 10\n encryption aes\n exit\nencryption des\n", "exit.cfg");
        Assert.Equal(IkeEncryption.Aes, Assert.Single(r.Config.IsakmpPolicies).Encryption);
        Assert.Contains(r.NotInterpreted, u => u.Line == 4);
    }

    [Fact]
    public void Uninterpreted_sub_commands_name_their_block()
    {
        var r = AsaConfigLoader.Load("tunnel-group 192.0.2.1 type ipsec-l2l\ntunnel-group 192.0.2.1 ipsec-attributes\n peer-id-validate nocheck\n ikev1 pre-shared-key k\n", "ctx.cfg");
        TestFiles.AssertValid(r);
        var u = Assert.Single(r.NotInterpreted);
        Assert.Equal("peer-id-validate nocheck", u.Text);
        Assert.Equal("tunnel-group 192.0.2.1 ipsec-attributes", u.Context);
        Assert.Equal("line 3: peer-id-validate nocheck (in tunnel-group 192.0.2.1 ipsec-attributes)", u.ToString());
    }

    [Fact]
    public void Keywords_are_case_insensitive_names_are_not()
    {
        var r = AsaConfigLoader.Load("CRYPTO MAP vpn 10 MATCH ADDRESS Acl\naccess-list acl extended permit ip any any\n", "case.cfg");
        var e = Assert.Single(r.Errors);
        Assert.Equal("access-list 'Acl' does not exist (crypto map vpn 10 match address)", e.Message);
    }

    [Fact]
    public void Later_commands_refine_earlier_ones_as_on_the_asa()
    {
        var r = AsaConfigLoader.Load("""
            crypto map M 20 set peer 192.0.2.1
            crypto map M 10 set peer 192.0.2.2
            crypto map M 20 set peer 192.0.2.3 192.0.2.4
            crypto ipsec ikev1 transform-set T esp-3des esp-md5-hmac
            crypto ipsec ikev1 transform-set T mode transport
            crypto ipsec ikev1 transform-set T esp-aes-256 esp-sha-hmac
            """, "refine.cfg");
        var map = r.Config.FindCryptoMap("M")!;
        Assert.Equal([10, 20], map.Entries.Select(e => e.Sequence).ToArray());
        Assert.Equal(2, map.Entry(20)!.Peers.Count);
        var t = r.Config.FindTransformSet("T")!;
        Assert.Equal((EspEncryption.Aes256, EspAuthentication.ShaHmac, IpsecMode.Transport), (t.Encryption, t.Integrity, t.Mode));
    }

    [Fact]
    public void Ipv4_prefix_and_range_arithmetic()
    {
        var p = Ipv4Prefix.Parse("192.168.1.77 255.255.255.0");
        Assert.Equal("192.168.1.0/24", p.ToString());
        Assert.Equal("192.168.1.0 255.255.255.0", p.ToAddressMask());
        Assert.True(p.Contains(System.Net.IPAddress.Parse("192.168.1.255")));
        Assert.False(p.Contains(System.Net.IPAddress.Parse("192.168.2.0")));
        Assert.Equal(p, p.ToRange().AsPrefix());
        Assert.Null(new Ipv4Range(1, 3).AsPrefix());
        Assert.Equal(new Ipv4Prefix(0, 0), Ipv4Range.All.AsPrefix());
        Assert.False(Ipv4.TryParse("1.2.3", out _));
        Assert.False(Ipv4.TryParse("1.2.3.4.5", out _));
        Assert.False(Ipv4.TryParse("1.2.3.0400", out _));
        Assert.False(Ipv4.TryParse("1.2.3.-1", out _));
        Assert.False(Ipv4.IsContiguousMask(Ipv4.ToUInt32(System.Net.IPAddress.Parse("255.0.255.0"))));
    }

    [Fact]
    public void Pre_shared_keys_compare_by_value_and_never_print()
    {
        var a = new PreSharedKey("cisco123");
        Assert.Equal(new PreSharedKey("cisco123"), a);
        Assert.NotEqual(new PreSharedKey("cisco124"), a);
        Assert.NotEqual(new PreSharedKey("cisco1234"), a);
        Assert.Equal("*****", a.ToString());
        Assert.Equal("*****", $"{a}");
        var group = new TunnelGroup("g", TunnelGroupType.IpsecL2L) { PreSharedKey = a };
        Assert.DoesNotContain("cisco123", group.ToString());
        Assert.Equal("cisco123"u8.ToArray(), a.Bytes.ToArray());
    }

    [Fact]
    public void Ipv6_forms_are_kept_as_not_interpreted_not_errors()
    {
        var r = AsaConfigLoader.Load("""
            object network V6-LAN
             subnet 2001:db8:10::/48
            object-group network MIXED
             network-object host 2001:db8::1
             network-object 2001:db8:20::/48
             network-object host 10.0.0.1
            access-list A extended permit ip 2001:db8::/32 any6
            access-list A extended permit ip host 2001:db8::5 any6
            access-list A extended permit ip any4 any4
            """, "v6.cfg");
        TestFiles.AssertValid(r);
        Assert.Equal([2, 4, 5, 7, 8], r.NotInterpreted.Select(u => u.Line).ToArray());
        Assert.Single(r.Config.FindAccessList("A")!.Entries);
        Assert.Single(r.Config.FindObjectGroup("MIXED")!.Members);
        Assert.Null(r.Config.FindObject("V6-LAN")!.Kind);
    }

    [Theory]
    [InlineData("username bob password Xy12 encrypted privilege 15", "username bob password ***** encrypted privilege 15")]
    [InlineData("snmp-server community Publ1c", "snmp-server community *****")]
    [InlineData(" key 0 R4dius", " key 0 *****")]
    [InlineData("ntp authentication-key 1 md5 NtpK3y", "ntp authentication-key 1 md5 *****")]
    [InlineData("ntp server 10.0.0.5 key 1", "ntp server 10.0.0.5 key 1")]
    [InlineData("crypto key generate rsa modulus 2048", "crypto key generate rsa modulus 2048")]
    [InlineData("failover key Fa1lK3y", "failover key *****")]
    public void Secrets_in_uninterpreted_commands_are_masked(string command, string expected) =>
        Assert.Equal(expected, Parsing.SecretMasker.Mask(command));

    [Theory]
    [InlineData("access-list A extended permit ip user LOCAL\\alice any any")]
    [InlineData("access-list A extended permit ip security-group name Servers any any")]
    [InlineData("crypto ipsec inner-routing-lookup")]
    [InlineData("crypto ipsec security-association pmtu-aging infinite")]
    [InlineData("crypto isakmp disconnect-notify")]
    [InlineData("crypto map M 10 set security-association replay window-size 1024")]
    [InlineData("crypto dynamic-map DYN 10 set nat-t-disable")]
    [InlineData("nat (inside,outside) source dynamic any pat-pool POOL round-robin")]
    [InlineData("nat (inside) 1 0.0.0.0 0.0.0.0")]
    [InlineData("static (inside,outside) 203.0.113.5 10.0.0.5 netmask 255.255.255.255")]
    [InlineData("tunnel-group DefaultRAGroup webvpn-attributes")]
    [InlineData("ip verify reverse-path interface outside")]
    [InlineData("group-policy RADIUS-GP external server-group ISE password s3cr3t")]
    [InlineData("username bob password Str0ngPass mschap")]
    [InlineData("name 2001:db8::10 web6")]
    public void Valid_asa_commands_outside_the_model_are_not_interpreted(string command)
    {
        var r = AsaConfigLoader.Load(command, "ni.cfg");
        TestFiles.AssertValid(r);
        Assert.Single(r.NotInterpreted);
    }

    [Theory]
    [InlineData("crypto ikev1 am-disable")]
    [InlineData("crypto isakmp am-disable")]
    public void Am_disable_is_read_and_printed(string command)
    {
        var r = AsaConfigLoader.Load(command, "am.cfg");
        TestFiles.AssertValid(r);
        Assert.Empty(r.NotInterpreted);
        Assert.True(r.Config.AggressiveModeDisabled);
        Assert.Contains("crypto ikev1 am-disable\n", IkeActors.Config.Show.RunningConfigWriter.ShowRunningConfig(r.Config));
        Assert.False(AsaConfigLoader.Load("crypto ikev1 enable outside", "no-am.cfg").Config.AggressiveModeDisabled);
    }

    [Theory]
    [InlineData("crypto map M 10 set ikev1 phase1-mode aggressive group5", 5)]
    [InlineData("crypto map M 10 set phase1-mode aggressive", 2)]
    [InlineData("crypto map M 10 set ikev1 phase1-mode main", null)]
    public void Phase1_mode_of_a_crypto_map_entry(string command, int? group)
    {
        var r = AsaConfigLoader.Load(command, "p1.cfg");
        TestFiles.AssertValid(r);
        Assert.Empty(r.NotInterpreted);
        Assert.Equal(group, r.Config.CryptoMaps.Single().Entries.Single().AggressiveModeGroup);
        var shown = IkeActors.Config.Show.RunningConfigWriter.ShowRunningConfig(r.Config);
        Assert.Equal(group is not null, shown.Contains($"crypto map M 10 set ikev1 phase1-mode aggressive group{group}\n"));
    }

    [Fact]
    public void Pppoe_interface_address_is_not_interpreted()
    {
        var r = AsaConfigLoader.Load("interface Vlan2\n nameif outside\n ip address pppoe setroute\n", "pppoe.cfg");
        TestFiles.AssertValid(r);
        Assert.Equal("ip address pppoe setroute", Assert.Single(r.NotInterpreted).Text);
        Assert.Null(r.Config.FindInterface("outside")!.Address);
    }
}
