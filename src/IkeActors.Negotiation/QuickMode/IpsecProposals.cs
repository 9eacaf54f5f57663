using System.Buffers.Binary;
using IkeActors.Config.Model;
using IkeActors.Protocol;
using static IkeActors.Negotiation.QuickModePayloads;

namespace IkeActors.Negotiation;

/// <summary>The peer's proposal and transform the responder accepted, with the peer's SPI (our outbound one).</summary>
internal readonly record struct ProposalChoice(int Proposal, int Transform, IpsecTransform Offered, uint Spi);

/// <summary>
/// ESP proposals of one IKE SA's Quick Modes (RFC 2408 §4.2, RFC 2407 §4.5): our offers from the crypto
/// map entry's transform sets, the responder's choice, and lifetime negotiation (RFC 2407 §4.6.3.1).
/// </summary>
internal sealed class IpsecProposals(IkeSa sa)
{
    private DebugContext Context => sa.Context;

    /// <summary>
    /// The responder's choice: the first ESP transform of the peer's (in its order) that one of the entry's
    /// transform sets matches; null when none does.
    /// </summary>
    public ProposalChoice? Select(SaPayloadView offered, CryptoMapEntry entry, IpsecSaLifetime lifetime, NegotiationOutput output)
    {
        var ours = TransformsOf(entry, lifetime);
        foreach (var proposal in offered.Proposals)
        {
            if (proposal.ProtocolId != ProtocolId.IpsecEsp) continue;
            if (proposal.Spi.Length != 4) { AsaDebug.InvalidEspSpiSize(output, Context, proposal.Spi.Length); continue; }
            foreach (var t in proposal.Transforms)
            {
                if (IpsecTransform.FromTransform(t) is not { } transform || !ours.Any(o => o.Matches(transform))) continue;
                var choice = new ProposalChoice(proposal.ProposalNumber, t.TransformNumber, transform, BinaryPrimitives.ReadUInt32BigEndian(proposal.Spi));
                AsaDebug.IpsecSaProposalAcceptable(output, Context, choice.Proposal, choice.Transform, entry.Sequence);
                return choice;
            }
        }
        AsaDebug.AllIpsecSaProposalsUnacceptable(output, Context);
        return null;
    }

    /// <summary>The responder's choice must be one of our offers (RFC 2408 §4.2); its SPI is our outbound one. Null when it is not.</summary>
    public (IpsecTransform Transform, uint Spi)? AcceptResponderChoice(SaPayloadView chosen, CryptoMapEntry entry, IpsecSaLifetime lifetime)
    {
        var offers = TransformsOf(entry, lifetime);
        foreach (var proposal in chosen.Proposals)
        {
            if (proposal.ProtocolId != ProtocolId.IpsecEsp || proposal.Spi.Length != 4) continue;
            foreach (var t in proposal.Transforms)
            {
                if (IpsecTransform.FromTransform(t) is not { } transform || !offers.Any(o => o.Matches(transform))) continue;
                return (transform, BinaryPrimitives.ReadUInt32BigEndian(proposal.Spi));
            }
        }
        return null;
    }

    /// <summary>
    /// The shorter lifetime wins; when ours is shorter we say so (RFC 2407 §4.6.3.1): returns the agreed
    /// lifetime and the RESPONDER-LIFETIME attributes for QM2, empty when the initiator's lifetimes stand.
    /// </summary>
    public (IpsecSaLifetime Agreed, List<DataAttribute> Notify) NegotiateLifetime(IpsecTransform offered, IpsecSaLifetime ours, NegotiationOutput output)
    {
        var notify = new List<DataAttribute>();
        var seconds = offered.LifetimeSeconds;
        var kilobytes = offered.LifetimeKilobytes;
        if (ours.Seconds < offered.LifetimeSeconds)
        {
            AsaDebug.OverridingInitiatorRekeyDurationSeconds(output, Context, offered.LifetimeSeconds, ours.Seconds);
            seconds = ours.Seconds;
            notify.Add(DataAttribute.Basic((ushort)IpsecAttribute.SaLifeType, (ushort)LifeType.Seconds));
            notify.Add(DataAttribute.Integer((ushort)IpsecAttribute.SaLifeDuration, (ulong)ours.Seconds));
        }
        if (ours.Kilobytes is { } kb && (offered.LifetimeKilobytes is null || kb < offered.LifetimeKilobytes))
        {
            AsaDebug.OverridingInitiatorRekeyDurationKbs(output, Context, offered.LifetimeKilobytes ?? 0, kb);
            kilobytes = kb;
            notify.Add(DataAttribute.Basic((ushort)IpsecAttribute.SaLifeType, (ushort)LifeType.Kilobytes));
            notify.Add(DataAttribute.Integer((ushort)IpsecAttribute.SaLifeDuration, (ulong)kb));
        }
        return (new IpsecSaLifetime(seconds, kilobytes), notify);
    }

