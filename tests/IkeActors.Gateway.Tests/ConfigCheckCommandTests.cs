using System.Diagnostics;
using IkeActors.Gateway.Commands;

namespace IkeActors.Gateway.Tests;

/// <summary>`ikeactors config check FILE`: exit codes, the crypto listing, errors with carets, warnings.</summary>
public sealed class ConfigCheckCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ikeactors-config-check-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Sample(string name) => IkeActors.Testing.RepoPaths.SiteToSite(name);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        var exit = CliApp.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Valid_initiator_sample_exits_0_and_prints_show_running_config_crypto()
    {
        var (exit, output, error) = Run("config", "check", Sample("asa1-initiator.cfg"));
        Assert.Equal(0, exit);
        Assert.Equal("", error);
        Assert.Contains("ciscoasa# show running-config crypto\n", output);
        Assert.Contains(
            "crypto ipsec ikev1 transform-set TRANSFORM esp-aes esp-sha-hmac\n" +
            "crypto map MAP 10 match address VPN\n" +
            "crypto map MAP 10 set peer 10.0.0.2\n" +
            "crypto map MAP 10 set ikev1 transform-set TRANSFORM\n" +
            "crypto map MAP 10 set reverse-route\n" +
            "crypto map MAP interface outside\n" +
            "crypto ikev1 enable outside\n" +
            "crypto ikev1 policy 10\n" +
            " authentication pre-share\n" +
            " encryption 3des\n" +
            " hash sha\n" +
            " group 2\n" +
            " lifetime 86400\n", output);
        Assert.DoesNotMatch(@"\bcisco\b", output);
    }

    [Fact]
    public void Valid_responder_sample_shows_its_3600_second_lifetime()
    {
        var (exit, output, _) = Run("config", "check", Sample("asa2-responder.cfg"));
        Assert.Equal(0, exit);
        Assert.Contains("crypto map MAP 10 set peer 10.0.0.1\n", output);
        Assert.Contains("crypto map MAP 10 set security-association lifetime seconds 3600\n", output);
    }

    [Fact]
    public void Invalid_file_exits_1_and_prints_every_error_with_location_and_caret()
    {
        var sample = File.ReadAllText(Sample("asa1-initiator.cfg"));
        var broken = sample
            .Replace("crypto map MAP 10 set peer 10.0.0.2", "crypto map MAP 10 set peeer 10.0.0.2", StringComparison.Ordinal)
            .Replace(" hash sha", " hash sha3", StringComparison.Ordinal)
            .Replace("crypto map MAP 10 match address VPN", "crypto map MAP 10 match address NOVPN", StringComparison.Ordinal);
        var path = Write("broken.cfg", broken);
        var lines = broken.Split('\n');
        var peerLine = Array.FindIndex(lines, l => l.Contains("peeer", StringComparison.Ordinal)) + 1;
        var hashLine = Array.FindIndex(lines, l => l == " hash sha3") + 1;
        var aclLine = Array.FindIndex(lines, l => l.Contains("NOVPN", StringComparison.Ordinal)) + 1;

        var (exit, output, error) = Run("config", "check", path);

        Assert.Equal(1, exit);
        Assert.Contains($"{path}:{peerLine}:23: error: expected one of", error);
        Assert.Contains(
            "crypto map MAP 10 set peeer 10.0.0.2\n" +
            new string(' ', 22) + "^\n" +
            "ERROR: % Invalid input detected at '^' marker.\n", error);
        Assert.Contains($"{path}:{hashLine}:7: error: expected one of 'md5', 'sha', 'sha256', 'sha384', 'sha512', found 'sha3'", error);
        Assert.Contains($"{path}:{aclLine}:33: error: access-list 'NOVPN' does not exist", error);
        Assert.Contains(" error(s)", error);
        Assert.DoesNotContain("show running-config crypto", output);
        // Errors come out in line order.
        Assert.True(error.IndexOf($":{aclLine}:33:", StringComparison.Ordinal) < error.IndexOf($":{peerLine}:23:", StringComparison.Ordinal));
        Assert.True(error.IndexOf($":{peerLine}:23:", StringComparison.Ordinal) < error.IndexOf($":{hashLine}:7:", StringComparison.Ordinal));
    }

    [Fact]
    public void Commands_not_interpreted_are_listed_as_warnings_with_secrets_masked()
    {
        var text = File.ReadAllText(Sample("asa1-initiator.cfg")).Replace(": end", "", StringComparison.Ordinal)
            + "logging enable\nroute outside 0.0.0.0 0.0.0.0 10.0.0.254 1\nsnmp-server community Sup3rS3cret\nusername admin password Adm1nS3cret privilege 15\n";
        var path = Write("full.cfg", text);
        var (exit, output, error) = Run("config", "check", path);
        Assert.Equal(0, exit);
        Assert.Equal("", error);
        Assert.Contains("warning: not interpreted: logging enable\n", output);
        Assert.Contains("warning: not interpreted: route outside 0.0.0.0 0.0.0.0 10.0.0.254 1\n", output);
        Assert.Contains("warning: not interpreted: snmp-server community *****\n", output);
        Assert.DoesNotContain("Sup3rS3cret", output);
        // A local user is read (remote access uses it), its password never echoed.
        Assert.DoesNotContain("not interpreted: username", output);
        Assert.DoesNotContain("Adm1nS3cret", output);
        Assert.Contains("valid (0 warning(s), 3 command(s) not interpreted)", output);

        var quiet = Run("config", "check", "--quiet", path);
        Assert.Equal(0, quiet.Exit);
        Assert.DoesNotContain("not interpreted:", quiet.Out);
    }

    [Fact]
    public void Invalid_file_still_lists_what_it_did_not_interpret()
    {
        var path = Write("mixed.cfg", "ssh version 2\ncrypto ikev1 policy 10\n group 99\n");
        var (exit, output, error) = Run("config", "check", path);
        Assert.Equal(1, exit);
        Assert.Contains("mixed.cfg:1: warning: not interpreted: ssh version 2", output);
        Assert.Contains("mixed.cfg:3:8: error:", error);
    }

    [Fact]
    public void Control_characters_from_the_file_never_reach_the_terminal()
    {
        var path = Write("esc.cfg", "banner motd \u001b[2J\u001b]0;owned\u0007\ncrypto map M\u001b[31m 10 match address A\n");
        var (exit, output, error) = Run("config", "check", path);
        Assert.Equal(1, exit);
        Assert.DoesNotContain('\u001b', output + error);
        Assert.DoesNotContain('\u0007', output + error);
        Assert.Contains("banner motd ?[2J?]0;owned?", output);
    }

    [Fact]
    public void Missing_file_exits_2()
    {
        var (exit, _, error) = Run("config", "check", Path.Combine(_dir, "nope.cfg"));
        Assert.Equal(2, exit);
        Assert.Contains("no such file", error);
    }

    [Fact]
    public void Missing_argument_is_a_usage_error()
    {
        var (exit, _, _) = Run("config", "check");
        Assert.NotEqual(0, exit);
    }

    [Fact]
    public async Task The_real_executable_exits_with_the_same_codes()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "ikeactors.dll");
        Assert.True(File.Exists(dll), dll);
        var bad = Write("bad.cfg", "crypto map MAP 10 set\n");
        foreach (var (file, expected) in new[] { (Sample("asa1-initiator.cfg"), 0), (bad, 1) })
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { dll, "config", "check", file }) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(expected, process.ExitCode);
            if (expected == 0) Assert.Contains("crypto map MAP interface outside", await stdout);
            else Assert.Contains("ERROR: % Incomplete command", await stderr);
        }
    }
}
