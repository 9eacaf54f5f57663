using System.Net;
using IkeActors.Crypto;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// NAT-Traversal of one IKE SA (RFC 3947): the version both ends announced with vendor IDs in MM1/MM2,
/// NAT-D in MM3/MM4 (§3.2), and the float to UDP 4500 (§4) — the initiator moves at MM5 when a NAT was
/// detected, the responder follows the port the peer's authenticated messages come from.
/// </summary>
internal sealed class NatDetection(IkeSa sa)
{
    /// <summary>The UDP port of NAT-T (RFC 3947 §4).</summary>
    public const int Port = 4500;

    private IPEndPoint? _candidate;

    public NatTraversalVersion Version { get; set; }

    /// <summary>A NAT-D hash did not match (RFC 3947 §3.2).</summary>
    public bool Detected { get; set; }

    /// <summary>The peer's NAT-T endpoint once the SA floated; null: UDP 500.</summary>
    public IPEndPoint? NatTPeer { get; set; }

    /// <summary>The responder's NAT-D result between MM3 and MM5 (printed with MM5).</summary>
    public (bool PeerNatMatches, bool LocalNatMatches)? Pending { get; set; }

    public bool UsesUdpEncapsulation => Detected && NatTPeer is not null;

    /// <summary>The NAT-T version of the peer's vendor IDs that both ends support, newest first (RFC 3947 §3.1).</summary>
    public static NatTraversalVersion VersionOf(List<KnownVendorId> vids) =>
        vids.Contains(KnownVendorId.NatTRfc3947) ? NatTraversalVersion.Rfc3947
        : vids.Contains(KnownVendorId.NatTDraft03) ? NatTraversalVersion.Draft03
        : vids.Contains(KnownVendorId.NatTDraft02N) || vids.Contains(KnownVendorId.NatTDraft02) ? NatTraversalVersion.Draft02
        : NatTraversalVersion.None;

    /// <summary>
    /// A datagram arrives on the NAT-T socket from a new endpoint of the peer: it becomes where we answer only once
    /// the message authenticates (<see cref="AcceptNatTPeer"/>): cookies are visible on the wire, so an
    /// unauthenticated datagram must not move where our messages go.
    /// </summary>
    public void NoteSource(ReadOnlySpan<byte> datagram, IPEndPoint? from, bool natT) =>
        _candidate = natT && from is not null && from.Address.Equals(sa.Peer.Address) && Version != NatTraversalVersion.None
            && IsakmpHeaderView.TryParse(datagram, out var h, out _) && h.InitiatorCookie == sa.InitiatorCookie && h.ResponderCookie == sa.ResponderCookie
            && !from.Equals(NatTPeer)
            ? new IPEndPoint(from.Address, from.Port) : null;

    /// <summary>The datagram being processed came from a new NAT-T endpoint and has authenticated (HASH_I/R, HASH(1..3), Informational HASH): answer there from now on.</summary>
    public void AcceptNatTPeer()
    {
        if (_candidate is null) return;
        NatTPeer = _candidate;
        _candidate = null;
    }

    /// <summary>RFC 3947 §4: with a NAT between us, the initiator moves to UDP 4500 from MM5 on.</summary>
    public void FloatIfBehindNat()
    {
        if (Detected && Version != NatTraversalVersion.None) NatTPeer = new IPEndPoint(sa.Peer.Address, Port);
    }

    /// <summary>RFC 3947 §3.2: only when both ends support NAT-T; first the hash of the peer's address and port, then ours.</summary>
    public void AddDiscoveryPayloads(List<IIsakmpPayload> payloads, NegotiationOutput output)
    {
        if (Version == NatTraversalVersion.None) return;
        AsaDebug.ConstructingNatDiscoveryPayload(output, sa.IpContext);
        AsaDebug.ComputingNatDiscoveryHash(output, sa.IpContext);
        payloads.Add(Discovery(Hash(sa.Peer)));
        AsaDebug.ConstructingNatDiscoveryPayload(output, sa.IpContext);
        AsaDebug.ComputingNatDiscoveryHash(output, sa.IpContext);
        payloads.Add(Discovery(Force ? System.Security.Cryptography.RandomNumberGenerator.GetBytes(HashLength) : Hash(sa.Gateway.Local)));
    }

    /// <summary>Encapsulation forced by this gateway's settings (<see cref="NegotiationSettings.ForceEncapsulation"/>).</summary>
    private bool Force => sa.Gateway.Settings.ForceEncapsulation;

    private int HashLength => IkeAlgorithms.HashLength(sa.Transform!.CryptoHash);

    /// <summary>The peer's NAT-D hashes (MM3/MM4): RFC 3947 §3.2, the first is the hash of the receiver's (our) address, the rest the sender's.</summary>
    public (bool PeerNatMatches, bool LocalNatMatches)? Compare(List<byte[]> hashes, NegotiationOutput output)
    {
        if (hashes.Count < 2) return null;
        AsaDebug.ProcessingNatDiscoveryPayload(output, sa.IpContext);
        AsaDebug.ComputingNatDiscoveryHash(output, sa.IpContext);
        var local = Hash(sa.Gateway.Local);
        var remote = Hash(sa.Peer);
        var localMatches = hashes[0].AsSpan().SequenceEqual(local);
        var peerMatches = hashes.Skip(1).Any(h => h.AsSpan().SequenceEqual(remote));
        Detected = !localMatches || !peerMatches || Force;
        return (peerMatches, localMatches);
    }

    /// <summary>The ASA's line for where the NAT is.</summary>
    public void LogStatus((bool PeerNatMatches, bool LocalNatMatches)? nat, NegotiationOutput output)
    {
        if (nat is not { } n) return;
        if (n.PeerNatMatches && n.LocalNatMatches) AsaDebug.NatDetectionNoNat(output, sa.Context);
        else if (!n.PeerNatMatches && n.LocalNatMatches) AsaDebug.NatDetectionRemoteBehindNat(output, sa.Context);
        else if (n.PeerNatMatches) AsaDebug.NatDetectionLocalBehindNat(output, sa.Context);
        else AsaDebug.NatDetectionBothBehindNat(output, sa.Context);
    }

    /// <summary>The NAT-D payload under the number the negotiated version uses (RFC 3947: 20; drafts 02/03: 130).</summary>
    private IIsakmpPayload Discovery(byte[] hash) => Version == NatTraversalVersion.Rfc3947
        ? new NatDPayload { HashOfAddressAndPort = hash }
        : new NatDDraftPayload { HashOfAddressAndPort = hash };

    /// <summary>HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash (RFC 3947 §3.2).</summary>
    private byte[] Hash(IPEndPoint endPoint)
    {
        var transform = sa.Transform!;
        var hash = new byte[HashLength];
        IkeHashes.NatD(transform.CryptoHash, IsakmpMessages.Cookie(sa.InitiatorCookie), IsakmpMessages.Cookie(sa.ResponderCookie), endPoint, hash);
        return hash;
    }
}
