using IkeActors.Config.Parsing;

namespace IkeActors.Config.Tests;

/// <summary>
/// Each class of mistake, with the line, column and message it must give.
/// Columns are 1-based and point at the first character of the offending word.
/// </summary>
public class ErrorTests
{
    /// <summary>A complete, valid VPN configuration to break one line at a time.</summary>
    private const string Good = """
        interface GigabitEthernet0/1
         nameif outside
         security-level 0
         ip address 10.0.0.1 255.255.255.0
        access-list VPN extended permit ip 192.168.1.0 255.255.255.0 192.168.2.0 255.255.255.0
        crypto ipsec ikev1 transform-set TRANSFORM esp-aes esp-sha-hmac
        crypto map MAP 10 match address VPN
        crypto map MAP 10 set peer 10.0.0.2
        crypto map MAP 10 set ikev1 transform-set TRANSFORM
        crypto map MAP interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption aes
         hash sha
         group 2
        tunnel-group 10.0.0.2 type ipsec-l2l
        tunnel-group 10.0.0.2 ipsec-attributes
         ikev1 pre-shared-key s3cret
        """;

    private static ConfigLoadResult LoadReplacing(string oldLine, string newLine)
    {
        Assert.Contains(oldLine, Good);
        return AsaConfigLoader.Load(Good.Replace(oldLine, newLine, StringComparison.Ordinal), "test.cfg");
    }

    private static ConfigDiagnostic SingleError(ConfigLoadResult r) =>
        Assert.Single(r.Errors.ToList());

    [Fact]
    public void The_base_configuration_is_valid()
    {
        var r = AsaConfigLoader.Load(Good, "test.cfg");
        TestFiles.AssertValid(r);
        Assert.Empty(r.Warnings);
    }

    [Fact]
    public void Misspelt_keyword_is_invalid_input_with_the_caret_under_it()
    {
        var r = LoadReplacing("crypto map MAP 10 set peer 10.0.0.2", "crypto map MAP 10 set peeer 10.0.0.2");
        var e = SingleError(r);
        Assert.Equal(DiagnosticKind.InvalidInput, e.Kind);
        Assert.Equal(new Model.SourceLocation("test.cfg", 8, 23), e.Location);
        Assert.Contains("found 'peeer'", e.Message);
        Assert.Contains("peer", e.Expected);
        Assert.Equal("test.cfg:8:23: error: " + e.Message, e.ToString());
        Assert.Equal(
            "crypto map MAP 10 set peeer 10.0.0.2\n" +
            new string(' ', 22) + "^\n" +
            "ERROR: % Invalid input detected at '^' marker.", e.AsaStyle());
    }

    [Fact]
    public void Truncated_command_is_incomplete()
    {
        var r = LoadReplacing("crypto map MAP 10 set peer 10.0.0.2", "crypto map MAP 10 set");
        var e = SingleError(r.WithoutSemantic());
        Assert.Equal(DiagnosticKind.IncompleteCommand, e.Kind);
        Assert.Equal(8, e.Location.Line);
        Assert.Equal(23, e.Location.Column);
        Assert.EndsWith("ERROR: % Incomplete command", e.AsaStyle());
    }

    [Fact]
    public void Bad_ip_address_points_at_the_address()
    {
        var r = LoadReplacing("set peer 10.0.0.2", "set peer 10.0.0.256");
        var e = r.Errors.First();
        Assert.Equal((8, 28), (e.Location.Line, e.Location.Column));
        Assert.Contains("expected peer IP address (A.B.C.D), found '10.0.0.256'", e.Message);
    }

