namespace IkeActors.Grains;

/// <summary>One IPsec SA pair: holds it while it lives, pushes it to the silo's data plane, withdraws and zeroes it.</summary>
/// <remarks>
/// Never collected for being idle (a tunnel without traffic is idle): the pair lives only here, and a collected grain
/// could no longer withdraw it from the data plane nor zero its keys when the IKE SA deletes it. It deactivates itself
/// once withdrawn.
/// </remarks>
[CollectionAgeLimit(AlwaysActive = true)]
public sealed class IpsecSaGrain(IServiceProvider services) : Grain, IIpsecSaGrain
{
    // A silo without a data plane (an IKE-only node, a test cluster) keeps the record only.
    private readonly IIpsecSaInstaller? _dataPlane = services.GetService(typeof(IIpsecSaInstaller)) as IIpsecSaInstaller;
    private IpsecSaRecord? _sa;
    /// <summary><see cref="_sa"/> is an inbound SA alone (<see cref="InstallInbound"/>), not yet its pair.</summary>
    private bool _inboundOnly;

    public async Task Install(IpsecSaRecord record, string ownerIkeSaKey)
    {
        var alone = _inboundOnly ? _sa : null;
        _owner = ownerIkeSaKey;
        _sa = record;
        _inboundOnly = false;
        if (_dataPlane is not null) await _dataPlane.AddAsync(record); // completes the inbound SA alone, if there is one
        if (alone is not null) InMemoryIpsecSaInstaller.Zero(alone);
    }

    public async Task InstallInbound(IpsecSaRecord record, string ownerIkeSaKey)
    {
        if (_sa is { } held && held.InboundSpi == record.InboundSpi)
        {
            InMemoryIpsecSaInstaller.Zero(record); // announced again: the SA here stays
            return;
        }
        _owner = ownerIkeSaKey;
        _sa = record;
        _inboundOnly = true;
        if (_dataPlane is not null) await _dataPlane.AddInboundAsync(record);
    }

    public async Task Withdraw(string reason)
    {
        if (_sa is { } sa)
        {
            _sa = null;
            _inboundOnly = false;
            if (_dataPlane is not null) await _dataPlane.RemoveAsync(sa);
            InMemoryIpsecSaInstaller.Zero(sa);
        }
        else if (_dataPlane is not null && IIpsecSaGrain.ParseKey(this.GetPrimaryKeyString()) is { } key)
            await _dataPlane.RemoveAsync(key.Peer, key.InboundSpi); // this grain was lost with its node: the pair may be carried elsewhere
        DeactivateOnIdle();
    }

    private string? _owner;

    public Task SetOwner(string ikeSaKey)
    {
        _owner = ikeSaKey;
        return Task.CompletedTask;
    }

    /// <summary>Not awaited: the IKE SA grain may be waiting on this grain (Install/Withdraw), a call cycle otherwise.</summary>
    public Task AccountTraffic(long kilobytes)
    {
        if (_owner is not null && _sa is not null && !_inboundOnly)
            GrainFactory.Reference<IIkeSaGrain>(_owner).AccountTraffic(_sa.InboundSpi, kilobytes).Ignore();
        return Task.CompletedTask;
    }

    public Task PeerTraffic()
    {
        if (_owner is not null && _sa is not null)
            GrainFactory.Reference<IIkeSaGrain>(_owner).TrafficReceived().Ignore();
        return Task.CompletedTask;
    }

    public Task<IpsecSaRecord?> Describe() => Task.FromResult(_sa is null || _inboundOnly ? null : _sa with
    {
        InboundEncryptionKey = [], InboundIntegrityKey = [], OutboundEncryptionKey = [], OutboundIntegrityKey = [],
    });
}
