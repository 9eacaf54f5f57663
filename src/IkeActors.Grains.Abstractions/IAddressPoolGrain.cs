namespace IkeActors.Grains;

/// <summary>
/// One address range's leases across the cluster (an `ip local pool`, or one user's `vpn-framed-ip-address`), keyed by
/// the range's name: each address to one session at a time, whichever node the session is on, and still known after a
/// failover (stored like the SA grains). Idempotent per session (keyed by the IKE SA's initiator cookie).
/// </summary>
public interface IAddressPoolGrain : IGrainWithStringKey
{
    /// <summary>The session's address: the one it holds, else the lowest free one of first..last; null when all are taken.</summary>
    Task<uint?> Lease(uint first, uint last, string session);

    Task Release(string session);

    /// <summary>The leases now, session to address (for `show` and tests).</summary>
    Task<IReadOnlyDictionary<string, uint>> Leases();
}

/// <summary>One remote-access user's sessions across the cluster, keyed by user name: `vpn-simultaneous-logins`.</summary>
public interface IRemoteAccessUserGrain : IGrainWithStringKey
{
    /// <summary>Counts the session as the user's (idempotent); false when the user has <paramref name="limit"/> other sessions.</summary>
    Task<bool> Login(string session, int limit);

    Task Logout(string session);
}
