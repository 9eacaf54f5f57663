namespace IkeActors.Grains;

/// <summary>A datagram as it crosses silos: bytes and the peer's address (the configured one).</summary>
[GenerateSerializer, Immutable]
public sealed record Datagram([property: Id(0)] byte[] Bytes, [property: Id(1)] string Address, [property: Id(2)] int Port,
    [property: Id(3)] bool NatT = false);

/// <summary>
/// What one IKE SA step produced for the front-end: datagrams to send from the socket the
/// request came in on, and the ASA debug lines (console form) at or below the level asked.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record IkeStepResult(
    [property: Id(0)] IReadOnlyList<Datagram> Send,
    [property: Id(1)] IReadOnlyList<string> DebugLines,
    [property: Id(2)] string State);

/// <summary>An outbound packet with no SA (the data plane's key acquire), as the crypto map sees it.</summary>
[GenerateSerializer, Immutable]
public sealed record AcquireRequest(
    [property: Id(0)] string Source, [property: Id(1)] string Destination, [property: Id(2)] int Protocol,
    [property: Id(3)] int SourcePort = 0, [property: Id(4)] int DestinationPort = 0);

/// <summary>
/// One IKE SA, keyed by "peer-address/initiator-cookie" (hex). It holds the Stateless machines of
/// its Main Mode, Quick Mode and Informational exchanges.
/// </summary>
public interface IIkeSaGrain : IGrainWithStringKey, IIkeSaShow
{
    /// <summary>A datagram for this SA (MM1 from an unknown peer creates it).</summary>
    Task<IkeStepResult> Receive(Datagram datagram, int debugLevel);

    /// <summary>Starts Main Mode as initiator; the grain's key carries the peer and the cookie to use.</summary>
    Task<IkeStepResult> StartInitiator(AcquireRequest acquire, int debugLevel);

    /// <summary>Traffic for another crypto map entry on an established SA: a new Quick Mode.</summary>
    Task<IkeStepResult> Acquire(AcquireRequest acquire, int debugLevel);

    /// <summary>The current state, as `show crypto isakmp sa` names it.</summary>
    Task<string> GetState();

    /// <summary>Identifies this activation (diagnostics: a reactivation after a silo loss gets a new one).</summary>
    Task<Guid> GetActivationId();

    /// <summary>The silo this activation lives on (diagnostics).</summary>
    Task<string> GetSilo();

    /// <summary>Lets the runtime deactivate the grain (its state stays in storage; the next message reactivates it).</summary>
    Task Deactivate();

    /// <summary>
    /// The data plane reports the kilobytes an IPsec SA pair (our inbound SPI) has carried, a running total:
    /// at the rekey share of its kilobyte lifetime the pair is rekeyed, at 100 % deleted. Datagrams go out
    /// through the transmitter.
    /// </summary>
    Task AccountTraffic(uint inboundSpi, long kilobytes);

    /// <summary>The data plane received traffic from the peer: DPD's idle clock restarts (RFC 3706 §5.3).</summary>
    Task TrafficReceived();

    /// <summary>
    /// Phase 1 rekey started by this side: the grain named by its key becomes the new IKE SA with the peer,
    /// replacing <paramref name="rekeyOfKey"/> (MM1 goes out through the transmitter).
    /// </summary>
    Task StartRekey(string rekeyOfKey, AcquireRequest acquire, int debugLevel);

    /// <summary>
    /// Our Phase 1 rekey is MM_ACTIVE: the old SA (this grain) moves its IPsec SAs to the successor, whose
    /// snapshot (engine JSON, without Quick Modes) it gets, deletes itself with a DELETE, and returns the moved pairs.
    /// </summary>
    Task<QuickModeHandOver> HandOver(string successorKey, byte[] successorSnapshot, int debugLevel);

    /// <summary>The peer is rekeying phase 1: its new SA with us is up; this (old) grain hands its pairs over on the peer's DELETE.</summary>
    Task PrepareSuccessor(string successorKey, byte[] successorSnapshot);

    /// <summary>This SA's snapshot without its Quick Modes (engine JSON), for the SA it replaces (see <see cref="PrepareSuccessor"/>).</summary>
    Task<byte[]?> SnapshotForHandOver();

