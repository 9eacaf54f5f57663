using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// IKEv1 phase 1, spelled `crypto ikev1 …` (ASA 8.4+) or `crypto isakmp …` (8.2): `enable NAMEIF`,
/// `policy N` with its `authentication`, `encryption`, `hash`, `group` and `lifetime`,
/// `identity address|hostname|key-id|auto`, `nat-traversal [SECONDS]`, `am-disable`, and `no crypto ikev1 nat-traversal`.
/// </summary>
internal sealed class CryptoIsakmpParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    /// <summary>After `crypto isakmp` or `crypto ikev1` (the word read is <paramref name="spelling"/>).</summary>
    public SubMode ParseCryptoIsakmp(CommandCursor c, string spelling)
    {
        var what = c.Keyword("enable", "policy", "identity", "nat-traversal",
            "am-disable", "disconnect-notify", "reload-wait", "ipsec-over-tcp", "limit", "remote-access", "fragmentation", "keepalive");
        switch (what)
        {
            case "enable":
            {
                var column = c.Column;
                var iface = c.Name("interface name");
                c.End();
                if (!Config.IsakmpEnabledInterfaces.Contains(iface)) Config.IsakmpEnabledInterfaces.Add(iface);
                Sources.IsakmpEnableLines[iface] = Sources.At(c, column);
                return SubMode.None;
            }
            case "policy":
            {
                var column = c.Column;
                var priority = c.Int(1, AsaDefaults.PriorityMax, "policy priority");
                c.End();
                if (!Config.IsakmpPolicies.ContainsKey(priority)) Config.IsakmpPolicies[priority] = new IsakmpPolicy(priority);
                Sources.PolicyLines[(priority, "")] = Sources.At(c, column);
                return new SubMode(SubModeKind.IsakmpPolicy, spelling, priority);
            }
            case "identity":
            {
                var kind = c.Keyword("address", "hostname", "key-id", "auto");
                AsaKeywords.TryParse(AsaKeywords.Identity, kind, out IsakmpIdentity id);
                string? keyId = null;
                if (id == IsakmpIdentity.KeyId) keyId = c.Name("key-id string");
                c.End();
                Config.Identity = new IsakmpIdentitySetting(id, keyId);
                return SubMode.None;
            }
            case "nat-traversal":
            {
                var keepalive = AsaDefaults.NatTraversalKeepaliveSeconds;
                if (!c.AtEnd) keepalive = c.Int(AsaDefaults.NatTraversalKeepaliveMin, AsaDefaults.NatTraversalKeepaliveMax, "NAT-T keepalive seconds");
                c.End();
                Config.NatTraversal = new NatTraversal(true, keepalive);
                return SubMode.None;
            }
            case "am-disable":
                // Inbound Aggressive Mode refused (RFC 2409 §5.4 exposes a hash of the PSK to offline guessing).
                c.End();
                Config.AggressiveModeDisabled = true;
                return SubMode.None;
            default:
                throw NotInterpreted();
        }
    }

    /// <summary>
    /// A global `no …` command: `no crypto ikev1|isakmp nat-traversal` turns NAT-T off; any other
    /// `no` form is kept as not interpreted.
    /// </summary>
    public SubMode ParseNo(CommandCursor c)
    {
        c.Next("no");
        if (c.TryKeyword("crypto") && (c.TryKeyword("isakmp") || c.TryKeyword("ikev1")) && c.TryKeyword("nat-traversal"))
        {
            c.End();
            Config.NatTraversal = Config.NatTraversal with { Enabled = false };
            return SubMode.None;
        }
        throw NotInterpreted();
    }

    /// <summary>One line under `crypto ikev1 policy N`; the source index keeps each line for the policy checks.</summary>
    public void ParsePolicySubCommand(CommandCursor c, int priority)
    {
        var current = Config.IsakmpPolicies[priority];
        var what = c.Keyword("authentication", "encryption", "hash", "group", "lifetime");
        var valueColumn = c.Column;
        switch (what)
        {
            case "authentication":
                AsaKeywords.TryParse(AsaKeywords.Authentication, c.Keyword("pre-share", "rsa-sig", "crack"), out IsakmpAuthentication a);
                current = current with { Authentication = a };
                break;
            case "encryption":
                AsaKeywords.TryParse(AsaKeywords.Encryption, c.Keyword("des", "3des", "aes", "aes-192", "aes-256"), out IkeEncryption e);
                current = current with { Encryption = e };
                break;
            case "hash":
                AsaKeywords.TryParse(AsaKeywords.Hash, c.Keyword("md5", "sha", "sha256", "sha384", "sha512"), out IkeHash h);
                current = current with { Hash = h };
                break;
            case "group":
                var g = int.Parse(c.Keyword(AsaKeywords.DhGroups.Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray()), System.Globalization.CultureInfo.InvariantCulture);
                current = current with { Group = g };
                break;
            default:
                current = current with { LifetimeSeconds = c.Int(AsaDefaults.IsakmpPolicyLifetimeMin, AsaDefaults.IsakmpPolicyLifetimeMax, "lifetime seconds") };
                break;
        }
        c.End();
        Config.IsakmpPolicies[priority] = current;
        Sources.PolicyLines[(priority, what)] = Sources.At(c, valueColumn);
    }
}
