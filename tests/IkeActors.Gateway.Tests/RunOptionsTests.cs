using IkeActors.Gateway.Commands;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// `ikeactors run` with an option that is not what it must be: one error line naming the option and what was
/// expected, exit code 1, nothing on stdout, no exception, and no node started (the options are checked first).
/// </summary>
public class RunOptionsTests
{
    [Theory]
    [InlineData("--acquire 192.168.1.10", "--acquire 192.168.1.10: expected SRC,DST[,PROTO] (e.g. 192.168.1.10,192.168.2.10,1)")]
    [InlineData("--acquire 192.168.1.10,,1", "--acquire 192.168.1.10,,1: expected SRC,DST[,PROTO] (e.g. 192.168.1.10,192.168.2.10,1)")]
    [InlineData("--acquire 192.168.1.10,192.168.2.10,1,2", "--acquire 192.168.1.10,192.168.2.10,1,2: expected SRC,DST[,PROTO] (e.g. 192.168.1.10,192.168.2.10,1)")]
    [InlineData("--acquire 192.168.1.10,192.168.2.x,1", "--acquire 192.168.1.10,192.168.2.x,1: 192.168.2.x is not an IPv4 address")]
    [InlineData("--acquire 192.168.1,192.168.2.10", "--acquire 192.168.1,192.168.2.10: 192.168.1 is not an IPv4 address")]
    [InlineData("--acquire 2001:db8::1,192.168.2.10", "--acquire 2001:db8::1,192.168.2.10: 2001:db8::1 is not an IPv4 address")]
    [InlineData("--acquire 192.168.1.10,192.168.2.10,icmp", "--acquire 192.168.1.10,192.168.2.10,icmp: protocol icmp is not a number 0-255")]
    [InlineData("--acquire 192.168.1.10,192.168.2.10,256", "--acquire 192.168.1.10,192.168.2.10,256: protocol 256 is not a number 0-255")]
    [InlineData("--bind 127.0.0.1", "--bind 127.0.0.1: expected ADDRESS:PORT")]
    [InlineData("--bind localhost:500", "--bind localhost:500: expected ADDRESS:PORT")]
    [InlineData("--bind 127.0.0.1:70000", "--bind 127.0.0.1:70000: expected ADDRESS:PORT")]
    [InlineData("--natt 4500", "--natt 4500: expected ADDRESS:PORT or none")]
    [InlineData("--peer-map 10.0.0.1", "--peer-map 10.0.0.1: expected PEER=ADDRESS:PORT")]
    [InlineData("--peer-map 10.0.0.1=127.0.0.1", "--peer-map 10.0.0.1=127.0.0.1: expected PEER=ADDRESS:PORT")]
    [InlineData("--peer-map 10.0.0.1=127.0.0.1:0", "--peer-map 10.0.0.1=127.0.0.1:0: expected PEER=ADDRESS:PORT")]
    [InlineData("--peer-map peer=127.0.0.1:5001", "--peer-map peer=127.0.0.1:5001: expected PEER=ADDRESS:PORT")]
    [InlineData("--debug 256", "--debug 256: expected a level 0-255")]
    [InlineData("--save-keys /etc/hostname", "--save-keys /etc/hostname: expected a directory (made if missing)")]
    [InlineData("--dh-exponent half", "--dh-exponent half: expected full or short")]
    [InlineData("--otlp-debug-level -1", "--otlp-debug-level -1: expected a level 0-255")]
    [InlineData("--silo-port 0", "--silo-port 0: expected a port 1-65535")]
    [InlineData("--gateway-port 65536", "--gateway-port 65536: expected a port 1-65535")]
    [InlineData("--silo-port 30000", "--silo-port and --gateway-port: two different ports, not 30000 twice")]
    [InlineData("--orleans-dashboard 70000", "--orleans-dashboard 70000: expected a port 1-65535, or 0 for any free port")]
    [InlineData("--exit-after -1", "--exit-after -1: expected seconds, 0 to run until stopped")]
    [InlineData("--max-half-open 0", "--max-half-open and --max-half-open-per-peer: at least 1")]
    [InlineData("--cluster 127.0.0.1:6379", "--cluster 127.0.0.1:6379: expected redis://HOST:PORT")]
    [InlineData("--cluster redis://", "--cluster redis://: expected redis://HOST:PORT")]
    [InlineData("--advertise 10.1", "--advertise 10.1: expected an IP address")]
    [InlineData("--rekey-jitter 51", "--rekey-jitter 51: expected a percentage 0-50")]
    [InlineData("--dpd-jitter -1", "--dpd-jitter -1: expected a percentage 0-50")]
    [InlineData("--esp-threads 0", "--esp-threads 0: expected 1-256 (TUN queues, one pump each)")]
    [InlineData("--esp-threads 257", "--esp-threads 257: expected 1-256 (TUN queues, one pump each)")]
    public void A_bad_option_is_one_error_line_and_exit_code_1(string option, string expected)
    {
        var given = option.Split(' ', 2);
        // A node that started by mistake binds an ephemeral loopback port and stops within a second.
        string[] args = ["run", "--config", RepoPaths.SiteToSite("asa2-responder.cfg"), .. given,
            .. given[0] == "--bind" ? Array.Empty<string>() : ["--bind", "127.0.0.1:0"],
            .. given[0] == "--exit-after" ? Array.Empty<string>() : ["--exit-after", "1"]];
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        var exit = CliApp.Run(args, output, error);
        Assert.Equal(expected + "\n", error.ToString());
        Assert.Equal("", output.ToString());
        Assert.Equal(1, exit);
    }

