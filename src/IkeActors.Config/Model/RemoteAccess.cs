using System.Security.Cryptography;
using System.Text;

namespace IkeActors.Config.Model;

/// <summary>
/// `ip local pool NAME FIRST-LAST [mask MASK]`: addresses handed to remote-access clients
/// (Mode-Config INTERNAL_IP4_ADDRESS). <see cref="Mask"/> is the mask as written, if any.
/// </summary>
public sealed record IpLocalPool(string Name, Ipv4Range Range)
{
    public uint? Mask { get; init; }

    /// <summary>The mask given clients from this pool: the one written, else the classful mask of the first address (see <see cref="AsaDefaults.PoolMaskWhenUnspecified"/>).</summary>
    public uint EffectiveMask => Mask ?? AsaDefaults.PoolMaskWhenUnspecified(Range.First);

    public long Size => (long)Range.Last - Range.First + 1;

    public bool Contains(uint address) => Range.Contains(address);
}

/// <summary>`split-tunnel-policy tunnelall|tunnelspecified|excludespecified`.</summary>
public enum SplitTunnelPolicy { TunnelAll, TunnelSpecified, ExcludeSpecified }

/// <summary>
/// The words of `vpn-tunnel-protocol` (ASA 8.4+ spelling; 8.2's `IPSec`, `svc`, `webvpn` read as
/// ikev1, ssl-client, ssl-clientless). Kept as a set in this order, the order the ASA prints.
/// </summary>
public enum VpnTunnelProtocol { Ikev1, Ikev2, L2tpIpsec, SslClient, SslClientless }

/// <summary>`service-type remote-access|admin|nas-prompt` (username attributes).</summary>
public enum UserServiceType { RemoteAccess, Admin, NasPrompt }

/// <summary>`ikev1 user-authentication none|xauth|hybrid` (8.2: `isakmp ikev1-user-authentication`).</summary>
public enum IkeUserAuthentication { Xauth, None, Hybrid }

/// <summary>
/// A group-policy attribute that is set either to a value or to `none`. `none` stops the
/// inheritance from DfltGrpPolicy (ASA CLI configuration guide: "To prevent inheriting a value,
/// enter the none keyword"); an attribute not written at all is a null <c>NoneOr&lt;T&gt;?</c>.
/// </summary>
public readonly record struct NoneOr<T>(bool IsNone, T? Value)
{
    public static NoneOr<T> None => new(true, default);
    public static NoneOr<T> Of(T value) => new(false, value);
    public override string ToString() => IsNone ? "none" : $"{Value}";
}

/// <summary>
/// `group-policy NAME internal` with its `group-policy NAME attributes`. Every attribute is
/// null when not written (it is then inherited, see <see cref="AsaConfig.EffectiveGroupPolicy(string?)"/>);
/// list attributes are empty for `none`.
/// </summary>
public sealed record GroupPolicy(string Name)
{
    /// <summary>`banner value TEXT` lines in order (each appends a line); empty for `banner none`.</summary>
    public ValueList<string>? Banner { get; init; }
    /// <summary>`dns-server value IP [IP]`; empty for `dns-server none`.</summary>
    public ValueList<uint>? DnsServers { get; init; }
    public int? SimultaneousLogins { get; init; }
    /// <summary>`vpn-idle-timeout MINUTES|none` (none: no idle limit).</summary>
    public NoneOr<int>? IdleTimeoutMinutes { get; init; }
    /// <summary>`vpn-session-timeout MINUTES|none` (none: no session limit).</summary>
    public NoneOr<int>? SessionTimeoutMinutes { get; init; }
    public ValueList<VpnTunnelProtocol>? TunnelProtocols { get; init; }
    /// <summary>`password-storage enable|disable`: the client may save the XAUTH password.</summary>
    public bool? PasswordStorage { get; init; }
    public SplitTunnelPolicy? SplitTunnelPolicy { get; init; }
    /// <summary>`split-tunnel-network-list value ACL|none`.</summary>
    public NoneOr<string>? SplitTunnelNetworkList { get; init; }
    /// <summary>`default-domain value NAME|none`.</summary>
    public NoneOr<string>? DefaultDomain { get; init; }
    /// <summary>`split-dns value NAME…`; empty for `split-dns none`.</summary>
    public ValueList<string>? SplitDns { get; init; }
    /// <summary>`address-pools value POOL…`; empty for `address-pools none`.</summary>
    public ValueList<string>? AddressPools { get; init; }

