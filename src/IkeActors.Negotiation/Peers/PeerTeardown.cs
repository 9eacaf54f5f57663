using IkeActors.Protocol;

namespace IkeActors.Negotiation.Peers;

/// <summary>
/// Carries out what <see cref="PeerPolicy.InitialContact"/> decided for one IKE SA the host holds: the SA and its IPsec
/// SAs go without a DELETE (RFC 2407 §4.6.3.3: the peer has no SA to read it with), with the ASA's lines for an IKE SA
/// deleted with its IPsec connection entries (713113, then 715009 for each pair).
/// </summary>
public static class PeerTeardown
{
    public static void InitialContact(IkeSa sa, NegotiationOutput output)
    {
        if (sa.State == MainModeState.MM_DELETED) return;
        var pairs = sa.IpsecSas.ToList();
        AsaDebug.DeletingIkeSaWithConnections(output, sa.Context, sa.Peer.Address, sa.InitiatorCookie, pairs.Count);
        foreach (var qm in pairs)
            AsaDebug.IkeDeletingSa(output, sa.Context, Ipv4.ToAddress(qm.Remote.Range.First), Ipv4.ToAddress(qm.Local.Range.First));
        sa.Delete(output, notifyPeer: false);
    }
}
