using System.Net;
using System.Net.Sockets;

namespace IkeActors.Esp;

/// <summary>
/// The two SAs one Quick Mode installs, with what the SAD/SPD needs about them (RFC 4301 §4.4.2.1):
/// the traffic selectors as seen from this gateway, the peer, and whether ESP travels in UDP (NAT-T,
/// RFC 3948) and to which port. Owns both SAs: <see cref="Dispose"/> zeroes their keys.
/// </summary>
public sealed class EspSaPair : IDisposable
{
    public EspSaPair(EspSa inbound, EspSa outbound, TrafficSelector local, TrafficSelector remote, IPEndPoint peer, bool udpEncapsulated)
    {
        if (inbound.Direction != EspDirection.Inbound || outbound.Direction != EspDirection.Outbound)
        {
            throw new ArgumentException("an SA pair is one inbound and one outbound SA");
        }
        if (peer.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("IPv4 peers only", nameof(peer));
        }
        Inbound = inbound;
        Outbound = outbound;
        Local = local;
        Remote = remote;
        Peer = udpEncapsulated ? peer : new IPEndPoint(peer.Address, 0);
        UdpEncapsulated = udpEncapsulated;
        PeerAddress = Peer.Serialize();
    }

    public EspSa Inbound { get; }
    public EspSa Outbound { get; }

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
    /// outbound traffic. The Quick Mode initiator installs when it sends QM3, the responder when QM3 arrives:
    /// ESP on the new SA that overtakes QM3 is dropped by the responder. 0: preferred at once.
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

    public void Dispose()
    {
        Inbound.Dispose();
        Outbound.Dispose();
    }

    public override string ToString() =>
        $"in 0x{Inbound.Spi:X8} out 0x{Outbound.Spi:X8} {Local} <-> {Remote} peer {Peer}{(UdpEncapsulated ? " NAT-T" : "")}";
}
