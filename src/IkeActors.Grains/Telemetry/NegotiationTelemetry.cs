using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace IkeActors.Grains.Telemetry;

/// <summary>
/// The concentrator's OpenTelemetry instruments: one <see cref="ActivitySource"/> and one
/// <see cref="Meter"/>, both named <see cref="Name"/>. Spans: <c>ikev1.main_mode</c> per IKE SA,
/// <c>ikev1.quick_mode</c> per message ID, <c>ikev1.informational</c>, and a child span per
/// message (MM1…MM6, QM1…QM3, in and out). Everything is derived from the engine's actions
/// (<see cref="IkeSaTelemetry"/>); secrets (pre-shared keys, SKEYIDs, KEYMAT, nonces, KE values)
/// are never recorded.
/// </summary>
public static class NegotiationTelemetry
{
    public const string Name = "IkeActors.Negotiation";

    public const string MainModeSpan = "ikev1.main_mode";
    public const string QuickModeSpan = "ikev1.quick_mode";
    public const string InformationalSpan = "ikev1.informational";
    public const string AggressiveModeSpan = "ikev1.aggressive_mode";
    /// <summary>One Transaction exchange message (XAUTH or Mode Config, draft-dukes-ike-mode-cfg-02), in or out.</summary>
    public const string TransactionSpan = "ikev1.transaction";

    public static readonly ActivitySource Source = new(Name, "1.0.0");
    public static readonly Meter Meter = new(Name, "1.0.0");

    /// <summary>IKE SAs in MM_ACTIVE (up on phase 1 complete, down when the SA is deleted). Summed over the cluster's silos.</summary>
    public static readonly UpDownCounter<long> ActiveIkeSas =
        Meter.CreateUpDownCounter<long>("ikev1.ike_sa.active", "{sa}", "IKE SAs established and not yet deleted");

    /// <summary>IPsec SA pairs installed and not yet deleted.</summary>
    public static readonly UpDownCounter<long> ActiveIpsecSas =
        Meter.CreateUpDownCounter<long>("ikev1.ipsec_sa.active", "{sa}", "IPsec SA pairs installed and not yet deleted");

    public static readonly Counter<long> NegotiationsStarted =
        Meter.CreateCounter<long>("ikev1.negotiations.started", "{negotiation}", "Main Mode and Quick Mode exchanges started (tags: ikev1.exchange, ikev1.role)");

    public static readonly Counter<long> NegotiationsCompleted =
        Meter.CreateCounter<long>("ikev1.negotiations.completed", "{negotiation}", "Main Mode and Quick Mode exchanges completed (tags: ikev1.exchange, ikev1.role)");

    public static readonly Counter<long> NegotiationsFailed =
        Meter.CreateCounter<long>("ikev1.negotiations.failed", "{negotiation}", "Failed exchanges (tags: ikev1.exchange, ikev1.role, ikev1.failure_reason)");

