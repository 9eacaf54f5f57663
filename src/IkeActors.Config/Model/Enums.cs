namespace IkeActors.Config.Model;

/// <summary>`authentication` in an ISAKMP policy.</summary>
public enum IsakmpAuthentication { PreShare, RsaSig, Crack }

/// <summary>`encryption` in an ISAKMP policy.</summary>
public enum IkeEncryption { Des, TripleDes, Aes, Aes192, Aes256 }

/// <summary>`hash` in an ISAKMP policy.</summary>
public enum IkeHash { Md5, Sha, Sha256, Sha384, Sha512 }

/// <summary>`crypto isakmp identity`.</summary>
public enum IsakmpIdentity { Auto, Address, Hostname, KeyId }

/// <summary>The ESP encryption transform of a transform set.</summary>
public enum EspEncryption { Des, TripleDes, Aes, Aes192, Aes256, Null, AesGcm, AesGcm192, AesGcm256 }

/// <summary>The ESP integrity transform of a transform set (None = `esp-none` or absent).</summary>
public enum EspAuthentication { None, Md5Hmac, ShaHmac, Sha256Hmac, Sha384Hmac, Sha512Hmac }

/// <summary>`mode tunnel|transport` of a transform set.</summary>
public enum IpsecMode { Tunnel, Transport }

/// <summary>`crypto map set connection-type`.</summary>
public enum ConnectionType { Bidirectional, AnswerOnly, OriginateOnly }

/// <summary>`tunnel-group NAME type`.</summary>
public enum TunnelGroupType { IpsecL2L, RemoteAccess, IpsecRa, Webvpn }

/// <summary>`permit` or `deny` in an access-list entry.</summary>
public enum AclAction { Permit, Deny }

/// <summary>The text the ASA uses for each enum value, both ways.</summary>
public static class EspEncryptionExtensions
{
    /// <summary>AES-GCM (RFC 4106): encryption and integrity in one transform, no separate integrity.</summary>
    public static bool IsGcm(this EspEncryption e) => e is EspEncryption.AesGcm or EspEncryption.AesGcm192 or EspEncryption.AesGcm256;
}

public static class AsaKeywords
{
    public static readonly IReadOnlyDictionary<IsakmpAuthentication, string> Authentication = new Dictionary<IsakmpAuthentication, string>
    {
        [IsakmpAuthentication.PreShare] = "pre-share",
        [IsakmpAuthentication.RsaSig] = "rsa-sig",
        [IsakmpAuthentication.Crack] = "crack",
    };

    public static readonly IReadOnlyDictionary<IkeEncryption, string> Encryption = new Dictionary<IkeEncryption, string>
    {
        [IkeEncryption.Des] = "des",
        [IkeEncryption.TripleDes] = "3des",
        [IkeEncryption.Aes] = "aes",
        [IkeEncryption.Aes192] = "aes-192",
        [IkeEncryption.Aes256] = "aes-256",
    };

    public static readonly IReadOnlyDictionary<IkeHash, string> Hash = new Dictionary<IkeHash, string>
    {
        [IkeHash.Md5] = "md5",
        [IkeHash.Sha] = "sha",
        [IkeHash.Sha256] = "sha256",
        [IkeHash.Sha384] = "sha384",
        [IkeHash.Sha512] = "sha512",
    };

    public static readonly IReadOnlyDictionary<IsakmpIdentity, string> Identity = new Dictionary<IsakmpIdentity, string>
    {
        [IsakmpIdentity.Auto] = "auto",
        [IsakmpIdentity.Address] = "address",
        [IsakmpIdentity.Hostname] = "hostname",
        [IsakmpIdentity.KeyId] = "key-id",
    };

    public static readonly IReadOnlyDictionary<EspEncryption, string> EspEncryptionText = new Dictionary<EspEncryption, string>
    {
        [EspEncryption.Des] = "esp-des",
        [EspEncryption.TripleDes] = "esp-3des",
        [EspEncryption.Aes] = "esp-aes",
        [EspEncryption.Aes192] = "esp-aes-192",
        [EspEncryption.Aes256] = "esp-aes-256",
        [EspEncryption.Null] = "esp-null",
        // RFC 4106 in IKEv1 Quick Mode (strongSwan, Libreswan); an ASA offers GCM only in IKEv2 proposals (config check warns).
        [EspEncryption.AesGcm] = "esp-aes-gcm",
        [EspEncryption.AesGcm192] = "esp-aes-192-gcm",
        [EspEncryption.AesGcm256] = "esp-aes-256-gcm",
    };

    public static readonly IReadOnlyDictionary<EspAuthentication, string> EspAuthenticationText = new Dictionary<EspAuthentication, string>
    {
        [EspAuthentication.None] = "esp-none",
        [EspAuthentication.Md5Hmac] = "esp-md5-hmac",
        [EspAuthentication.ShaHmac] = "esp-sha-hmac",
        [EspAuthentication.Sha256Hmac] = "esp-sha256-hmac",
        [EspAuthentication.Sha384Hmac] = "esp-sha384-hmac",
        [EspAuthentication.Sha512Hmac] = "esp-sha512-hmac",
    };

    public static readonly IReadOnlyDictionary<ConnectionType, string> ConnectionTypeText = new Dictionary<ConnectionType, string>
    {
        [ConnectionType.Bidirectional] = "bidirectional",
        [ConnectionType.AnswerOnly] = "answer-only",
        [ConnectionType.OriginateOnly] = "originate-only",
    };

