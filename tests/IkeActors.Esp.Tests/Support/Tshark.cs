using IkeActors.Testing;

namespace IkeActors.Esp.Tests.Support;

/// <summary>tshark as an independent decoder of our packets.</summary>
internal static class Tshark
{
    public static bool Available => File.Exists("/usr/bin/tshark");

    public static string CipherName(EspCipher c) => c switch
    {
        EspCipher.Null => "NULL",
        EspCipher.DesCbc => "DES-CBC [RFC2405]",
        EspCipher.TripleDesCbc => "TripleDES-CBC [RFC2451]",
        EspCipher.Aes128Gcm16 or EspCipher.Aes192Gcm16 or EspCipher.Aes256Gcm16 => "AES-GCM with 16 octet ICV [RFC4106]", // key | salt
        _ => "AES-CBC [RFC3602]",
    };

    public static string IntegrityName(EspIntegrity i) => i switch
    {
        EspIntegrity.None => "NULL",
        EspIntegrity.HmacMd5_96 => "HMAC-MD5-96 [RFC2403]",
        EspIntegrity.HmacSha1_96 => "HMAC-SHA-1-96 [RFC2404]",
        EspIntegrity.HmacSha256_128 => "HMAC-SHA-256-128 [RFC4868]",
        EspIntegrity.HmacSha384_192 => "HMAC-SHA-384-192 [RFC4868]",
        _ => "HMAC-SHA-512-256 [RFC4868]",
    };

    /// <summary>An esp_sa UAT entry, as in tests/data/strongswan-5.9.8/tshark-keys.txt.</summary>
    public static string EspSa(uint spi, EspCipher c, byte[] encKey, EspIntegrity i, byte[] authKey) =>
        $"uat:esp_sa:\"IPv4\",\"*\",\"*\",\"0x{spi:x8}\",\"{CipherName(c)}\",\"0x{Hex.Of(encKey)}\",\"{IntegrityName(i)}\",\"0x{Hex.Of(authKey)}\"";

    /// <summary>Runs tshark -V with decryption and ICV checking on; returns the text per frame.</summary>
    public static List<string> DecodeFrames(string pcap, IEnumerable<string> uatEntries)
    {
        var args = new List<string> { "-r", pcap, "-V", "-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE" };
        foreach (var u in uatEntries) { args.Add("-o"); args.Add(u); }
        var (code, stdout, stderr) = ProcessRunner.Run("tshark", args);
        Assert.True(code == 0, $"tshark failed ({code}): {stderr}");
        return System.Text.RegularExpressions.Regex.Split(stdout, @"(?m)^(?=Frame \d+:)").Where(f => f.StartsWith("Frame", StringComparison.Ordinal)).ToList();
    }
}
