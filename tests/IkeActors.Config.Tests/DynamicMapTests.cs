using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Config.Model;
using IkeActors.Config.Parsing;
using IkeActors.Config.Show;

namespace IkeActors.Config.Tests;

/// <summary>
/// Dynamic crypto maps (`crypto dynamic-map`, `crypto map MAP SEQ ipsec-isakmp dynamic DYN`): parse,
/// check, print, and the responder's lookup. Expected behaviour from the Cisco ASA CLI configuration
/// guide, "Using Dynamic Crypto Maps": a dynamic entry needs only a transform set, matches peers that
/// are not identified in a static entry, is used by the responder only, and the entry referring to it
/// should be the map's lowest priority (highest sequence number).
/// </summary>
public class DynamicMapTests
{
    private const string Hub = """
        interface GigabitEthernet0/1
         nameif outside
         ip address 10.0.0.2 255.255.255.0
        access-list SPOKE1 extended permit ip 192.168.2.0 255.255.255.0 192.168.1.0 255.255.255.0
        access-list NARROW extended permit ip 192.168.2.0 255.255.255.0 172.16.0.0 255.255.0.0
        access-list WIDE extended permit ip 192.168.2.0 255.255.255.0 10.0.0.0 255.0.0.0
        crypto ipsec ikev1 transform-set AES esp-aes esp-sha-hmac
        crypto ipsec ikev1 transform-set AES256 esp-aes-256 esp-sha-hmac
        crypto ipsec ikev1 transform-set 3DES esp-3des esp-md5-hmac
        crypto dynamic-map DYN 30 set ikev1 transform-set 3DES
        crypto dynamic-map DYN 10 match address NARROW
        crypto dynamic-map DYN 10 set pfs group14
        crypto dynamic-map DYN 10 set ikev1 transform-set AES256 AES
        crypto dynamic-map DYN 10 set security-association lifetime seconds 3600
        crypto dynamic-map DYN 10 set security-association lifetime kilobytes unlimited
        crypto dynamic-map DYN 20 match address WIDE
        crypto dynamic-map DYN 20 set transform-set AES
        crypto dynamic-map DYN 20 set pfs
        crypto dynamic-map DYN 20 set reverse-route
        crypto map MAP 10 match address SPOKE1
        crypto map MAP 10 set peer 198.51.100.1
        crypto map MAP 10 set ikev1 transform-set AES
        crypto map MAP 65535 ipsec-isakmp dynamic DYN
        crypto map MAP interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption aes
         hash sha
         group 2
        tunnel-group 198.51.100.1 type ipsec-l2l
        tunnel-group 198.51.100.1 ipsec-attributes
         ikev1 pre-shared-key spoke1-key
        tunnel-group DefaultL2LGroup type ipsec-l2l
        tunnel-group DefaultL2LGroup ipsec-attributes
         ikev1 pre-shared-key any-spoke-key
        """;

    private static readonly ConfigLoadResult Loaded = AsaConfigLoader.Load(Hub, "hub.cfg");
    private static readonly CryptoMapLookup Lookup = new(Loaded.Config);
    private static IPAddress Ip(string s) => IPAddress.Parse(s);
    private static readonly ProxyId HubLan = ProxyId.Subnet("192.168.2.0 255.255.255.0");

    [Fact]
    public void The_dynamic_map_is_read_into_entries_sorted_by_sequence_with_their_settings()
    {
        TestFiles.AssertValid(Loaded);
        Assert.Empty(Loaded.NotInterpreted);
        var dyn = Loaded.Config.FindDynamicMap("DYN")!;
        Assert.Equal([10, 20, 30], dyn.Entries.Select(e => e.Sequence));
        var e10 = dyn.Entry(10)!;
        Assert.Equal("NARROW", e10.MatchAddress);
        Assert.Equal(14, e10.PfsGroup);
        Assert.Equal(["AES256", "AES"], e10.TransformSets);
        Assert.Equal(3600, e10.LifetimeSeconds);
        Assert.True(e10.LifetimeKilobytesUnlimited);
        var e20 = dyn.Entry(20)!;
        Assert.Equal(["AES"], e20.TransformSets);  // the 8.x spelling `set transform-set`
        Assert.Equal(2, e20.PfsGroup);             // `set pfs` alone is group 2 (ASA command reference)
        Assert.True(e20.ReverseRoute);
        Assert.Null(dyn.Entry(30)!.MatchAddress);
        var reference = Loaded.Config.FindCryptoMap("MAP")!.Entry(65535)!;
        Assert.Equal("DYN", reference.DynamicMap);
        Assert.False(reference.IsComplete);
    }

