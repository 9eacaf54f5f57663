using System.Net;
using IkeActors.Config.Model;
using IkeActors.Config.Parsing;
using IkeActors.Config.Show;

namespace IkeActors.Config.Tests;

/// <summary>
/// The remote-access configuration: `ip local pool`, `group-policy`, `username`, remote-access
/// `tunnel-group` general- and ipsec-attributes, standard ACLs. Expected values come from the seed
/// document 113595 (tests/data/seed/asa-ezvpn-server-aggressive-mode*.cfg) and the ASA command
/// reference, not from this parser's output.
/// </summary>
public class RemoteAccessConfigTests
{
    private static uint A(string s) => Ipv4.ToUInt32(IPAddress.Parse(s));

    private static ConfigLoadResult Load(string text) => AsaConfigLoader.Load(text, "ra.cfg");

    // ---- The seed document's EzVPN server ----

    [Fact]
    public void Seed_ezvpn_server_loads_to_the_documents_model()
    {
        var r = TestFiles.LoadSeed("asa-ezvpn-server-aggressive-mode.indented.cfg");
        TestFiles.AssertValid(r);
        Assert.Empty(r.NotInterpreted);
        var c = r.Config;

        // tunnel-group EZ type remote-access / general-attributes default-group-policy EZ.
        var group = c.FindTunnelGroup("EZ")!;
        Assert.Equal(TunnelGroupType.RemoteAccess, group.Type);
        Assert.Equal("EZ", group.DefaultGroupPolicy);
        Assert.Equal(new PreSharedKey("cisco"), group.PreSharedKey); // the client's `group EZ key cisco`
        Assert.Same(group, c.RemoteAccessGroup("EZ"));
        // Nothing written: XAUTH against LOCAL, the ASA defaults for a remote-access group; no pool.
        Assert.Equal(IkeUserAuthentication.Xauth, group.UserAuthentication);
        Assert.True(group.AuthenticationServer.IsLocal);
        Assert.Empty(group.AddressPools);

        // group-policy EZ attributes, as the document lists them.
        var policy = c.FindGroupPolicy("EZ")!;
        Assert.True(policy.PasswordStorage);
        Assert.Equal([A("192.168.1.99")], policy.DnsServers!);
        Assert.Equal([VpnTunnelProtocol.Ikev1], policy.TunnelProtocols!);
        Assert.Equal(SplitTunnelPolicy.TunnelAll, policy.SplitTunnelPolicy);
        Assert.Equal(NoneOr<string>.Of("split"), policy.SplitTunnelNetworkList);
        Assert.Equal(NoneOr<string>.Of("jyoungta-labdomain.cisco.com"), policy.DefaultDomain);
        Assert.Null(policy.Banner);
        Assert.Null(policy.SimultaneousLogins);

        // username cisco password cisco / attributes vpn-framed-ip-address 192.168.1.100 255.255.255.0.
        var user = c.FindUser("cisco")!;
        Assert.Equal(PasswordForm.Clear, user.Password!.Form);
        Assert.Equal(PasswordCheck.Match, user.Password.Check("cisco"));
        Assert.Equal(PasswordCheck.Mismatch, user.Password.Check("Cisco"));
        Assert.Equal(2, user.Privilege);
        Assert.Equal(new FramedAddress(A("192.168.1.100"), A("255.255.255.0")), user.FramedAddress);
        Assert.Null(user.VpnGroupPolicy);

        // What the client gets: EZ's attributes, the rest from DfltGrpPolicy's defaults.
        var effective = c.EffectiveGroupPolicyFor(group, user);
        Assert.Equal("EZ", effective.Name);
        Assert.Equal([A("192.168.1.99")], effective.DnsServers);
        Assert.Equal("jyoungta-labdomain.cisco.com", effective.DefaultDomain);
        Assert.Equal(SplitTunnelPolicy.TunnelAll, effective.SplitTunnelPolicy);
        Assert.Equal("split", effective.SplitTunnelNetworkList);
        Assert.True(effective.PasswordStorage);
        Assert.True(effective.AllowsIkev1);
        Assert.Equal(3, effective.SimultaneousLogins);   // command reference default
        Assert.Equal(30, effective.IdleTimeoutMinutes);  // command reference default
        Assert.Null(effective.SessionTimeoutMinutes);    // DfltGrpPolicy: vpn-session-timeout none
        Assert.Empty(c.AddressPoolsFor(group, user));    // the address is the framed one
        Assert.Empty(c.SplitTunnelNetworks("split"));    // the document never defines `split`

        // The VPN part the document shows: a dynamic map on outside, Aggressive Mode not disabled.
        Assert.Equal("DYN", c.FindCryptoMap("MAP")!.Entry(65000)!.DynamicMap);
        Assert.False(c.AggressiveModeDisabled);
        Assert.True(c.AcceptsAggressiveModeByGroup);
    }

    [Fact]
    public void Seed_ezvpn_server_warns_of_aggressive_mode_and_the_undefined_split_list_only()
    {
        var r = TestFiles.LoadSeed("asa-ezvpn-server-aggressive-mode.indented.cfg");
        var warnings = r.Warnings.ToList();
        Assert.Equal([(26, 23), (33, 34)], warnings.Select(w => (w.Location.Line, w.Location.Column)).ToArray());
        var am = warnings[0];
        Assert.Contains("Aggressive Mode", am.Message);
        Assert.Contains("offline", am.Message);
        Assert.Contains("psk-crack", am.Message);
        Assert.Contains("crypto ikev1 am-disable", am.Message);
        Assert.Contains("certificates", am.Message);
        Assert.Equal(" ikev1 pre-shared-key *****", am.SourceLine);
        Assert.Contains("access-list 'split' is not defined", warnings[1].Message);
        Assert.All(r.Diagnostics, d => Assert.DoesNotMatch(@"\bcisco\b", d.SourceLine + d.Message + d.AsaStyle()));
    }

    [Fact]
    public void Seed_unindented_as_pasted_loads_to_the_same_model()
    {
        var flat = TestFiles.LoadSeed("asa-ezvpn-server-aggressive-mode.cfg");
        var indented = TestFiles.LoadSeed("asa-ezvpn-server-aggressive-mode.indented.cfg");
        TestFiles.AssertValid(flat);
        Assert.Empty(flat.NotInterpreted);
        // The pasted copy has the document's `pre-shared-key *****`: a placeholder, warned about.
        var flatGroup = flat.Config.FindTunnelGroup("EZ")!;
        Assert.True(flatGroup.PreSharedKey!.IsMaskPlaceholder);
        Assert.Contains(flat.Warnings, w => w.Location.Line == 26 && w.Message.Contains("mask '*****'", StringComparison.Ordinal));
        var sameKey = flat.Config with
        {
            TunnelGroups = flat.Config.TunnelGroups.Select(g => g with { PreSharedKey = new PreSharedKey("cisco") }).ToValueList(),
        };
        Assert.Equal(indented.Config, sameKey);
    }

