using System.Diagnostics;
using IkeActors.Testing;

namespace IkeActors.Interop.Tests;

/// <summary>
/// `ikeactors run --save-keys DIR` against strongSwan, captured with dumpcap: with DIR as Wireshark's configuration
/// directory tshark decrypts every encrypted Main Mode message (MM5, MM6), every Quick Mode and Informational message
/// (their HASH payload is dissected), and every ESP frame down to the inner ICMP; without the files it decrypts none of
/// them (the check can fail). The files are 0600 and hold no pre-shared key.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SaveKeysTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<string, string, string> Proposals => new()
    {
        // the seed's proposals; AES-256/SHA-256/group 14 with PFS; the same with AES-256-GCM ESP (RFC 4106: key and salt)
        { "seed", "3des-sha1-modp1024", "aes128-sha1" },
        { "aes256", "aes256-sha256-modp2048", "aes256-sha256-modp2048" },
        { "gcm", "aes256-sha256-modp2048", "aes256gcm16-modp2048" },
    };

    internal static string Config(string name) => name switch
    {
        "seed" => InteropLab.LeftConfig(),
        "aes256" => ProposalsTests.Aes256Sha256Group14Config(),
        _ => InteropLab.Replace(ProposalsTests.Aes256Sha256Group14Config(), "transform-set TRANSFORM esp-aes-256 esp-sha256-hmac\n", "transform-set TRANSFORM esp-aes-256-gcm\n"),
    };

    [Theory]
    [MemberData(nameof(Proposals))]
    public void Wireshark_decrypts_every_encrypted_isakmp_message_and_every_esp_frame_with_the_saved_keys(string name, string ike, string esp)
    {
        using var lab = new InteropLab();
        lab.StartStrongSwan("--role", "responder", "--ike", ike, "--esp", esp);
        var keys = Path.Combine(lab.State, "keys-" + name);
        var pcap = lab.StartCapture(lab.Left, name + ".pcap");
        var gateway = lab.StartGateway(lab.Left, Config(name), "10.0.0.1:500", "--tun", "ike%d", "--save-keys", keys);
        Assert.Contains(gateway.Lines, l => l.Contains($"warning: --save-keys {keys}", StringComparison.Ordinal));

        Tunnel.Ping(lab.Left, 1);
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        var pings = Tunnel.Ping(lab.Left, 10);
        Assert.True(pings.Received == 10, pings.Output + gateway.Output);
        lab.StopCapture(pcap);

        foreach (var file in (string[])["ikev1_decryption_table", "esp_sa"])
        {
            var path = Path.Combine(keys, file);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.DoesNotContain("cisco", File.ReadAllText(path), StringComparison.Ordinal); // the lab's PSK
        }

        var decrypted = Frames(pcap, keys);
        var encrypted = decrypted.Where(f => f.Encrypted).ToList();
        Assert.True(encrypted.Count(f => f.Exchange == 2) >= 2 && encrypted.Count(f => f.Exchange == 32) >= 3,
            "expected MM5, MM6 and three Quick Mode messages:\n" + string.Join("\n", decrypted));
        var notDecrypted = encrypted.Where(f => !f.Hash).ToList();
        Assert.True(notDecrypted.Count == 0, $"{notDecrypted.Count} encrypted ISAKMP messages not decrypted:\n" + string.Join("\n", notDecrypted));
        var espFrames = decrypted.Where(f => f.Esp).ToList();
        Assert.True(espFrames.Count >= 22, $"{espFrames.Count} ESP frames for 11 pings:\n" + string.Join("\n", espFrames));
        var opaque = espFrames.Where(f => !f.Icmp).ToList();
        Assert.True(opaque.Count == 0, $"{opaque.Count} of {espFrames.Count} ESP frames not decrypted to ICMP:\n" + string.Join("\n", opaque));

        output.WriteLine($"{name}: {encrypted.Count(f => f.Exchange == 2)} encrypted Main Mode, {encrypted.Count(f => f.Exchange == 32)} Quick Mode, " +
            $"{encrypted.Count(f => f.Exchange == 5)} Informational messages and {espFrames.Count} ESP frames, all decrypted by tshark with the saved keys");
        // The same capture without the keys: nothing of it is readable (so the checks above can fail).
        var blind = Frames(pcap, Path.Combine(lab.State, "no-keys"));
        Assert.DoesNotContain(blind, f => (f.Encrypted && f.Hash) || (f.Esp && f.Icmp));
    }

    private sealed record Frame(int Number, int Exchange, bool Encrypted, bool Hash, bool Esp, bool Icmp)
    {
        public override string ToString() => $"frame {Number}: exchange {Exchange} encrypted {Encrypted} hash {Hash} esp {Esp} icmp {Icmp}";
    }

    /// <summary>tshark with <paramref name="configDir"/> as its configuration directory (Wireshark's own tables read from there).</summary>
    private static List<Frame> Frames(string pcap, string configDir)
    {
        RequiredProgram.Check("tshark", "tshark");
        Directory.CreateDirectory(configDir);
        var psi = new ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-r", pcap, "-n", "-o", "esp.enable_encryption_decode:TRUE", "-T", "fields", "-E", "occurrence=f",
                     "-e", "frame.number", "-e", "isakmp.exchangetype", "-e", "isakmp.flags", "-e", "isakmp.hash", "-e", "esp.spi", "-e", "icmp.type"])
            psi.ArgumentList.Add(a);
        psi.Environment["WIRESHARK_CONFIG_DIR"] = configDir;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0 && !stderr.Contains("Error loading table", StringComparison.Ordinal), stderr);
        var frames = new List<Frame>();
        foreach (var line in stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            var exchange = f[1] == "" ? 0 : int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture);
            var flags = f[2] == "" ? 0 : Convert.ToInt32(f[2], 16);
            frames.Add(new Frame(int.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture), exchange, exchange != 0 && (flags & 1) != 0,
                f[3] != "", f[4] != "", f.Length > 5 && f[5] != ""));
        }
        return frames;
    }
}