    /// <summary>Whether any attribute is written (the ASA prints `group-policy NAME attributes` then).</summary>
    public bool HasAttributes =>
        Banner is not null || DnsServers is not null || SimultaneousLogins is not null || IdleTimeoutMinutes is not null
        || SessionTimeoutMinutes is not null || TunnelProtocols is not null || PasswordStorage is not null || SplitTunnelPolicy is not null
        || SplitTunnelNetworkList is not null || DefaultDomain is not null || SplitDns is not null || AddressPools is not null;
}

/// <summary>
/// A group policy's attributes with inheritance resolved: each from the first policy of the chain
/// that sets it (a user's `vpn-group-policy`, then the tunnel group's `default-group-policy`), then
/// from DfltGrpPolicy, then the ASA default (<see cref="AsaDefaults"/>).
/// </summary>
public sealed record EffectiveGroupPolicy(string Name)
{
    public ValueList<string> Banner { get; init; } = ValueList<string>.Empty;
    public ValueList<uint> DnsServers { get; init; } = ValueList<uint>.Empty;
    public int SimultaneousLogins { get; init; } = AsaDefaults.SimultaneousLogins;
    /// <summary>Minutes; null is no limit (`none`).</summary>
    public int? IdleTimeoutMinutes { get; init; } = AsaDefaults.IdleTimeoutMinutes;
    /// <summary>Minutes; null is no limit (`none`, the ASA default).</summary>
    public int? SessionTimeoutMinutes { get; init; }
    public ValueList<VpnTunnelProtocol> TunnelProtocols { get; init; } = AsaDefaults.TunnelProtocols;
    public bool PasswordStorage { get; init; } = AsaDefaults.PasswordStorage;
    public SplitTunnelPolicy SplitTunnelPolicy { get; init; } = AsaDefaults.SplitTunnel;
    /// <summary>The split-tunnel ACL's name; null for none.</summary>
    public string? SplitTunnelNetworkList { get; init; }
    public string? DefaultDomain { get; init; }
    public ValueList<string> SplitDns { get; init; } = ValueList<string>.Empty;
    public ValueList<string> AddressPools { get; init; } = ValueList<string>.Empty;

    public bool AllowsIkev1 => TunnelProtocols.Contains(VpnTunnelProtocol.Ikev1);
}

/// <summary>A setting that may be given for one interface (`address-pool (inside) POOL`) or for all (Interface null).</summary>
public sealed record InterfaceScoped<T>(string? Interface, T Value);

/// <summary>`authentication-server-group [(IF)] NAME [LOCAL]`: a AAA server group, with LOCAL as its fallback when written.</summary>
public sealed record AuthenticationServer(string Group, bool LocalFallback = false)
{
    public static readonly AuthenticationServer Local = new(AsaDefaults.LocalServerGroup);
    public bool IsLocal => Group == AsaDefaults.LocalServerGroup;
}

/// <summary>How a `username … password` was written: clear text, or one of the ASA's hashes.</summary>
public enum PasswordForm
{
    Clear,
    /// <summary>`encrypted`: the ASA's legacy MD5-based hash.</summary>
    Encrypted,
    /// <summary>`pbkdf2`: PBKDF2 with SHA-512 (ASA 9.5 and later store new passwords so).</summary>
    Pbkdf2,
    /// <summary>`nt-encrypted`: the NT hash, for MS-CHAP.</summary>
    NtEncrypted,
}

/// <summary>The answer of <see cref="UserPassword.Check(string)"/>.</summary>
public enum PasswordCheck { Match, Mismatch, CannotVerify }