    public static readonly IReadOnlyDictionary<TunnelGroupType, string> TunnelGroupTypeText = new Dictionary<TunnelGroupType, string>
    {
        [TunnelGroupType.IpsecL2L] = "ipsec-l2l",
        [TunnelGroupType.RemoteAccess] = "remote-access",
        [TunnelGroupType.IpsecRa] = "ipsec-ra",
        [TunnelGroupType.Webvpn] = "webvpn",
    };

    /// <summary>Diffie-Hellman groups the ASA accepts in `group` and `set pfs groupN`.</summary>
    public static readonly IReadOnlyList<int> DhGroups = [1, 2, 5, 7, 14, 15, 16, 19, 20, 21, 24];

    /// <summary>IP protocol names the ASA accepts in access-lists, with their numbers (IANA).</summary>
    public static readonly IReadOnlyDictionary<string, int> Protocols = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
    {
        ["ip"] = 0, ["icmp"] = 1, ["igmp"] = 2, ["ipinip"] = 4, ["tcp"] = 6, ["igrp"] = 9, ["udp"] = 17,
        ["gre"] = 47, ["esp"] = 50, ["ah"] = 51, ["icmp6"] = 58, ["eigrp"] = 88, ["ospf"] = 89,
        ["nos"] = 94, ["pim"] = 103, ["pcp"] = 108, ["snp"] = 109, ["sctp"] = 132,
    };

    /// <summary>ICMP type names (RFC 792 numbers) as the ASA spells them.</summary>
    public static readonly IReadOnlyDictionary<string, int> IcmpTypes = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
    {
        ["echo-reply"] = 0, ["unreachable"] = 3, ["source-quench"] = 4, ["redirect"] = 5,
        ["alternate-address"] = 6, ["echo"] = 8, ["router-advertisement"] = 9,
        ["router-solicitation"] = 10, ["time-exceeded"] = 11, ["parameter-problem"] = 12,
        ["timestamp-request"] = 13, ["timestamp-reply"] = 14, ["information-request"] = 15,
        ["information-reply"] = 16, ["mask-request"] = 17, ["mask-reply"] = 18,
        ["traceroute"] = 30, ["conversion-error"] = 31, ["mobile-redirect"] = 32,
    };

    /// <summary>
    /// Port names the ASA accepts and prints for TCP and UDP (Cisco ASA configuration guide,
    /// "TCP and UDP Ports" table). Names valid only for one protocol carry it.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, int Port, bool Tcp, bool Udp)> Ports =
    [
        ("echo", 7, true, true), ("discard", 9, true, true), ("daytime", 13, true, false),
        ("chargen", 19, true, false), ("ftp-data", 20, true, false), ("ftp", 21, true, false),
        ("ssh", 22, true, false), ("telnet", 23, true, false), ("smtp", 25, true, false),
        ("time", 37, false, true), ("nameserver", 42, false, true), ("whois", 43, true, false),
        ("tacacs", 49, true, true), ("domain", 53, true, true), ("bootps", 67, false, true),
        ("bootpc", 68, false, true), ("tftp", 69, false, true), ("gopher", 70, true, false),
        ("finger", 79, true, false), ("www", 80, true, true), ("hostname", 101, true, false),
        ("pop2", 109, true, false), ("pop3", 110, true, false), ("sunrpc", 111, true, true),
        ("ident", 113, true, false), ("nntp", 119, true, false), ("ntp", 123, false, true),
        ("netbios-ns", 137, false, true), ("netbios-dgm", 138, false, true),
        ("netbios-ssn", 139, true, false), ("imap4", 143, true, false), ("snmp", 161, false, true),
        ("snmptrap", 162, false, true), ("xdmcp", 177, false, true), ("bgp", 179, true, false),
        ("irc", 194, true, false), ("dnsix", 195, false, true), ("ldap", 389, true, false),
        ("mobile-ip", 434, false, true), ("https", 443, true, false), ("pim-auto-rp", 496, true, true),
        ("isakmp", 500, false, true), ("exec", 512, true, false), ("biff", 512, false, true),
        ("login", 513, true, false), ("who", 513, false, true), ("rsh", 514, true, false),
        ("syslog", 514, false, true), ("lpd", 515, true, false), ("talk", 517, true, true),
        ("rip", 520, false, true), ("uucp", 540, true, false), ("klogin", 543, true, false),
        ("kshell", 544, true, false), ("rtsp", 554, true, false), ("ldaps", 636, true, false),
        ("kerberos", 750, true, true), ("lotusnotes", 1352, true, false), ("citrix-ica", 1494, true, false),
        ("sqlnet", 1521, true, false), ("radius", 1645, false, true), ("radius-acct", 1646, false, true),
        ("h323", 1720, true, false), ("pptp", 1723, true, false), ("nfs", 2049, true, true),
        ("ctiqbe", 2748, true, false), ("cifs", 3020, true, true), ("sip", 5060, true, true),
        ("aol", 5190, true, false), ("secureid-udp", 5510, false, true), ("pcanywhere-data", 5631, true, false),
        ("pcanywhere-status", 5632, false, true),
    ];

    public static string Text<T>(IReadOnlyDictionary<T, string> table, T value) where T : notnull => table[value];

    public static bool TryParse<T>(IReadOnlyDictionary<T, string> table, string text, out T value) where T : notnull
    {
        foreach (var (k, v) in table)
        {
            if (string.Equals(v, text, StringComparison.OrdinalIgnoreCase)) { value = k; return true; }
        }
        value = default!;
        return false;
    }
}
