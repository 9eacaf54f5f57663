using System.Net;
using System.Text;
using IkeActors.Config.Model;

namespace IkeActors.Negotiation;

/// <summary>
/// The remote-access service of one gateway process, from its configuration: the `username` database (constant-time
/// password checks, failures throttled per user and per source), where addresses come from (`ip local pool`,
/// `vpn-framed-ip-address`, `vpn-simultaneous-logins`: the leases themselves are the host's <see cref="IAddressBook"/>)
/// and the group policy's attributes (DNS, domain, split tunnel, banner, password storage), with DfltGrpPolicy's
/// inheritance. Thread-safe: every SA of the gateway shares it.
/// </summary>
public sealed class LocalRemoteAccessService(AsaConfig config, TimeProvider? clock = null) : IRemoteAccessService
{
    /// <summary>Failures within <see cref="FailureWindow"/> after which a user or a source is refused without a check.</summary>
    public const int MaxFailures = 5;

    public static readonly TimeSpan FailureWindow = TimeSpan.FromSeconds(60);

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (int Failures, DateTimeOffset Since)> _failures = new(StringComparer.Ordinal);

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

    public AddressPlan? PlanAddress(string tunnelGroup, string? user, string session, out string? refusal)
    {
        refusal = null;
        if (config.FindTunnelGroup(tunnelGroup) is not { } group)
        {
            refusal = $"no tunnel-group {tunnelGroup}";
            return null;
        }
        var local = user is null ? null : config.FindUser(user);
        var policy = config.EffectiveGroupPolicyFor(group, local);
        IReadOnlyList<AddressRange> ranges = local?.FramedAddress is { } framed
            ? [AddressRange.Framed(framed.Address)]
            : config.AddressPoolsFor(group, local).Select(p => new AddressRange(p.Name, p.Range.First, p.Range.Last)).ToList();
        if (ranges.Count == 0)
        {
            refusal = "no address pool for the group";
            return null;
        }
        return new AddressPlan(session, tunnelGroup, user, ranges, local?.SimultaneousLogins ?? policy.SimultaneousLogins);
    }

    public ModeConfigLease Describe(string tunnelGroup, string? user, IPAddress address)
    {
        var group = config.FindTunnelGroup(tunnelGroup) ?? throw new ArgumentException($"no tunnel-group {tunnelGroup}", nameof(tunnelGroup));
        var local = user is null ? null : config.FindUser(user);
        return Describe(Ipv4.ToUInt32(address), config.EffectiveGroupPolicyFor(group, local), group, local);
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
}
