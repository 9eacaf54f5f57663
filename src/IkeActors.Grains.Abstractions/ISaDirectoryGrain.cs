namespace IkeActors.Grains;

/// <summary>
/// One partition of the cluster's list of IKE SA grains (<see cref="SaDirectory.Partitions"/> grains, keys 0..N-1: the
/// partition of an SA is a stable hash of its peer address, so one peer's SAs are in one partition), kept by the IKE
/// SA grains themselves (each reports its own changes of state), so operator commands can find every SA without
/// scanning the cluster. One grain for 100,000 SAs and thousands of negotiations/s would be the ceiling of the whole
/// concentrator; partitions spread the writes over the silos and `show` asks them in parallel.
/// </summary>
public interface ISaDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// An SA's reported fields changed; the first report gives it its place in the order SAs came. A report with a
    /// <see cref="SaDirectoryUpdate.Sequence"/> older than the last one heard for the SA (or than its end) is stale and
    /// ignored: Orleans does not keep one-way calls in order.
    /// </summary>
    Task Set(SaDirectoryUpdate update);

    /// <summary>An operator removed the SA (`clear`): its entry goes whatever reports are still on their way.</summary>
    Task Remove(string ikeSaKey);

    /// <summary>
    /// The SA's own grain reports its end (report <paramref name="sequence"/>): the entry goes, and a report of the SA
    /// older than this one that arrives later does not bring it back.
    /// </summary>
    Task Ended(string ikeSaKey, long sequence);

    /// <summary>The keys of this partition's SAs (ordinal order).</summary>
    Task<IReadOnlyList<string>> List();

    /// <summary>This partition's SAs with what the summary views print.</summary>
    Task<IReadOnlyList<SaDirectoryEntry>> Entries();

    /// <summary>The SAs with one peer address, oldest first (the peer rules' view: INITIAL-CONTACT); a new list each call, not copied.</summary>
    [return: Immutable]
    Task<IReadOnlyList<SaDirectoryEntry>> ListPeer(string peerAddress);

    /// <summary>This partition's SAs by state and its counters, for `show crypto isakmp stats` and `show vpn-sessiondb summary`.</summary>
    Task<SaDirectorySummary> Summary();
}

/// <summary>
/// What an IKE SA grain reports: its state, role, whether it is a Phase 1 rekey, its Phase 1 rekey due time and installed
/// IPsec pairs; <see cref="AdoptedIpsecSas"/>: how many of the pairs it gained since its last report it adopted from the
/// SA it replaced (a Phase 1 rekey hands pairs over: they were counted once, when installed, not again);
/// <see cref="Sequence"/>: the order of the grain's reports, increasing (0: none, applied as it comes);
/// <see cref="RemoteAccess"/>: XAUTH authenticated a user or Mode Config gave an address; <see cref="RemoteAccessPending"/>:
/// a remote-access group's SA up in phase 1 whose XAUTH or Mode Config has not finished (neither kind of session yet).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SaDirectoryUpdate(
    [property: Id(0)] string Key, [property: Id(1)] string State, [property: Id(2)] bool Initiator,
    [property: Id(3)] bool Rekey = false, [property: Id(4)] DateTime? Phase1RekeyDueUtc = null, [property: Id(5)] int IpsecSas = 0,
    [property: Id(6)] int AdoptedIpsecSas = 0, [property: Id(7)] long Sequence = 0, [property: Id(8)] bool Aggressive = false, [property: Id(9)] bool RemoteAccess = false,
    [property: Id(10)] bool RemoteAccessPending = false);

/// <summary>
/// One IKE SA grain as the directory knows it. <see cref="Order"/>: when it was first reported, cluster-wide
/// comparable (UTC ticks of its first report, raised by one on a tie within the partition, so one peer's SAs, which
/// share a partition, are strictly ordered).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SaDirectoryEntry(
    [property: Id(0)] string Key, [property: Id(1)] string State, [property: Id(2)] bool Initiator, [property: Id(3)] long Order,
    [property: Id(4)] bool Rekey = false, [property: Id(5)] DateTime? Phase1RekeyDueUtc = null, [property: Id(6)] int IpsecSas = 0,
    [property: Id(7)] long Sequence = 0, [property: Id(8)] bool Aggressive = false, [property: Id(9)] bool RemoteAccess = false,
    [property: Id(10)] bool RemoteAccessPending = false)
{
    /// <summary>The state as `show crypto isakmp sa` prints it: an established Aggressive Mode SA is AM_ACTIVE.</summary>
    public string ShowState => Aggressive && State == "MM_ACTIVE" ? "AM_ACTIVE" : State;

    /// <summary>
    /// The session this SA makes in `show vpn-sessiondb summary`: none before it is up (MM_ACTIVE/AM_ACTIVE) or while a
    /// remote-access client is still in XAUTH or Mode Config, then remote access or site-to-site.
    /// </summary>
    public SessionKind Session => State != "MM_ACTIVE" ? SessionKind.None
        : RemoteAccess ? SessionKind.RemoteAccess
        : RemoteAccessPending ? SessionKind.None
        : SessionKind.SiteToSite;

    /// <summary>The peer address: IKE SA grains are named "peer/cookie".</summary>
    public string Peer => SaDirectory.PeerOf(Key);
}