    [Fact]
    public void Numbers_out_of_range_and_huge_numbers_are_errors_not_overflows()
    {
        var r = LoadReplacing("crypto ikev1 policy 10", "crypto ikev1 policy 99999999999999999999999999");
        var e = SingleError(r.WithoutSemantic());
        Assert.Equal((12, 21), (e.Location.Line, e.Location.Column));
        Assert.Contains("out of range 1-65535", e.Message);

        r = LoadReplacing("crypto map MAP 10 set peer", "crypto map MAP 70000 set peer");
        e = SingleError(r.WithoutSemantic());
        Assert.Equal((8, 16), (e.Location.Line, e.Location.Column));
        Assert.Equal("sequence number 70000 is out of range 1-65535", e.Message);

        r = LoadReplacing(" group 2", " lifetime 60");
        e = SingleError(r);
        Assert.Equal((16, 11), (e.Location.Line, e.Location.Column));
        Assert.Equal("lifetime seconds 60 is out of range 120-2147483647", e.Message);
    }

    [Fact]
    public void Non_contiguous_mask_and_host_bits_are_rejected()
    {
        var r = LoadReplacing("permit ip 192.168.1.0 255.255.255.0", "permit ip 192.168.1.0 255.0.255.0");
        var e = r.Errors.First();
        Assert.Equal((5, 48), (e.Location.Line, e.Location.Column));
        Assert.Contains("not a valid network mask", e.Message);

        r = LoadReplacing("permit ip 192.168.1.0 255.255.255.0", "permit ip 192.168.1.7 255.255.255.0");
        e = r.Errors.First();
        Assert.Equal((5, 36), (e.Location.Line, e.Location.Column));
        Assert.Contains("host bits set", e.Message);
    }

    [Fact]
    public void Unknown_transform_lists_the_valid_ones()
    {
        var r = LoadReplacing("esp-aes esp-sha-hmac", "esp-aes-512 esp-sha-hmac");
        var e = r.Errors.First();
        Assert.Equal((6, 44), (e.Location.Line, e.Location.Column));
        Assert.Contains("esp-aes-256", e.Expected);
        Assert.Contains("esp-sha-hmac", e.Expected);
    }

    [Fact]
    public void Trailing_garbage_is_invalid_input_at_the_first_extra_word()
    {
        var r = LoadReplacing("crypto ikev1 enable outside", "crypto ikev1 enable outside now");
        var e = SingleError(r.WithoutSemantic());
        Assert.Equal((11, 29), (e.Location.Line, e.Location.Column));
        Assert.Contains("expected end of command", e.Message);
        // The rejected command enables nothing, and the check that follows says so.
        Assert.Contains(r.Errors, x => x.Location.Line == 10 && x.Message.Contains("ISAKMP is not enabled", StringComparison.Ordinal));
    }

    [Fact]
    public void Crypto_map_referencing_a_missing_acl_is_an_error_at_the_name()
    {
        var r = LoadReplacing("match address VPN", "match address VPN-TYPO");
        var e = SingleError(r);
        Assert.Equal(DiagnosticKind.Semantic, e.Kind);
        Assert.Equal((7, 33), (e.Location.Line, e.Location.Column));
        Assert.Equal("access-list 'VPN-TYPO' does not exist (crypto map MAP 10 match address)", e.Message);
        Assert.Equal(
            "crypto map MAP 10 match address VPN-TYPO\n" +
            new string(' ', 32) + "^\n" +
            "ERROR: access-list 'VPN-TYPO' does not exist (crypto map MAP 10 match address)", e.AsaStyle());
    }

    [Fact]
    public void Crypto_map_referencing_a_missing_transform_set_is_an_error()
    {
        var r = LoadReplacing("set ikev1 transform-set TRANSFORM", "set ikev1 transform-set TRANSFORM MISSING");
        var e = SingleError(r);
        Assert.Equal((9, 53), (e.Location.Line, e.Location.Column));
        Assert.StartsWith("transform-set 'MISSING' does not exist", e.Message);
    }

    [Fact]
    public void Peer_without_a_tunnel_group_is_an_error()
    {
        var r = LoadReplacing("set peer 10.0.0.2", "set peer 10.0.0.2 10.0.0.3");
        var e = SingleError(r);
        Assert.Equal((8, 37), (e.Location.Line, e.Location.Column));
        Assert.StartsWith("peer 10.0.0.3 has no tunnel-group", e.Message);
    }