/// <summary>
/// A local user's password (`username NAME password …`). Like <see cref="PreSharedKey"/> its text never
/// appears in ToString(), logs or `show` output, and comparisons are constant-time.
/// </summary>
public sealed class UserPassword : IEquatable<UserPassword>
{
    /// <summary>What `show running-config` prints in place of a password.</summary>
    public const string Mask = "*****";

    private readonly byte[] _utf8;

    public UserPassword(string text, PasswordForm form = PasswordForm.Clear)
    {
        _utf8 = Encoding.UTF8.GetBytes(text);
        Form = form;
    }

    public PasswordForm Form { get; }

    /// <summary>Given as a hash (`encrypted`, `pbkdf2`, `nt-encrypted`) rather than in clear.</summary>
    public bool IsHash => Form != PasswordForm.Clear;

    /// <summary>The text as written (the password, or its hash), only for writing a configuration back to disk.</summary>
    public string Reveal() => Encoding.UTF8.GetString(_utf8);

    /// <summary>The mask `show running-config` prints, pasted back as if it were the password.</summary>
    public bool IsMaskPlaceholder => Reveal() == Mask;

    /// <summary>
    /// Checks an XAUTH password against a clear-text one in constant time (both sides are hashed
    /// with SHA-256 first, so neither length nor content shows in the timing). A hashed password
    /// cannot be checked yet: the ASA's `encrypted` and `pbkdf2` formats are not implemented here.
    /// </summary>
    public PasswordCheck Check(ReadOnlySpan<byte> candidateUtf8)
    {
        if (IsHash) return PasswordCheck.CannotVerify;
        Span<byte> a = stackalloc byte[32];
        Span<byte> b = stackalloc byte[32];
        SHA256.HashData(_utf8, a);
        SHA256.HashData(candidateUtf8, b);
        return CryptographicOperations.FixedTimeEquals(a, b) ? PasswordCheck.Match : PasswordCheck.Mismatch;
    }

    public PasswordCheck Check(string candidate) => Check(Encoding.UTF8.GetBytes(candidate));

    public bool Equals(UserPassword? other) =>
        other is not null && Form == other.Form && CryptographicOperations.FixedTimeEquals(_utf8, other._utf8);

    public override bool Equals(object? obj) => obj is UserPassword other && Equals(other);

    // The form and the length only: equal passwords hash equally, and the hash leaks no content.
    public override int GetHashCode() => HashCode.Combine(Form, _utf8.Length);

    public override string ToString() => Mask;
}

/// <summary>`vpn-framed-ip-address IP [MASK]`: the address a user always gets.</summary>
public readonly record struct FramedAddress(uint Address, uint? Mask)
{
    public System.Net.IPAddress IpAddress => Ipv4.ToAddress(Address);
    public override string ToString() => Mask is { } m ? $"{Ipv4.Format(Address)} {Ipv4.Format(m)}" : Ipv4.Format(Address);
}

/// <summary>
/// A user of the local database (`username NAME password PASSWORD [encrypted|pbkdf2|nt-encrypted] [privilege N]`
/// or `username NAME nopassword`) with its `username NAME attributes`.
/// </summary>
public sealed record LocalUser(string Name)
{
    /// <summary>Null for `nopassword`.</summary>
    public UserPassword? Password { get; init; }
    public int Privilege { get; init; } = AsaDefaults.UserPrivilege;
    public FramedAddress? FramedAddress { get; init; }
    /// <summary>`vpn-group-policy NAME`: the user's own group policy (before the tunnel group's).</summary>
    public string? VpnGroupPolicy { get; init; }
    public UserServiceType? ServiceType { get; init; }
    /// <summary>`vpn-simultaneous-logins N` for this user (overrides the group policy's).</summary>
    public int? SimultaneousLogins { get; init; }

    public bool NoPassword => Password is null;

    public bool HasAttributes => FramedAddress is not null || VpnGroupPolicy is not null || ServiceType is not null || SimultaneousLogins is not null;
}
