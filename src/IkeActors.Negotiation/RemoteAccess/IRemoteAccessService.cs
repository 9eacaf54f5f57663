using System.Net;

namespace IkeActors.Negotiation;

/// <summary>
/// What a head-end's IKE SAs ask beyond their own state when remote-access clients dial in: whether a group wants
/// XAUTH, the local user database, and the address pools. Shared by every SA of a gateway (pools must never give one
/// address twice), so it is the host's: an in-process gateway uses <see cref="LocalRemoteAccessService"/>.
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
    /// The Mode Config reply for an authenticated session (<paramref name="user"/> null without XAUTH): an address from
    /// the user's `vpn-framed-ip-address` or the group's pools, leased to <paramref name="session"/> until
    /// <see cref="Release"/>, and the group policy's attributes. Null when no address can be given (pool exhausted,
    /// simultaneous logins exceeded: <paramref name="refusal"/> says which).
    /// </summary>
    ModeConfigLease? Lease(string tunnelGroup, string? user, string session, out string? refusal);

    /// <summary>The session ended (DPD, DELETE, clear): its address goes back to the pool. Idempotent.</summary>
    void Release(string session);
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
