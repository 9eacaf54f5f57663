namespace IkeActors.LoadGenerator;

/// <summary>An `isakmp policy` in ASA words (encryption, hash, group).</summary>
public sealed record IkeProposal(string Encryption, string Hash, int Group);

/// <summary>An `ikev1 transform-set` in ASA words (ESP encryption and integrity transforms).</summary>
public sealed record EspProposal(string Encryption, string Integrity);

/// <summary>
/// strongSwan-style proposal names (`aes256-sha256-modp2048`, `aes128-sha1`) to the ASA's keywords. The DH names
/// are RFC 2409 §6 / RFC 3526 / RFC 5903 groups: modp768 = 1, modp1024 = 2, modp1536 = 5, modp2048 = 14,
/// ecp256 = 19, ecp384 = 20.
/// </summary>
public static class ProposalNames
{
    private static readonly Dictionary<string, string> IkeEncryption = new()
    {
        ["3des"] = "3des", ["aes128"] = "aes", ["aes"] = "aes", ["aes192"] = "aes-192", ["aes256"] = "aes-256",
    };

    private static readonly Dictionary<string, string> IkeHash = new()
    {
        ["md5"] = "md5", ["sha1"] = "sha", ["sha"] = "sha", ["sha256"] = "sha256", ["sha384"] = "sha384", ["sha512"] = "sha512",
    };

    private static readonly Dictionary<string, int> Groups = new()
    {
        ["modp768"] = 1, ["modp1024"] = 2, ["modp1536"] = 5, ["modp2048"] = 14, ["ecp256"] = 19, ["ecp384"] = 20,
    };

    private static readonly Dictionary<string, string> EspEncryption = new()
    {
        ["3des"] = "esp-3des", ["aes128"] = "esp-aes", ["aes"] = "esp-aes", ["aes192"] = "esp-aes-192", ["aes256"] = "esp-aes-256",
    };

    private static readonly Dictionary<string, string> EspIntegrity = new()
    {
        ["md5"] = "esp-md5-hmac", ["sha1"] = "esp-sha-hmac", ["sha"] = "esp-sha-hmac", ["sha256"] = "esp-sha256-hmac",
        ["sha384"] = "esp-sha384-hmac", ["sha512"] = "esp-sha512-hmac",
    };

    /// <summary>ENCRYPTION-HASH-GROUP, e.g. 3des-sha1-modp1024; null when a part is unknown.</summary>
    public static IkeProposal? ParseIke(string text)
    {
        var parts = text.ToLowerInvariant().Split('-');
        if (parts.Length != 3) return null;
        return IkeEncryption.TryGetValue(parts[0], out var e) && IkeHash.TryGetValue(parts[1], out var h) && Groups.TryGetValue(parts[2], out var g)
            ? new IkeProposal(e, h, g)
            : null;
    }

    /// <summary>ENCRYPTION-INTEGRITY, e.g. aes128-sha1; null when a part is unknown.</summary>
    public static EspProposal? ParseEsp(string text)
    {
        var parts = text.ToLowerInvariant().Split('-');
        if (parts.Length != 2) return null;
        return EspEncryption.TryGetValue(parts[0], out var e) && EspIntegrity.TryGetValue(parts[1], out var i) ? new EspProposal(e, i) : null;
    }

    /// <summary>A PFS group: `14` or `modp2048`; null when unknown.</summary>
    public static int? ParseGroup(string text) =>
        int.TryParse(text, out var n) && Groups.ContainsValue(n) ? n : Groups.TryGetValue(text.ToLowerInvariant(), out var g) ? g : null;
}
