namespace IkeActors.Config.Model;

/// <summary>
/// The values the ASA uses when a command is absent. Each names where it comes from.
/// </summary>
public static class AsaDefaults
{
    // Cisco ASA command reference, `mtu`: "The default bytes is 1500"; range 64-9198 (jumbo frames: up to 9198).
    public const int Mtu = 1500;
    public const int MtuMin = 64;
    public const int MtuMax = 9198;

    // Cisco ASA command reference, `lifetime` (crypto ikev1/isakmp policy mode):
    // "The default is 86,400 seconds (24 hours)." Range 120–2147483647.
    public const int IsakmpPolicyLifetimeSeconds = 86400;
    public const int IsakmpPolicyLifetimeMin = 120;
    public const int IsakmpPolicyLifetimeMax = 2147483647;

    // Cisco ASA command reference, `crypto ikev1 policy` / CLI configuration guide,
    // "IKEv1 policy keywords and values" table (ASA 8.4 and later): a parameter not
    // given in a policy takes its default: authentication pre-share, encryption 3des,
    // hash sha, group 2.
    public const IsakmpAuthentication IsakmpPolicyAuthentication = IsakmpAuthentication.PreShare;
    public const IkeEncryption IsakmpPolicyEncryption = IkeEncryption.TripleDes;
    public const IkeHash IsakmpPolicyHash = IkeHash.Sha;
    public const int IsakmpPolicyGroup = 2;

    // Cisco ASA command reference, `crypto ipsec security-association lifetime`:
    // "The default lifetime is 28,800 seconds (eight hours) and 4,608,000 kilobytes
    // (10 megabytes per second for one hour)." Crypto map entries inherit the global values.
    public const int IpsecSaLifetimeSeconds = 28800;
    public const long IpsecSaLifetimeKilobytes = 4608000;
    // Same command: seconds 120–2147483647, kilobytes 10–2147483647.
    public const int IpsecSaLifetimeSecondsMin = 120;
    public const int IpsecSaLifetimeSecondsMax = 2147483647;
    public const long IpsecSaLifetimeKilobytesMin = 10;
    public const long IpsecSaLifetimeKilobytesMax = 2147483647;

    // Cisco ASA VPN configuration guide, "NAT Transparency": IPsec over NAT-T "is enabled by
    // default" in current releases; command reference, `crypto isakmp nat-traversal`: the
    // keepalive defaults to 20 seconds, range 10–3600.
    public const bool NatTraversalEnabled = true;
    public const int NatTraversalKeepaliveSeconds = 20;
    public const int NatTraversalKeepaliveMin = 10;
    public const int NatTraversalKeepaliveMax = 3600;

    // Cisco ASA command reference, `isakmp keepalive` (tunnel-group ipsec-attributes):
    // "For a LAN-to-LAN group, the default threshold is 10 seconds and the default
    // retry is 2 seconds." Threshold 10–3600, retry 2–10.
    public const int DpdThresholdSeconds = 10;
    public const int DpdRetrySeconds = 2;
    public const int DpdThresholdMin = 10;
    public const int DpdThresholdMax = 3600;
    public const int DpdRetryMin = 2;
    public const int DpdRetryMax = 10;

    // Cisco ASA command reference, `crypto isakmp identity`: "The default is auto."
    public const IsakmpIdentity Identity = IsakmpIdentity.Auto;

    // Cisco ASA command reference, `crypto map set pfs`: "If you do not specify a
    // Diffie-Hellman group, the ASA uses group2" (set pfs without a group).
    public const int PfsGroupWhenUnspecified = 2;
    /// <summary>`set ikev1 phase1-mode aggressive` without a group: group 2 (ASA command reference).</summary>
    public const int AggressiveModeGroupWhenUnspecified = 2;

    // Cisco ASA command reference, `crypto ipsec ikev1 transform-set mode transport`:
    // "The default encapsulation mode is tunnel."
    public const IpsecMode TransformSetMode = IpsecMode.Tunnel;

    // Cisco ASA command reference, `crypto map set connection-type`: "The default is bidirectional."
    public const ConnectionType CryptoMapConnectionType = ConnectionType.Bidirectional;

    // Cisco ASA command reference, `security-level`: 0–100; `crypto isakmp policy`: priority 1–65535;
    // `crypto map`: sequence number 1–65535; `set peer`: up to 10 peers;
    // `set ikev1 transform-set`: up to 11 transform sets.
    public const int SecurityLevelMax = 100;
    public const int PriorityMax = 65535;
    public const int SequenceMax = 65535;
    public const int MaxPeersPerEntry = 10;
    public const int MaxTransformSetsPerEntry = 11;

    // Cisco ASA command reference, `pre-shared-key` (tunnel-group ipsec-attributes):
    // "an alphanumeric string between 1 and 128 characters".
    public const int PreSharedKeyMaxLength = 128;

    // Cisco ASA command reference: an access-list ID is up to 241 characters, the longest name
    // the ASA takes; object, object-group, transform-set, crypto map and tunnel-group names
    // are checked against 64 where they are read.
    public const int NameMaxLength = 241;

