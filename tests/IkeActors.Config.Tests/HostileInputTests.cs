using CsCheck;
using IkeActors.Config.Parsing;

namespace IkeActors.Config.Tests;

/// <summary>Malformed and hostile input: clear errors or "not interpreted", never an exception.</summary>
public class HostileInputTests
{
    [Theory]
    [InlineData("")]
    [InlineData("\n\n\r\n")]
    [InlineData("!\n: Saved\n:end\n")]
    [InlineData("hostname a\nend\n")]
    [InlineData("\uFEFFhostname asa\n")]
    public void Empty_and_comment_only_files_load_empty(string text)
    {
        var r = AsaConfigLoader.Load(text, "empty.cfg");
        TestFiles.AssertValid(r);
        Assert.Empty(r.Config.CryptoMaps);
        Assert.Empty(r.NotInterpreted);
    }

    [Fact]
    public void Crlf_line_endings_and_tabs_are_accepted()
    {
        var text = "crypto ipsec ikev1 transform-set T esp-aes\tesp-sha-hmac\r\ncrypto\tmap M 1 set ikev1 transform-set T\r\n";
        var r = AsaConfigLoader.Load(text, "crlf.cfg");
        TestFiles.AssertValid(r);
        Assert.Equal(["T"], r.Config.FindCryptoMap("M")!.Entry(1)!.TransformSets.ToArray());
    }

    [Fact]
    public void Caret_keeps_tabs_so_it_lines_up()
    {
        var r = AsaConfigLoader.Load("crypto\tmap M 1 set\tpeeer 1.2.3.4", "tab.cfg");
        var e = Assert.Single(r.Errors);
        Assert.Equal(20, e.Location.Column);
        Assert.Equal("      \t" + new string(' ', 11) + "\t^", e.CaretLine);
    }

    [Fact]
    public void Garbage_lines_are_not_interpreted_not_errors()
    {
        var text = "%%%% $$$ ###\nxyzzy plugh\n\u0001\u0002\u0003\nпривет мир\n😀 emoji\nhostname ok\n";
        var r = AsaConfigLoader.Load(text, "garbage.cfg");
        TestFiles.AssertValid(r);
        Assert.Equal(5, r.NotInterpreted.Count);
        Assert.Equal("ok", r.Config.Hostname);
    }

    [Fact]
    public void Non_ascii_inside_a_vpn_command_is_an_error_at_that_character()
    {
        var r = AsaConfigLoader.Load("crypto map MAPé 10 match address VPN\ntunnel-group 1.2.3.4 type ipsec-l2l\ntunnel-group 1.2.3.4 ipsec-attributes\n ikev1 pre-shared-key ключ\n", "utf.cfg");
        var errors = r.Errors.ToList();
        Assert.Equal(2, errors.Count);
        Assert.Equal((1, 15), (errors[0].Location.Line, errors[0].Location.Column));
        Assert.Contains("\\u00E9", errors[0].Message);
        Assert.Equal((4, 23), (errors[1].Location.Line, errors[1].Location.Column));
        Assert.DoesNotContain("ключ", errors[1].Message);
    }

    [Fact]
    public void A_rejected_key_line_is_echoed_with_the_key_masked()
    {
        var r = AsaConfigLoader.Load("tunnel-group 1.2.3.4 type ipsec-l2l\ntunnel-group 1.2.3.4 ipsec-attributes\n ikev1 pre-shared-key my secret phrase\n pre-shared-key kéy\n", "key.cfg");
        var errors = r.Errors.ToList();
        Assert.Equal(2, errors.Count);
        foreach (var e in errors)
        {
            var text = e + "\n" + e.AsaStyle();
            Assert.DoesNotContain("secret", text);
            Assert.DoesNotContain("phrase", text);
            Assert.DoesNotContain("kéy", text);
        }
        Assert.Equal(" ikev1 pre-shared-key *****", errors[0].SourceLine);
        Assert.Equal(" pre-shared-key *****", errors[1].SourceLine);
        // The caret stays on the (masked) key.
        Assert.Equal((3, 23), (errors[0].Location.Line, errors[0].Location.Column));
        Assert.Equal(new string(' ', 22) + "^", errors[0].CaretLine);
        Assert.Equal((4, 17), (errors[1].Location.Line, errors[1].Location.Column));
        Assert.Contains("cannot contain spaces", errors[0].Message);
    }