    [Fact]
    public void Seed_show_running_config_prints_the_remote_access_part_as_the_asa_does()
    {
        var c = TestFiles.LoadSeed("asa-ezvpn-server-aggressive-mode.indented.cfg").Config;
        // Formats: `show running-config tunnel-group` of an ASA (ntc-templates fixture), group-policy attributes
        // in the order of the ASA's DfltGrpPolicy listing, the password never shown (see ShowUsername).
        Assert.Equal("""
            group-policy EZ internal
            group-policy EZ attributes
             dns-server value 192.168.1.99
             vpn-tunnel-protocol ikev1
             password-storage enable
             split-tunnel-policy tunnelall
             split-tunnel-network-list value split
             default-domain value jyoungta-labdomain.cisco.com

            """.Replace("\r\n", "\n", StringComparison.Ordinal), RunningConfigWriter.ShowGroupPolicy(c));
        Assert.Equal("username cisco password ***** pbkdf2\nusername cisco attributes\n vpn-framed-ip-address 192.168.1.100 255.255.255.0\n",
            RunningConfigWriter.ShowUsername(c));
        Assert.Equal("""
            tunnel-group EZ type remote-access
            tunnel-group EZ general-attributes
             default-group-policy EZ
            tunnel-group EZ ipsec-attributes
             ikev1 pre-shared-key *****

            """.Replace("\r\n", "\n", StringComparison.Ordinal), RunningConfigWriter.ShowTunnelGroup(c));
        var all = RunningConfigWriter.ShowRunningConfig(c);
        // 9.x order: … crypto, group-policy, username, tunnel-group.
        Assert.True(all.IndexOf("crypto ikev1 policy", StringComparison.Ordinal) < all.IndexOf("group-policy EZ internal", StringComparison.Ordinal));
        Assert.True(all.IndexOf("group-policy EZ attributes", StringComparison.Ordinal) < all.IndexOf("username cisco", StringComparison.Ordinal));
        Assert.True(all.IndexOf("username cisco attributes", StringComparison.Ordinal) < all.IndexOf("tunnel-group EZ type", StringComparison.Ordinal));
        Assert.DoesNotMatch(@"password cisco|key cisco", all);
        // Revealed (more system:running-config) it reads back to the same model.
        var again = AsaConfigLoader.Load(RunningConfigWriter.ShowRunningConfig(c, ShowOptions.Revealed), "again.cfg");
        TestFiles.AssertValid(again);
        Assert.Equal(c, again.Config);
    }

    // ---- ip local pool ----

    [Fact]
    public void Crypto_map_client_configuration_address_initiate_pushes_mode_config_and_respond_is_the_default()
    {
        // ASA command reference: `crypto map map-name client configuration address {initiate | respond}`.
        var r = Load("""
            crypto dynamic-map DYN 10 set ikev1 transform-set TS
            crypto map MAP 65535 ipsec-isakmp dynamic DYN
            crypto map MAP client configuration address initiate
            crypto map OTHER 10 ipsec-isakmp dynamic DYN
            crypto map OTHER client configuration address initiate
            crypto map OTHER client configuration address respond
            crypto map MAP client authentication LOCAL
            """);
        Assert.True(r.Config.CryptoMaps.Single(m => m.Name == "MAP").ModeConfigInitiate);
        Assert.False(r.Config.CryptoMaps.Single(m => m.Name == "OTHER").ModeConfigInitiate);
        Assert.Single(r.NotInterpreted); // `client authentication` is not carried out
        var shown = RunningConfigWriter.ShowRunningConfig(r.Config);
        Assert.Contains("crypto map MAP client configuration address initiate\n", shown);
        Assert.DoesNotContain("crypto map OTHER client configuration", shown);
        Assert.True(AsaConfigLoader.Load(shown, "again.cfg").Config.CryptoMaps.Single(m => m.Name == "MAP").ModeConfigInitiate);
        Assert.NotEmpty(Load("crypto map MAP client configuration address sideways").Errors);
    }

    [Theory]
    // Without a mask: the class mask (ASA configuration guide: 10.10.10.0-10.10.10.255 "is a Class A network").
    [InlineData("ip local pool P 10.10.10.1-10.10.10.254", "10.10.10.1", "10.10.10.254", "255.0.0.0")]
    [InlineData("ip local pool P 172.16.1.100-172.16.1.200", "172.16.1.100", "172.16.1.200", "255.255.0.0")]
    [InlineData("ip local pool P 192.168.50.10-192.168.50.20", "192.168.50.10", "192.168.50.20", "255.255.255.0")]
    [InlineData("ip local pool P 10.10.10.101-10.10.10.200 mask 255.255.255.0", "10.10.10.101", "10.10.10.200", "255.255.255.0")]
    [InlineData("ip local pool P 192.0.2.7-192.0.2.7 mask 255.255.255.255", "192.0.2.7", "192.0.2.7", "255.255.255.255")]
    public void Ip_local_pool_with_and_without_mask(string line, string first, string last, string mask)
    {
        var r = Load(line);
        TestFiles.AssertValid(r);
        Assert.Empty(r.NotInterpreted);
        var pool = r.Config.FindPool("P")!;
        Assert.Equal(new Ipv4Range(A(first), A(last)), pool.Range);
        Assert.Equal(A(mask), pool.EffectiveMask);
        Assert.Equal((long)A(last) - A(first) + 1, pool.Size);
        Assert.Equal(line + "\n", RunningConfigWriter.ShowIpLocalPool(r.Config));
    }

    [Theory]
    [InlineData("ip local pool P 10.0.0.0-10.0.255.255", 65536)]   // the largest: a /16
    [InlineData("ip local pool P 10.0.0.1-10.0.39.16", 10000)]
    [InlineData("ip local pool P 10.0.0.1-10.0.39.17", 10001)]
    public void Pools_up_to_65536_addresses_load(string line, long size)
    {
        var r = Load(line);
        TestFiles.AssertValid(r);
        Assert.Equal(size, r.Config.FindPool("P")!.Size);
    }

