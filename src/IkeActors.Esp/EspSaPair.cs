using System.Net;
using System.Net.Sockets;

namespace IkeActors.Esp;

/// <summary>
/// The two SAs one Quick Mode installs, with what the SAD/SPD needs about them (RFC 4301 §4.4.2.1):
/// the traffic selectors as seen from this gateway, the peer, and whether ESP travels in UDP (NAT-T,
/// RFC 3948) and to which port. Owns both SAs: <see cref="Dispose"/> zeroes their keys.
/// A Quick Mode responder's inbound SA goes in alone between its QM2 and QM3 (<see cref="InboundOnly"/>,
/// <see cref="EspSaDatabase.AddInbound"/>): found by its SPI, never used to send, completed by the pair.
/// </summary>
public sealed class EspSaPair : IDisposable
{
    private readonly EspSa? _outbound;

    public EspSaPair(EspSa inbound, EspSa outbound, TrafficSelector local, TrafficSelector remote, IPEndPoint peer, bool udpEncapsulated)
        : this(inbound, (EspSa?)outbound ?? throw new ArgumentNullException(nameof(outbound)), local, remote, peer, udpEncapsulated, 0)
    {
    }

    /// <summary>An inbound SA alone: it decapsulates (and checks the selectors) but has no outbound SA to send with.</summary>
    public static EspSaPair InboundOnly(EspSa inbound, TrafficSelector local, TrafficSelector remote, IPEndPoint peer, bool udpEncapsulated) =>
        new(inbound, null, local, remote, peer, udpEncapsulated, 0);

    private EspSaPair(EspSa inbound, EspSa? outbound, TrafficSelector local, TrafficSelector remote, IPEndPoint peer, bool udpEncapsulated,
        long outboundPreferredFromTick)
    {
        if (inbound.Direction != EspDirection.Inbound || (outbound is not null && outbound.Direction != EspDirection.Outbound))
        {
            throw new ArgumentException("an SA pair is one inbound and one outbound SA");
        }
        if (peer.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("IPv4 peers only", nameof(peer));
        }
        Inbound = inbound;
        _outbound = outbound;
        Local = local;
        Remote = remote;
        Peer = udpEncapsulated ? peer : new IPEndPoint(peer.Address, 0);
        UdpEncapsulated = udpEncapsulated;
        PeerAddress = Peer.Serialize();
        OutboundPreferredFromTick = outboundPreferredFromTick;
    }

    public EspSa Inbound { get; }

    /// <summary>The outbound SA; an inbound SA alone (<see cref="IsInboundOnly"/>) has none.</summary>
    public EspSa Outbound => _outbound ?? throw new InvalidOperationException($"inbound SA 0x{Inbound.Spi:X8} is installed alone: it has no outbound SA yet");

    /// <summary>The inbound SA alone (a Quick Mode responder's between QM2 and QM3): only in the database's SPI lookup.</summary>
    public bool IsInboundOnly => _outbound is null;

    /// <summary>Our side's selector (the crypto ACL's source).</summary>
    public TrafficSelector Local { get; }

    /// <summary>The peer's side (the crypto ACL's destination).</summary>
    public TrafficSelector Remote { get; }

    /// <summary>The peer's outside address; with NAT-T also its UDP port (usually 4500, another behind a NAT).</summary>
    public IPEndPoint Peer { get; }

    /// <summary>ESP in UDP (Encapsulation Mode UDP-Encapsulated-Tunnel, RFC 3947 §5), else raw IP protocol 50.</summary>
    public bool UdpEncapsulated { get; }

    /// <summary>The peer serialised once, so sends need no per-packet allocation.</summary>
    public SocketAddress PeerAddress { get; }

    /// <summary>
    /// <see cref="Environment.TickCount64"/> before which an older pair with the same selectors still carries
    /// outbound traffic. The Quick Mode initiator installs when it sends QM3; a responder that installs its
    /// outbound SA only when QM3 arrives (and its inbound one only then too, unlike ours) drops ESP on the new SA
    /// that overtakes QM3. 0: preferred at once.
    /// </summary>
    public long OutboundPreferredFromTick { get; set; }

    /// <summary>Order of installation in the database: higher is newer (make-before-break picks the highest).</summary>
    public long Generation { get; internal set; }

    /// <summary>Outbound SPD match (RFC 4301 §5.1): the packet leaves from our selector towards the peer's.</summary>
    public bool MatchesOutbound(in FlowKey f) =>
        Local.Matches(f.Source, f.Protocol, f.SourcePort) && Remote.Matches(f.Destination, f.Protocol, f.DestinationPort);

    /// <summary>Inbound selector check after decapsulation (RFC 4301 §5.2 step 4): from the peer's selector to ours.</summary>
    public bool MatchesInbound(in FlowKey f) =>
        Remote.Matches(f.Source, f.Protocol, f.SourcePort) && Local.Matches(f.Destination, f.Protocol, f.DestinationPort);

    /// <summary>
    /// This inbound SA alone with the outbound SA of <paramref name="pair"/> (the same Quick Mode's, installed at QM3):
    /// the inbound SA stays the same object, its replay window and counters go on (RFC 4303 §3.4.3); selectors and
    /// peer are the pair's. The pair's own inbound SA is not used (the caller disposes it).
    /// </summary>
    internal EspSaPair CompletedBy(EspSaPair pair) =>
        new(Inbound, pair.Outbound, pair.Local, pair.Remote, pair.Peer, pair.UdpEncapsulated, pair.OutboundPreferredFromTick);

    public void Dispose()
    {
        Inbound.Dispose();
        _outbound?.Dispose();
    }

    public override string ToString() =>
        $"in 0x{Inbound.Spi:X8} out {(_outbound is null ? "(none yet)" : $"0x{_outbound.Spi:X8}")} {Local} <-> {Remote} peer {Peer}{(UdpEncapsulated ? " NAT-T" : "")}";
}