    /// <summary>First message of an IKE SA to its first phase 2 completion (the tunnel is usable).</summary>
    public static readonly Histogram<double> NegotiationDuration =
        Meter.CreateHistogram<double>("ikev1.negotiation.duration", "s", "From the first Main Mode message to phase 2 complete",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    /// <summary>One Quick Mode, QM1 to phase 2 complete (every Quick Mode, rekeys included).</summary>
    public static readonly Histogram<double> QuickModeDuration =
        Meter.CreateHistogram<double>("ikev1.quick_mode.duration", "s", "From QM1 to phase 2 complete",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    /// <summary>Rekeys (tags: ikev1.phase "1"/"2", ikev1.event: the engine's trace event name, e.g. phase2-rekey-due).</summary>
    public static readonly Counter<long> Rekeys =
        Meter.CreateCounter<long>("ikev1.rekeys", "{rekey}", "Rekey events (tags: ikev1.phase, ikev1.event)");

    /// <summary>Dead peer detection (RFC 3706) events (tag ikev1.event: r_u_there sent, peer_dead).</summary>
    public static readonly Counter<long> Dpd =
        Meter.CreateCounter<long>("ikev1.dpd", "{event}", "Dead peer detection events (tag: ikev1.event)");

    /// <summary>Datagrams the engine dropped without touching SA state (tags: ikev1.exchange).</summary>
    public static readonly Counter<long> Dropped =
        Meter.CreateCounter<long>("ikev1.messages.dropped", "{message}", "Datagrams dropped by the engine (tag: ikev1.exchange)");

    /// <summary>MM1s given no half-open SA (tag ikev1.refusal: NoPreSharedKey, PeerHalfOpenLimit, HalfOpenLimit).</summary>
    public static readonly Counter<long> Mm1Refused =
        Meter.CreateCounter<long>("ikev1.mm1.refused", "{message}", "MM1s refused by the half-open admission (tag: ikev1.refusal)");

    /// <summary>The instruments an SA's telemetry records to (<see cref="Observed"/>); after their declarations.</summary>
    private static readonly Instrument[] SaInstruments =
        [ActiveIkeSas, ActiveIpsecSas, NegotiationsStarted, NegotiationsCompleted, NegotiationsFailed, NegotiationDuration, QuickModeDuration, Rekeys, Dpd, Dropped];

    /// <summary>
    /// Whether anything listens now to the spans of <see cref="Source"/> or to an SA's instruments (an exporter, a test's
    /// listener, dotnet-counters). A routing lane starts no <see cref="IkeSaTelemetry"/> for a new SA when nothing does
    /// (and no debug records are exported): its spans would go nowhere and its measurements to no one, and the SA's grain
    /// records from the take-over on as before.
    /// </summary>
    public static bool Observed => Source.HasListeners() || Array.Exists(SaInstruments, i => i.Enabled);

    /// <summary>Attribute names (one place, so tests and dashboards agree).</summary>
    public static class Attributes
    {
        public const string Peer = "ikev1.peer";
        public const string PeerPort = "network.peer.port";
        public const string TunnelGroup = "ikev1.tunnel_group";
        public const string InitiatorCookie = "ikev1.initiator_cookie";
        public const string ResponderCookie = "ikev1.responder_cookie";
        public const string MessageId = "ikev1.message_id";
        public const string Role = "ikev1.role";
        public const string Exchange = "ikev1.exchange";
        public const string Message = "ikev1.message";
        public const string Direction = "ikev1.direction";
        public const string Phase = "ikev1.phase";
        public const string Event = "ikev1.event";
        public const string NatDetected = "ikev1.nat_detected";
        public const string FailureReason = "ikev1.failure_reason";
        public const string FailureDetail = "ikev1.failure_detail";
        public const string Reactivated = "ikev1.reactivated";
        public const string Detail = "ikev1.detail";

        public const string P1Encryption = "ikev1.p1.encryption";
        public const string P1KeyLength = "ikev1.p1.key_length";
        public const string P1Hash = "ikev1.p1.hash";
        public const string P1Group = "ikev1.p1.dh_group";
        public const string P1Authentication = "ikev1.p1.authentication";
        public const string P1Lifetime = "ikev1.p1.lifetime_seconds";

        public const string P2Encryption = "ikev1.p2.encryption";
        public const string P2KeyLength = "ikev1.p2.key_length";
        public const string P2Integrity = "ikev1.p2.integrity";
        public const string P2Mode = "ikev1.p2.mode";
        public const string P2PfsGroup = "ikev1.p2.pfs_group";
        public const string P2Lifetime = "ikev1.p2.lifetime_seconds";
        public const string P2LifetimeKilobytes = "ikev1.p2.lifetime_kilobytes";
        public const string InboundSpi = "ikev1.spi.inbound";
        public const string OutboundSpi = "ikev1.spi.outbound";
        public const string LocalProxy = "ikev1.p2.local_proxy";
        public const string RemoteProxy = "ikev1.p2.remote_proxy";
        public const string CryptoMap = "ikev1.crypto_map";
        public const string CryptoMapSequence = "ikev1.crypto_map.sequence";
    }
}