    [Fact]
    public void Show_prints_the_dynamic_map_before_the_crypto_map_and_reads_back_to_the_same_model()
    {
        var shown = RunningConfigWriter.ShowCrypto(Loaded.Config);
        var lines = shown.Split('\n');
        var firstDynamic = Array.FindIndex(lines, l => l.StartsWith("crypto dynamic-map ", StringComparison.Ordinal));
        var firstMap = Array.FindIndex(lines, l => l.StartsWith("crypto map ", StringComparison.Ordinal));
        Assert.InRange(firstDynamic, 0, firstMap - 1);
        Assert.Contains("crypto map MAP 65535 ipsec-isakmp dynamic DYN", lines);
        Assert.Contains("crypto dynamic-map DYN 20 set ikev1 transform-set AES", lines); // 9.x spelling on output
        Assert.Contains("crypto dynamic-map DYN 10 set pfs group14", lines);
        Assert.Contains("crypto dynamic-map DYN 20 set pfs", lines);
        Assert.Contains("crypto dynamic-map DYN 10 set security-association lifetime kilobytes unlimited", lines);

        var again = AsaConfigLoader.Load(RunningConfigWriter.ShowRunningConfig(Loaded.Config, ShowOptions.Revealed), "again.cfg");
        TestFiles.AssertValid(again);
        Assert.Equal(Loaded.Config.DynamicMaps, again.Config.DynamicMaps);
        Assert.Equal(Loaded.Config.CryptoMaps, again.Config.CryptoMaps);
        Assert.Equal(Loaded.Config, again.Config);
    }

    [Fact]
    public void A_listed_peer_whose_proxies_fit_its_static_entry_gets_the_static_entry()
    {
        var check = Lookup.StaticCryptoMapCheck(Ip("198.51.100.1"), HubLan, ProxyId.Subnet("192.168.1.0 255.255.255.0"));
        Assert.Equal(("MAP", 10), (check.Match!.Map.Name, check.Match.Entry.Sequence));
        Assert.Null(check.Match.Dynamic);
        Assert.Equal("MAP", check.Match.Tag);
    }

    [Fact]
    public void An_unknown_peer_lands_on_the_first_dynamic_entry_whose_acl_covers_its_proxies()
    {
        var check = Lookup.StaticCryptoMapCheck(Ip("203.0.113.7"), HubLan, ProxyId.Subnet("172.16.5.0 255.255.255.0"));
        var m = check.Match!;
        Assert.Equal("DYN", m.Dynamic!.Name);
        Assert.Equal(("DYN", 10), (m.Tag, m.Entry.Sequence));
        Assert.Equal("MAP", m.Map.Name);
        Assert.Equal("NARROW", m.AccessList!.Name);
        Assert.Equal(14, m.Entry.PfsGroup);
        Assert.Equal(["AES256", "AES"], Loaded.Config.TransformSetsOf(m.Entry).Select(t => t.Name));
        Assert.Equal(new IpsecSaLifetime(3600, null), m.Entry.EffectiveLifetime(Loaded.Config.GlobalSaLifetime));
        Assert.Equal(
            [MapCheckOutcome.NotMatched, MapCheckOutcome.DynamicReference, MapCheckOutcome.DynamicMatched],
            check.Steps.Select(s => s.Outcome));
    }

    [Fact]
    public void Dynamic_entries_are_tried_in_sequence_and_the_one_without_match_address_takes_any_proxies()
    {
        // 10.9.0.0/16 is outside NARROW (entry 10) and inside WIDE (entry 20).
        var wide = Lookup.MatchProxy(Ip("203.0.113.7"), HubLan, ProxyId.Subnet("10.9.0.0 255.255.0.0"))!;
        Assert.Equal(20, wide.Entry.Sequence);
        // 100.64.0.0/10 is in no ACL: entry 30 has no match address and accepts it, with no ACL line.
        var any = Lookup.MatchProxy(Ip("203.0.113.7"), ProxyId.Subnet("0.0.0.0 0.0.0.0"), ProxyId.Subnet("100.64.0.0 255.192.0.0"))!;
        Assert.Equal(30, any.Entry.Sequence);
        Assert.Null(any.AccessList);
        Assert.Null(any.Ace);
        Assert.Equal(["3DES"], any.Entry.TransformSets);
    }

