using System.Net;

namespace IkeActors.Negotiation;

/// <summary>
/// What a head-end's IKE SAs ask beyond their own state when remote-access clients dial in: whether a group wants
/// XAUTH, the local user database, and what the address pools and group policies give. The configuration (the same on every
/// node) and the node's failure counts; the leases are kept by the host's <see cref="IAddressBook"/>. <see cref="LocalRemoteAccessService"/> reads an
/// <see cref="IkeActors.Config.Model.AsaConfig"/>.
/// </summary>
public interface IRemoteAccessService
{
    /// <summary>The tunnel group authenticates its users with XAUTH after phase 1 (`ikev1 user-authentication xauth`, the remote-access default).</summary>
    bool RequiresXauth(string tunnelGroup);

    /// <summary>
    /// Checks a user's password against the local database (constant time) for a client at <paramref name="source"/>;
    /// failures are counted and throttled per user and per source.
    /// </summary>
    XauthVerdict Authenticate(string tunnelGroup, string user, ReadOnlySpan<byte> password, IPAddress source);

    /// <summary>
    /// Where an authenticated session's address may come from (<paramref name="user"/> null without XAUTH): the user's
    /// `vpn-framed-ip-address`, else the group's pools in order, and the user's `vpn-simultaneous-logins`. The lease itself
    /// is the host's (<see cref="AddressLeasing"/> against its <see cref="IAddressBook"/>: one process, or the cluster's
    /// ledgers). Null when the group has none (<paramref name="refusal"/> says why).
    /// </summary>
    AddressPlan? PlanAddress(string tunnelGroup, string? user, string session, out string? refusal);

    /// <summary>The Mode Config reply for a session given <paramref name="address"/>: its mask and the group policy's attributes.</summary>
    ModeConfigLease Describe(string tunnelGroup, string? user, IPAddress address);
}

/// <summary>The answer to an XAUTH reply.</summary>
public enum XauthVerdict
{
    Accepted,
    /// <summary>Unknown user or wrong password (the two are not told apart on the wire).</summary>
    Rejected,
    /// <summary>Too many recent failures for this user or source: refused without checking.</summary>
    Throttled,
}

/// <summary>What Mode Config gives a client (draft-dukes-ike-mode-cfg-02 §3.3 and the Cisco Unity attributes).</summary>
public sealed record ModeConfigLease(IPAddress Address, IPAddress Netmask)
{
    public IReadOnlyList<IPAddress> DnsServers { get; init; } = [];
    public string? DefaultDomain { get; init; }
    public IReadOnlyList<string> SplitDns { get; init; } = [];
    /// <summary>Networks the client tunnels (`split-tunnel-policy tunnelspecified`); empty: all traffic.</summary>
    public IReadOnlyList<(IPAddress Address, IPAddress Mask)> SplitInclude { get; init; } = [];
    /// <summary>Networks the client keeps local (`excludespecified`).</summary>
    public IReadOnlyList<(IPAddress Address, IPAddress Mask)> SplitExclude { get; init; } = [];
    public string? Banner { get; init; }
    public bool SavePassword { get; init; }
    public string GroupPolicy { get; init; } = "DfltGrpPolicy";
}
