using System.Net;
using IkeActors.Config;
using IkeActors.Config.Lookup;

namespace IkeActors.Negotiation;

/// <summary>Timers and limits of the negotiation (ASA-like defaults).</summary>
public sealed record NegotiationSettings
{
    /// <summary>First retransmission after this long; doubles each time (back-off).</summary>
    public TimeSpan RetransmitInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Retransmissions before the exchange is abandoned.</summary>
    public int RetransmitLimit { get; init; } = 4;

    /// <summary>Phase 1 rekey point as a share of the lifetime: the initiator 95 %, the responder 75 % (the seed: 82080 and 64800 s of 86400).</summary>
    public double InitiatorPhase1RekeyShare { get; init; } = 0.95;
    public double ResponderPhase1RekeyShare { get; init; } = 0.75;

    /// <summary>Phase 2 rekey point: 85 % of the negotiated lifetime (the seed: 3060 s of 3600).</summary>
    public double Phase2RekeyShare { get; init; } = 0.85;

    /// <summary>
    /// How long a pair this side replaced by a rekey stays installed (inbound and outbound) before its DELETE:
    /// the responder installs the new pair only when QM3 arrives, so traffic moves over while both exist.
    /// Zero (the engine's default, as in its tests): the DELETE goes with QM3; `ikeactors run` uses 2 s.
    /// </summary>
    public TimeSpan RekeyedPairGrace { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Rekey jitter: the Phase 1 and Phase 2 rekey points come earlier by a random draw of up to this share of the
    /// lifetime (0.1: a 86400 s initiator SA rekeys between 73440 and 82080 s), so tunnels set up together do not rekey
    /// together. Zero (the engine's default: the ASA's exact timers, as the golden transcripts print them); `ikeactors
    /// run` uses 0.1. The ASA's "Starting P1/P2 rekey timer" lines print the timer chosen.
    /// </summary>
    public double RekeyJitter { get; init; }

    /// <summary>DPD jitter: each idle-threshold wait before an R-U-THERE is shorter by up to this share of it (RFC 3706 §5.5 leaves the schedule to the implementation). Zero by default; `ikeactors run` uses 0.2.</summary>
    public double DpdJitter { get; init; }

    /// <summary>
    /// The length of the private exponents of our MODP key pairs (Main Mode and PFS): full length by default, as
    /// strongSwan's `dh_exponent_ansi_x9_42`; <see cref="IkeActors.Crypto.DhExponentPolicy.TwiceSecurityStrength"/> takes
    /// RFC 3526 §8's sizes (twice the group's strength), about five times less CPU per exchange. ECP groups ignore it.
    /// </summary>
    public IkeActors.Crypto.DhExponentPolicy DhExponent { get; init; } = IkeActors.Crypto.DhExponentPolicy.FullLength;

    /// <summary>
    /// Encapsulate ESP in UDP 4500 even without a NAT (strongSwan's `forceencaps`): our NAT-D hash of our own address is
    /// a random one (RFC 3947 §3.2), so the peer sees us behind a NAT, and we act as if it had seen one; both ends then
    /// float to 4500 and Quick Mode asks for the UDP-encapsulated modes. Needs NAT-T announced by both (MM1/MM2).
    /// Between two of our gateways it lets ESP cross the kernel in UDP GSO/GRO runs instead of one packet at a time.
    /// </summary>
    public bool ForceEncapsulation { get; init; }

    /// <summary>Quick Mode exchanges that may be in progress on one IKE SA.</summary>
    public int MaxConcurrentQuickModes { get; init; } = 16;
}

/// <summary>
/// What one gateway knows about itself: its configuration, the outside address and port
/// it negotiates from, and the injected environment. Shared by all its IKE SAs.
/// </summary>
public sealed class GatewayContext
{
    /// <param name="lookup">The crypto map lookup of <paramref name="config"/>, when gateways that differ only in their
    /// address share one (a load generator's peers); made here otherwise.</param>
    public GatewayContext(AsaConfig config, IPEndPoint local, INegotiationEnvironment? environment = null, NegotiationSettings? settings = null,
        CryptoMapLookup? lookup = null)
    {
        Config = config;
        Local = local;
        Environment = environment ?? SystemEnvironment.Instance;
        Settings = settings ?? new NegotiationSettings();
        Lookup = lookup ?? new CryptoMapLookup(config);
        OutsideInterface = config.IsakmpEnabledInterfaces.FirstOrDefault() ?? "outside";
    }

    public AsaConfig Config { get; }
    public IPEndPoint Local { get; }
    public INegotiationEnvironment Environment { get; }
    public NegotiationSettings Settings { get; }
    public CryptoMapLookup Lookup { get; }
    public string OutsideInterface { get; }

    /// <summary>The user database and address pools of remote-access groups (XAUTH, Mode Config); null: remote access is refused after phase 1.</summary>
    public IRemoteAccessService? RemoteAccess { get; init; }

    /// <summary>
    /// The address leases of an in-process host (<see cref="NegotiationEngine"/>); a cluster's SA grains keep theirs in
    /// pool and user grains instead.
    /// </summary>
    public LocalAddressBook AddressBook { get; init; } = new();

    /// <summary>`--save-keys`: the keys of every SA made from now on, for Wireshark (<see cref="IKeyLog"/>); null: none.</summary>
    public IKeyLog? KeyLog { get; init; }

    /// <summary>The interface the traffic that triggered an acquire came in on (the ASA prints it in "New Phase 1").</summary>
    public string InsideInterfaceFor(IPAddress source) =>
        Config.Interfaces.FirstOrDefault(i => i.Address is { } a && a.Subnet.Contains(source))?.Nameif ?? "inside";
}