    /// <summary>RFC 2407 §4.6.3.1: RESPONDER-LIFETIME in QM2; the shorter lifetime wins.</summary>
    public IpsecSaLifetime ApplyResponderLifetime(IpsecSaLifetime ours, List<(LifeType Type, ulong Value)> responderLifetime, NegotiationOutput output)
    {
        var seconds = ours.Seconds;
        var kilobytes = ours.Kilobytes;
        foreach (var (type, value) in responderLifetime)
        {
            if (type == LifeType.Seconds && (long)value < seconds)
            {
                AsaDebug.ResponderForcingRekeyDurationSeconds(output, Context, seconds, (long)value);
                seconds = (int)value;
            }
            else if (type == LifeType.Kilobytes && (kilobytes is null || (long)value < kilobytes))
            {
                AsaDebug.ResponderForcingRekeyDurationKbs(output, Context, kilobytes ?? 0, (long)value);
                kilobytes = (long)value;
            }
        }
        return new IpsecSaLifetime(seconds, kilobytes);
    }

    public List<IpsecTransform> TransformsOf(CryptoMapEntry entry, IpsecSaLifetime lifetime) =>
        entry.TransformSets.Select(name => sa.Gateway.Config.FindTransformSet(name)).Where(t => t is not null)
            .Select(t => WithNatTraversal(IpsecTransform.FromTransformSet(t!, lifetime, entry.PfsGroup))).ToList();

    /// <summary>
    /// RFC 3947 §5.1: through a NAT (detected in Main Mode, SA floated to 4500) ESP is UDP-encapsulated,
    /// and the Encapsulation Mode says so: 3/4 under RFC 3947, 61443/61444 under the drafts.
    /// </summary>
    private IpsecTransform WithNatTraversal(IpsecTransform t)
    {
        if (!sa.UsesUdpEncapsulation) return t;
        var rfc = sa.NatTraversal == NatTraversalVersion.Rfc3947;
        return t with
        {
            Mode = t.Mode == EncapsulationMode.Transport
                ? (rfc ? EncapsulationMode.UdpEncapsulatedTransport : EncapsulationMode.UdpEncapsulatedTransportDraft)
                : (rfc ? EncapsulationMode.UdpEncapsulatedTunnel : EncapsulationMode.UdpEncapsulatedTunnelDraft),
        };
    }

    /// <summary>The ASA proposes each transform set as its own proposal, all with the same SPI.</summary>
    public static SaPayload ProposalOf(List<IpsecTransform> offers, uint spi) => new()
    {
        Doi = Doi.Ipsec,
        Situation = Situation.IdentityOnly,
        Proposals = offers.Select((t, i) => new ProposalPayload
        {
            ProposalNumber = (byte)(i + 1), ProtocolId = ProtocolId.IpsecEsp, Spi = SpiBytes(spi),
            Transforms = [t.ToTransform(1)],
        }).ToList(),
    };

    /// <summary>The responder's SA payload: the one proposal and transform it accepted, numbered as the peer numbered them, with our SPI.</summary>
    public static SaPayload ChosenProposal(ProposalChoice choice, uint spi) => new()
    {
        Doi = Doi.Ipsec,
        Situation = Situation.IdentityOnly,
        Proposals =
        [
            new ProposalPayload
            {
                ProposalNumber = (byte)choice.Proposal, ProtocolId = ProtocolId.IpsecEsp, Spi = SpiBytes(spi),
                Transforms = [choice.Offered.ToTransform((byte)choice.Transform)],
            },
        ],
    };

    /// <summary>RFC 2407 §4.6.3.1: RESPONDER-LIFETIME, with the SPI of the peer's proposal.</summary>
    public static NotificationPayload ResponderLifetimeNotify(List<DataAttribute> lifetime, uint spi) => new()
    {
        Doi = Doi.Ipsec, ProtocolId = ProtocolId.IpsecEsp, NotifyType = NotifyMessageType.ResponderLifetime,
        Spi = SpiBytes(spi), NotificationData = AttributeBytes(lifetime),
    };
}