    [Fact]
    public void Peer_without_a_pre_shared_key_is_an_error()
    {
        var r = LoadReplacing(" ikev1 pre-shared-key s3cret", " isakmp keepalive threshold 30 retry 5");
        var e = SingleError(r);
        Assert.Equal((8, 28), (e.Location.Line, e.Location.Column));
        Assert.Equal("peer 10.0.0.2 has no pre-shared key: tunnel-group 10.0.0.2 ipsec-attributes has no `ikev1 pre-shared-key`", e.Message);
    }

    [Fact]
    public void DefaultL2LGroup_key_covers_a_peer_without_its_own_group()
    {
        var r = AsaConfigLoader.Load(Good.Replace("set peer 10.0.0.2", "set peer 10.0.0.2 10.0.0.3", StringComparison.Ordinal)
            + "\ntunnel-group DefaultL2LGroup ipsec-attributes\n ikev1 pre-shared-key fallback\n", "test.cfg");
        TestFiles.AssertValid(r);
    }

    [Theory]
    [InlineData(" authentication pre-share", " authentication rsa-sig", 13, 17, "authentication rsa-sig is not supported")]
    [InlineData(" group 2", " group 24", 16, 8, "Diffie-Hellman group 24 is not supported")]
    public void Unsupported_isakmp_policy_is_an_error_at_the_offending_value(string oldLine, string newLine, int line, int column, string message)
    {
        var r = LoadReplacing(oldLine, newLine);
        var e = SingleError(r);
        Assert.Equal((line, column), (e.Location.Line, e.Location.Column));
        Assert.Contains(message, e.Message);
        Assert.StartsWith("ISAKMP policy 10:", e.Message);
    }

    /// <summary>
    /// sha256-512 and groups 19-21 are accepted for `crypto ikev1 policy`: strongSwan and Libreswan
    /// negotiate them in IKEv1 (RFC 4868, RFC 5903), a real ASA only in IKEv2: a warning, not an error.
    /// </summary>
    [Theory]
    [InlineData(" hash sha", " hash sha256", 15, 7, "hash sha256 is accepted here, but a Cisco ASA offers SHA-2 for IKEv2 only")]
    [InlineData(" group 2", " group 19", 16, 8, "Diffie-Hellman group 19 is accepted here, but a Cisco ASA offers it for IKEv2 only")]
    public void Ikev2_only_asa_algorithms_are_a_warning_in_an_ikev1_policy(string oldLine, string newLine, int line, int column, string message)
    {
        var r = LoadReplacing(oldLine, newLine);
        Assert.True(r.IsValid, string.Join("\n", r.Errors));
        var w = Assert.Single(r.Warnings, w => w.Message.Contains(message, StringComparison.Ordinal));
        Assert.Equal((line, column), (w.Location.Line, w.Location.Column));
    }

    /// <summary>
    /// AES-GCM (RFC 4106) in an IKEv1 transform set: accepted with a warning (strongSwan and Libreswan negotiate it in
    /// Quick Mode, an ASA only in IKEv2 proposals), and never with a separate integrity transform (RFC 4106 §8.1).
    /// </summary>
    [Theory]
    [InlineData("esp-aes-gcm")]
    [InlineData("esp-aes-192-gcm")]
    [InlineData("esp-aes-256-gcm esp-none")]
    public void Aes_gcm_in_an_ikev1_transform_set_is_a_warning(string transforms)
    {
        var r = LoadReplacing("transform-set TRANSFORM esp-aes esp-sha-hmac", "transform-set TRANSFORM " + transforms);
        Assert.True(r.IsValid, string.Join("\n", r.Errors));
        var w = Assert.Single(r.Warnings, w => w.Message.Contains("a Cisco ASA offers AES-GCM in IKEv2 proposals only", StringComparison.Ordinal));
        Assert.Equal((6, 44), (w.Location.Line, w.Location.Column));
        Assert.StartsWith($"transform-set TRANSFORM: {transforms.Split(' ')[0]} is accepted here", w.Message);
        Assert.Equal(transforms.Split(' ')[0], r.Config.TransformSets.Single().TransformText);
    }

