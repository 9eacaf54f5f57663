using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Config.Model;

namespace IkeActors.LoadGenerator;

/// <summary>A run of the load generator, checked (see <see cref="BenchArguments.Validate"/>).</summary>
public sealed record BenchSettings
{
    /// <summary>Peer i sends from this address plus i.</summary>
    public required IPAddress FirstSource { get; init; }
    /// <summary>0: an ephemeral port per socket; 500 as root.</summary>
    public int SourcePort { get; init; }
    /// <summary>Where the responder really listens (UDP 500 unless told).</summary>
    public required IPEndPoint Target { get; init; }
    /// <summary>The responder's NAT-T port, used once the engine floats (RFC 3947 §4).</summary>
    public int TargetNatTPort { get; init; } = 4500;
    public int Peers { get; init; } = 1;
    /// <summary>New peers started per second; 0 = as fast as <see cref="Concurrency"/> allows.</summary>
    public double Rate { get; init; }
    public int Concurrency { get; init; } = 100;
    public TimeSpan Hold { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Send a DELETE for every SA at the end (RFC 2408 §3.15); false leaves them to the responder's DPD.</summary>
    public bool DeleteAtEnd { get; init; } = true;
    /// <summary>`debug crypto ikev1` level for the first peer (0: none).</summary>
    public int Debug { get; init; }
    /// <summary>The initiator configuration every peer shares (generated from the options or read from --config).</summary>
    public required AsaConfig Config { get; init; }

    /// <summary>The remote-access profile (Aggressive Mode + XAUTH + Mode Config, as EzVPN clients dial in); null: LAN-to-LAN peers.</summary>
    public IkeActors.Negotiation.RemoteAccessCredentials? RemoteAccess { get; init; }
    /// <summary>Peer i proposes the i-th subnet of this range as its local proxy ID (null: the crypto ACL's source as it is).</summary>
    public Ipv4Prefix? LocalTs { get; init; }

    /// <summary>
    /// The prefix length of each peer's subnet of <see cref="LocalTs"/>: a /24 when the range holds one per peer,
    /// else the longest prefix that still gives every peer its own (a /8 for 100,000 peers: /25s).
    /// </summary>
    public int PeerPrefixLength => LocalTs is { } ts ? PeerPrefixLengthFor(ts, Peers) : 32;

    /// <summary>The subnet length for <paramref name="peers"/> peers in <paramref name="range"/>; above 32 when they do not fit.</summary>
    public static int PeerPrefixLengthFor(Ipv4Prefix range, int peers)
    {
        var bits = peers <= 1 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(peers - 1)); // ceil(log2 peers)
        var needed = range.Length + bits;
        return range.Length >= 24 ? needed : Math.Max(24, needed);
    }
    /// <summary>A packet the crypto map protects: the acquire every peer starts from (its ACE gives the proxy IDs).</summary>
    public required Packet Acquire { get; init; }
}
