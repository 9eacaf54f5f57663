using IkeActors.Negotiation;

namespace IkeActors.Grains;

/// <summary>The stored leases of an <see cref="AddressPoolGrain"/>: session to address.</summary>
[GenerateSerializer]
public sealed class AddressPoolGrainState
{
    [Id(0)] public Dictionary<string, uint> Leases { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The stored sessions of a <see cref="RemoteAccessUserGrain"/>.</summary>
[GenerateSerializer]
public sealed class RemoteAccessUserGrainState
{
    [Id(0)] public List<string> Sessions { get; set; } = [];
}

/// <summary>
/// The cluster's ledger of one address range (<see cref="AddressPoolLedger"/>, the rule every host shares). Every change is
/// stored before it is answered, so an address given is never given again after this grain moves to another silo; with a
/// store in the node's own memory (<see cref="SaStateStoreOptions.WriteOnDeactivation"/>) the write waits for the
/// deactivation, as the SA grains' do.
/// </summary>
public sealed class AddressPoolGrain([PersistentState("addresspool")] IPersistentState<AddressPoolGrainState> stored) : Grain, IAddressPoolGrain, IGrainDiagnostics
{
    private AddressPoolLedger _ledger = new();
    private bool _writeOnDeactivation, _unsaved;
    private readonly Guid _activation = Guid.NewGuid();

    public Task<Guid> GetActivationId() => Task.FromResult(_activation);

    public Task<string> GetSilo() => Task.FromResult(RuntimeIdentity);

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _ledger = new AddressPoolLedger(stored.State.Leases);
        _writeOnDeactivation = SaStateStoreOptions.WritesOnDeactivation(ServiceProvider);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unsaved) await stored.WriteStateAsync();
    }

    public async Task<uint?> Lease(uint first, uint last, string session)
    {
        var before = _ledger.Count;
        var address = _ledger.Lease(new AddressRange(this.GetPrimaryKeyString(), first, last), session);
        if (_ledger.Count != before) await Save();
        return address;
    }

    public async Task Release(string session)
    {
        if (_ledger.Release(session)) await Save();
    }

    public Task<IReadOnlyDictionary<string, uint>> Leases() =>
        Task.FromResult<IReadOnlyDictionary<string, uint>>(new Dictionary<string, uint>(_ledger.Leases, StringComparer.Ordinal));

    private async Task Save()
    {
        stored.State.Leases = new Dictionary<string, uint>(_ledger.Leases, StringComparer.Ordinal);
        if (_writeOnDeactivation) _unsaved = true;
        else await stored.WriteStateAsync();
    }
}

/// <summary>The cluster's count of one user's sessions (`vpn-simultaneous-logins`), stored like <see cref="AddressPoolGrain"/>.</summary>
public sealed class RemoteAccessUserGrain([PersistentState("rauser")] IPersistentState<RemoteAccessUserGrainState> stored) : Grain, IRemoteAccessUserGrain
{
    private UserLogins _logins = new();
    private bool _writeOnDeactivation, _unsaved;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _logins = new UserLogins(stored.State.Sessions);
        _writeOnDeactivation = SaStateStoreOptions.WritesOnDeactivation(ServiceProvider);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unsaved) await stored.WriteStateAsync();
    }

    public async Task<bool> Login(string session, int limit)
    {
        var before = _logins.Sessions.Count;
        if (!_logins.Login(session, limit)) return false;
        if (_logins.Sessions.Count != before) await Save();
        return true;
    }

    public async Task Logout(string session)
    {
        if (_logins.Logout(session)) await Save();
    }

    private async Task Save()
    {
        stored.State.Sessions = [.. _logins.Sessions];
        if (_writeOnDeactivation) _unsaved = true;
        else await stored.WriteStateAsync();
    }
}

/// <summary>The address book of the cluster: <see cref="IAddressBook"/> over the pool and user grains.</summary>
public sealed class ClusterAddressBook(IGrainFactory grains) : IAddressBook
{
    public async ValueTask<bool> LoginAsync(string user, string session, int limit) => await grains.GetGrain<IRemoteAccessUserGrain>(user).Login(session, limit);

    public async ValueTask LogoutAsync(string user, string session) => await grains.GetGrain<IRemoteAccessUserGrain>(user).Logout(session);

    public async ValueTask<uint?> LeaseAsync(AddressRange range, string session) => await grains.GetGrain<IAddressPoolGrain>(range.Pool).Lease(range.First, range.Last, session);

    public async ValueTask ReleaseAsync(string pool, string session) => await grains.GetGrain<IAddressPoolGrain>(pool).Release(session);
}
