using System.Text.RegularExpressions;
using IkeActors.Testing;

namespace IkeActors.Esp.Tests.Support;

/// <summary>The strongSwan-to-strongSwan reference run in tests/data/strongswan-5.9.8/ (see its README).</summary>
internal static partial class Reference
{
    public static string Dir => RepoPaths.StrongSwanReference;
    public static string Pcap => Path.Combine(Dir, "strongswan-strongswan.pcap");
    public static string Decrypted => Path.Combine(Dir, "strongswan-strongswan.decrypted.txt");

    public sealed record EspKeys(uint Spi, string Cipher, byte[] EncryptionKey, string Integrity, byte[] IntegrityKey);

    /// <summary>The esp_sa lines of tshark-keys.txt (what strongSwan logged with --log-level keys).</summary>
    public static Dictionary<uint, EspKeys> Keys()
    {
        var result = new Dictionary<uint, EspKeys>();
        foreach (var line in File.ReadAllLines(Path.Combine(Dir, "tshark-keys.txt")))
        {
            if (!line.StartsWith("uat:esp_sa:", StringComparison.Ordinal)) continue;
            var f = QuotedField().Matches(line).Select(m => m.Groups[1].Value).ToArray();
            uint spi = Convert.ToUInt32(f[3], 16);
            result[spi] = new EspKeys(spi, f[4], Hex.Bytes(f[5]), f[6], Hex.Bytes(f[7]));
        }
        return result;
    }

    /// <summary>ESP-in-UDP payloads of the reference capture, in capture order.</summary>
    public static List<byte[]> EspPackets() =>
        PcapNg.ReadFrames(Pcap).Select(PcapNg.UdpPayload)
            .Where(u => u is { } x && x.DestinationPort == 4500 && x.Payload.Length > 8 && x.Payload.AsSpan(0, 4).IndexOfAnyExcept((byte)0) >= 0)
            .Select(u => u!.Value.Payload).ToList();

    public sealed record TsharkEsp(uint Spi, uint Sequence, string Iv, string Icv, string DecryptedPrefix, string Pad, int PadLength, int NextHeader, string IcmpData);

    /// <summary>tshark's own decryption of the same packets (tshark -V -Y esp with the keys).</summary>
    public static List<TsharkEsp> TsharkView()
    {
        var text = File.ReadAllText(Decrypted);
        var list = new List<TsharkEsp>();
        foreach (Match m in TsharkBlock().Matches(text))
        {
            var dump = string.Concat(HexDumpLine().Matches(m.Groups["dump"].Value).Select(d => d.Groups[1].Value.Replace(" ", "")));
            list.Add(new TsharkEsp(Convert.ToUInt32(m.Groups["spi"].Value, 16), uint.Parse(m.Groups["seq"].Value),
                m.Groups["iv"].Value, m.Groups["icv"].Value, m.Groups["dec"].Value, m.Groups["pad"].Value,
                int.Parse(m.Groups["padlen"].Value), Convert.ToInt32(m.Groups["nh"].Value, 16), dump));
        }
        return list;
    }

    [GeneratedRegex("\"([^\"]*)\"")]
    private static partial Regex QuotedField();

    [GeneratedRegex(@"ESP SPI: 0x(?<spi>[0-9a-f]+).*?ESP Sequence: (?<seq>\d+).*?ESP IV: (?<iv>[0-9a-f]+).*?ESP ICV: (?<icv>[0-9a-f]+).*?ESP Decrypted Data: (?<dec>[0-9a-f]+)….*?Pad: (?<pad>[0-9a-f]+)\s+ESP Pad Length: (?<padlen>\d+)\s+Next header: \w+ \(0x(?<nh>[0-9a-f]+)\)(?<dump>.*?)\n\s+Data: ", RegexOptions.Singleline)]
    private static partial Regex TsharkBlock();

    [GeneratedRegex(@"^[0-9a-f]{4}  ((?:[0-9a-f]{2} ?)+)", RegexOptions.Multiline)]
    private static partial Regex HexDumpLine();
}
