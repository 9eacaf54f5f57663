using System.Text.Json;

namespace IkeActors.Crypto.Tests;

internal static class Hex
{
    public static byte[] B(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
    public static string S(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
}

internal static class Vectors
{
    public static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "Vectors", file);

    public static JsonElement Load(string file) => JsonDocument.Parse(File.ReadAllText(PathOf(file))).RootElement;

    public static byte[] Bytes(this JsonElement e, string name) => Hex.B(e.GetProperty(name).GetString()!);

    public static IEnumerable<string> StrongSwanFiles() =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Vectors"), "strongswan-*.json").Select(Path.GetFileName)!;
}

/// <summary>A minimal generic-payload-header walker (RFC 2408 §3.2), independent of the codec under test elsewhere.</summary>
internal static class Payloads
{
    public readonly record struct Payload(byte Type, int Offset, int Length)
    {
        public int BodyOffset => Offset + 4;
        public int BodyLength => Length - 4;
    }

    public static (List<Payload> List, int ChainEnd) Walk(byte firstType, ReadOnlySpan<byte> body)
    {
        var list = new List<Payload>();
        byte type = firstType;
        int offset = 0;
        while (type != 0)
        {
            if (offset + 4 > body.Length)
            {
                throw new InvalidDataException("payload header beyond the body");
            }
            int length = (body[offset + 2] << 8) | body[offset + 3];
            if (length < 4 || offset + length > body.Length)
            {
                throw new InvalidDataException("bad payload length");
            }
            list.Add(new Payload(type, offset, length));
            type = body[offset];
            offset += length;
        }
        return (list, offset);
    }
}

/// <summary>The parts of a captured ISAKMP message the tests need.</summary>
internal sealed record CapturedMessage(int Frame, string Source, byte[] Raw)
{
    public byte NextPayload => Raw[16];
    public byte ExchangeType => Raw[18];
    public bool Encrypted => (Raw[19] & 1) != 0;
    public uint MessageId => (uint)(Raw[20] << 24 | Raw[21] << 16 | Raw[22] << 8 | Raw[23]);
    public byte[] Body => Raw[28..];
    public bool FromInitiator => Source == "10.0.0.1";

    public static List<CapturedMessage> All(JsonElement doc) =>
        doc.GetProperty("messages").EnumerateArray()
            .Select(m => new CapturedMessage(m.GetProperty("frame").GetInt32(), m.GetProperty("src").GetString()!, m.Bytes("isakmp")))
            .ToList();
}

/// <summary>The negotiated suite, read from charon's "selected proposal" lines.</summary>
internal sealed record Suite(IkeEncryptionAlgorithm Cipher, int KeyLengthBits, IkeHashAlgorithm Hash, DhGroupId Group, DhGroupId? PfsGroup)
{
    public static Suite FromProposals(JsonElement side)
    {
        string[] proposals = side.GetProperty("selectedProposals").EnumerateArray().Select(p => p.GetString()!).ToArray();
        string[] ike = proposals.First(p => p.StartsWith("IKE:", StringComparison.Ordinal))[4..].Split('/');
        string[] esp = proposals.First(p => p.StartsWith("ESP:", StringComparison.Ordinal))[4..].Split('/');
        (IkeEncryptionAlgorithm cipher, int bits) = ike[0] switch
        {
            "3DES_CBC" => (IkeEncryptionAlgorithm.TripleDesCbc, 0),
            var s when s.StartsWith("AES_CBC_", StringComparison.Ordinal) => (IkeEncryptionAlgorithm.AesCbc, int.Parse(s[8..])),
            var s => throw new NotSupportedException(s),
        };
        IkeHashAlgorithm hash = ike[2] switch
        {
            "PRF_HMAC_MD5" => IkeHashAlgorithm.Md5,
            "PRF_HMAC_SHA1" => IkeHashAlgorithm.Sha1,
            "PRF_HMAC_SHA2_256" => IkeHashAlgorithm.Sha2_256,
            "PRF_HMAC_SHA2_384" => IkeHashAlgorithm.Sha2_384,
            "PRF_HMAC_SHA2_512" => IkeHashAlgorithm.Sha2_512,
            var s => throw new NotSupportedException(s),
        };
        DhGroupId? pfs = esp.Select(GroupOf).FirstOrDefault(g => g is not null);
        return new Suite(cipher, bits, hash, GroupOf(ike[3]) ?? throw new NotSupportedException(ike[3]), pfs);
    }

    private static DhGroupId? GroupOf(string name) => name switch
    {
        "MODP_768" => DhGroupId.Modp768,
        "MODP_1024" => DhGroupId.Modp1024,
        "MODP_1536" => DhGroupId.Modp1536,
        "MODP_2048" => DhGroupId.Modp2048,
        "MODP_3072" => DhGroupId.Modp3072,
        "MODP_4096" => DhGroupId.Modp4096,
        "ECP_256" => DhGroupId.Ecp256,
        "ECP_384" => DhGroupId.Ecp384,
        "ECP_521" => DhGroupId.Ecp521,
        _ => null,
    };
}
