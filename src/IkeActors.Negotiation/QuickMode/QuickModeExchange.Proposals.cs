using System.Buffers.Binary;
using IkeActors.Config.Model;
using IkeActors.Protocol;

using static IkeActors.Negotiation.QuickModePayloads;

namespace IkeActors.Negotiation;

/// <summary>ESP proposals (RFC 2408 §4.2, RFC 2407 §4.5) and lifetime negotiation (RFC 2407 §4.6.3.1).</summary>
public sealed partial class QuickModeExchange
{
    /// <summary>The peer's proposal and transform the responder accepted, with the peer's SPI (our outbound one).</summary>
    private readonly record struct ProposalChoice(int Proposal, int Transform, IpsecTransform Offered, uint Spi);

    /// <summary>
    /// The responder's choice: the first ESP transform of the peer's (in its order) that one of the entry's
    /// transform sets matches. Sets <see cref="OutboundSpi"/> and <see cref="Transform"/>.
    /// </summary>
    private ProposalChoice? SelectProposal(SaPayloadView sa, IpsecSaLifetime lifetime, NegotiationOutput output)
    {
        var match = Match!;
        var ours = TransformsOf(match.Entry, lifetime);
        foreach (var proposal in sa.Proposals)
        {
            if (proposal.ProtocolId != ProtocolId.IpsecEsp) continue;
            if (proposal.Spi.Length != 4) { AsaDebug.InvalidEspSpiSize(output, Context, proposal.Spi.Length); continue; }
            foreach (var t in proposal.Transforms)
            {
                if (IpsecTransform.FromTransform(t) is not { } offered || !ours.Any(o => o.Matches(offered))) continue;
                var choice = new ProposalChoice(proposal.ProposalNumber, t.TransformNumber, offered, BinaryPrimitives.ReadUInt32BigEndian(proposal.Spi));
                AsaDebug.IpsecSaProposalAcceptable(output, Context, choice.Proposal, choice.Transform, match.Entry.Sequence);
                OutboundSpi = choice.Spi;
                Transform = choice.Offered;
                return choice;
            }
        }
        AsaDebug.AllIpsecSaProposalsUnacceptable(output, Context);
        FailExchange(FailureReason.TransformSetMismatch, "no transform set matches the peer's proposal", output, notify: NotifyMessageType.NoProposalChosen);
        return null;
    }

    /// <summary>
    /// The shorter lifetime wins; when ours is shorter we say so (RFC 2407 §4.6.3.1): returns the
    /// RESPONDER-LIFETIME attributes for QM2, empty when the initiator's lifetimes stand.
    /// </summary>
    private List<DataAttribute> NegotiateLifetime(IpsecTransform offered, IpsecSaLifetime ours, NegotiationOutput output)
    {
        var notify = new List<DataAttribute>();
        LifetimeSeconds = offered.LifetimeSeconds;
        LifetimeKilobytes = offered.LifetimeKilobytes;
        if (ours.Seconds < offered.LifetimeSeconds)
        {
            AsaDebug.OverridingInitiatorRekeyDurationSeconds(output, Context, offered.LifetimeSeconds, ours.Seconds);
            LifetimeSeconds = ours.Seconds;
            notify.Add(DataAttribute.Basic((ushort)IpsecAttribute.SaLifeType, (ushort)LifeType.Seconds));
            notify.Add(DataAttribute.Integer((ushort)IpsecAttribute.SaLifeDuration, (ulong)ours.Seconds));
        }
        if (ours.Kilobytes is { } kb && (offered.LifetimeKilobytes is null || kb < offered.LifetimeKilobytes))
        {
            AsaDebug.OverridingInitiatorRekeyDurationKbs(output, Context, offered.LifetimeKilobytes ?? 0, kb);
            LifetimeKilobytes = kb;
            notify.Add(DataAttribute.Basic((ushort)IpsecAttribute.SaLifeType, (ushort)LifeType.Kilobytes));
            notify.Add(DataAttribute.Integer((ushort)IpsecAttribute.SaLifeDuration, (ulong)kb));
        }
        return notify;
    }

    private List<IpsecTransform> TransformsOf(CryptoMapEntry entry, IpsecSaLifetime lifetime) =>
        entry.TransformSets.Select(name => _sa.Gateway.Config.FindTransformSet(name)).Where(t => t is not null)
            .Select(t => WithNatTraversal(IpsecTransform.FromTransformSet(t!, lifetime, entry.PfsGroup))).ToList();

    /// <summary>
    /// RFC 3947 §5.1: through a NAT (detected in Main Mode, SA floated to 4500) ESP is UDP-encapsulated,
    /// and the Encapsulation Mode says so: 3/4 under RFC 3947, 61443/61444 under the drafts.
    /// </summary>
    private IpsecTransform WithNatTraversal(IpsecTransform t)
    {
        if (!_sa.UsesUdpEncapsulation) return t;
        var rfc = _sa.NatTraversal == NatTraversalVersion.Rfc3947;
        return t with
        {
            Mode = t.Mode == EncapsulationMode.Transport
                ? (rfc ? EncapsulationMode.UdpEncapsulatedTransport : EncapsulationMode.UdpEncapsulatedTransportDraft)
                : (rfc ? EncapsulationMode.UdpEncapsulatedTunnel : EncapsulationMode.UdpEncapsulatedTunnelDraft),
        };
    }

    /// <summary>The ASA proposes each transform set as its own proposal, all with the same SPI.</summary>
    private static SaPayload ProposalOf(List<IpsecTransform> offers, uint spi) => new()
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
    private static SaPayload ChosenProposal(ProposalChoice choice, uint spi) => new()
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
}
