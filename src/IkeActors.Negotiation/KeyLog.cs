using System.Net;

namespace IkeActors.Negotiation;

/// <summary>
/// Where `ikeactors run --save-keys` sends the keys an SA is made with, at the moment they are derived, so Wireshark can
/// decrypt a capture. Nothing else sees key material: these calls are not <see cref="NegotiationAction"/>s (no log,
/// trace, debug line or snapshot carries them), and <see cref="GatewayContext.KeyLog"/> is null unless the operator
/// asked. A restored SA (reactivation, failover) reports nothing again: its keys were written when it was made.
/// </summary>
public interface IKeyLog
{
    /// <summary>Phase 1 keys derived (RFC 2409 §5, after MM3/MM4): the initiator cookie and the cipher's key (SKEYID_e, expanded per Appendix B).</summary>
    void IkeSa(ulong initiatorCookie, ReadOnlySpan<byte> encryptionKey);

    /// <summary>One direction of an IPsec SA (RFC 2409 §5.5 KEYMAT): the outer source and destination of its ESP packets.</summary>
    void EspSa(IPAddress source, IPAddress destination, IpsecSaKeys keys, IpsecTransform transform);
}
