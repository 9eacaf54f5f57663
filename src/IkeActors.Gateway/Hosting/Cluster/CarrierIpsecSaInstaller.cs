using IkeActors.Grains;

namespace IkeActors.Gateway.Hosting.Cluster;

/// <summary>
/// The IPsec SA grains' installer on a node of a cluster with a data plane: a pair goes through the carrier service
/// (the cluster's record first, then the data plane of whichever node carries the peer: docs/cluster.md §3).
/// A Quick Mode responder's inbound SA alone at QM2 (<see cref="AddInboundAsync"/>) goes to the carrier's data plane
/// only, not into the record (<see cref="CarrierService.InboundInstalled"/> says why); its pair at QM3 completes it
/// there, and <see cref="RemoveAsync(IpsecSaRecord)"/> of it (its Quick Mode ended without QM3) takes it out.
/// </summary>
public sealed class CarrierIpsecSaInstaller(CarrierService carrier) : IIpsecSaInstaller
{
    public Task AddAsync(IpsecSaRecord sa) => carrier.Installed(sa);

    public Task AddInboundAsync(IpsecSaRecord sa) => carrier.InboundInstalled(sa);

    public Task RemoveAsync(IpsecSaRecord sa) => carrier.Removed(sa.Peer, sa.InboundSpi);

    public Task RemoveAsync(string peer, uint inboundSpi) => carrier.Removed(peer, inboundSpi);

    public void Add(IpsecSaRecord sa) => AddAsync(sa).GetAwaiter().GetResult();

    public void AddInbound(IpsecSaRecord sa) => AddInboundAsync(sa).GetAwaiter().GetResult();

    /// <summary>Not reached: the grains remove through <see cref="RemoveAsync(IpsecSaRecord)"/>, which names the peer.</summary>
    public void Remove(uint inboundSpi, uint outboundSpi) =>
        throw new NotSupportedException("a cluster removes a pair by its record (RemoveAsync): the peer names the carrier record");
}