    [Theory]
    [InlineData("ip local pool P 10.0.0.0-10.1.0.0", 17, "65537 addresses")]
    [InlineData("ip local pool P 0.0.0.0-255.255.255.255", 17, "4294967296 addresses")]
    [InlineData("ip local pool P 10.0.0.9-10.0.0.1", 17, "above the last address")]
    [InlineData("ip local pool P 10.0.0.1-10.0.0.300", 26, "last address")]
    [InlineData("ip local pool P 10.0.0-10.0.0.9", 17, "first address")]
    [InlineData("ip local pool P 10.0.0.1", 17, "FIRST-LAST")]
    [InlineData("ip local pool P 10.0.0.1-10.0.0.9 mask 255.0.255.0", 40, "not a valid network mask")]
    [InlineData("ip local pool P 10.0.0.1-10.0.0.9 netmask 255.255.255.0", 35, "'mask'")]
    [InlineData("ip local pool P 10.0.0.1-10.0.0.9 mask 255.255.255.0 extra", 54, "end of command")]
    [InlineData("ip local pool Pé 10.0.0.1-10.0.0.9", 16, "printable ASCII")]
    public void Bad_pools_are_errors_at_the_word(string line, int column, string message)
    {
        var e = Assert.Single(Load(line).Errors);
        Assert.Equal((1, column), (e.Location.Line, e.Location.Column));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_pool_defined_twice_is_an_error_naming_the_first()
    {
        var r = Load("ip local pool P 10.0.0.1-10.0.0.9\nip local pool P 10.0.1.1-10.0.1.9\n");
        var e = Assert.Single(r.Errors);
        Assert.Equal(2, e.Location.Line);
        Assert.Contains("already defined (line 1)", e.Message);
        Assert.Equal(new Ipv4Range(A("10.0.0.1"), A("10.0.0.9")), r.Config.FindPool("P")!.Range);
    }

    [Theory]
    [InlineData("ip")]
    [InlineData("ip local")]
    [InlineData("ip local pool")]
    [InlineData("ip local pool P")]
    [InlineData("ip local pool P 10.0.0.1-10.0.0.9 mask")]
    [InlineData("group-policy")]
    [InlineData("group-policy G")]
    [InlineData("username")]
    [InlineData("username u")]
    [InlineData("username u password")]
    [InlineData("access-list S standard")]
    [InlineData("access-list S standard permit")]
    [InlineData("access-list S standard permit host")]
    [InlineData("access-list S standard permit 10.0.0.0")]
    public void Every_truncation_is_an_incomplete_command_error(string text)
    {
        if (text == "ip") { Assert.Single(Load(text).NotInterpreted); return; } // `ip` alone is some other ip command
        var e = Assert.Single(Load(text).Errors);
        Assert.Equal(DiagnosticKind.IncompleteCommand, e.Kind);
        Assert.Equal(text.Length + 2, e.Location.Column);
    }

    [Fact]
    public void A_truncated_privilege_is_incomplete_after_the_masked_password()
    {
        var e = Assert.Single(Load("username u password secret privilege").Errors);
        Assert.Equal(DiagnosticKind.IncompleteCommand, e.Kind);
        Assert.Equal("username u password ***** privilege", e.SourceLine);
        Assert.Equal(e.SourceLine.Length + 2, e.Location.Column);
    }

    [Theory]
    [InlineData(" banner value")]
    [InlineData(" dns-server")]
    [InlineData(" dns-server value")]
    [InlineData(" default-domain value")]
    [InlineData(" split-dns value")]
    [InlineData(" split-tunnel-policy")]
    [InlineData(" split-tunnel-network-list value")]
    [InlineData(" vpn-tunnel-protocol")]
    [InlineData(" vpn-simultaneous-logins")]
    [InlineData(" password-storage")]
    [InlineData(" address-pools value")]
    [InlineData(" vpn-idle-timeout")]
    [InlineData(" vpn-session-timeout")]
    public void Every_truncated_group_policy_attribute_is_incomplete(string attribute)
    {
        var e = Assert.Single(Load("group-policy G internal\ngroup-policy G attributes\n" + attribute).Errors);
        Assert.Equal(DiagnosticKind.IncompleteCommand, e.Kind);
        Assert.Equal((3, attribute.Length + 2), (e.Location.Line, e.Location.Column));
    }

    // ---- group-policy ----

    [Fact]
    public void Group_policy_attributes_are_read_and_printed_in_the_asa_order()
    {
        var text = """
            group-policy RA internal
            group-policy RA attributes
             address-pools value POOL-A POOL-B
             split-dns value corp.example.com lab.example.com
             default-domain none
             split-tunnel-network-list none
             split-tunnel-policy excludespecified
             password-storage disable
             vpn-tunnel-protocol ssl-client ikev1 ikev2
             vpn-session-timeout 480
             vpn-idle-timeout none
             vpn-simultaneous-logins 0
             dns-server value 10.0.0.53 10.0.1.53
             banner value Authorised users only.
             banner value Disconnect now otherwise.
            """;
        var r = Load(text);
        Assert.Empty(r.Errors);
        var g = r.Config.FindGroupPolicy("RA")!;
        Assert.Equal(["Authorised users only.", "Disconnect now otherwise."], g.Banner!);
        Assert.Equal([A("10.0.0.53"), A("10.0.1.53")], g.DnsServers!);
        Assert.Equal(0, g.SimultaneousLogins); // 0 disables login (command reference)
        Assert.Equal(NoneOr<int>.None, g.IdleTimeoutMinutes);
        Assert.Equal(NoneOr<int>.Of(480), g.SessionTimeoutMinutes);
        Assert.Equal([VpnTunnelProtocol.Ikev1, VpnTunnelProtocol.Ikev2, VpnTunnelProtocol.SslClient], g.TunnelProtocols!);
        Assert.False(g.PasswordStorage);
        Assert.Equal(SplitTunnelPolicy.ExcludeSpecified, g.SplitTunnelPolicy);
        Assert.Equal(NoneOr<string>.None, g.SplitTunnelNetworkList);
        Assert.Equal(NoneOr<string>.None, g.DefaultDomain);
        Assert.Equal(["corp.example.com", "lab.example.com"], g.SplitDns!);
        Assert.Equal(["POOL-A", "POOL-B"], g.AddressPools!);
        Assert.Equal("""
            group-policy RA internal
            group-policy RA attributes
             banner value Authorised users only.
             banner value Disconnect now otherwise.
             dns-server value 10.0.0.53 10.0.1.53
             vpn-simultaneous-logins 0
             vpn-idle-timeout none
             vpn-session-timeout 480
             vpn-tunnel-protocol ikev1 ikev2 ssl-client
             password-storage disable
             split-tunnel-policy excludespecified
             split-tunnel-network-list none
             default-domain none
             split-dns value corp.example.com lab.example.com
             address-pools value POOL-A POOL-B

            """.Replace("\r\n", "\n", StringComparison.Ordinal), RunningConfigWriter.ShowGroupPolicy(r.Config));
        // `banner none` clears the lines; a later `banner value` starts them again.
        var cleared = Load(text + "\n banner none\n").Config.FindGroupPolicy("RA")!;
        Assert.Equal(ValueList<string>.Empty, cleared.Banner);
        Assert.Equal(["Again."], Load(text + "\n banner none\n banner value Again.\n").Config.FindGroupPolicy("RA")!.Banner!);
    }

    [Fact]
    public void Attributes_not_set_come_from_DfltGrpPolicy_then_the_asa_defaults()
    {
        var r = Load("""
            group-policy DfltGrpPolicy attributes
             dns-server value 10.9.9.9
             vpn-idle-timeout 10
             default-domain value default.example
             address-pools value DEFAULT-POOL
            group-policy INHERITS internal
            group-policy INHERITS attributes
             vpn-simultaneous-logins 1
            group-policy STOPS internal
            group-policy STOPS attributes
             dns-server none
             vpn-idle-timeout none
             default-domain none
             address-pools none
            ip local pool DEFAULT-POOL 10.50.0.1-10.50.0.100 mask 255.255.255.0
            """);
        TestFiles.AssertValid(r);
        var c = r.Config;
        var inherits = c.EffectiveGroupPolicy("INHERITS");
        Assert.Equal(1, inherits.SimultaneousLogins);
        Assert.Equal([A("10.9.9.9")], inherits.DnsServers);
        Assert.Equal(10, inherits.IdleTimeoutMinutes);
        Assert.Equal("default.example", inherits.DefaultDomain);
        Assert.Equal(["DEFAULT-POOL"], inherits.AddressPools);
        Assert.Equal(SplitTunnelPolicy.TunnelAll, inherits.SplitTunnelPolicy); // neither sets it: ASA default
        Assert.False(inherits.PasswordStorage);
        // `none` stops the inheritance: no value, not DfltGrpPolicy's.
        var stops = c.EffectiveGroupPolicy("STOPS");
        Assert.Empty(stops.DnsServers);
        Assert.Null(stops.IdleTimeoutMinutes);
        Assert.Null(stops.DefaultDomain);
        Assert.Empty(stops.AddressPools);
        Assert.Equal(3, stops.SimultaneousLogins);
        // An unknown name and DfltGrpPolicy itself resolve to DfltGrpPolicy.
        Assert.Equal(AsaDefaults.DfltGrpPolicy, c.EffectiveGroupPolicy("NO-SUCH").Name);
        Assert.Equal([A("10.9.9.9")], c.EffectiveGroupPolicy(AsaDefaults.DfltGrpPolicy).DnsServers);
        // The built-in DfltGrpPolicy with nothing written: every value the ASA's default.
        var builtIn = Load("").Config;
        Assert.NotNull(builtIn.FindGroupPolicy(AsaDefaults.DfltGrpPolicy));
        Assert.Equal(new EffectiveGroupPolicy(AsaDefaults.DfltGrpPolicy), builtIn.EffectiveGroupPolicy());
        Assert.Empty(builtIn.GroupPolicies);
        // DfltGrpPolicy is printed without an `internal` line.
        Assert.StartsWith("group-policy DfltGrpPolicy attributes\n dns-server value 10.9.9.9\n", RunningConfigWriter.ShowGroupPolicy(c), StringComparison.Ordinal);
    }

    [Fact]
    public void A_users_policy_comes_before_the_tunnel_groups_and_its_own_attributes_before_both()
    {
        var c = Load("""
            group-policy GROUP-GP internal
            group-policy GROUP-GP attributes
             dns-server value 10.1.1.1
             vpn-simultaneous-logins 5
             split-tunnel-policy tunnelspecified
             split-tunnel-network-list value SPLIT
            group-policy USER-GP internal
            group-policy USER-GP attributes
             dns-server value 10.2.2.2
            access-list SPLIT standard permit 10.0.0.0 255.0.0.0
            username alice password Al1ce-pass
            username alice attributes
             vpn-group-policy USER-GP
             vpn-simultaneous-logins 1
            username bob password B0b-pass
            tunnel-group RA type remote-access
            tunnel-group RA general-attributes
             default-group-policy GROUP-GP
            """).Config;
        var group = c.FindTunnelGroup("RA")!;
        var alice = c.EffectiveGroupPolicyFor(group, c.FindUser("alice"));
        Assert.Equal("USER-GP", alice.Name);
        Assert.Equal([A("10.2.2.2")], alice.DnsServers);                  // her policy's
        Assert.Equal(SplitTunnelPolicy.TunnelSpecified, alice.SplitTunnelPolicy); // the tunnel group's policy's
        Assert.Equal(1, alice.SimultaneousLogins);                        // her own attribute
        var bob = c.EffectiveGroupPolicyFor(group, c.FindUser("bob"));
        Assert.Equal("GROUP-GP", bob.Name);
        Assert.Equal([A("10.1.1.1")], bob.DnsServers);
        Assert.Equal(5, bob.SimultaneousLogins);
        Assert.Equal([Ipv4Prefix.Parse("10.0.0.0/8")], c.SplitTunnelNetworks(bob.SplitTunnelNetworkList!));
    }

    [Theory]
    [InlineData(" vpn-simultaneous-logins 2147483648", 26, "out of range 0-2147483647")]
    [InlineData(" vpn-simultaneous-logins 99999999999999999999", 26, "out of range")]
    [InlineData(" vpn-simultaneous-logins -1", 26, "expected simultaneous logins")]
    [InlineData(" vpn-idle-timeout 0", 19, "out of range 1-35791394")]
    [InlineData(" vpn-session-timeout 35791395", 22, "out of range 1-35791394")]
    [InlineData(" vpn-idle-timeout forever", 19, "or 'none'")]
    [InlineData(" dns-server value 10.0.0.256", 19, "A.B.C.D")]
    [InlineData(" dns-server value 10.0.0.1 10.0.0.2 10.0.0.3", 37, "at most 2 DNS servers")]
    [InlineData(" dns-server 10.0.0.1", 13, "'value'")]
    [InlineData(" split-tunnel-policy tunnelsome", 22, "tunnelall")]
    [InlineData(" vpn-tunnel-protocol ikev1 pptp", 28, "ikev1")]
    [InlineData(" password-storage yes", 19, "enable")]
    [InlineData(" address-pools value A B C D E F G", 34, "at most 6")]
    [InlineData(" address-pools value A B A", 26, "given twice")]
    [InlineData(" default-domain value a.example b.example", 33, "end of command")]
    [InlineData(" banner value Caf\u00e9 hours", 18, "printable ASCII")]
    [InlineData(" no-such-attribute 1", 2, "expected one of")]
    public void Bad_group_policy_attributes_are_errors_at_the_word(string attribute, int column, string message)
    {
        var r = Load("group-policy G internal\ngroup-policy G attributes\n" + attribute);
        var e = Assert.Single(r.Errors);
        Assert.Equal((3, column), (e.Location.Line, e.Location.Column));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_banner_longer_than_500_characters_is_an_error()
    {
        var ok = Load("group-policy G internal\ngroup-policy G attributes\n banner value " + new string('x', 500));
        TestFiles.AssertValid(ok);
        var e = Assert.Single(Load("group-policy G internal\ngroup-policy G attributes\n banner value " + new string('x', 501)).Errors);
        Assert.Contains("longer than 500", e.Message);
    }

    [Fact]
    public void Group_policy_attributes_need_the_policy_except_DfltGrpPolicy()
    {
        var e = Assert.Single(Load("group-policy NEW attributes\n dns-server value 10.0.0.1\n").Errors);
        Assert.Contains("`group-policy NEW internal` must come first", e.Message);
        TestFiles.AssertValid(Load("group-policy DfltGrpPolicy attributes\n dns-server value 10.0.0.1\n"));
        // An external policy's attributes live on its AAA server.
        var ext = Load("group-policy EXT external server-group ISE password Ext-S3cret\ngroup-policy EXT attributes\n");
        Assert.Contains("external", Assert.Single(ext.Errors).Message);
        Assert.Equal("group-policy EXT external server-group ISE password *****", ext.NotInterpreted[0].Text);
    }

    [Fact]
    public void Other_group_policy_attributes_and_their_webvpn_lines_are_not_interpreted()
    {
        var r = Load("""
            group-policy G internal
            group-policy G attributes
             wins-server none
             vpn-filter value FILTER
             webvpn
              anyconnect keep-installer installed
              anyconnect ask none default anyconnect
             dns-server value 10.0.0.53
            hostname asa
            """);
        TestFiles.AssertValid(r);
        Assert.Equal(["wins-server none", "vpn-filter value FILTER", "webvpn"], r.NotInterpreted.Select(u => u.Text).ToArray());
        Assert.Equal(2, r.NotInterpreted[2].SubLines);
        Assert.All(r.NotInterpreted, u => Assert.Equal("group-policy G attributes", u.Context));
        Assert.Equal([A("10.0.0.53")], r.Config.FindGroupPolicy("G")!.DnsServers!);
        Assert.Equal("asa", r.Config.Hostname);
    }

    [Fact]
    public void Only_webvpn_opens_a_nested_block()
    {
        // A deeper line after another attribute kept as not interpreted is still read (pasted with uneven indentation).
        var r = Load("group-policy G internal\ngroup-policy G attributes\n wins-server none\n  dns-server value 10.0.0.53\n"
            + "username u password Secr3t-u\nusername u attributes\n webvpn\n  anyconnect keep-installer none\n vpn-simultaneous-logins 2\n");
        TestFiles.AssertValid(r);
        Assert.Equal([A("10.0.0.53")], r.Config.FindGroupPolicy("G")!.DnsServers!);
        Assert.Equal(2, r.Config.FindUser("u")!.SimultaneousLogins);
        Assert.Equal([("wins-server none", 0), ("webvpn", 1)], r.NotInterpreted.Select(u => (u.Text, u.SubLines)).ToArray());
        Assert.Equal("username u attributes", r.NotInterpreted[1].Context);
    }

    [Fact]
    public void Asa_82_and_84_spellings_give_the_same_model()
    {
        var v82 = Load("""
            group-policy G internal
            group-policy G attributes
             vpn-tunnel-protocol IPSec svc webvpn
            tunnel-group RA type remote-access
            tunnel-group RA ipsec-attributes
             pre-shared-key Gr0up-Key
             isakmp ikev1-user-authentication (outside) none
            crypto isakmp am-disable
            """);
        var v84 = Load("""
            group-policy G internal
            group-policy G attributes
             vpn-tunnel-protocol ikev1 ssl-client ssl-clientless
            tunnel-group RA type remote-access
            tunnel-group RA ipsec-attributes
             ikev1 pre-shared-key Gr0up-Key
             ikev1 user-authentication (outside) none
            crypto ikev1 am-disable
            """);
        Assert.Empty(v82.Errors);
        Assert.Empty(v82.NotInterpreted);
        Assert.Equal(v84.Config, v82.Config);
        var group = v82.Config.FindTunnelGroup("RA")!;
        Assert.Equal(IkeUserAuthentication.None, group.UserAuthenticationOn("outside"));
        Assert.Equal(IkeUserAuthentication.Xauth, group.UserAuthenticationOn("inside")); // the default elsewhere
        Assert.Contains(" ikev1 user-authentication (outside) none\n", RunningConfigWriter.ShowTunnelGroup(v82.Config));
    }

    [Fact]
    public void Flat_pasted_group_policy_stays_in_its_block_until_a_global_command()
    {
        // `banner value` belongs to the group policy; `banner motd` is the global command and closes the block.
        var r = Load("""
            group-policy G internal
            group-policy G attributes
            banner value Welcome.
            vpn-simultaneous-logins 2
            banner motd Authorised access only.
            vpn-simultaneous-logins 4
            """);
        var g = r.Config.FindGroupPolicy("G")!;
        Assert.Equal(["Welcome."], g.Banner!);
        Assert.Equal(2, g.SimultaneousLogins);
        Assert.Equal(["banner motd Authorised access only.", "vpn-simultaneous-logins 4"], r.NotInterpreted.Select(u => u.Text).ToArray());
        Assert.All(r.NotInterpreted, u => Assert.Null(u.Context));
    }

    // ---- username ----

    [Theory]
    [InlineData("username u1 password Secr3t-1", PasswordForm.Clear, 2)]
    [InlineData("username u1 password Secr3t-1 privilege 15", PasswordForm.Clear, 15)]
    [InlineData("username u1 password 3USUcOPFUiMCO4Jk encrypted privilege 15", PasswordForm.Encrypted, 15)]
    [InlineData("username u1 password $sha512$5000$abcdefghijklmnopqrstuv==$ABCDEFGHIJKLMNOPQRSTUV== pbkdf2", PasswordForm.Pbkdf2, 2)]
    [InlineData("username u1 password 0123456789ABCDEF0123456789ABCDEF nt-encrypted privilege 0", PasswordForm.NtEncrypted, 0)]
    public void Username_password_forms(string line, PasswordForm form, int privilege)
    {
        var r = Load(line);
        TestFiles.AssertValid(r);
        Assert.Empty(r.NotInterpreted);
        var u = r.Config.FindUser("u1")!;
        Assert.Equal((form, privilege), (u.Password!.Form, u.Privilege));
        Assert.Equal(form != PasswordForm.Clear, u.Password.IsHash);
        // Only a clear password can be checked for now; a hash says it cannot.
        Assert.Equal(form == PasswordForm.Clear ? PasswordCheck.Match : PasswordCheck.CannotVerify, u.Password.Check("Secr3t-1"));
        var shown = RunningConfigWriter.ShowUsername(r.Config);
        Assert.Equal("username u1 password ***** pbkdf2" + (privilege == 2 ? "" : $" privilege {privilege}") + "\n", shown);
        Assert.Equal(line + "\n", RunningConfigWriter.ShowUsername(r.Config, ShowOptions.Revealed));
    }

    [Fact]
    public void Nopassword_users_and_their_attributes()
    {
        var r = Load("""
            username jon.doe@token.example.com nopassword
            username jon.doe@token.example.com attributes
             service-type remote-access
             vpn-framed-ip-address 10.1.2.3
             vpn-simultaneous-logins 4
             vpn-group-policy TOKEN-GP
             password-storage enable
            group-policy TOKEN-GP internal
            """);
        TestFiles.AssertValid(r);
        var u = r.Config.FindUser("jon.doe@token.example.com")!;
        Assert.True(u.NoPassword);
        Assert.Equal(UserServiceType.RemoteAccess, u.ServiceType);
        Assert.Equal(new FramedAddress(A("10.1.2.3"), null), u.FramedAddress);
        Assert.Equal(4, u.SimultaneousLogins);
        Assert.Equal("TOKEN-GP", u.VpnGroupPolicy);
        Assert.Equal("password-storage enable", Assert.Single(r.NotInterpreted).Text);
        Assert.Equal("""
            username jon.doe@token.example.com nopassword
            username jon.doe@token.example.com attributes
             vpn-group-policy TOKEN-GP
             vpn-simultaneous-logins 4
             vpn-framed-ip-address 10.1.2.3
             service-type remote-access

            """.Replace("\r\n", "\n", StringComparison.Ordinal), RunningConfigWriter.ShowUsername(r.Config));
    }

    // Columns are those of the echoed line, where the password is `*****` (column 23): a caret inside
    // the password points at the mask, one after it moves with the shorter text.
    [Theory]
    [InlineData("username bob password my secret phrase", 23, "cannot contain spaces")]
    [InlineData("username bob password my secret phrase privilege 15", 23, "cannot contain spaces")]
    [InlineData("username bob password pässwörd", 23, "printable ASCII")]
    [InlineData("username bob password ab", 23, "shorter than 3")]
    [InlineData("username bob password Secr3t privilege 16", 39, "out of range 0-15")]
    [InlineData("username bob password Secr3t privilege 99999999999999999999", 39, "out of range")]
    [InlineData("username bob password Secr3t sha256", 23, "cannot contain spaces")]
    [InlineData("username bob password Secr3t encrypted extra", 39, "end of command")]
    [InlineData("username b\u00f6b password Secr3t", 11, "printable ASCII")]
    public void Bad_username_lines_are_errors_that_never_show_the_password(string line, int column, string message)
    {
        var r = Load(line);
        var e = Assert.Single(r.Errors);
        Assert.Equal(column, e.Location.Column);
        Assert.Contains(message, e.Message);
        var everything = e + "\n" + e.AsaStyle() + string.Join(',', e.Expected);
        foreach (var secret in new[] { "my", "secret", "phrase", "pässwörd", "ab", "Secr3t" })
            Assert.DoesNotMatch($@"\b{secret}\b", everything.Replace(e.Message, "", StringComparison.Ordinal));
        Assert.DoesNotContain("secret", e.Message);
        Assert.DoesNotContain("pässwörd", everything);
        Assert.Contains("*****", e.SourceLine);
    }

    [Fact]
    public void Overlong_passwords_are_errors()
    {
        var clear = new string('p', 128);
        var e = Assert.Single(Load($"username bob password {clear}").Errors);
        Assert.Contains("longer than 127", e.Message);
        Assert.DoesNotContain(clear, e.ToString() + e.AsaStyle());
        TestFiles.AssertValid(Load($"username bob password {new string('p', 127)}"));
        TestFiles.AssertValid(Load($"username bob password {new string('h', 256)} pbkdf2"));
        Assert.Single(Load($"username bob password {new string('h', 257)} pbkdf2").Errors);
    }

    [Fact]
    public void User_attributes_need_the_user_and_a_second_definition_is_a_warning()
    {
        var e = Assert.Single(Load("username ghost attributes\n vpn-framed-ip-address 10.0.0.1\n").Errors);
        Assert.Contains("`username ghost password …` must come first", e.Message);
        var twice = Load("username bob password First-1\nusername bob password Second-2 privilege 3\n");
        Assert.Empty(twice.Errors);
        var w = Assert.Single(twice.Warnings);
        Assert.Equal(2, w.Location.Line);
        Assert.Contains("defined again (line 1)", w.Message);
        Assert.DoesNotContain("Second-2", w.SourceLine + w.Message);
        var bob = twice.Config.FindUser("bob")!;
        Assert.Equal((PasswordCheck.Match, 3), (bob.Password!.Check("Second-2"), bob.Privilege));
    }

    [Theory]
    [InlineData(" vpn-framed-ip-address 10.0.0.300", 24)]
    [InlineData(" vpn-framed-ip-address 10.0.0.3 255.0.255.0", 33)]
    [InlineData(" service-type superuser", 15)]
    [InlineData(" vpn-simultaneous-logins 2147483648", 26)]
    [InlineData(" vpn-group-policy A B", 21)]
    [InlineData(" frobnicate", 2)]
    public void Bad_user_attributes_are_errors(string attribute, int column)
    {
        var e = Assert.Single(Load("username u password Secr3t\nusername u attributes\n" + attribute).Errors);
        Assert.Equal((3, column), (e.Location.Line, e.Location.Column));
    }

    [Fact]
    public void Passwords_compare_in_constant_time_by_value_and_never_print()
    {
        var p = new UserPassword("Tr1cky pass");
        Assert.Equal(new UserPassword("Tr1cky pass"), p);
        Assert.NotEqual(new UserPassword("Tr1cky pass", PasswordForm.Encrypted), p);
        Assert.NotEqual(new UserPassword("Tr1cky pas"), p);
        Assert.Equal("*****", p.ToString());
        Assert.Equal(PasswordCheck.Match, p.Check("Tr1cky pass"u8));
        Assert.Equal(PasswordCheck.Mismatch, p.Check(""));
        Assert.Equal(PasswordCheck.Mismatch, p.Check("Tr1cky pass "));
        Assert.DoesNotContain("Tr1cky", new LocalUser("u") { Password = p }.ToString());
    }

    // ---- tunnel-group general-attributes and ipsec-attributes ----

    [Fact]
    public void Tunnel_group_general_attributes_as_the_asa_prints_them()
    {
        // The ntc-templates `show running-config tunnel-group` fixture's remote-access group, abridged.
        var text = """
            interface GigabitEthernet0/0
             nameif outside
             ip address 203.0.113.1 255.255.255.0
            interface GigabitEthernet0/1
             nameif vpn
             ip address 10.200.0.1 255.255.255.0
            ip local pool vpn_pool 10.100.0.10-10.100.0.250 mask 255.255.255.0
            ip local pool all_pool 10.101.0.10-10.101.0.250 mask 255.255.255.0
            group-policy default_gpol internal
            tunnel-group tun01 type remote-access
            tunnel-group tun01 general-attributes
             address-pool (vpn) vpn_pool
             address-pool all_pool
             authentication-server-group (outside) LOCAL
             default-group-policy default_gpol
             strip-group
            tunnel-group tun01 ipsec-attributes
             ikev1 pre-shared-key Tun01-Key
             ikev1 user-authentication (outside) hybrid
             peer-id-validate nocheck
            crypto ikev1 am-disable
            """;
        var r = Load(text);
        TestFiles.AssertValid(r);
        Assert.Empty(r.Warnings);
        Assert.Equal(["strip-group", "peer-id-validate nocheck"], r.NotInterpreted.Select(u => u.Text).ToArray());
        var c = r.Config;
        var g = c.FindTunnelGroup("tun01")!;
        Assert.Equal(["vpn_pool"], g.AddressPoolsOn("vpn"));
        Assert.Equal(["all_pool"], g.AddressPoolsOn("outside"));
        Assert.Equal(["all_pool"], g.AddressPools);
        Assert.Equal("default_gpol", g.DefaultGroupPolicy);
        Assert.True(g.AuthenticationServerOn("outside").IsLocal);
        Assert.Equal(IkeUserAuthentication.Hybrid, g.UserAuthenticationOn("outside"));
        Assert.Equal(IkeUserAuthentication.Xauth, g.UserAuthentication);
        // The group policy names no pool, so the tunnel group's apply.
        Assert.Equal(["vpn_pool"], c.AddressPoolsFor(g, null, "vpn").Select(p => p.Name).ToArray());
        Assert.Equal("""
            tunnel-group tun01 type remote-access
            tunnel-group tun01 general-attributes
             address-pool (vpn) vpn_pool
             address-pool all_pool
             authentication-server-group (outside) LOCAL
             default-group-policy default_gpol
            tunnel-group tun01 ipsec-attributes
             ikev1 pre-shared-key *****
             ikev1 user-authentication (outside) hybrid

            """.Replace("\r\n", "\n", StringComparison.Ordinal), RunningConfigWriter.ShowTunnelGroup(c));
        // A group policy's pools come before the tunnel group's.
        var withPolicyPools = Load(text + "\ngroup-policy default_gpol attributes\n address-pools value all_pool\n").Config;
        Assert.Equal(["all_pool"], withPolicyPools.AddressPoolsFor(withPolicyPools.FindTunnelGroup("tun01")!, null, "vpn").Select(p => p.Name).ToArray());
    }

    [Fact]
    public void DefaultRAGroup_exists_without_a_type_line_and_catches_unknown_groups()
    {
        var r = Load("tunnel-group DefaultRAGroup general-attributes\n address-pool RA-POOL\ntunnel-group DefaultRAGroup ipsec-attributes\n ikev1 user-authentication none\nip local pool RA-POOL 10.8.0.1-10.8.0.99 mask 255.255.255.0\n");
        TestFiles.AssertValid(r);
        var c = r.Config;
        var fallback = c.RemoteAccessGroup("NO-SUCH-GROUP");
        Assert.Equal((AsaDefaults.DefaultRAGroup, TunnelGroupType.RemoteAccess), (fallback.Name, fallback.Type));
        Assert.Equal(["RA-POOL"], fallback.AddressPools);
        Assert.Equal(IkeUserAuthentication.None, fallback.UserAuthentication);
        Assert.DoesNotContain("tunnel-group DefaultRAGroup type", RunningConfigWriter.ShowTunnelGroup(c));
        // Not written at all, it is still there: built in, without a key.
        var builtIn = Load("").Config.RemoteAccessGroup("EZ");
        Assert.Equal(AsaDefaults.DefaultRAGroup, builtIn.Name);
        Assert.Null(builtIn.PreSharedKey);
        Assert.Equal(IkeUserAuthentication.Xauth, builtIn.UserAuthentication);
        // An L2L group does not answer for a client's group name; its user authentication is none.
        var l2l = Load("tunnel-group 192.0.2.1 type ipsec-l2l\n").Config;
        Assert.Equal(AsaDefaults.DefaultRAGroup, l2l.RemoteAccessGroup("192.0.2.1").Name);
        Assert.Equal(IkeUserAuthentication.None, l2l.FindTunnelGroup("192.0.2.1")!.UserAuthentication);
    }

    [Theory]
    [InlineData(" address-pool (vpn POOL", 15, "(interface name)")]
    [InlineData(" address-pool ()", 15, "(interface name)")]
    [InlineData(" address-pool P1 P2 P3 P4 P5 P6 P7", 33, "at most 6")]
    [InlineData(" address-pool P1 P1", 18, "given twice")]
    [InlineData(" default-group-policy A B", 25, "end of command")]
    [InlineData(" authentication-server-group LOCAL LOCAL", 30, "own fallback")]
    [InlineData(" no-such-attribute", 2, "expected one of")]
    public void Bad_general_attributes_are_errors(string attribute, int column, string message)
    {
        var e = Assert.Single(Load("tunnel-group RA type remote-access\ntunnel-group RA general-attributes\n" + attribute).Errors);
        Assert.Equal((3, column), (e.Location.Line, e.Location.Column));
        Assert.Contains(message, e.Message);
    }

    // ---- standard access-lists and split tunnelling ----

    [Fact]
    public void Standard_access_lists_are_read_printed_and_resolved_for_split_tunnelling()
    {
        var r = Load("""
            access-list SPLIT remark networks behind the ASA
            access-list SPLIT standard permit 10.0.2.0 255.255.255.0
            access-list SPLIT standard permit host 10.0.9.9
            access-list SPLIT standard deny 10.0.3.0 255.255.255.0
            access-list SPLIT standard permit any4
            """);
        TestFiles.AssertValid(r);
        var acl = r.Config.FindAccessList("SPLIT")!;
        Assert.True(acl.IsStandard);
        Assert.Equal(AddressSpec.ForHost(A("10.0.9.9")), acl.Entries[2].Destination);
        Assert.Equal("""
            access-list SPLIT remark networks behind the ASA
            access-list SPLIT standard permit 10.0.2.0 255.255.255.0
            access-list SPLIT standard permit host 10.0.9.9
            access-list SPLIT standard deny 10.0.3.0 255.255.255.0
            access-list SPLIT standard permit any4

            """.Replace("\r\n", "\n", StringComparison.Ordinal), RunningConfigWriter.ShowAccessList(r.Config));
        // Permits only, as (address, mask) pairs.
        var networks = r.Config.SplitTunnelNetworks("SPLIT");
        Assert.Equal([("10.0.2.0", "255.255.255.0"), ("10.0.9.9", "255.255.255.255"), ("0.0.0.0", "0.0.0.0")],
            networks.Select(n => (n.Address.ToString(), n.MaskAddress.ToString())).ToArray());
    }

    [Fact]
    public void Extended_split_lists_give_their_destinations_with_ranges_cut_into_prefixes()
    {
        var c = Load("""
            object network SERVERS
             range 10.5.0.1 10.5.0.6
            access-list SPLIT-EXT extended permit ip any object SERVERS
            access-list SPLIT-EXT extended permit ip any 10.6.0.0 255.255.0.0
            access-list SPLIT-EXT extended permit ip any 10.7.0.0 255.255.0.0 inactive
            """).Config;
        Assert.Equal(["10.5.0.1/32", "10.5.0.2/31", "10.5.0.4/31", "10.5.0.6/32", "10.6.0.0/16"],
            c.SplitTunnelNetworks("SPLIT-EXT").Select(p => p.ToString()).ToArray());
        Assert.Empty(c.SplitTunnelNetworks("NO-SUCH"));
    }

    [Fact]
    public void Standard_and_extended_entries_do_not_mix_and_crypto_maps_need_extended()
    {
        var mixed = Load("access-list A standard permit any4\naccess-list A extended permit ip any any\naccess-list B extended permit ip any any\naccess-list B standard permit any4\n");
        Assert.Equal([(2, 15), (4, 15)], mixed.Errors.Select(e => (e.Location.Line, e.Location.Column)).ToArray());
        Assert.Contains("is a standard access-list", mixed.Errors.First().Message);
        var map = Load("access-list S standard permit 10.0.0.0 255.0.0.0\ncrypto map M 10 match address S\n");
        Assert.Contains("is a standard access-list", Assert.Single(map.Errors).Message);
        Assert.Single(Load("access-list S standard permit host 2001:db8::1").NotInterpreted);
        Assert.Contains("host bits", Assert.Single(Load("access-list S standard permit 10.0.0.1 255.0.0.0").Errors).Message);
    }

    // ---- Checks ----

    [Fact]
    public void References_to_undefined_pools_policies_and_acls_are_warnings()
    {
        var r = Load("""
            tunnel-group RA type remote-access
            tunnel-group RA general-attributes
             address-pool NO-POOL
             default-group-policy NO-GP
            group-policy GP internal
            group-policy GP attributes
             address-pools value NO-POOL-2
             split-tunnel-network-list value NO-ACL
            username u password Secr3t-u
            username u attributes
             vpn-group-policy NO-GP-2
            """);
        Assert.Empty(r.Errors);
        Assert.Equal([(3, 15), (4, 23), (7, 22), (8, 34), (11, 19)], r.Warnings.Select(w => (w.Location.Line, w.Location.Column)).ToArray());
        Assert.Contains("ip local pool 'NO-POOL' is not defined", r.Warnings.First().Message);
        Assert.Contains("DfltGrpPolicy's attributes", r.Warnings.ElementAt(1).Message);
    }

    [Fact]
    public void Pools_overlapping_each_other_or_an_interface_subnet_are_warnings()
    {
        var r = Load("""
            interface GigabitEthernet0/1
             nameif inside
             ip address 192.168.1.1 255.255.255.0
            ip local pool A 10.0.0.1-10.0.0.100
            ip local pool B 10.0.0.100-10.0.0.200
            ip local pool C 10.0.1.1-10.0.1.100
            ip local pool D 192.168.1.200-192.168.1.250
            ip local pool E 192.168.1.1-192.168.1.9
            """);
        Assert.Empty(r.Errors);
        var warnings = r.Warnings.ToList();
        Assert.Equal([5, 7, 8], warnings.Select(w => w.Location.Line).ToArray());
        Assert.Contains("overlaps ip local pool A", warnings[0].Message);
        Assert.Contains("subnet 192.168.1.0/24 of interface inside", warnings[1].Message);
        Assert.Contains("own address 192.168.1.1", warnings[2].Message);
    }

    [Fact]
    public void A_framed_address_outside_every_pool_is_fine_inside_one_is_a_warning()
    {
        const string pool = "ip local pool P 192.168.1.100-192.168.1.200 mask 255.255.255.0\n";
        // The seed's user: 192.168.1.100, and no pool in the document.
        var outside = Load("ip local pool P 192.168.1.101-192.168.1.200 mask 255.255.255.0\nusername cisco password cisco\nusername cisco attributes\n vpn-framed-ip-address 192.168.1.100 255.255.255.0\n");
        Assert.Empty(outside.Diagnostics);
        var inside = Load(pool + "username cisco password cisco\nusername cisco attributes\n vpn-framed-ip-address 192.168.1.100 255.255.255.0\n");
        var w = Assert.Single(inside.Warnings);
        Assert.Equal((4, 24), (w.Location.Line, w.Location.Column));
        Assert.Contains("inside ip local pool P", w.Message);
    }

    [Theory]
    [InlineData("crypto ikev1 am-disable\n", false)]
    [InlineData("crypto isakmp am-disable\n", false)]
    [InlineData("", true)]
    public void Aggressive_mode_warning_for_remote_access_groups_with_a_key(string amDisable, bool warned)
    {
        var r = Load(amDisable + "tunnel-group RA type remote-access\ntunnel-group RA ipsec-attributes\n ikev1 pre-shared-key Gr0upKey-1\n"
            + "tunnel-group 192.0.2.1 type ipsec-l2l\ntunnel-group 192.0.2.1 ipsec-attributes\n ikev1 pre-shared-key L2l-Key-1\n");
        Assert.Empty(r.Errors);
        // Only the remote-access group: an L2L peer's key is found by its address in Main Mode.
        Assert.Equal(warned ? 1 : 0, r.Warnings.Count());
        if (warned) Assert.Contains("tunnel-group RA is a remote-access group", r.Warnings.Single().Message);
        Assert.DoesNotContain("Gr0upKey-1", string.Join('\n', r.Diagnostics.Select(d => d.SourceLine + d.Message)));
    }

    [Fact]
    public void Only_LOCAL_authentication_is_supported()
    {
        var r = Load("""
            tunnel-group RA type remote-access
            tunnel-group RA general-attributes
             authentication-server-group ISE
             authentication-server-group (inside) RADIUS LOCAL
             authentication-server-group (dmz) LOCAL
            """);
        Assert.Empty(r.Errors);
        Assert.Equal([(3, 30), (4, 39)], r.Warnings.Select(w => (w.Location.Line, w.Location.Column)).ToArray());
        Assert.All(r.Warnings, w => Assert.Contains("only LOCAL is supported", w.Message));
        Assert.Contains("fallback", r.Warnings.Last().Message);
        var g = r.Config.FindTunnelGroup("RA")!;
        Assert.Equal(new AuthenticationServer("ISE"), g.AuthenticationServer);
        Assert.Equal(new AuthenticationServer("RADIUS", LocalFallback: true), g.AuthenticationServerOn("inside"));
        Assert.True(g.AuthenticationServerOn("dmz").IsLocal);
    }

    [Fact]
    public void Group_policy_checks_split_tunnel_list_and_ikev1()
    {
        var r = Load("""
            group-policy SSL internal
            group-policy SSL attributes
             vpn-tunnel-protocol ssl-client
             split-tunnel-policy tunnelspecified
            group-policy OK internal
            group-policy OK attributes
             split-tunnel-policy tunnelspecified
             split-tunnel-network-list value SPLIT
            access-list SPLIT standard permit 10.0.0.0 255.0.0.0
            """);
        Assert.Empty(r.Errors);
        Assert.Equal([3, 4], r.Warnings.Select(w => w.Location.Line).ToArray());
        Assert.Contains("713206", r.Warnings.First().Message);
        Assert.Contains("without a split-tunnel-network-list", r.Warnings.Last().Message);
    }

    // ---- Secrets ----

    [Fact]
    public void No_password_or_key_appears_in_diagnostics_tostring_or_show()
    {
        var secrets = new[] { "Us3r-Secret", "Gr0up-Secret", "Hash-Secret-Value", "Bad pass word" };
        var r = Load("""
            username alice password Us3r-Secret privilege 15
            username carol password Hash-Secret-Value pbkdf2
            username dave password Bad pass word
            username erin password Us3r-Secret Us3r-Secret
            tunnel-group RA type remote-access
            tunnel-group RA ipsec-attributes
             ikev1 pre-shared-key Gr0up-Secret
            """);
        Assert.Equal(2, r.Errors.Count());
        var everything = string.Join('\n', r.Diagnostics.Select(d => d + "\n" + d.AsaStyle() + string.Join(',', d.Expected)))
            + string.Join('\n', r.NotInterpreted) + r.Config + string.Join('\n', r.Config.Users) + RunningConfigWriter.ShowRunningConfig(r.Config);
        foreach (var s in secrets) Assert.DoesNotContain(s, everything);
        Assert.Contains("username alice password ***** pbkdf2 privilege 15", everything);
    }

    [Theory]
    [InlineData("username bob password my secret phrase", "username bob password *****")]
    [InlineData("username bob password my secret phrase privilege 15", "username bob password ***** privilege 15")]
    [InlineData("username bob password Xy12 pbkdf2 privilege 15", "username bob password ***** pbkdf2 privilege 15")]
    [InlineData("username bob nopassword privilege 3", "username bob nopassword privilege 3")]
    [InlineData("username bob password Str0ngPass mschap", "username bob password ***** mschap")]
    [InlineData("group-policy X external server-group ISE password P4ss", "group-policy X external server-group ISE password *****")]
    public void Username_passwords_are_masked_whole(string command, string expected)
    {
        Assert.Equal(expected, SecretMasker.Mask(command));
        // Kept as not interpreted (`mschap`, an external policy), the line is listed masked.
        if (Load(command).NotInterpreted is [var kept]) Assert.Equal(expected, kept.Text);
    }
}