    [Fact]
    public void A_dynamic_entry_with_an_acl_narrows_what_it_accepts()
    {
        var config = AsaConfigLoader.Load("""
            access-list NARROW extended permit ip 192.168.2.0 255.255.255.0 172.16.0.0 255.255.0.0
            crypto ipsec ikev1 transform-set AES esp-aes esp-sha-hmac
            crypto dynamic-map DYN 10 match address NARROW
            crypto dynamic-map DYN 10 set ikev1 transform-set AES
            crypto map MAP 65535 ipsec-isakmp dynamic DYN
            crypto map MAP interface outside
            """).Config;
        var lookup = new CryptoMapLookup(config);
        Assert.NotNull(lookup.MatchProxy(Ip("203.0.113.7"), HubLan, ProxyId.Subnet("172.16.1.0 255.255.255.0")));
        // Wider than the ACL, the wrong local side, or a host outside: refused.
        Assert.Null(lookup.MatchProxy(Ip("203.0.113.7"), HubLan, ProxyId.Subnet("172.0.0.0 255.0.0.0")));
        Assert.Null(lookup.MatchProxy(Ip("203.0.113.7"), ProxyId.Subnet("192.168.3.0 255.255.255.0"), ProxyId.Subnet("172.16.1.0 255.255.255.0")));
        var refused = lookup.StaticCryptoMapCheck(Ip("203.0.113.7"), HubLan, ProxyId.Host(Ip("10.1.1.1")));
        Assert.Null(refused.Match);
        Assert.Equal([MapCheckOutcome.DynamicReference, MapCheckOutcome.DynamicNotMatched], refused.Steps.Select(s => s.Outcome));
    }

    [Fact]
    public void A_peer_listed_in_an_earlier_static_entry_does_not_fall_through_to_the_dynamic_map()
    {
        // 198.51.100.1 is entry 10's peer; its proxies miss SPOKE1 but would fit DYN 30 (any):
        // the ASA skips the dynamic map ("cannot match peerless map when peer found in previous map entry").
        var check = Lookup.StaticCryptoMapCheck(Ip("198.51.100.1"), HubLan, ProxyId.Subnet("172.16.5.0 255.255.255.0"));
        Assert.Null(check.Match);
        Assert.Equal([10, 20, 30], check.Steps.Where(s => s.Outcome == MapCheckOutcome.DynamicSkipped).Select(s => s.Sequence));
    }

    [Fact]
    public void The_initiator_never_uses_a_dynamic_entry()
    {
        Assert.Null(Lookup.MatchOutbound(new Packet(Ip("192.168.2.5"), Ip("172.16.1.1"), 1)));
        Assert.Equal(10, Lookup.MatchOutbound(new Packet(Ip("192.168.2.5"), Ip("192.168.1.1"), 1))!.Entry.Sequence);
    }

    [Fact]
    public void A_peer_without_its_own_tunnel_group_uses_DefaultL2LGroup_and_its_key()
    {
        var config = Loaded.Config;
        Assert.Equal("DefaultL2LGroup", config.TunnelGroupForPeer(Ip("203.0.113.7"))!.Name);
        Assert.Equal(new PreSharedKey("any-spoke-key"), config.PreSharedKeyForPeer(Ip("203.0.113.7")));
        Assert.Equal("198.51.100.1", config.TunnelGroupForPeer(Ip("198.51.100.1"))!.Name);
        Assert.Equal(new PreSharedKey("spoke1-key"), config.PreSharedKeyForPeer(Ip("198.51.100.1")));
    }

