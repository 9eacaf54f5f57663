using System.Globalization;
using System.Net;
using IkeActors.Negotiation;
using IkeActors.Protocol;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// `ikeactors run --save-keys DIR`: the keys of every SA made, in Wireshark's own user tables, so a capture decrypts with
/// `WIRESHARK_CONFIG_DIR=DIR` (or the files copied into a Wireshark profile):
/// <list type="bullet">
/// <item>`ikev1_decryption_table` (ISAKMP preferences): initiator cookie, encryption key, both as plain hex;</item>
/// <item>`esp_sa` (ESP preferences, with "Attempt to detect/decode encrypted ESP payloads"): protocol, source,
/// destination, SPI, encryption algorithm and key, authentication algorithm and key, quoted, keys as 0x… hex, the
/// algorithms by the names tshark 4.0 lists (checked against tshark itself in the tests).</item>
/// </list>
/// The files are secrets: the directory is made 0700, the files 0600, and appended one line per SA direction as it is
/// made (a file per write: nothing held open, one lock per process).
/// </summary>
public sealed class WiresharkKeyLog : IKeyLog
{
    public const string IkeFile = "ikev1_decryption_table", EspFile = "esp_sa";
    private const UnixFileMode Secret = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly Lock Gate = new();
    private readonly string _directory;

    public WiresharkKeyLog(string directory)
    {
        _directory = directory;
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("--save-keys writes files of mode 0600 (Linux)");
        if (!Directory.Exists(directory))
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var name in (string[])[IkeFile, EspFile])
        {
            var path = Path.Combine(directory, name);
            if (File.Exists(path)) File.SetUnixFileMode(path, Secret); // kept from an earlier run, never readable by others
        }
    }

    public void IkeSa(ulong initiatorCookie, ReadOnlySpan<byte> encryptionKey) =>
        Append(IkeFile, string.Create(CultureInfo.InvariantCulture, $"{initiatorCookie:x16},{Convert.ToHexStringLower(encryptionKey)}"));

    public void EspSa(IPAddress source, IPAddress destination, IpsecSaKeys keys, IpsecTransform transform) =>
        Append(EspFile, string.Create(CultureInfo.InvariantCulture,
            $"\"IPv4\",\"{Address(source)}\",\"{Address(destination)}\",\"0x{keys.Spi:x8}\",\"{EncryptionName(transform)}\",\"{Hex(keys.EncryptionKey)}\",\"{AuthenticationName(transform.Integrity)}\",\"{Hex(keys.IntegrityKey)}\""));

    /// <summary>Wireshark's ESP encryption algorithm names (packet-esp.c's list, as tshark 4.0 accepts them).</summary>
    public static string EncryptionName(IpsecTransform transform) => transform.Cipher switch
    {
        EspTransformId.Null => "NULL",
        EspTransformId.Des => "DES-CBC [RFC2405]",
        EspTransformId.TripleDes => "TripleDES-CBC [RFC2451]",
        EspTransformId.Aes => "AES-CBC [RFC3602]",
        EspTransformId.AesGcm16 => "AES-GCM with 16 octet ICV [RFC4106]", // the key with its salt, as KEYMAT gives it
        var other => throw new ArgumentOutOfRangeException(nameof(transform), other, "no Wireshark name for this ESP transform"),
    };

    /// <summary>Wireshark's ESP authentication algorithm names, by the ICV lengths we use (RFC 2404, 2403, 4868 §2.3).</summary>
    public static string AuthenticationName(IpsecAuthAlgorithm integrity) => integrity switch
    {
        0 => "NULL",
        IpsecAuthAlgorithm.HmacMd5 => "HMAC-MD5-96 [RFC2403]",
        IpsecAuthAlgorithm.HmacSha => "HMAC-SHA-1-96 [RFC2404]",
        IpsecAuthAlgorithm.HmacSha2_256 => "HMAC-SHA-256-128 [RFC4868]",
        IpsecAuthAlgorithm.HmacSha2_384 => "HMAC-SHA-384-192 [RFC4868]",
        IpsecAuthAlgorithm.HmacSha2_512 => "HMAC-SHA-512-256 [RFC4868]",
        var other => throw new ArgumentOutOfRangeException(nameof(integrity), other, "no Wireshark name for this ESP authentication algorithm"),
    };

    /// <summary>An address, or Wireshark's wildcard when the gateway listens on any.</summary>
    private static string Address(IPAddress a) => a.Equals(IPAddress.Any) ? "*" : a.ToString();

    private static string Hex(byte[] key) => key.Length == 0 ? "" : "0x" + Convert.ToHexStringLower(key);

    private void Append(string file, string line)
    {
        var path = Path.Combine(_directory, file);
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = Secret;
        lock (Gate)
        {
            using var stream = new FileStream(path, options);
            using var writer = new StreamWriter(stream);
            writer.Write(line);
            writer.Write('\n');
        }
    }
}