    // The tunnel-group an L2L peer without its own group lands on (Cisco ASA configuration guide,
    // "Default Connection Profiles": DefaultL2LGroup).
    public const string DefaultL2LGroup = "DefaultL2LGroup";
    /// <summary>The built-in remote-access connection profile: the group of a client whose group name matches no tunnel group.</summary>
    public const string DefaultRAGroup = "DefaultRAGroup";

    // ---- Remote access: address pools, group policies, local users, remote-access tunnel groups ----

    // Cisco ASA VPN CLI configuration guide, "Configure Local IPv4 Address Pools" (`ip local pool
    // poolname first-address-last-address [mask mask]`): the mask is optional, and without it the
    // ASA uses the address's class mask ("10.10.10.0-10.10.10.255 ... by default is a Class A
    // network"), which is why the guide says to give the mask for a non-classful range.
    // (The guide's text as recalled; no stored copy of the page could be read to quote it.)
    public static uint PoolMaskWhenUnspecified(uint firstAddress) => (firstAddress >> 24) switch
    {
        < 128 => 0xFF000000u,  // class A
        < 192 => 0xFFFF0000u,  // class B
        _ => 0xFFFFFF00u,      // class C (D and E are not host addresses; the ASA does not document them)
    };

    // This gateway's limit on one pool: 65,536 addresses (a /16). Not an ASA figure we could confirm.
    public const long PoolMaxAddresses = 65536;

    // Cisco ASA command reference, `address-pool` (tunnel-group general-attributes) and
    // `address-pools` (group-policy): up to six pools, tried in order (as recalled; Cisco's FTD
    // documentation states the same maximum of six for a group policy).
    public const int MaxPoolsPerLine = 6;

    // Cisco ASA configuration guide, "Connection Profiles, Group Policies, and Users": the built-in
    // group policy every connection profile uses unless it names another.
    public const string DfltGrpPolicy = "DfltGrpPolicy";

    // Cisco ASA 5500 Series Configuration Guide using the CLI (8.4), "Configuring VPN-Specific
    // Attributes": vpn-simultaneous-logins "The default value is 3. The range is an integer in the
    // range 0 through 2147483647"; vpn-idle-timeout "The minimum time is 1 minute, and the maximum
    // time is 35791394 minutes. The default is 30 minutes." vpn-session-timeout is taken to have the same
    // range (not quoted from a stored copy).
    public const int SimultaneousLogins = 3;
    public const int SimultaneousLoginsMax = 2147483647;
    public const int IdleTimeoutMinutes = 30;
    public const int TimeoutMinutesMin = 1;
    public const int TimeoutMinutesMax = 35791394;

    // DfltGrpPolicy's attributes as an ASA 7.2 `show running-config` lists them (it prints all of them
    // once one is changed): ` vpn-session-timeout none`, ` password-storage disable`, ` split-tunnel-policy
    // tunnelall`, ` split-tunnel-network-list none`, ` default-domain none`, ` split-dns none`,
    // ` dns-server none`, ` banner none`, ` address-pools none`. These are the well-known defaults, but
    // that one listing cannot show that none of them was changed by its administrator.
    public const bool PasswordStorage = false;
    public const SplitTunnelPolicy SplitTunnel = SplitTunnelPolicy.TunnelAll;

    // DfltGrpPolicy's `vpn-tunnel-protocol`: 7.2 printed `IPSec`; ASA 9.x DfltGrpPolicy allows
    // `ikev1 ikev2 l2tp-ipsec` (as recalled: not confirmed from a stored 9.x `show running-config all`).
    // What matters here is that IKEv1 is allowed unless a policy says otherwise.
    public static readonly ValueList<VpnTunnelProtocol> TunnelProtocols =
        ValueList.From(VpnTunnelProtocol.Ikev1, VpnTunnelProtocol.Ikev2, VpnTunnelProtocol.L2tpIpsec);

    // Cisco ASA command reference, `dns-server` (group-policy): `dns-server {value ip_address [ip_address] | none}`.
    public const int MaxDnsServers = 2;

    // Cisco ASA command reference, `banner` (group-policy): the text is limited to 500 characters
    // (as recalled; the figure could not be read from a stored copy).
    public const int BannerMaxLength = 500;

    // Cisco ASA command reference, `username`: privilege level 0-15, default 2; the password is 3 to 127
    // printable characters without spaces (9.x; 32 in older releases). Recalled, not quoted: no stored
    // copy of the page was found. A hash (`encrypted`, `pbkdf2`) is longer than the password it stands
    // for; 256 bounds it here.
    public const int UserPrivilege = 2;
    public const int UserPrivilegeMax = 15;
    public const int PasswordMinLength = 3;
    public const int PasswordMaxLength = 127;
    public const int PasswordHashMaxLength = 256;

    // Cisco ASA command reference, `authentication-server-group` (tunnel-group general-attributes):
    // the default is LOCAL, the local user database (recalled, not quoted).
    public const string LocalServerGroup = "LOCAL";

    // Cisco ASA command reference, `isakmp ikev1-user-authentication` / `ikev1 user-authentication`
    // (tunnel-group ipsec-attributes): for remote-access groups the default is xauth (recalled, not quoted).
    public const IkeUserAuthentication RemoteAccessUserAuthentication = IkeUserAuthentication.Xauth;
}