    /// <summary>The old IKE SA handed its pairs over after the peer's DELETE: this grain adopts them.</summary>
    Task AdoptQuickModes(QuickModeHandOver handOver);

    /// <summary>Another IKE SA with the peer found it dead (DPD): this one and its IPsec SAs go, no DELETE sent.</summary>
    [Orleans.Concurrency.OneWay]
    Task PeerDead();

    public static string KeyFor(string peerAddress, ulong initiatorCookie) => $"{peerAddress}/{initiatorCookie:x16}";
}

/// <summary>
/// The stored state of an IKE SA grain: the engine's snapshot as JSON (the engine knows nothing
/// of Orleans). It holds derived keys (never the pre-shared key): the storage must be protected.
/// </summary>
[GenerateSerializer]
public sealed class IkeSaGrainState
{
    [Id(0)] public byte[]? Snapshot { get; set; }

    /// <summary>The IKE SA's trace context (W3C traceparent): a reactivation continues its trace.</summary>
    [Id(1)] public string? TraceParent { get; set; }

    /// <summary>
    /// Due times of the lifetime timers (Phase1Rekey, Phase2Rekey, Phase2Expire): the engine has no clock and
    /// re-arms only retransmissions and DPD on restore, so the grain keeps these and re-arms them itself.
    /// </summary>
    [Id(2)] public List<StoredTimer> Timers { get; set; } = [];

    /// <summary>The key of the IKE SA grain that rekeys this one (phase 1), once started.</summary>
    [Id(3)] public string? RekeyedBy { get; set; }

    /// <summary>
    /// The peer's new IKE SA that replaces this one (phase 1 rekey by the peer): a reactivation fetches its
    /// snapshot again, so the peer's DELETE still hands the IPsec SAs over.
    /// </summary>
    [Id(4)] public string? SuccessorKey { get; set; }
}

/// <summary>A timer of the engine with its absolute due time (kind as the engine's TimerKind number).</summary>
[GenerateSerializer]
public sealed class StoredTimer
{
    [Id(0)] public int Kind { get; set; }
    [Id(1)] public uint MessageId { get; set; }
    [Id(2)] public DateTime DueUtc { get; set; }
}

/// <summary>
/// IPsec SA pairs (Quick Modes) one IKE SA grain hands to the one that replaces it: the engine's Quick Mode
/// snapshots and phase-2 IVs as JSON (they hold keys: cluster-internal only), and their lifetime timers.
/// </summary>
[GenerateSerializer]
public sealed class QuickModeHandOver
{
    [Id(0)] public byte[] QuickModes { get; set; } = [];
    [Id(1)] public List<StoredTimer> Timers { get; set; } = [];
    [Id(2)] public List<uint> MessageIds { get; set; } = [];
}

/// <summary>
/// The cluster's list of IKE SA grains (one grain, key 0), kept by the IKE SA grains themselves (each reports its
/// own changes of state), so operator commands can find every SA without scanning the cluster.
/// </summary>
public interface ISaDirectoryGrain : IGrainWithIntegerKey
{
    Task Set(string ikeSaKey, string state);
    Task Remove(string ikeSaKey);
    Task<IReadOnlyList<string>> List();

    /// <summary>The SAs by state, for `show crypto isakmp stats`.</summary>
    Task<SaDirectorySummary> Summary();
}

/// <summary>IKE SAs up now (MM_ACTIVE), still negotiating, and up once but gone since (the ASA's "Previous Tunnels").</summary>
[GenerateSerializer, Immutable]
public sealed record SaDirectorySummary([property: Id(0)] int Active, [property: Id(1)] int Negotiating, [property: Id(2)] long Previous);

/// <summary>`show` output an IKE SA grain renders for its own SA.</summary>
public interface IIkeSaShow : IGrainWithStringKey
{
    /// <summary>This SA's numbered entry of `show crypto isakmp sa`, or null when there is none.</summary>
    Task<string?> ShowIsakmpEntry(int number);

    /// <summary>This SA's IPsec SAs as `show crypto ipsec sa` prints them ("" when none).</summary>
    Task<string> ShowIpsecSa();
}