    [Fact]
    public void A_configuration_without_an_outside_address_is_one_error_line()
    {
        var dir = Directory.CreateTempSubdirectory("ikeactors-run-options-").FullName;
        try
        {
            var config = File.ReadAllText(RepoPaths.SiteToSite("asa2-responder.cfg"));
            var path = Path.Combine(dir, "no-address.cfg");
            File.WriteAllText(path, string.Join('\n', config.Split('\n').Where(l => !l.TrimStart().StartsWith("ip address 10.0.0.2", StringComparison.Ordinal))));
            var error = new StringWriter { NewLine = "\n" };
            var exit = CliApp.Run(["run", "--config", path, "--bind", "127.0.0.1:0", "--exit-after", "1"], new StringWriter(), error);
            Assert.Equal("interface outside has no `ip address`: the gateway needs its outside address\n", error.ToString());
            Assert.Equal(1, exit);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void The_esp_threads_reach_the_data_plane_and_default_to_the_cores_up_to_4()
    {
        var config = RepoPaths.SiteToSite("asa2-responder.cfg");
        Assert.Equal(Math.Min(Environment.ProcessorCount, 4), new Hosting.RunArguments(config).Validate().Options!.EspThreads);
        Assert.Equal(Hosting.EspNodeOptions.DefaultThreads, new Hosting.EspNodeOptions().Threads);
        Assert.Equal(3, new Hosting.RunArguments(config) { EspThreads = 3 }.Validate().Options!.EspThreads);
    }

    [Fact]
    public void A_node_spreads_its_rekey_and_DPD_timers_unless_told_not_to()
    {
        var config = RepoPaths.SiteToSite("asa2-responder.cfg");
        var settings = new Hosting.RunArguments(config).Validate().Options!.CreateGateway().Settings;
        Assert.Equal((0.10, 0.20, TimeSpan.FromSeconds(2)), (settings.RekeyJitter, settings.DpdJitter, settings.RekeyedPairGrace));
        var exact = new Hosting.RunArguments(config) { RekeyJitter = 0, DpdJitter = 0 }.Validate().Options!.CreateGateway().Settings;
        Assert.Equal((0.0, 0.0), (exact.RekeyJitter, exact.DpdJitter));
    }
}

/// <summary>`--dh-exponent` reaches the engine's settings: full length unless `short` is asked for.</summary>
public class DhExponentOptionTests
{
    [Theory]
    [InlineData(null, IkeActors.Crypto.DhExponentPolicy.FullLength)]
    [InlineData("full", IkeActors.Crypto.DhExponentPolicy.FullLength)]
    [InlineData("short", IkeActors.Crypto.DhExponentPolicy.TwiceSecurityStrength)]
    public void The_option_sets_the_exponent_policy_of_the_gateway(string? value, IkeActors.Crypto.DhExponentPolicy expected)
    {
        var arguments = new IkeActors.Gateway.Hosting.RunArguments(RepoPaths.SiteToSite("asa2-responder.cfg")) { Bind = "127.0.0.1:0" };
        if (value is not null) arguments = arguments with { DhExponent = value };
        var (options, errors) = arguments.Validate();
        Assert.Empty(errors);
        Assert.Equal(expected, options!.CreateGateway().Settings.DhExponent);
    }
}
