using IkeActors.Config.Model;
using IkeActors.Gateway.Commands;
using IkeActors.LoadGenerator;

namespace IkeActors.Gateway.Tests.Bench;

/// <summary>`ikeactors bench` options: every bad one is one line naming it, exit code 2, and the PSK never shows.</summary>
public class BenchArgumentsTests
{
    private const string Psk = "s3cret-Bench-Key";

    private static BenchArguments Good => new() { Psk = Psk, Peers = 10, Target = "127.0.0.1:15500" };

    private static IReadOnlyList<string> ErrorsOf(BenchArguments a)
    {
        var (settings, errors) = a.Validate();
        Assert.Null(settings);
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.DoesNotContain(Psk, e, StringComparison.Ordinal));
        return errors;
    }

    [Theory]
    [InlineData("10.0.0.0/33", "expected ADDRESS/LENGTH")]
    [InlineData("10.0.0.0", "expected ADDRESS/LENGTH")]
    [InlineData("10.0.0/8", "expected ADDRESS/LENGTH")]
    [InlineData("10.1.0.0/8", "host bits set (did you mean 10.0.0.0/8?)")]
    [InlineData("10.0.0.0/29", "holds 8 addresses, fewer than --peers 10")]
    [InlineData("10.0.0.1/32", "holds 1 addresses, fewer than --peers 10")]
    public void A_bad_local_ts_is_named(string cidr, string expected)
    {
        var errors = ErrorsOf(Good with { LocalTs = cidr });
        Assert.Contains(errors, e => e.StartsWith("--local-ts " + cidr + ":", StringComparison.Ordinal) && e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void The_remote_access_profile_needs_its_user_and_password_and_never_shows_them()
    {
        Assert.Contains(ErrorsOf(Good with { Group = "EZ", User = "cisco" }), e => e == "--group: needs --user and --password for XAUTH");
        Assert.Contains(ErrorsOf(Good with { User = "cisco", Password = "pw" }), e => e.StartsWith("--user/--password: only with --group", StringComparison.Ordinal));
        Assert.Contains(ErrorsOf(Good with { Group = "E Z", User = "cisco", Password = "pw" }), e => e.StartsWith("--group: 1-64 printable", StringComparison.Ordinal));
        var (settings, errors) = (Good with { Group = "EZ", User = "cisco", Password = "Xa-pw-1" }).Validate();
        Assert.Empty(errors);
        Assert.Equal(("EZ", "cisco", 2), (settings!.RemoteAccess!.Group, settings.RemoteAccess.User, settings.RemoteAccess.DhGroup));
        Assert.DoesNotContain("Xa-pw-1", settings.RemoteAccess.ToString());
        Assert.DoesNotContain(Psk, settings.RemoteAccess.ToString());
    }

    [Fact]
    public void A_bad_remote_ts_is_named() =>
        Assert.Contains(ErrorsOf(Good with { RemoteTs = "192.168.2.0/40" }), e => e.StartsWith("--remote-ts 192.168.2.0/40:", StringComparison.Ordinal));

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void At_least_one_peer(int peers) =>
        Assert.Contains(ErrorsOf(Good with { Peers = peers }), e => e == $"--peers {peers}: at least one peer");

    [Fact]
    public void A_negative_rate_is_refused() =>
        Assert.Contains(ErrorsOf(Good with { Rate = -1 }), e => e.StartsWith("--rate -1:", StringComparison.Ordinal));

    [Theory]
    [InlineData("aes999-sha1-modp1024")]
    [InlineData("aes256-sha1")]
    [InlineData("aes256-sha1-modp4096")]
    [InlineData("aes256-crc-modp1024")]
    public void An_unknown_ike_proposal_is_refused(string ike) =>
        Assert.Contains(ErrorsOf(Good with { Ike = ike }), e => e.StartsWith($"--ike {ike}: unknown proposal", StringComparison.Ordinal));

    [Theory]
    [InlineData("aes128")]
    [InlineData("aes128-sha1-modp1024")]
    [InlineData("chacha20-sha1")]
    public void An_unknown_esp_proposal_is_refused(string esp) =>
        Assert.Contains(ErrorsOf(Good with { Esp = esp }), e => e.StartsWith($"--esp {esp}: unknown proposal", StringComparison.Ordinal));

    [Theory]
    [InlineData("13")]
    [InlineData("modp4096")]
    public void An_unknown_pfs_group_is_refused(string pfs) =>
        Assert.Contains(ErrorsOf(Good with { Pfs = pfs }), e => e.StartsWith($"--pfs {pfs}:", StringComparison.Ordinal));

    [Theory]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("localhost")]
    [InlineData("127.0.0.256")]
    public void A_bad_target_is_refused(string target) =>
        Assert.Contains(ErrorsOf(Good with { Target = target }), e => e.StartsWith($"--target ", StringComparison.Ordinal));

    [Fact]
    public void Sources_may_not_run_past_the_address_space() =>
        Assert.Contains(ErrorsOf(Good with { Sources = "255.255.255.250" }), e => e.Contains("run past 255.255.255.255", StringComparison.Ordinal));

    [Fact]
    public void A_psk_is_required_and_a_bad_one_is_refused_without_showing_it()
    {
        Assert.Contains(ErrorsOf(Good with { Psk = null }), e => e.StartsWith("--psk: required", StringComparison.Ordinal));
        Assert.Contains(ErrorsOf(Good with { Psk = Psk + " x" }), e => e.StartsWith("--psk: 1-128 printable", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var errors = ErrorsOf(Good with { Peers = 0, Rate = -2, Ike = "x", Concurrency = 0, Timeout = 0 });
        Assert.Equal(5, errors.Count);
    }

    /// <summary>
    /// The proposal names map to the ASA's keywords (Cisco ASA command reference: `encryption aes-256`, `hash sha`,
    /// `group 14`; transform sets `esp-aes esp-sha-hmac`) and the DH names to the groups of RFC 2409 §6 (modp768 = 1,
    /// modp1024 = 2), RFC 3526 (modp1536 = 5, modp2048 = 14) and RFC 5903 (ecp256 = 19, ecp384 = 20).
    /// </summary>
    [Theory]
    [InlineData("3des-sha1-modp1024", "3des", "sha", 2)]
    [InlineData("aes256-sha256-modp2048", "aes-256", "sha256", 14)]
    [InlineData("aes128-md5-modp768", "aes", "md5", 1)]
    [InlineData("aes192-sha1-modp1536", "aes-192", "sha", 5)]
    [InlineData("aes128-sha384-ecp256", "aes", "sha384", 19)]
    [InlineData("AES256-SHA1-ECP384", "aes-256", "sha", 20)]
    public void Ike_proposals_become_isakmp_policies(string name, string encryption, string hash, int group) =>
        Assert.Equal(new IkeProposal(encryption, hash, group), ProposalNames.ParseIke(name));

    [Theory]
    [InlineData("aes128-sha1", "esp-aes", "esp-sha-hmac")]
    [InlineData("aes256-sha256", "esp-aes-256", "esp-sha256-hmac")]
    [InlineData("3des-md5", "esp-3des", "esp-md5-hmac")]
    public void Esp_proposals_become_transform_sets(string name, string encryption, string integrity) =>
        Assert.Equal(new EspProposal(encryption, integrity), ProposalNames.ParseEsp(name));

    [Fact]
    public void Good_options_make_an_initiator_config_towards_the_target()
    {
        var (settings, errors) = (Good with { Ike = "aes256-sha256-modp2048", Esp = "aes256-sha256", Pfs = "14", EspLifetime = 3600 }).Validate();
        Assert.Empty(errors);
        var config = settings!.Config;
        var entry = Assert.Single(Assert.Single(config.CryptoMaps).Entries);
        Assert.Equal("127.0.0.1", Assert.Single(entry.Peers).ToString());
        Assert.Equal(14, (int)entry.PfsGroup!);
        var policy = Assert.Single(config.IsakmpPolicies);
        Assert.Equal(14, (int)policy.Group);
        Assert.Equal(15500, settings.Target.Port);
        Assert.Equal(new Ipv4Prefix(0x0A000000, 8), settings.LocalTs);
        // The PSK is in the model (for the engine), never in its text form.
        Assert.DoesNotContain(Psk, settings.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Peer_i_proposes_the_ith_slash_24()
    {
        var (settings, _) = (Good with { LocalTs = "10.0.0.0/8" }).Validate();
        using var run = new LoadRun(settings!, TextWriter.Null);
        Assert.Equal("10.0.0.0/255.255.255.0/0/0", run.MatchFor(0).Local.ToString());
        Assert.Equal("10.1.4.0/255.255.255.0/0/0", run.MatchFor(260).Local.ToString());
        Assert.Equal("192.168.2.0/255.255.255.0/0/0", run.MatchFor(260).Remote.ToString());
    }

    [Fact]
    public void The_command_exits_2_on_a_usage_error_and_never_prints_the_psk()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CliApp.Run(["bench", "--peers", "0", "--psk", Psk, "--local-ts", "10.0.0.0/33"], output, error);
        Assert.Equal(BenchCommand.ExitUsage, code);
        Assert.Contains("--peers 0: at least one peer", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("--local-ts 10.0.0.0/33:", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Psk, output.ToString() + error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_the_parser_refuses_is_a_usage_error_too()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(BenchCommand.ExitUsage, CliApp.Run(["bench", "--peers", "many", "--psk", Psk], output, error));
        Assert.Contains("many", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Psk, output.ToString() + error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>--config: the seed's initiator ASA (crypto map MAP 10 to 10.0.0.2, ACL 192.168.1.0/24 -> 192.168.2.0/24).</summary>
    [Fact]
    public void A_config_file_gives_the_proposals_the_peer_and_the_packet_to_start_from()
    {
        var file = IkeActors.Testing.RepoPaths.SiteToSite("asa1-initiator.cfg");
        var (settings, errors) = new BenchArguments { ConfigFile = file, Peers = 3 }.Validate();
        Assert.Empty(errors);
        Assert.Null(settings!.LocalTs);
        // The first permit ACE is `tcp 192.168.1.0/24 192.168.2.0/24`: the proxy IDs carry TCP (6), as the ASA's would.
        Assert.Equal(("192.168.1.1", "192.168.2.1", 6), (settings.Acquire.Source.ToString(), settings.Acquire.Destination.ToString(), settings.Acquire.Protocol));
        using var run = new LoadRun(settings, TextWriter.Null);
        Assert.Equal("10.0.0.2:500", run.ConfiguredPeer.ToString());
        Assert.Equal("192.168.1.0/255.255.255.0/6/0", run.MatchFor(2).Local.ToString());

        Assert.Contains(ErrorsOf(new BenchArguments { ConfigFile = file, Psk = Psk }), e => e.StartsWith("--psk: not with --config", StringComparison.Ordinal));
        Assert.Contains(ErrorsOf(new BenchArguments { ConfigFile = "/nonexistent/bench.cfg" }), e => e.Contains("cannot read the file", StringComparison.Ordinal));
    }

    /// <summary>Each peer's own subnet: a /24 while the range has one per peer, else as long a prefix as every peer needs.</summary>
    [Theory]
    [InlineData("10.0.0.0/8", 1, 24)]
    [InlineData("10.0.0.0/8", 65536, 24)]
    [InlineData("10.0.0.0/8", 65537, 25)]
    [InlineData("10.0.0.0/8", 100000, 25)]
    [InlineData("10.0.0.0/16", 256, 24)]
    [InlineData("10.0.0.0/16", 300, 25)]
    [InlineData("10.0.0.0/24", 10, 28)]
    [InlineData("10.0.0.0/24", 256, 32)]
    [InlineData("10.0.0.0/24", 257, 33)]
    public void Peer_subnets_are_slash_24s_while_they_fit(string range, int peers, int length) =>
        Assert.Equal(length, BenchSettings.PeerPrefixLengthFor(Ipv4Prefix.Parse(range), peers));

    [Fact]
    public void A_hundred_thousand_peers_share_a_slash_8_as_slash_25s()
    {
        var (settings, errors) = (Good with { Peers = 100_000, LocalTs = "10.0.0.0/8" }).Validate();
        Assert.Empty(errors);
        using var run = new LoadRun(settings!, TextWriter.Null);
        Assert.Equal("10.0.0.128/255.255.255.128/0/0", run.MatchFor(1).Local.ToString());
        Assert.Equal("10.195.79.128/255.255.255.128/0/0", run.MatchFor(99_999).Local.ToString());
    }

    /// <summary>More peers than RLIMIT_NOFILE can give sockets: refused before the first one (not a runtime out of descriptors).</summary>
    [Fact]
    public void More_peers_than_descriptors_is_a_usage_error()
    {
        Assert.Null(LoadRun.ReserveDescriptors(10));
        var error = LoadRun.ReserveDescriptors(int.MaxValue / 4);
        Assert.NotNull(error);
        Assert.StartsWith($"--peers {int.MaxValue / 4}: needs {int.MaxValue / 4 + LoadRun.RuntimeDescriptors} file descriptors", error, StringComparison.Ordinal);
    }
}
