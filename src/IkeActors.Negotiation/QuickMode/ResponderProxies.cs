using IkeActors.Config.Model;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// The responder's proxies (IDci, IDcr) and the ASA's "Static Crypto Map check": the first crypto map
/// entry (by sequence) whose ACL mirrors them, or the first entry of a dynamic map an entry refers to
/// (any peer; any proxies when it has no `match address`).
/// </summary>
internal static class ResponderProxies
{
    /// <summary>The local and remote proxies QM1 names, and the entry that matches them (null: none does, and the rejection is logged).</summary>
    public static (ProxyId Local, ProxyId Remote, CryptoMapMatch? Match) Check(IkeSa sa, List<ProxyId?> ids, NegotiationOutput output)
    {
        var context = sa.Context;
        // RFC 2409 §5.5: without IDs the proxies are the two gateways' addresses.
        var remote = ids.Count >= 2 && ids[0] is { } r ? r : ProxyId.Host(sa.Peer.Address);
        var local = ids.Count >= 2 && ids[1] is { } l ? l : ProxyId.Host(sa.Gateway.Local.Address);
        // A pair for these proxies already installed: the initiator is rekeying it (the old one goes with its DELETE or lifetime).
        if (!sa.HasActivePairFor(local, remote)) AsaDebug.QmIsRekeyedOldSaNotFound(output, context);

        // A remote-access client speaks only for the address Mode Config gave it (its remote proxy ID is that host).
        if (sa.RemoteAccess.Lease is { } lease && sa.RemoteAccess.Credentials is null && remote != ProxyId.Host(lease.Address))
        {
            var rp = remote.Prefix ?? new Ipv4Prefix(remote.Range.First, 32);
            var lp = local.Prefix ?? new Ipv4Prefix(local.Range.First, 32);
            AsaDebug.RejectingIpsecTunnelNoCryptoMap(output, context, rp.Address, rp.MaskAddress, remote.Protocol, remote.Port,
                lp.Address, lp.MaskAddress, local.Protocol, local.Port, sa.Gateway.OutsideInterface);
            return (local, remote, null);
        }
        var check = sa.Gateway.Lookup.StaticCryptoMapCheck(sa.Peer.Address, local, remote, sa.Gateway.OutsideInterface);
        foreach (var step in check.Steps)
        {
            switch (step.Outcome)
            {
                case MapCheckOutcome.Matched:
                    AsaDebug.StaticCryptoMapChecking(output, context, step.Map, step.Sequence);
                    AsaDebug.StaticCryptoMapMatch(output, context, step.Map, step.Sequence);
                    break;
                case MapCheckOutcome.NotMatched:
                    AsaDebug.StaticCryptoMapChecking(output, context, step.Map, step.Sequence);
                    break;
                case MapCheckOutcome.DynamicReference:
                    // The entry that refers to a dynamic map has no ACL or peer of its own: the static check passes it by.
                    AsaDebug.StaticCryptoMapChecking(output, context, step.Map, step.Sequence);
                    AsaDebug.StaticCryptoMapBypassed(output, context);
                    break;
                case MapCheckOutcome.DynamicSkipped:
                    AsaDebug.SkippingDynamicMapPeerFound(output, context, step.Map, step.Sequence);
                    break;
                // Dynamic entries tried: the outcome is "IKE Remote Peer configured for crypto map" or the rejection below.
            }
        }
        if (check.Match is not { } match)
        {
            var rp = remote.Prefix ?? new Ipv4Prefix(remote.Range.First, 32);
            var lp = local.Prefix ?? new Ipv4Prefix(local.Range.First, 32);
            AsaDebug.RejectingIpsecTunnelNoCryptoMap(output, context, rp.Address, rp.MaskAddress, remote.Protocol, remote.Port,
                lp.Address, lp.MaskAddress, local.Protocol, local.Port, sa.Gateway.OutsideInterface);
            return (local, remote, null);
        }
        AsaDebug.RemotePeerConfiguredForCryptoMap(output, context, match.Tag);
        return (local, remote, match);
    }
}
