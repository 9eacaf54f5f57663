using System.Net;
using System.Text;
using IkeActors.Config.Model;

namespace IkeActors.Negotiation;

/// <summary>
/// The remote-access service of one gateway process, from its configuration: the `username` database (constant-time
/// password checks, failures throttled per user and per source), `ip local pool` leases (no address given twice, back
/// when the session ends), `vpn-framed-ip-address`, `vpn-simultaneous-logins` and the group policy's attributes
/// (DNS, domain, split tunnel, banner, password storage), with DfltGrpPolicy's inheritance. Thread-safe: every SA of
/// the gateway shares it. A cluster needs the pools shared across its nodes (not this class).
/// </summary>
public sealed class LocalRemoteAccessService(AsaConfig config, TimeProvider? clock = null) : IRemoteAccessService
{
    /// <summary>Failures within <see cref="FailureWindow"/> after which a user or a source is refused without a check.</summary>
    public const int MaxFailures = 5;

    public static readonly TimeSpan FailureWindow = TimeSpan.FromSeconds(60);

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly HashSet<uint> _leased = [];
    private readonly Dictionary<string, (int Failures, DateTimeOffset Since)> _failures = new(StringComparer.Ordinal);
    /// <summary>
    /// Each pool's lowest address that may be free: every address below it is leased (first fit, as a scan from the pool's
    /// first address would find, without the scan: a lease moves it up, a release down).
    /// </summary>
    private readonly Dictionary<string, uint> _lowestFree = new(StringComparer.Ordinal);

    private sealed record Session(uint Address, string? User, string Group);

    /// <summary>Addresses leased now (for `show` and tests).</summary>
    public int LeasedCount { get { lock (_gate) return _leased.Count; } }

    public bool RequiresXauth(string tunnelGroup) =>
        config.FindTunnelGroup(tunnelGroup) is { } g && g.UserAuthentication == IkeUserAuthentication.Xauth;

    public XauthVerdict Authenticate(string tunnelGroup, string user, ReadOnlySpan<byte> password, IPAddress source)
    {
        var userKey = "user:" + user;
        var sourceKey = "source:" + source;
        lock (_gate)
        {
            if (Throttled(userKey) || Throttled(sourceKey)) return XauthVerdict.Throttled;
        }
        var group = config.FindTunnelGroup(tunnelGroup);
        var local = config.FindUser(user);
        // An unknown user costs a check too (against a fixed dummy), so timing does not tell names apart.
        var check = (local?.Password ?? Dummy).Check(password);
        var accepted = local is not null && check == PasswordCheck.Match && group?.AuthenticationServer.IsLocal != false
            && config.EffectiveGroupPolicyFor(group!, local).AllowsIkev1;
        lock (_gate)
        {
            if (accepted)
            {
                _failures.Remove(userKey);
                _failures.Remove(sourceKey);
                return XauthVerdict.Accepted;
            }
            Fail(userKey);
            Fail(sourceKey);
        }
        return XauthVerdict.Rejected;
    }

    private static readonly UserPassword Dummy = new("\u0001not-a-password\u0001");

    private bool Throttled(string key)
    {
        if (!_failures.TryGetValue(key, out var f)) return false;
        if (_clock.GetUtcNow() - f.Since > FailureWindow)
        {
            _failures.Remove(key);
            return false;
        }
        return f.Failures >= MaxFailures;
    }

    private void Fail(string key)
    {
        var now = _clock.GetUtcNow();
        _failures[key] = _failures.TryGetValue(key, out var f) && now - f.Since <= FailureWindow ? (f.Failures + 1, f.Since) : (1, now);
    }

    public ModeConfigLease? Lease(string tunnelGroup, string? user, string session, out string? refusal)
    {
        refusal = null;
        var group = config.FindTunnelGroup(tunnelGroup);
        if (group is null)
        {
            refusal = $"no tunnel-group {tunnelGroup}";
            return null;
        }
        var local = user is null ? null : config.FindUser(user);
        var policy = config.EffectiveGroupPolicyFor(group, local);
        lock (_gate)
        {
            if (_sessions.TryGetValue(session, out var existing)) return Describe(existing.Address, policy, group, local);
            var logins = local?.SimultaneousLogins ?? policy.SimultaneousLogins;
            if (user is not null && _sessions.Values.Count(s => s.User == user) >= logins)
            {
                refusal = $"vpn-simultaneous-logins {logins} reached for user {user}";
                return null;
            }
            uint? address = null;
            if (local?.FramedAddress is { } framed)
            {
                if (!_leased.Contains(framed.Address)) address = framed.Address;
            }
            else
            {
                foreach (var pool in config.AddressPoolsFor(group, local))
                {
                    address = NextFree(pool);
                    if (address is not null) break;
                }
            }
            if (address is not { } given)
            {
                refusal = "no free address in the group's pools";
                return null;
            }
            _leased.Add(given);
            _sessions[session] = new Session(given, user, tunnelGroup);
            return Describe(given, policy, group, local);
        }
    }

    /// <summary>The lowest free address of <paramref name="pool"/>; null when all are leased.</summary>
    private uint? NextFree(IpLocalPool pool)
    {
        var (first, last) = (pool.Range.First, pool.Range.Last);
        var a = _lowestFree.TryGetValue(pool.Name, out var low) && low > first ? low : first;
        for (; a <= last && a >= first; a++)
        {
            if (_leased.Contains(a)) continue;
            _lowestFree[pool.Name] = a; // a itself is taken by the caller; the next search starts here and skips it
            return a;
        }
        _lowestFree[pool.Name] = last;
        return null;
    }

    private ModeConfigLease Describe(uint address, EffectiveGroupPolicy policy, TunnelGroup group, LocalUser? user)
    {
        var mask = user?.FramedAddress is { Mask: { } framedMask } ? framedMask
            : config.AddressPoolsFor(group, user).FirstOrDefault(p => p.Contains(address))?.EffectiveMask ?? uint.MaxValue;
        var split = policy.SplitTunnelNetworkList is { } acl
            ? config.SplitTunnelNetworks(acl).Select(p => (p.Address, p.MaskAddress)).ToList()
            : [];
        return new ModeConfigLease(Ipv4.ToAddress(address), Ipv4.ToAddress(mask))
        {
            DnsServers = policy.DnsServers.Select(Ipv4.ToAddress).ToList(),
            DefaultDomain = policy.DefaultDomain,
            SplitDns = policy.SplitDns.ToList(),
            SplitInclude = policy.SplitTunnelPolicy == SplitTunnelPolicy.TunnelSpecified ? split : [],
            SplitExclude = policy.SplitTunnelPolicy == SplitTunnelPolicy.ExcludeSpecified ? split : [],
            Banner = policy.Banner.Count == 0 ? null : string.Join("\n", policy.Banner),
            SavePassword = policy.PasswordStorage,
            GroupPolicy = policy.Name,
        };
    }

    public void Release(string session)
    {
        lock (_gate)
        {
            if (!_sessions.Remove(session, out var s)) return;
            _leased.Remove(s.Address);
            foreach (var pool in config.IpLocalPools)
                if (pool.Contains(s.Address) && (!_lowestFree.TryGetValue(pool.Name, out var low) || s.Address < low)) _lowestFree[pool.Name] = s.Address;
        }
    }
}
