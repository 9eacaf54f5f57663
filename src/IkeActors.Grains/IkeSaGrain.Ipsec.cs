using IkeActors.Negotiation;

namespace IkeActors.Grains;

public sealed partial class IkeSaGrain
{
    /// <summary>Quick Mode results go to IPsec SA grains: installed pairs in, deleted pairs out.</summary>
    private async Task PublishIpsecSas(NegotiationOutput output)
    {
        foreach (var action in output.Actions)
        {
            switch (action)
            {
                case InstallIpsecSa install:
                    var p = install.Pair;
                    var ipsec = GrainFactory.GetGrain<IIpsecSaGrain>(IIpsecSaGrain.KeyFor(p.Peer.Address.ToString(), p.Inbound.Spi));
                    await ipsec.SetOwner(this.GetPrimaryKeyString());
                    await ipsec.Install(new IpsecSaRecord(
                        p.Inbound.Spi, p.Outbound.Spi,
                        [.. p.Inbound.EncryptionKey], [.. p.Inbound.IntegrityKey], [.. p.Outbound.EncryptionKey], [.. p.Outbound.IntegrityKey],
                        p.Transform.AsaText, p.LifetimeSeconds, p.LifetimeKilobytes, p.Local.ToString(), p.Remote.ToString(),
                        p.Peer.Address.ToString(), p.CryptoMap, p.Sequence));
                    break;
                case IpsecSaDeleted deleted:
                    await GrainFactory.GetGrain<IIpsecSaGrain>(IIpsecSaGrain.KeyFor(deleted.Peer.Address.ToString(), deleted.InboundSpi)).Withdraw(deleted.Reason);
                    break;
            }
        }
    }
}