    [Fact]
    public void Aes_gcm_with_an_integrity_transform_is_an_error()
    {
        var r = LoadReplacing("transform-set TRANSFORM esp-aes esp-sha-hmac", "transform-set TRANSFORM esp-aes-gcm esp-sha-hmac");
        var e = r.Errors.First(); // (then the crypto map's reference to the set it did not define)
        Assert.Equal((6, 44), (e.Location.Line, e.Location.Column));
        Assert.Contains("esp-aes-gcm authenticates by itself: no integrity transform with it", e.Message);
    }

    [Fact]
    public void Crypto_map_on_an_interface_without_isakmp_enable_is_an_error()
    {
        var r = LoadReplacing("crypto ikev1 enable outside\n", "");
        var e = SingleError(r);
        Assert.Equal((10, 26), (e.Location.Line, e.Location.Column));
        Assert.Equal("crypto map MAP is applied to interface outside but ISAKMP is not enabled there (`crypto ikev1 enable outside`)", e.Message);
    }

    [Fact]
    public void Crypto_map_on_an_unknown_interface_is_an_error()
    {
        var r = LoadReplacing("crypto map MAP interface outside", "crypto map MAP interface outsde");
        var e = r.Errors.First();
        Assert.Equal((10, 26), (e.Location.Line, e.Location.Column));
        Assert.StartsWith("interface 'outsde' does not exist", e.Message);
    }

    [Fact]
    public void Nat_naming_an_unknown_interface_points_inside_the_parentheses()
    {
        var r = AsaConfigLoader.Load(Good + "\nobject network L\n subnet 10.0.0.0 255.0.0.0\nnat (inisde,outside) source static L L\n", "nat.cfg");
        var e = Assert.Single(r.Errors);
        Assert.Equal((22, 6), (e.Location.Line, e.Location.Column));
        Assert.StartsWith("interface 'inisde' does not exist", e.Message);
    }

    [Fact]
    public void Tunnel_group_attributes_before_its_type_is_an_error()
    {
        var r = LoadReplacing("tunnel-group 10.0.0.2 type ipsec-l2l\n", "");
        var e = r.Errors.Single(x => x.Location.Line == 17);
        Assert.Equal((17, 14), (e.Location.Line, e.Location.Column));
        Assert.Contains("has no type", e.Message);
    }

    [Fact]
    public void Missing_objects_and_groups_are_errors()
    {
        var text = """
            object network LAN
             subnet 10.1.0.0 255.255.0.0
            object-group network REMOTES
             network-object object NOPE
             group-object ALSO-NOPE
            access-list A extended permit ip object LAN object REMOTE
            access-list A extended permit ip object-group LAN any
            nat (inside,outside) source static LAN LAN destination static GHOST GHOST
            """;
        var r = AsaConfigLoader.Load(text, "objects.cfg");
        var errors = r.Errors.Select(e => (e.Location.Line, e.Location.Column, e.Message)).ToList();
        Assert.Equal(
        [
            (4, 24, "network object 'NOPE' does not exist (network-object object)"),
            (5, 15, "object-group 'ALSO-NOPE' does not exist (group-object)"),
            (6, 52, "network object 'REMOTE' does not exist (access-list)"),
            (7, 47, "'LAN' is an object, not an object-group: write `object LAN` (access-list)"),
            (8, 63, "network object or object-group 'GHOST' does not exist (nat)"),
            (8, 69, "network object or object-group 'GHOST' does not exist (nat)"),
        ], errors);
    }

    [Fact]
    public void All_errors_of_a_file_are_reported_at_once_in_line_order()
    {
        var text = Good
            .Replace("security-level 0", "security-level 101", StringComparison.Ordinal)
            .Replace("match address VPN", "match address NOPE", StringComparison.Ordinal)
            .Replace(" hash sha", " hash sha1", StringComparison.Ordinal)
            .Replace("tunnel-group 10.0.0.2 type ipsec-l2l", "tunnel-group 10.0.0.2 type l2l", StringComparison.Ordinal);
        var r = AsaConfigLoader.Load(text, "many.cfg");
        Assert.Equal([3, 7, 8, 15, 17, 18], r.Errors.Select(e => e.Location.Line).ToArray());
    }

