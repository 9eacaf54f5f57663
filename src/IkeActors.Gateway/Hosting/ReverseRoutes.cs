using IkeActors.Config.Model;
using IkeActors.Esp;
using IkeActors.Grains;
using IkeActors.Negotiation;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// Reverse route injection (the ASA's `crypto map … set reverse-route`): while this node carries an IPsec SA pair whose
/// crypto map entry (static or dynamic) asks for it, the pair's remote proxy networks are routed into the node's TUN
/// device in the kernel, with our protocol number (<see cref="KernelRoutes.Protocol"/>) and metric
/// <see cref="Metric"/>. A routing daemon learns exactly those and announces them to the inside (docs/cluster.md);
/// when the process dies the kernel removes them with the device. Pairs that share a network (a rekey's old and new
/// pair) share its route: it goes with the last of them. A proxy of any address (0.0.0.0/0) is never routed.
/// </summary>
public sealed class ReverseRoutes(GatewayContext gateway, ILogger<ReverseRoutes> logger) : IDisposable
{
    /// <summary>Below the routes the node adds at start for its static crypto maps (metric 0): both lead into the TUN device.</summary>
    public const uint Metric = 100;

    /// <summary>At most this many routes for one pair (an address range that is no subnet can need many prefixes).</summary>
    public const int MaxPrefixesPerPair = 32;

    private readonly Lock _lock = new();
    private readonly Dictionary<uint, List<(uint Network, int Length)>> _byInboundSpi = new();
    private readonly Dictionary<(uint Network, int Length), int> _users = new();
    private KernelRoutes? _kernel;
    private int _ifIndex;

    /// <summary>Starts routing into <paramref name="tun"/> (the data plane calls it once its device is up); false when the kernel refused a route socket.</summary>
    public bool Attach(string tun)
    {
        _kernel = KernelRoutes.Open(out var problem);
        _ifIndex = KernelRoutes.IndexOf(tun);
        if (_kernel is null || _ifIndex == 0) logger.LogWarning("reverse routes off: {Problem}", problem ?? $"no interface {tun}");
        return _kernel is not null && _ifIndex != 0;
    }

    /// <summary>
    /// The pair is carried here now: its remote networks are routed when its crypto map entry says set reverse-route, and
    /// a remote-access client's address always (the ASA's "Adding static route for client address", 713204).
    /// </summary>
    public void Added(IpsecSaRecord sa)
    {
        if (_kernel is null || sa.Esp is not { } esp) return;
        if (!ReverseRouteSet(sa.CryptoMap, sa.Sequence) && !IsRemoteAccessClient(esp.RemoteFirst, esp.RemoteLast)) return;
        var prefixes = Prefixes(esp.RemoteFirst, esp.RemoteLast);
        if (prefixes.Count == 0) return;
        lock (_lock)
        {
            if (!_byInboundSpi.TryAdd(sa.InboundSpi, prefixes)) return;
            foreach (var prefix in prefixes)
            {
                var users = _users.GetValueOrDefault(prefix);
                _users[prefix] = users + 1;
                if (users > 0) continue;
                var error = _kernel.Replace(prefix.Network, prefix.Length, _ifIndex, Metric);
                if (error != 0) logger.LogWarning("reverse route {Network}/{Length} not added: errno {Errno}", Ipv4.Format(prefix.Network), prefix.Length, -error);
            }
        }
    }

    /// <summary>
    /// The pair went to another node (a cluster's hand-over): its routes stay, still announced, for
    /// <paramref name="grace"/>, then go unless a pair here uses them again. While both nodes announce a network the
    /// inside router spreads over both, and what reaches this node is handed on by the data plane; withdrawing at once
    /// would leave the inside router without any route until the new carrier's announcement arrives (a reply lost).
    /// </summary>
    public void HandedOver(uint inboundSpi, TimeSpan grace) => Removed(inboundSpi, grace);

    /// <summary>The pair is gone from this node: its networks' routes go with the last pair that used them.</summary>
    public void Removed(uint inboundSpi) => Removed(inboundSpi, null);

