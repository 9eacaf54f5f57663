using IkeActors.Negotiation;

namespace IkeActors.Grains;

public sealed partial class IkeSaGrain
{
    private EspParameters EspOf(IpsecSaPair p) => new(
        (int)p.Transform.Cipher, p.Transform.KeyLengthBits, (int)p.Transform.Integrity,
        gateway.Local.Address.ToString(), p.Peer.Address.ToString(),
        p.UdpEncapsulatedTo?.Address.ToString(), p.UdpEncapsulatedTo?.Port ?? 0,
        p.Local.Range.First, p.Local.Range.Last, p.Local.Protocol, p.Local.Port,
        p.Remote.Range.First, p.Remote.Range.Last, p.Remote.Protocol, p.Remote.Port, p.Role == IkeRole.Initiator);

    /// <summary>
    /// Quick Mode results go to IPsec SA grains: installed pairs in, deleted pairs out; a responder's inbound SA in at
    /// QM2 and out if its Quick Mode ends without QM3. Awaited before the step's datagrams leave (the front-end sends
    /// them when the call returns): the inbound SA is in the data plane before QM2 reaches the initiator.
    /// </summary>
    private async Task PublishIpsecSas(NegotiationOutput output)
    {
        foreach (var action in output.Actions)
        {
            switch (action)
            {
                case InstallIpsecSa install:
                    await IpsecSaOf(install.Pair).Install(RecordOf(install.Pair), this.GetPrimaryKeyString());
                    break;
                case InstallInboundSa inbound:
                    await IpsecSaOf(inbound.Pair).InstallInbound(RecordOf(inbound.Pair), this.GetPrimaryKeyString());
                    break;
                case IpsecSaDeleted deleted:
                    await GrainFactory.Reference<IIpsecSaGrain>(IIpsecSaGrain.KeyFor(deleted.Peer.Address.ToString(), deleted.InboundSpi)).Withdraw(deleted.Reason);
                    break;
                case InboundSaDeleted deleted:
                    await GrainFactory.Reference<IIpsecSaGrain>(IIpsecSaGrain.KeyFor(deleted.Peer.Address.ToString(), deleted.InboundSpi)).Withdraw(deleted.Reason);
                    break;
            }
        }
    }

    private IIpsecSaGrain IpsecSaOf(IpsecSaPair p) => GrainFactory.Reference<IIpsecSaGrain>(IIpsecSaGrain.KeyFor(p.Peer.Address.ToString(), p.Inbound.Spi));

    /// <summary>The grain's record of a pair, keys copied (an inbound SA alone has empty outbound keys).</summary>
    private IpsecSaRecord RecordOf(IpsecSaPair p) => new(
        p.Inbound.Spi, p.Outbound.Spi,
        [.. p.Inbound.EncryptionKey], [.. p.Inbound.IntegrityKey], [.. p.Outbound.EncryptionKey], [.. p.Outbound.IntegrityKey],
        p.Transform.AsaText, p.LifetimeSeconds, p.LifetimeKilobytes, p.Local.ToString(), p.Remote.ToString(),
        p.Peer.Address.ToString(), p.CryptoMap, p.Sequence) { Esp = EspOf(p), Owner = this.GetPrimaryKeyString() };
}
