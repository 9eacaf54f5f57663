namespace IkeActors.Grains;

/// <summary>
/// The cluster's list of IKE SA grains (one grain, key 0), kept by the IKE SA grains themselves (each reports its
/// own changes of state), so operator commands can find every SA without scanning the cluster.
/// </summary>
public interface ISaDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>An SA's state changed; the first report gives it its place in the order SAs came.</summary>
    Task Set(string ikeSaKey, string state, bool initiator);

    Task Remove(string ikeSaKey);

    Task<IReadOnlyList<string>> List();

    /// <summary>The SAs with one peer address, oldest first (the peer rules' view: INITIAL-CONTACT).</summary>
    Task<IReadOnlyList<SaDirectoryEntry>> ListPeer(string peerAddress);

    /// <summary>The SAs by state, for `show crypto isakmp stats`.</summary>
    Task<SaDirectorySummary> Summary();
}

/// <summary>One IKE SA grain as the directory knows it: key, last state, whether this side initiated it, when it was first reported.</summary>
[GenerateSerializer, Immutable]
public sealed record SaDirectoryEntry([property: Id(0)] string Key, [property: Id(1)] string State, [property: Id(2)] bool Initiator, [property: Id(3)] long Order);

/// <summary>IKE SAs up now (MM_ACTIVE), still negotiating, and up once but gone since (the ASA's "Previous Tunnels").</summary>
[GenerateSerializer, Immutable]
public sealed record SaDirectorySummary([property: Id(0)] int Active, [property: Id(1)] int Negotiating, [property: Id(2)] long Previous);