    [Fact]
    public void The_samples_are_valid_hubs()
    {
        foreach (var name in new[] { "hub.cfg", "hub-modern.cfg" })
        {
            var r = AsaConfigLoader.LoadFile(Path.Combine(TestFiles.RepoRoot, "samples", "Hub", name));
            TestFiles.AssertValid(r);
            Assert.Empty(r.NotInterpreted);
            var reference = r.Config.FindCryptoMap("MAP")!.Entry(65535)!;
            Assert.Equal("DYN", reference.DynamicMap);
            Assert.Null(r.Config.FindDynamicMap("DYN")!.Entry(10)!.MatchAddress);
            Assert.NotNull(r.Config.PreSharedKeyForPeer(Ip("192.0.2.200")));
        }
        var modern = AsaConfigLoader.LoadFile(Path.Combine(TestFiles.RepoRoot, "samples", "Hub", "hub-modern.cfg")).Config;
        Assert.Equal(14, modern.FindDynamicMap("DYN")!.Entry(10)!.PfsGroup);
        Assert.Equal(14, modern.IsakmpPolicies[0].Group);
    }

    // ---- config check

    private static List<ConfigDiagnostic> Diagnostics(string text) => AsaConfigLoader.Load(text, "t.cfg").Diagnostics.ToList();

    [Fact]
    public void A_crypto_map_that_refers_to_an_undefined_dynamic_map_is_warned_about()
    {
        var d = Diagnostics("""
            crypto map MAP 65535 ipsec-isakmp dynamic NOPE
            crypto map MAP interface outside
            """);
        var e = Assert.Single(d, x => x.Severity == DiagnosticSeverity.Warning && x.Message.Contains("dynamic map 'NOPE' is not defined", StringComparison.Ordinal));
        Assert.Equal((1, 43), (e.Location.Line, e.Location.Column));
    }