    [Fact]
    public void Secrets_never_appear_in_anything_the_loader_gives_back()
    {
        var templates = new[]
        {
            " ikev1 pre-shared-key {0}", " pre-shared-key {0}", " ikev1 pre-shared-key {0} extra", " pre-shared-key {0}\u00e9",
            " ikev2 local-authentication pre-shared-key {0}", "username admin password {0} encrypted",
            "snmp-server community {0}", " key {0}", "enable password {0}", "failover key {0}",
            "crypto map M 10 set peer 10.0.0.2", "crypto map M 10 match address A", "access-list A extended permit ip any any",
            "crypto ikev1 policy 10", " hash sha512", "tunnel-group 10.0.0.2 type ipsec-l2l", "tunnel-group 10.0.0.2 ipsec-attributes",
            "aaa-server R (inside) host 10.1.1.1", "garbage line",
            // Local users: a password alone, with a hash keyword, with spaces, with non-ASCII, and a pasted placeholder.
            "username bob password {0}", "username bob password {0} pbkdf2 privilege 15", "username bob password {0} {0}",
            "username bob password {0}\u00e9 privilege 3", "username bob password x{0} more words privilege 99",
            "username bob attributes", " vpn-framed-ip-address 10.0.0.1", "group-policy G external server-group S password {0}",
            "group-policy G internal", "group-policy G attributes", " banner value hello", "tunnel-group RA type remote-access",
            "tunnel-group RA ipsec-attributes", "tunnel-group RA general-attributes", " default-group-policy G",
        };
        Gen.Select(Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"].Array[6, 20], Gen.Int[0, templates.Length - 1].Array[1, 25])
            .Sample(t =>
            {
                var secret = "Q" + new string(t.Item1) + "Z";
                var text = string.Join('\n', t.Item2.Select(i => string.Format(System.Globalization.CultureInfo.InvariantCulture, templates[i], secret)));
                var r = AsaConfigLoader.Load(text, "secrets.cfg");
                var everything = string.Join('\n', r.Diagnostics.Select(d => d + "\n" + d.AsaStyle() + string.Join(',', d.Expected)))
                    + string.Join('\n', r.NotInterpreted) + r.Config + Show.RunningConfigWriter.ShowRunningConfig(r.Config);
                Assert.DoesNotContain(secret, everything);
            }, iter: 1000);
    }

    [Fact]
    public void Overlong_key_and_names_are_errors()
    {
        var key = new string('k', 129);
        var r = AsaConfigLoader.Load($"tunnel-group 1.2.3.4 type ipsec-l2l\ntunnel-group 1.2.3.4 ipsec-attributes\n ikev1 pre-shared-key {key}\n", "long.cfg");
        var e = Assert.Single(r.Errors);
        Assert.Contains("longer than 128", e.Message);
        Assert.DoesNotContain(key, e.Message);

        r = AsaConfigLoader.Load("crypto map " + new string('M', 100) + " 10 match address A\n", "long.cfg");
        Assert.Contains("longer than 64", Assert.Single(r.Errors).Message);
    }

    [Fact]
    public void A_huge_line_and_many_lines_load_without_trouble()
    {
        var huge = "access-list A extended permit ip any any " + string.Join(' ', Enumerable.Repeat("log", 20000));
        var many = string.Join('\n', Enumerable.Range(0, 5000).Select(i => $"access-list A extended permit tcp any host 10.0.{i / 250}.{i % 250 + 1} eq {i % 65535}"));
        var r = AsaConfigLoader.Load(huge + "\n" + many, "big.cfg");
        Assert.Single(r.Errors); // the huge line: `log` may appear once, then end of command
        Assert.Equal(5000, r.Config.FindAccessList("A")!.Entries.Count);
    }

    [Theory]
    [InlineData("crypto")]
    [InlineData("crypto map")]
    [InlineData("crypto map M")]
    [InlineData("crypto map M 1")]
    [InlineData("crypto map M 1 match")]
    [InlineData("crypto map M 1 match address")]
    [InlineData("crypto map M 1 set peer")]
    [InlineData("crypto map M 1 set security-association lifetime")]
    [InlineData("crypto ipsec ikev1 transform-set T")]
    [InlineData("crypto ikev1 policy")]
    [InlineData("access-list A extended permit")]
    [InlineData("access-list A extended permit tcp any")]
    [InlineData("access-list A extended permit tcp any any eq")]
    [InlineData("access-list A extended permit tcp any any range 10")]
    [InlineData("tunnel-group T")]
    [InlineData("tunnel-group T type")]
    [InlineData("nat (inside,outside) source static A")]
    [InlineData("object-group network")]
    public void Every_truncation_is_an_incomplete_command_error(string text)
    {
        var r = AsaConfigLoader.Load(text, "t.cfg");
        var e = Assert.Single(r.Errors);
        Assert.Equal(DiagnosticKind.IncompleteCommand, e.Kind);
        Assert.Equal(1, e.Location.Line);
        Assert.Equal(text.Length + 2, e.Location.Column);
    }

    [Fact]
    public void Random_text_never_throws()
    {
        var words = new[] { "crypto", "map", "M", "10", "set", "peer", "1.2.3.4", "ikev1", "isakmp", "policy", "transform-set",
            "access-list", "extended", "permit", "ip", "any", "host", "object", "object-group", "network", "tunnel-group",
            "ipsec-attributes", "pre-shared-key", "nat", "(inside,outside)", "source", "static", "interface", "nameif", " ",
            "255.255.255.0", "99999999999999999999", "-1", "\t", "é", "\u0000", "eq", "range", "group", "lifetime", "!",
            "ip", "local", "pool", "10.0.0.1-10.0.0.9", "mask", "group-policy", "internal", "attributes", "value", "none", "banner",
            "username", "password", "general-attributes", "address-pool", "(outside)", "standard", "split-tunnel-network-list",
            "vpn-framed-ip-address", "webvpn", "DfltGrpPolicy", "DefaultRAGroup", "ikev1-user-authentication", "user-authentication" };
        Gen.Select(Gen.Int[0, words.Length - 1].Array[0, 12], Gen.Bool)
            .Array[0, 30]
            .Sample(lines =>
            {
                var text = string.Join('\n', lines.Select(l => (l.Item2 ? " " : "") + string.Join(' ', l.Item1.Select(i => words[i]))));
                var r = AsaConfigLoader.Load(text, "fuzz.cfg");
                foreach (var d in r.Diagnostics)
                {
                    Assert.InRange(d.Location.Line, 1, lines.Length);
                    Assert.True(d.Location.Column >= 1);
                    _ = d.AsaStyle();
                }
                _ = Show.RunningConfigWriter.ShowRunningConfig(r.Config);
            }, iter: 3000);
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        Gen.Char.Array[0, 400].Sample(chars =>
        {
            var r = AsaConfigLoader.Load(new string(chars), "bytes.cfg");
            Assert.NotNull(r.Config);
        }, iter: 2000);
    }

    [Fact]
    public void Unreadable_file_is_a_diagnostic()
    {
        var r = AsaConfigLoader.LoadFile(Path.Combine(Path.GetTempPath(), "does-not-exist-" + Guid.NewGuid() + ".cfg"));
        Assert.False(r.IsValid);
        Assert.Contains("cannot read the file", Assert.Single(r.Errors).Message);
    }
}
