using System.Net;
using IkeActors.Gateway.Hosting;
using IkeActors.Negotiation;
using IkeActors.Protocol;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// `--save-keys`: Wireshark's own user-table formats (ikev1_decryption_table: the cookie and key as plain hex;
/// esp_sa: eight quoted fields, keys as 0x… hex), files of mode 0600 in a directory of mode 0700, and every algorithm
/// name we write accepted by tshark 4.0 itself (it refuses a table with an unknown name: "invalid value").
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WiresharkKeyLogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ikeactors-keys-" + Guid.NewGuid().ToString("N"));

    private static IpsecTransform Transform(EspTransformId cipher, int bits, IpsecAuthAlgorithm integrity) =>
        new(cipher, bits, integrity, EncapsulationMode.Tunnel, 28800, null, null);

    [Fact]
    public void Lines_are_wiresharks_formats_in_secret_files()
    {
        var log = new WiresharkKeyLog(_dir);
        log.IkeSa(0x0123456789abcdef, Enumerable.Range(0, 24).Select(i => (byte)i).ToArray());
        log.EspSa(IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2"),
            new IpsecSaKeys(0xc0ffee01, Enumerable.Repeat((byte)0xab, 16).ToArray(), Enumerable.Repeat((byte)0x01, 20).ToArray()),
            Transform(EspTransformId.Aes, 128, IpsecAuthAlgorithm.HmacSha));
        log.EspSa(IPAddress.Any, IPAddress.Parse("10.0.0.2"), new IpsecSaKeys(7, [], []), Transform(EspTransformId.Null, 0, 0));

        Assert.Equal("0123456789abcdef,000102030405060708090a0b0c0d0e0f1011121314151617\n", File.ReadAllText(Path.Combine(_dir, "ikev1_decryption_table")));
        Assert.Equal(
            "\"IPv4\",\"10.0.0.1\",\"10.0.0.2\",\"0xc0ffee01\",\"AES-CBC [RFC3602]\",\"0xabababababababababababababababab\",\"HMAC-SHA-1-96 [RFC2404]\",\"0x0101010101010101010101010101010101010101\"\n" +
            "\"IPv4\",\"*\",\"10.0.0.2\",\"0x00000007\",\"NULL\",\"\",\"NULL\",\"\"\n",
            File.ReadAllText(Path.Combine(_dir, "esp_sa")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_dir));
        foreach (var f in (string[])["ikev1_decryption_table", "esp_sa"])
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, f)));
    }

    [Fact]
    public void A_file_left_readable_by_an_earlier_run_is_made_secret_again()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "esp_sa");
        File.WriteAllText(path, "");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        _ = new WiresharkKeyLog(_dir);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    /// <summary>Every cipher and integrity algorithm our transform sets negotiate, by tshark's own check of the table.</summary>
    [Fact]
    public void Tshark_accepts_every_algorithm_name_and_the_ike_table()
    {
        RequiredProgram.Check("tshark", "tshark");
        var log = new WiresharkKeyLog(_dir);
        uint spi = 0x100;
        foreach (var (cipher, bits, keyBytes) in new[] { (EspTransformId.Des, 0, 8), (EspTransformId.TripleDes, 0, 24), (EspTransformId.Aes, 128, 16),
                     (EspTransformId.Aes, 192, 24), (EspTransformId.Aes, 256, 32), (EspTransformId.Null, 0, 0) })
            foreach (var (integrity, authBytes) in new[] { ((IpsecAuthAlgorithm)0, 0), (IpsecAuthAlgorithm.HmacMd5, 16), (IpsecAuthAlgorithm.HmacSha, 20),
                         (IpsecAuthAlgorithm.HmacSha2_256, 32), (IpsecAuthAlgorithm.HmacSha2_384, 48), (IpsecAuthAlgorithm.HmacSha2_512, 64) })
                log.EspSa(IPAddress.Parse("192.0.2.1"), IPAddress.Parse("192.0.2.2"), new IpsecSaKeys(spi++, new byte[keyBytes], new byte[authBytes]), Transform(cipher, bits, integrity));
        log.IkeSa(0xfedcba9876543210, new byte[32]);

        var pcap = Path.Combine(_dir, "empty.pcap");
        // A pcap file header alone (libpcap format: magic, version 2.4, Ethernet).
        File.WriteAllBytes(pcap, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]);
        var psi = new System.Diagnostics.ProcessStartInfo("tshark") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-r", pcap, "-o", "esp.enable_encryption_decode:TRUE"]) psi.ArgumentList.Add(a);
        psi.Environment["WIRESHARK_CONFIG_DIR"] = _dir;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0 && !stderr.Contains("Error loading table", StringComparison.Ordinal) && !stderr.Contains("invalid", StringComparison.OrdinalIgnoreCase),
            $"tshark exit {p.ExitCode}: {stderr}");
        Assert.Equal(36, File.ReadAllLines(Path.Combine(_dir, "esp_sa")).Length);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
