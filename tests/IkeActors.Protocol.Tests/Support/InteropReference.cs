using System.Globalization;
using System.Text.RegularExpressions;
using IkeActors.Testing;

namespace IkeActors.Protocol.Tests.Support;

/// <summary>
/// The strongSwan 5.9.8 reference captures in tests/data/strongswan-5.9.8/ (see its README),
/// and tshark's text views of them.
/// </summary>
public static partial class InteropReference
{
    /// <summary>tests/data/strongswan-5.9.8/; a clear failure when it is missing.</summary>
    public static string Directory()
    {
        var dir = RepoPaths.StrongSwanReference;
        if (!System.IO.Directory.Exists(dir))
            throw new InvalidOperationException($"The strongSwan reference captures are missing: expected {dir} in the repository.");
        return dir;
    }

    /// <summary>A file under the reference folder, which must exist.</summary>
    public static string File(string relativePath)
    {
        var path = Path.Combine(Directory(), relativePath);
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"interop reference file missing: {path}", path);
        return path;
    }

    /// <summary>One ISAKMP message as tshark -V printed it (header fields and the top-level plaintext payloads).</summary>
    public sealed class DecodedMessage
    {
        public int Frame { get; init; }
        public ushort SourcePort { get; set; }
        public ushort DestinationPort { get; set; }
        public bool NonEspMarker { get; set; }
        public string InitiatorSpi { get; set; } = "";
        public string ResponderSpi { get; set; } = "";
        public int NextPayload { get; set; } = -1;
        public int ExchangeType { get; set; } = -1;
        public int Flags { get; set; } = -1;
        public uint MessageId { get; set; }
        public int Length { get; set; } = -1;
        public int EncryptedDataLength { get; set; } = -1;
        public List<(int Type, int Length)> Payloads { get; } = [];
        public List<string> VendorIds { get; } = [];
    }

    [GeneratedRegex(@"^Frame (\d+): ")]
    private static partial Regex FrameLine();

    [GeneratedRegex(@"\((\d+)\)\s*(:.*)?$")]
    private static partial Regex TrailingNumber();

    [GeneratedRegex(@"^[0-9a-f]+$")]
    private static partial Regex HexOnly();

    /// <summary>
    /// Reads the ISAKMP messages of a <c>tshark -V</c> transcript: per frame, the fields at the
    /// ISAKMP tree's first level (4-space indent) and the "Payload:" entries at that level with
    /// their "Payload length" and "Vendor ID" lines (8 spaces). Decrypted payloads (deeper) are ignored.
    /// </summary>
    public static List<DecodedMessage> ParseVerbose(string path)
    {
        var result = new List<DecodedMessage>();
        DecodedMessage? current = null;
        var frame = 0;
        var inIsakmp = false;
        var inUdp = false;
        foreach (var line in System.IO.File.ReadLines(path))
        {
            var fm = FrameLine().Match(line);
            if (fm.Success) { frame = int.Parse(fm.Groups[1].Value, CultureInfo.InvariantCulture); inIsakmp = false; inUdp = false; continue; }
            if (line.Length > 0 && !char.IsWhiteSpace(line[0]))
            {
                inIsakmp = false;
                inUdp = line.StartsWith("User Datagram Protocol", StringComparison.Ordinal);
                if (inUdp) current = new DecodedMessage { Frame = frame };
                if (line == "UDP Encapsulation of IPsec Packets" && current is not null) current.NonEspMarker = true;
                if (line == "Internet Security Association and Key Management Protocol" && current is not null && current.Frame == frame)
                {
                    inIsakmp = true;
                    result.Add(current);
                }
                continue;
            }
            if (current is null) continue;
            if (inUdp)
            {
                if (line.StartsWith("    Source Port: ", StringComparison.Ordinal)) current.SourcePort = ushort.Parse(line[16..], CultureInfo.InvariantCulture);
                if (line.StartsWith("    Destination Port: ", StringComparison.Ordinal)) current.DestinationPort = ushort.Parse(line[21..], CultureInfo.InvariantCulture);
                continue;
            }
            if (!inIsakmp) continue;

            if (line.StartsWith("    ", StringComparison.Ordinal) && !char.IsWhiteSpace(line[4]))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var key = colon < 0 ? line[4..] : line[4..colon];
                var value = colon < 0 ? "" : line[(colon + 1)..].Trim();
                switch (key)
                {
                    case "Initiator SPI": current.InitiatorSpi = value; break;
                    case "Responder SPI": current.ResponderSpi = value; break;
                    case "Next payload": current.NextPayload = Number(value); break;
                    case "Exchange type": current.ExchangeType = Number(value); break;
                    case "Flags": current.Flags = Convert.ToInt32(value, 16); break;
                    case "Message ID": current.MessageId = Convert.ToUInt32(value, 16); break;
                    case "Length": current.Length = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "Payload": current.Payloads.Add((Number(value), -1)); break;
                    default:
                        if (key.StartsWith("Encrypted Data (", StringComparison.Ordinal))
                            current.EncryptedDataLength = int.Parse(key["Encrypted Data (".Length..key.IndexOf(' ', 16)], CultureInfo.InvariantCulture);
                        break;
                }
            }
            else if (line.StartsWith("        ", StringComparison.Ordinal) && !char.IsWhiteSpace(line[8]) && current.Payloads.Count > 0)
            {
                if (line.StartsWith("        Payload length: ", StringComparison.Ordinal))
                    current.Payloads[^1] = (current.Payloads[^1].Type, int.Parse(line[24..], CultureInfo.InvariantCulture));
                else if (line.StartsWith("        Vendor ID: ", StringComparison.Ordinal) && HexOnly().IsMatch(line[19..]))
                    current.VendorIds.Add(line[19..]);
            }
        }
        return result;
    }

    /// <summary>The number in the last "(n)" of a tshark value such as "Vendor ID (13) : XAUTH" or "Quick Mode (32)".</summary>
    private static int Number(string value)
    {
        var m = TrailingNumber().Match(value);
        if (!m.Success) throw new FormatException("no (number) in tshark value: " + value);
        return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
