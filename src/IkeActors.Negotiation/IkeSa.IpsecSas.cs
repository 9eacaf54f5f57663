using IkeActors.Config.Model;

namespace IkeActors.Negotiation;

/// <summary>The IKE SA's Phase 2 state (<see cref="IpsecSaTable"/>) and its rekey and expiry (<see cref="Negotiation.Phase2Rekey"/>).</summary>
public sealed partial class IkeSa
{
    /// <summary>The installed IPsec SA pairs, by the message ID of the Quick Mode that made them.</summary>
    public IReadOnlyCollection<IpsecSa> IpsecSas => Table.Installed.Values;

    /// <summary>Whether a Quick Mode of this IKE SA (running, installed or failed) has this message ID (RFC 2409 §5.5: unique).</summary>
    public bool UsesMessageId(uint messageId) => Table.UsesMessageId(messageId);

    /// <summary>
    /// The data plane reports the kilobytes an installed pair (named by our inbound SPI) has carried so far,
    /// a running total (a smaller value than already known is ignored). At the rekey share of the kilobyte
    /// lifetime the pair is rekeyed (by the Quick Mode's initiator), at 100 % it is deleted.
    /// </summary>
    public void TrafficAccounted(uint inboundSpi, long kilobytes, NegotiationOutput output)
    {
        if (_state != MainModeState.MM_DELETED) Phase2Rekey.TrafficAccounted(inboundSpi, kilobytes, output);
    }

    /// <summary>A Quick Mode reached QM_ACTIVE: the exchange is forgotten, its pair kept.</summary>
    internal void QuickModeCompleted(QuickModeExchange qm, IpsecSa ipsecSa, NegotiationOutput output) => Table.Completed(qm, ipsecSa, output);

    /// <summary>A Quick Mode failed: the exchange is forgotten, its message ID and last messages kept.</summary>
    internal void QuickModeFailed(QuickModeExchange qm) => Table.QuickModeFailed(qm);

    /// <summary>Whether an installed pair already protects these proxies (a Quick Mode for them is a rekey).</summary>
    internal bool HasActivePairFor(ProxyId local, ProxyId remote) => Table.HasActivePairFor(local, remote);
}