    [Fact]
    public void Sub_commands_of_a_rejected_block_header_are_skipped_not_reported()
    {
        var r = AsaConfigLoader.Load("crypto ikev1 policy 0\n authentication pre-share\n hash bogus\nhostname ok\n", "hdr.cfg");
        var e = Assert.Single(r.Errors);
        Assert.Equal((1, 21), (e.Location.Line, e.Location.Column));
        Assert.Empty(r.NotInterpreted);
        Assert.Empty(r.Config.IsakmpPolicies);
        Assert.Equal("ok", r.Config.Hostname);
    }

    [Fact]
    public void Masked_key_copied_from_show_output_is_a_warning()
    {
        var r = LoadReplacing("pre-shared-key s3cret", "pre-shared-key *****");
        TestFiles.AssertValid(r);
        var w = Assert.Single(r.Warnings);
        Assert.Equal((19, 23), (w.Location.Line, w.Location.Column));
        Assert.Contains("more system:running-config", w.Message);
    }

    [Fact]
    public void Vpn_traffic_caught_by_dynamic_pat_before_an_exemption_is_a_warning()
    {
        const string objects = "\ninterface GigabitEthernet0/0\n nameif inside\n security-level 100\n ip address 192.168.1.1 255.255.255.0\nobject network LOCAL\n subnet 192.168.1.0 255.255.255.0\nobject network REMOTE\n subnet 192.168.2.0 255.255.255.0\n";
        const string pat = "nat (inside,outside) source dynamic any interface\n";
        const string exemption = "nat (inside,outside) source static LOCAL LOCAL destination static REMOTE REMOTE no-proxy-arp route-lookup\n";

        // PAT only: the crypto ACL never sees the original addresses.
        var r = AsaConfigLoader.Load(Good + objects + pat, "pat.cfg");
        TestFiles.AssertValid(r);
        var w = Assert.Single(r.Warnings);
        Assert.Equal((7, 16), (w.Location.Line, w.Location.Column));
        Assert.Equal("traffic of crypto map MAP 10 (192.168.1.0-192.168.1.255 to 192.168.2.0-192.168.2.255) is translated by " +
            "`nat (inside,outside) source dynamic any interface` before any NAT exemption: after translation it no longer matches access-list VPN", w.Message);

        // Exemption first (as in the seed): fine. PAT in the after-auto section: fine too.
        Assert.Empty(AsaConfigLoader.Load(Good + objects + exemption + pat, "ok.cfg").Warnings);
        Assert.Empty(AsaConfigLoader.Load(Good + objects + "nat (inside,outside) after-auto source dynamic any interface\n" + exemption, "ok2.cfg").Warnings);
        // Exemption after the PAT rule in the manual section: too late.
        Assert.Single(AsaConfigLoader.Load(Good + objects + pat + exemption, "late.cfg").Warnings);
    }

    [Fact]
    public void Incomplete_crypto_map_entry_is_a_warning()
    {
        var r = AsaConfigLoader.Load(Good + "\ncrypto map MAP 20 match address VPN\n", "test.cfg");
        TestFiles.AssertValid(r);
        var w = Assert.Single(r.Warnings);
        Assert.Equal(20, w.Location.Line);
        Assert.Equal("crypto map MAP 20 is incomplete (no set peer, no set ikev1 transform-set): it is never used", w.Message);
    }
}

internal static class ResultExtensions
{
    public static ConfigLoadResult WithoutSemantic(this ConfigLoadResult r) => new()
    {
        File = r.File,
        Config = r.Config,
        Diagnostics = r.Diagnostics.Where(d => d.Kind != DiagnosticKind.Semantic).ToList(),
        NotInterpreted = r.NotInterpreted,
    };
}
