using System.Net;

namespace IkeActors.Negotiation;

/// <summary>
/// One place an address can come from: an `ip local pool` (its name and range), or a user's `vpn-framed-ip-address`
/// (a range of one, named <c>framed a.b.c.d</c>, so that two sessions never hold it at once either).
/// </summary>
public readonly record struct AddressRange(string Pool, uint First, uint Last)
{
    public static AddressRange Framed(uint address) => new($"framed {Ipv4.ToAddress(address)}", address, address);

    public bool Contains(uint address) => address >= First && address <= Last;
}

/// <summary>
/// What a session needs to lease an address (the configuration's answer, <see cref="IRemoteAccessService.PlanAddress"/>):
/// the places to try in order, and the user whose `vpn-simultaneous-logins` it counts against (null without XAUTH).
/// </summary>
public sealed record AddressPlan(string Session, string TunnelGroup, string? User, IReadOnlyList<AddressRange> Ranges, int SimultaneousLogins);

/// <summary>The outcome of a lease: the address and the range it came from, or why there is none.</summary>
public sealed record AddressLeaseResult(IPAddress? Address, string? Pool, string? Refusal)
{
    public static AddressLeaseResult Refused(string why) => new(null, null, why);

    /// <summary>
    /// The ledger could not be asked (a cluster's pool grain unreachable for a moment): no answer, the session stays, and
    /// the client's next retransmission of its request asks again.
    /// </summary>
    public static AddressLeaseResult Unavailable(string why) => new(null, null, why) { Retry = true };

    public bool Retry { get; init; }
}

/// <summary>
/// The ledgers behind address leases, shared by every SA that may lease from them: who holds which address of each
/// range, and which sessions each user has. In one process <see cref="LocalAddressBook"/>; in a cluster one grain per
/// pool and per user (IkeActors.Grains), so that no two nodes give one address and a session restored on another node
/// after a failover is still in the ledger. Every call is idempotent per session (a retried lease gets the same address).
/// </summary>
public interface IAddressBook
{
    /// <summary>Counts <paramref name="session"/> as one of <paramref name="user"/>'s; false when the user already has <paramref name="limit"/> others.</summary>
    ValueTask<bool> LoginAsync(string user, string session, int limit);

    ValueTask LogoutAsync(string user, string session);

    /// <summary>The session's address in <paramref name="range"/>: the one it holds, else the lowest free one; null when all are taken.</summary>
    ValueTask<uint?> LeaseAsync(AddressRange range, string session);

    ValueTask ReleaseAsync(string pool, string session);
}

/// <summary>
/// The one lease rule every host carries out against its <see cref="IAddressBook"/>: the user's logins first
/// (`vpn-simultaneous-logins`), then each range in the configuration's order; on refusal nothing stays held.
/// </summary>
public static class AddressLeasing
{
    public static async ValueTask<AddressLeaseResult> LeaseAsync(IAddressBook book, AddressPlan plan)
    {
        if (plan.User is { } user && !await book.LoginAsync(user, plan.Session, plan.SimultaneousLogins))
            return AddressLeaseResult.Refused($"vpn-simultaneous-logins {plan.SimultaneousLogins} reached for user {user}");
        foreach (var range in plan.Ranges)
            if (await book.LeaseAsync(range, plan.Session) is { } address) return new AddressLeaseResult(Ipv4.ToAddress(address), range.Pool, null);
        if (plan.User is { } u) await book.LogoutAsync(u, plan.Session);
        return AddressLeaseResult.Refused(plan.Ranges.Count == 1 && plan.Ranges[0].Pool.StartsWith("framed ", StringComparison.Ordinal)
            ? "the user's vpn-framed-ip-address is in use"
            : "no free address in the group's pools");
    }

    /// <summary>The session ended: its address (from whichever of <paramref name="pools"/> holds it) and its login go. Idempotent.</summary>
    public static async ValueTask ReleaseAsync(IAddressBook book, AddressRelease release)
    {
        foreach (var pool in release.Pools) await book.ReleaseAsync(pool, release.Session);
        if (release.User is { } user) await book.LogoutAsync(user, release.Session);
    }

    /// <summary>
    /// Carries out the address leases a step asked for or gave back (from action <paramref name="start"/> on), as every host
    /// does: each <see cref="AddressLeaseRequested"/> answered to its SA (<paramref name="find"/>, by initiator cookie), whose
    /// answer's actions (the Mode Config reply; a delete and its release) join the step and are carried out too. A book
    /// that fails (a cluster's grain unreachable) is reported to <paramref name="failed"/>: a lease then counts as
    /// <see cref="AddressLeaseResult.Unavailable"/> (the client's retransmission asks again), a release is lost.
    /// </summary>
    public static async ValueTask CarryOutAsync(IAddressBook book, NegotiationOutput output, Func<ulong, IkeSa?> find, int start = 0,
        Action<Exception, string>? failed = null)
    {
        var actions = output.Actions;
        for (var i = start; i < actions.Count; i++)
        {
            switch (actions[i])
            {
                case AddressLeaseRequested asked when find(asked.Sa) is { } sa:
                    AddressLeaseResult result;
                    try
                    {
                        result = await LeaseAsync(book, asked.Plan);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        failed?.Invoke(e, asked.Plan.Session);
                        result = AddressLeaseResult.Unavailable(e.Message);
                    }
                    sa.AddressLeaseDecided(result, output);
                    break;
                case AddressLeaseReleased released:
                    try
                    {
                        await ReleaseAsync(book, released.Release);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        failed?.Invoke(e, released.Release.Session);
                    }
                    break;
            }
        }
    }

