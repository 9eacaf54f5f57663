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

    /// <summary>Quick Mode results go to IPsec SA grains: installed pairs in, deleted pairs out.</summary>
    private async Task PublishIpsecSas(NegotiationOutput output)
    {
        foreach (var action in output.Actions)
        {
            switch (action)
            {
                case InstallIpsecSa install:
                    var p = install.Pair;
                    var ipsec = GrainFactory.Reference<IIpsecSaGrain>(IIpsecSaGrain.KeyFor(p.Peer.Address.ToString(), p.Inbound.Spi));
                    await ipsec.Install(new IpsecSaRecord(
                        p.Inbound.Spi, p.Outbound.Spi,
                        [.. p.Inbound.EncryptionKey], [.. p.Inbound.IntegrityKey], [.. p.Outbound.EncryptionKey], [.. p.Outbound.IntegrityKey],
                        p.Transform.AsaText, p.LifetimeSeconds, p.LifetimeKilobytes, p.Local.ToString(), p.Remote.ToString(),
                        p.Peer.Address.ToString(), p.CryptoMap, p.Sequence) { Esp = EspOf(p), Owner = this.GetPrimaryKeyString() }, this.GetPrimaryKeyString());
                    break;
                case IpsecSaDeleted deleted:
                    await GrainFactory.Reference<IIpsecSaGrain>(IIpsecSaGrain.KeyFor(deleted.Peer.Address.ToString(), deleted.InboundSpi)).Withdraw(deleted.Reason);
                    break;
            }
        }
    }
}