    [Fact]
    public void Missing_transform_sets_and_acls_of_a_dynamic_entry_are_errors()
    {
        var d = Diagnostics("""
            crypto dynamic-map DYN 10 match address GHOST
            crypto dynamic-map DYN 10 set ikev1 transform-set NOSUCH
            crypto map MAP 65535 ipsec-isakmp dynamic DYN
            """);
        Assert.Contains(d, x => x.Severity == DiagnosticSeverity.Error && x.Message.StartsWith("access-list 'GHOST' does not exist (crypto dynamic-map DYN 10 match address)", StringComparison.Ordinal));
        Assert.Contains(d, x => x.Severity == DiagnosticSeverity.Error && x.Message.StartsWith("transform-set 'NOSUCH' does not exist (crypto dynamic-map DYN 10 set transform-set)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_dynamic_entry_without_a_transform_set_is_incomplete()
    {
        var d = Diagnostics("""
            crypto dynamic-map DYN 10 set reverse-route
            crypto map MAP 65535 ipsec-isakmp dynamic DYN
            """);
        var w = Assert.Single(d, x => x.Message.Contains("incomplete", StringComparison.Ordinal));
        Assert.Equal(DiagnosticSeverity.Warning, w.Severity);
        Assert.Equal("crypto dynamic-map DYN 10 is incomplete (no set ikev1 transform-set): it is never used", w.Message);
        Assert.Equal(1, w.Location.Line);
    }

    [Fact]
    public void A_static_entry_after_the_dynamic_one_is_warned_about()
    {
        var d = Diagnostics("""
            access-list A extended permit ip any any
            crypto ipsec ikev1 transform-set T esp-aes esp-sha-hmac
            crypto dynamic-map DYN 10 set ikev1 transform-set T
            crypto map MAP 10 ipsec-isakmp dynamic DYN
            crypto map MAP 20 match address A
            crypto map MAP 20 set peer 192.0.2.1
            crypto map MAP 20 set ikev1 transform-set T
            tunnel-group 192.0.2.1 type ipsec-l2l
            tunnel-group 192.0.2.1 ipsec-attributes
             ikev1 pre-shared-key k
            """);
        var w = Assert.Single(d, x => x.Message.Contains("dynamic map entry", StringComparison.Ordinal));
        Assert.Equal(DiagnosticSeverity.Warning, w.Severity);
        Assert.StartsWith("crypto map MAP 20 comes after the dynamic map entry MAP 10", w.Message);
        Assert.Equal(5, w.Location.Line);
    }

    [Fact]
    public void Set_peer_on_a_dynamic_map_is_accepted_as_the_ASA_does_but_warned_as_ignored()
    {
        var d = Diagnostics("""
            crypto ipsec ikev1 transform-set T esp-aes esp-sha-hmac
            crypto dynamic-map DYN 10 set ikev1 transform-set T
            crypto dynamic-map DYN 10 set peer 192.0.2.1
            crypto map MAP 65535 ipsec-isakmp dynamic DYN
            """);
        Assert.DoesNotContain(d, x => x.Severity == DiagnosticSeverity.Error);
        var w = Assert.Single(d, x => x.Message.Contains("set peer", StringComparison.Ordinal));
        Assert.Equal(3, w.Location.Line);
        Assert.Contains("ignored", w.Message);
    }

    [Fact]
    public void A_dynamic_map_no_crypto_map_refers_to_is_warned_about()
    {
        var d = Diagnostics("""
            crypto ipsec ikev1 transform-set T esp-aes esp-sha-hmac
            crypto dynamic-map LONELY 10 set ikev1 transform-set T
            """);
        Assert.Single(d, x => x.Severity == DiagnosticSeverity.Warning && x.Message.StartsWith("crypto dynamic-map LONELY is not used by any crypto map", StringComparison.Ordinal));
    }

    // ---- hostile variants: each one diagnostic with the ASA's words, never an exception

    [Theory]
    [InlineData("crypto dynamic-map", "Incomplete")]
    [InlineData("crypto dynamic-map DYN", "Incomplete")]
    [InlineData("crypto dynamic-map DYN 0 set ikev1 transform-set T", "1-65535")]
    [InlineData("crypto dynamic-map DYN 65536 set ikev1 transform-set T", "1-65535")]
    [InlineData("crypto dynamic-map DYN -1 set ikev1 transform-set T", "sequence number")]
    [InlineData("crypto dynamic-map DYN ten set ikev1 transform-set T", "sequence number")]
    [InlineData("crypto dynamic-map DYN 10", "Incomplete")]
    [InlineData("crypto dynamic-map DYN 10 set", "Incomplete")]
    [InlineData("crypto dynamic-map DYN 10 set ikev1 transform-set", "Incomplete")]
    [InlineData("crypto dynamic-map DYN 10 set ikev1 transform-set T T", "listed twice")]
    [InlineData("crypto dynamic-map DYN 10 set pfs group3", "group")]
    [InlineData("crypto dynamic-map DYN 10 set security-association lifetime seconds 10", "lifetime seconds")]
    [InlineData("crypto dynamic-map DYN 10 match", "Incomplete")]
    [InlineData("crypto dynamic-map DYN 10 match address", "Incomplete")]
    [InlineData("crypto dynamic-map DYN 10 interface outside", "match")]
    [InlineData("crypto map MAP 10 ipsec-isakmp", "Incomplete")]
    [InlineData("crypto map MAP 10 ipsec-isakmp dynamic", "Incomplete")]
    [InlineData("crypto map MAP 10 ipsec-isakmp static DYN", "dynamic")]
    [InlineData("crypto map MAP 10 ipsec-isakmp dynamic DYN extra", "")]
    [InlineData("crypto map MAP 0 ipsec-isakmp dynamic DYN", "1-65535")]
    public void Malformed_dynamic_map_commands_are_one_error_each(string line, string expected)
    {
        var r = AsaConfigLoader.Load(line, "bad.cfg");
        var e = Assert.Single(r.Errors, x => x.Kind != DiagnosticKind.Semantic);
        Assert.Equal(1, e.Location.Line);
        Assert.Contains(expected, e.Message + " " + e.AsaStyle() + " " + string.Join(' ', e.Expected), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(r.Config.DynamicMaps.SelectMany(m => m.Entries), x => x.TransformSets.Count > 0);
    }

    [Fact]
    public void A_dynamic_reference_and_match_or_set_on_the_same_entry_conflict()
    {
        var r = AsaConfigLoader.Load("""
            crypto map MAP 10 ipsec-isakmp dynamic DYN
            crypto map MAP 10 set peer 192.0.2.1
            crypto map MAP 20 match address A
            crypto map MAP 20 ipsec-isakmp dynamic DYN
            """, "conflict.cfg");
        var errors = r.Errors.Where(e => e.Kind != DiagnosticKind.Semantic).ToList();
        Assert.Equal([2, 4], errors.Select(e => e.Location.Line));
        Assert.Equal("DYN", r.Config.FindCryptoMap("MAP")!.Entry(10)!.DynamicMap);
        Assert.Empty(r.Config.FindCryptoMap("MAP")!.Entry(10)!.Peers);
        Assert.Null(r.Config.FindCryptoMap("MAP")!.Entry(20)!.DynamicMap);
    }
}