    /// <summary><see cref="CarryOutAsync"/> against a book that answers at once (a host that runs its steps synchronously).</summary>
    public static void CarryOut(LocalAddressBook book, NegotiationOutput output, Func<ulong, IkeSa?> find, int start = 0)
    {
        var done = CarryOutAsync(book, output, find, start);
        if (!done.IsCompletedSuccessfully) throw new InvalidOperationException("a local address book answered asynchronously");
    }

    /// <summary>
    /// <see cref="LeaseAsync"/> for a book that answers at once (<see cref="LocalAddressBook"/>): for hosts that run an
    /// engine step synchronously.
    /// </summary>
    public static AddressLeaseResult Lease(LocalAddressBook book, AddressPlan plan) => Now(LeaseAsync(book, plan));

    public static void Release(LocalAddressBook book, AddressRelease release)
    {
        var done = ReleaseAsync(book, release);
        if (!done.IsCompletedSuccessfully) throw new InvalidOperationException("a local address book answered asynchronously");
    }

    private static T Now<T>(ValueTask<T> task) =>
        task.IsCompletedSuccessfully ? task.Result : throw new InvalidOperationException("a local address book answered asynchronously");
}

/// <summary>What a session gives back when it ends: every range it may hold an address of, and its user's login.</summary>
public sealed record AddressRelease(string Session, string? User, IReadOnlyList<string> Pools);

/// <summary>
/// One range's leases: session → address, each address once, first fit from a lowest-free mark (every address below it
/// is taken: a lease moves it up, a release down) instead of a scan from the range's first address every time. The
/// state a pool grain persists is <see cref="Leases"/>.
/// </summary>
public sealed class AddressPoolLedger
{
    private readonly Dictionary<string, uint> _bySession = new(StringComparer.Ordinal);
    private readonly HashSet<uint> _taken = [];
    private uint _lowestFree;

    public AddressPoolLedger() { }

    public AddressPoolLedger(IEnumerable<KeyValuePair<string, uint>> leases)
    {
        foreach (var (session, address) in leases)
            if (_taken.Add(address)) _bySession[session] = address;
    }

    public IReadOnlyDictionary<string, uint> Leases => _bySession;

    public int Count => _bySession.Count;

    public uint? Lease(AddressRange range, string session)
    {
        if (_bySession.TryGetValue(session, out var held)) return held;
        var a = _lowestFree > range.First ? _lowestFree : range.First;
        for (; a <= range.Last && a >= range.First; a++)
        {
            if (_taken.Contains(a)) continue;
            _taken.Add(a);
            _bySession[session] = a;
            _lowestFree = a;
            return a;
        }
        _lowestFree = range.Last;
        return null;
    }

    /// <summary>True when the session held an address (now free).</summary>
    public bool Release(string session)
    {
        if (!_bySession.Remove(session, out var address)) return false;
        _taken.Remove(address);
        if (address < _lowestFree) _lowestFree = address;
        return true;
    }
}

/// <summary>One user's sessions, against `vpn-simultaneous-logins`.</summary>
public sealed class UserLogins
{
    private readonly HashSet<string> _sessions = new(StringComparer.Ordinal);

    public UserLogins() { }

    public UserLogins(IEnumerable<string> sessions) => _sessions.UnionWith(sessions);

    public IReadOnlyCollection<string> Sessions => _sessions;

    public bool Login(string session, int limit) => _sessions.Contains(session) || (_sessions.Count < limit && _sessions.Add(session));

    public bool Logout(string session) => _sessions.Remove(session);
}

/// <summary>The address book of one process (an in-process gateway, tests, the samples): thread-safe, answers at once.</summary>
public sealed class LocalAddressBook : IAddressBook
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, AddressPoolLedger> _pools = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UserLogins> _users = new(StringComparer.Ordinal);

    /// <summary>Addresses leased now, over every range.</summary>
    public int LeasedCount { get { lock (_gate) return _pools.Values.Sum(p => p.Count); } }

    public ValueTask<bool> LoginAsync(string user, string session, int limit)
    {
        lock (_gate)
        {
            if (!_users.TryGetValue(user, out var logins)) _users[user] = logins = new UserLogins();
            return ValueTask.FromResult(logins.Login(session, limit));
        }
    }

    public ValueTask LogoutAsync(string user, string session)
    {
        lock (_gate)
            if (_users.TryGetValue(user, out var logins) && logins.Logout(session) && logins.Sessions.Count == 0) _users.Remove(user);
        return ValueTask.CompletedTask;
    }

    public ValueTask<uint?> LeaseAsync(AddressRange range, string session)
    {
        lock (_gate)
        {
            if (!_pools.TryGetValue(range.Pool, out var pool)) _pools[range.Pool] = pool = new AddressPoolLedger();
            return ValueTask.FromResult(pool.Lease(range, session));
        }
    }

    public ValueTask ReleaseAsync(string pool, string session)
    {
        lock (_gate)
            if (_pools.TryGetValue(pool, out var ledger)) ledger.Release(session);
        return ValueTask.CompletedTask;
    }
}