/// <summary>What kind of VPN session an IKE SA makes (<see cref="SaDirectoryEntry.Session"/>).</summary>
public enum SessionKind { None, SiteToSite, RemoteAccess }

/// <summary>
/// IKE SAs up now (MM_ACTIVE), still negotiating, and up once but gone since (the ASA's "Previous Tunnels"), with the
/// counters that outlive the SAs: IKE SAs and IPsec pairs ever up, sessions ever up, and the peaks. <see cref="Sessions"/>
/// are L2L sessions (a peer with a site-to-site IKE SA up: a Phase 1 rekey's second SA is not another);
/// <see cref="RemoteAccessSessions"/> remote-access ones (an IKE SA up whose client XAUTH authenticated or Mode Config
/// configured, each its own: clients behind one NAT share an address; a Phase 1 rekey's SA is not counted again in the
/// cumulative count). A peak is the highest concurrent count this partition saw; the cluster's peak printed is the sum
/// of the partitions' peaks, an upper bound of the true concurrent peak (equal to it when the partitions peaked together,
/// as when tunnels are set up and then stay).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SaDirectorySummary(
    [property: Id(0)] int Active, [property: Id(1)] int Negotiating, [property: Id(2)] long Previous,
    [property: Id(3)] long CumulativeIke = 0, [property: Id(4)] int PeakIke = 0,
    [property: Id(5)] int Sessions = 0, [property: Id(6)] long CumulativeSessions = 0, [property: Id(7)] int PeakSessions = 0,
    [property: Id(8)] int IpsecSas = 0, [property: Id(9)] long CumulativeIpsec = 0, [property: Id(10)] int PeakIpsec = 0,
    [property: Id(11)] int RemoteAccessSessions = 0, [property: Id(12)] long CumulativeRemoteAccessSessions = 0, [property: Id(13)] int PeakRemoteAccessSessions = 0)
{
    public static SaDirectorySummary Sum(IEnumerable<SaDirectorySummary> parts) =>
        parts.Aggregate(new SaDirectorySummary(0, 0, 0), (a, b) => new SaDirectorySummary(
            a.Active + b.Active, a.Negotiating + b.Negotiating, a.Previous + b.Previous,
            a.CumulativeIke + b.CumulativeIke, a.PeakIke + b.PeakIke,
            a.Sessions + b.Sessions, a.CumulativeSessions + b.CumulativeSessions, a.PeakSessions + b.PeakSessions,
            a.IpsecSas + b.IpsecSas, a.CumulativeIpsec + b.CumulativeIpsec, a.PeakIpsec + b.PeakIpsec,
            a.RemoteAccessSessions + b.RemoteAccessSessions, a.CumulativeRemoteAccessSessions + b.CumulativeRemoteAccessSessions,
            a.PeakRemoteAccessSessions + b.PeakRemoteAccessSessions));
}

/// <summary>Which partition of the SA directory holds an SA, and the fan-out over all of them.</summary>
public static class SaDirectory
{
    /// <summary>Fixed: changing it moves SAs between partitions (the directory is in memory, so only across a restart of the cluster).</summary>
    public const int Partitions = 16;

    public static string PeerOf(string ikeSaKey)
    {
        var slash = ikeSaKey.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? ikeSaKey : ikeSaKey[..slash];
    }

    /// <summary>The peer address of an IKE SA grain's key, as a slice of it.</summary>
    public static ReadOnlySpan<char> PeerSpanOf(string ikeSaKey)
    {
        var slash = ikeSaKey.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? ikeSaKey : ikeSaKey.AsSpan(0, slash);
    }

    /// <summary>FNV-1a over the address text: stable across processes and runtimes (string.GetHashCode is not).</summary>
    public static int PartitionOf(string peerAddress)
    {
        var hash = 2166136261u;
        foreach (var c in peerAddress) hash = unchecked((hash ^ c) * 16777619u);
        return (int)(hash % Partitions);
    }

    public static ISaDirectoryGrain ForPeer(IGrainFactory grains, string peerAddress) => grains.Reference<ISaDirectoryGrain>(PartitionOf(peerAddress));

    public static ISaDirectoryGrain ForKey(IGrainFactory grains, string ikeSaKey) => ForPeer(grains, PeerOf(ikeSaKey));

    /// <summary>Every partition's entries, in parallel, merged in key order (the order `show` has always listed SAs in).</summary>
    public static async Task<IReadOnlyList<SaDirectoryEntry>> Entries(IGrainFactory grains)
    {
        var parts = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => grains.Reference<ISaDirectoryGrain>(p).Entries()));
        var all = parts.SelectMany(p => p).ToList();
        all.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return all;
    }

    public static async Task<IReadOnlyList<string>> List(IGrainFactory grains) => (await Entries(grains)).Select(e => e.Key).ToList();

    public static async Task<SaDirectorySummary> Summary(IGrainFactory grains) =>
        SaDirectorySummary.Sum(await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => grains.Reference<ISaDirectoryGrain>(p).Summary())));
}