    private void Removed(uint inboundSpi, TimeSpan? grace)
    {
        if (_kernel is null) return;
        lock (_lock)
        {
            if (!_byInboundSpi.Remove(inboundSpi, out var prefixes)) return;
            foreach (var prefix in prefixes)
            {
                var users = _users.GetValueOrDefault(prefix) - 1;
                if (users > 0) { _users[prefix] = users; continue; }
                _users.Remove(prefix);
                if (grace is { } wait)
                {
                    _ = Task.Delay(wait).ContinueWith(_ => DeleteUnused(prefix), TaskScheduler.Default);
                    continue;
                }
                Delete(prefix);
            }
        }
    }

    /// <summary>
    /// After a hand-over's grace the route is withdrawn in two steps, unless a pair here uses it again: first no longer
    /// ours to announce (<see cref="KernelRoutes.HandedOverProtocol"/>: BIRD withdraws it, the inside router stops sending
    /// here) while the kernel still routes what is already on its way into the TUN device, where it is handed on; then,
    /// <see cref="WithdrawDelay"/> later, deleted. Deleting at once lost a reply now and then: one that reached this node
    /// between the deletion and the inside router's update went nowhere.
    /// </summary>
    private void DeleteUnused((uint Network, int Length) prefix)
    {
        lock (_lock)
        {
            if (_kernel is null || _users.ContainsKey(prefix)) return;
            try
            {
                var error = _kernel.Replace(prefix.Network, prefix.Length, _ifIndex, Metric, protocol: KernelRoutes.HandedOverProtocol);
                if (error != 0) { Delete(prefix); return; }
            }
            catch (ObjectDisposedException) { return; } // the node stopped meanwhile: the route went with its TUN device
        }
        _ = Task.Delay(WithdrawDelay).ContinueWith(_ =>
        {
            lock (_lock)
            {
                if (_kernel is null || _users.ContainsKey(prefix)) return; // ours again (replaced with our protocol)
                try { _kernel.Delete(prefix.Network, prefix.Length, _ifIndex, Metric, KernelRoutes.HandedOverProtocol); }
                catch (ObjectDisposedException) { }
            }
        }, TaskScheduler.Default);
    }

    /// <summary>How long a handed-over route stays in the kernel once it is no longer announced.</summary>
    public static readonly TimeSpan WithdrawDelay = TimeSpan.FromSeconds(1);

    private void Delete((uint Network, int Length) prefix)
    {
        var error = _kernel!.Delete(prefix.Network, prefix.Length, _ifIndex, Metric);
        if (error is not 0 and not -3) logger.LogWarning("reverse route {Network}/{Length} not removed: errno {Errno}", Ipv4.Format(prefix.Network), prefix.Length, -error);
    }

    /// <summary>The routes in place now (network, prefix length), for show and the tests.</summary>
    public IReadOnlyList<(uint Network, int Length)> Routes { get { lock (_lock) return [.. _users.Keys]; } }

    /// <summary>One address that Mode Config gives: in an `ip local pool` or a user's `vpn-framed-ip-address`.</summary>
    private bool IsRemoteAccessClient(uint first, uint last) =>
        first == last && (gateway.Config.IpLocalPools.Any(p => p.Contains(first)) || gateway.Config.Users.Any(u => u.FramedAddress?.Address == first));

    private bool ReverseRouteSet(string mapName, int sequence) =>
        (gateway.Config.FindCryptoMap(mapName)?.Entry(sequence) ?? gateway.Config.FindDynamicMap(mapName)?.Entries.FirstOrDefault(e => e.Sequence == sequence))
        ?.ReverseRoute == true;

    /// <summary>The fewest prefixes that cover first..last exactly; none for 0.0.0.0/0 or more than <see cref="MaxPrefixesPerPair"/>.</summary>
    public static List<(uint Network, int Length)> Prefixes(uint first, uint last)
    {
        var prefixes = new List<(uint, int)>();
        if (last < first || (first == 0 && last == uint.MaxValue)) return prefixes;
        var at = (ulong)first;
        while (at <= last)
        {
            // The largest block that starts at `at` (aligned) and ends within the range.
            var size = at == 0 ? 1UL << 32 : at & (~at + 1);
            while (at + size - 1 > last) size >>= 1;
            prefixes.Add(((uint)at, 32 - System.Numerics.BitOperations.Log2(size)));
            if (prefixes.Count > MaxPrefixesPerPair) return [];
            at += size;
        }
        return prefixes;
    }

    public void Dispose() => _kernel?.Dispose();
}
