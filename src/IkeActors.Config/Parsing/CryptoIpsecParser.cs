using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// `crypto ipsec [ikev1] transform-set NAME ENCRYPTION [INTEGRITY]`, `… transform-set NAME mode tunnel|transport`
/// and `crypto ipsec security-association lifetime seconds|kilobytes N`, after `crypto ipsec` is read.
/// </summary>
internal sealed class CryptoIpsecParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    private static readonly string[] EncryptionTransforms = ["esp-des", "esp-3des", "esp-aes", "esp-aes-192", "esp-aes-256", "esp-null", "esp-aes-gcm", "esp-aes-192-gcm", "esp-aes-256-gcm"];
    private static readonly string[] IntegrityTransforms = ["esp-md5-hmac", "esp-sha-hmac", "esp-sha256-hmac", "esp-sha384-hmac", "esp-sha512-hmac", "esp-none"];

    public SubMode ParseCryptoIpsec(CommandCursor c)
    {
        var what = c.Keyword("ikev1", "transform-set", "security-association", "ikev2", "df-bit", "fragmentation", "profile", "client-services", "inner-routing-lookup");
        if (what == "ikev1")
        {
            c.Keyword("transform-set");
            ParseTransformSet(c);
            return SubMode.None;
        }
        if (what == "transform-set")
        {
            ParseTransformSet(c);
            return SubMode.None;
        }
        if (what == "security-association")
        {
            ParseGlobalLifetime(c);
            return SubMode.None;
        }
        if (what == "df-bit")
        {
            // `crypto ipsec df-bit clear-df|copy-df|set-df NAMEIF`
            var policy = c.Keyword("clear-df", "copy-df", "set-df") switch
            {
                "clear-df" => DfBitSetting.ClearDf,
                "set-df" => DfBitSetting.SetDf,
                _ => DfBitSetting.CopyDf,
            };
            var nameif = InterfaceAtEnd(c, "crypto ipsec df-bit");
            Config.DfBitPolicies.RemoveAll(d => d.Nameif == nameif);
            Config.DfBitPolicies.Add(new InterfaceDfBit(nameif, policy));
            return SubMode.None;
        }
        if (what == "fragmentation")
        {
            // `crypto ipsec fragmentation before-encryption|after-encryption NAMEIF`
            var before = c.Keyword("before-encryption", "after-encryption") == "before-encryption";
            var nameif = InterfaceAtEnd(c, "crypto ipsec fragmentation");
            Config.FragmentationPolicies.RemoveAll(f => f.Nameif == nameif);
            Config.FragmentationPolicies.Add(new InterfaceFragmentation(nameif, before));
            return SubMode.None;
        }
        throw NotInterpreted();
    }

    /// <summary>`lifetime seconds N`, `lifetime kilobytes N|unlimited` (pmtu-aging and replay: not interpreted).</summary>
    private void ParseGlobalLifetime(CommandCursor c)
    {
        var sub = c.Keyword("lifetime", "pmtu-aging", "replay");
        if (sub != "lifetime") throw NotInterpreted();
        var unit = c.Keyword("seconds", "kilobytes");
        if (unit == "seconds")
        {
            Config.GlobalSaLifetime = Config.GlobalSaLifetime with { Seconds = c.Int(AsaDefaults.IpsecSaLifetimeSecondsMin, AsaDefaults.IpsecSaLifetimeSecondsMax, "lifetime seconds") };
        }
        else if (c.TryKeyword("unlimited"))
        {
            Config.GlobalSaLifetime = Config.GlobalSaLifetime with { Kilobytes = null };
        }
        else
        {
            Config.GlobalSaLifetime = Config.GlobalSaLifetime with { Kilobytes = c.Number(AsaDefaults.IpsecSaLifetimeKilobytesMin, AsaDefaults.IpsecSaLifetimeKilobytesMax, "lifetime kilobytes") };
        }
        c.End();
    }

    /// <summary>
    /// `NAME ENCRYPTION [INTEGRITY]` (one encryption and at most one integrity transform, in
    /// either order) or `NAME mode tunnel|transport` for a set already defined.
    /// </summary>
    private void ParseTransformSet(CommandCursor c)
    {
        var sets = Config.TransformSets;
        var name = c.Name("transform-set name", 64);
        var index = sets.FindIndex(t => t.Name == name);
        if (c.PeekIs("mode"))
        {
            c.Keyword("mode");
            var mode = c.Keyword("tunnel", "transport") == "transport" ? IpsecMode.Transport : IpsecMode.Tunnel;
            c.End();
            if (index < 0) throw c.InvalidAt(c.EndColumn - 1, $"transform-set '{name}' must be defined with its transforms before its mode", "transform");
            sets[index] = sets[index] with { Mode = mode };
            return;
        }
        EspEncryption? enc = null;
        EspAuthentication? integrity = null;
        var all = EncryptionTransforms.Concat(IntegrityTransforms).ToArray();
        var firstColumn = c.Column;
        var count = 0;
        while (!c.AtEnd || count == 0)
        {
            var column = c.Column;
            var t = c.Keyword(all);
            count++;
            if (AsaKeywords.TryParse(AsaKeywords.EspEncryptionText, t, out EspEncryption e))
            {
                if (enc is not null) throw c.InvalidAt(column, "a transform set has only one encryption transform", "esp-md5-hmac", "esp-sha-hmac");
                enc = e;
            }
            else if (AsaKeywords.TryParse(AsaKeywords.EspAuthenticationText, t, out EspAuthentication i))
            {
                if (integrity is not null) throw c.InvalidAt(column, "a transform set has only one authentication transform", EncryptionTransforms);
                integrity = i;
            }
            if (count > 2) throw c.InvalidAt(column, "a transform set has at most two transforms", "end of command");
        }
        if (enc is null) throw c.InvalidAt(firstColumn, "a transform set needs an encryption transform (esp-aes, esp-3des, …)", EncryptionTransforms);
        // RFC 4106 §8.1: GCM authenticates by itself; no Authentication Algorithm goes with it.
        if (enc.Value.IsGcm() && integrity is not (null or EspAuthentication.None))
            throw c.InvalidAt(firstColumn, $"{AsaKeywords.EspEncryptionText[enc.Value]} authenticates by itself: no integrity transform with it", "esp-none", "end of command");
        Sources.TransformSetLines[name] = Sources.At(c, firstColumn);
        var set = new TransformSet(name, enc.Value, integrity ?? EspAuthentication.None);
        if (index < 0) sets.Add(set);
        else sets[index] = set with { Mode = sets[index].Mode };
    }
}
