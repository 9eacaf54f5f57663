using System.Collections.Frozen;

namespace IkeActors.Esp;

/// <summary>
/// The SA database (RFC 4301 §4.4.2) with the minimal outbound SPD the data plane needs: inbound lookup
/// by SPI in one frozen-dictionary probe, outbound lookup by the inner packet's flow. Writers (the grains
/// installing and deleting SAs) take a lock and publish a new immutable snapshot; packet threads read the
/// current snapshot without locks or allocation.
/// During a rekey two pairs with the same selectors coexist: outbound picks the newest
/// (make-before-break), inbound accepts both SPIs until the old pair is removed.
/// </summary>
public sealed class EspSaDatabase : IDisposable
{
    private sealed record Snapshot(FrozenDictionary<uint, EspSaPair> BySpi, EspSaPair[] NewestFirst);

    private readonly Lock _gate = new();
    private Snapshot _current = new(FrozenDictionary<uint, EspSaPair>.Empty, []);
    private long _generation;

    /// <summary>Raised after a pair was added (the data plane flushes packets queued for it).</summary>
    public event Action<EspSaPair>? PairAdded;

    public IReadOnlyList<EspSaPair> Pairs => Volatile.Read(ref _current).NewestFirst;

    public int Count => Pairs.Count;

    /// <summary>Installs a pair. Throws if its inbound SPI is already in use (RFC 4301 §4.1: the SPI names the SA).</summary>
    public void Add(EspSaPair pair)
    {
        lock (_gate)
        {
            var s = _current;
            if (s.BySpi.ContainsKey(pair.Inbound.Spi))
            {
                throw new InvalidOperationException($"inbound SPI 0x{pair.Inbound.Spi:X8} is already installed");
            }
            pair.Generation = ++_generation;
            var bySpi = new Dictionary<uint, EspSaPair>(s.BySpi) { [pair.Inbound.Spi] = pair };
            EspSaPair[] list = [pair, .. s.NewestFirst];
            Volatile.Write(ref _current, new Snapshot(bySpi.ToFrozenDictionary(), list));
        }
        PairAdded?.Invoke(pair);
    }

    /// <summary>Removes the pair with this inbound SPI and zeroes its keys; false if none.</summary>
    public bool Remove(uint inboundSpi)
    {
        EspSaPair? removed;
        lock (_gate)
        {
            var s = _current;
            if (!s.BySpi.TryGetValue(inboundSpi, out removed))
            {
                return false;
            }
            var bySpi = new Dictionary<uint, EspSaPair>(s.BySpi);
            bySpi.Remove(inboundSpi);
            var list = s.NewestFirst.Where(p => !ReferenceEquals(p, removed)).ToArray();
            Volatile.Write(ref _current, new Snapshot(bySpi.ToFrozenDictionary(), list));
        }
        removed.Dispose();
        return true;
    }

    /// <summary>Inbound SA lookup by the SPI of an arriving packet (RFC 4301 §4.4.2: SPI only, unicast).</summary>
    public bool TryGetInbound(uint spi, out EspSaPair pair)
    {
        if (Volatile.Read(ref _current).BySpi.TryGetValue(spi, out var p))
        {
            pair = p;
            return true;
        }
        pair = null!;
        return false;
    }

    /// <summary>
    /// Outbound lookup (RFC 4301 §5.1): the newest pair whose selectors cover the flow, unless it is not yet
    /// preferred (<see cref="EspSaPair.OutboundPreferredFromTick"/>) and an older usable pair covers the flow too.
    /// </summary>
    public bool TryGetOutbound(in FlowKey flow, out EspSaPair pair)
    {
        EspSaPair? notYet = null;
        foreach (var p in Volatile.Read(ref _current).NewestFirst)
        {
            if (p.MatchesOutbound(flow) && !p.Outbound.IsDisposed && p.Outbound.LifetimeState != EspLifetimeState.Hard)
            {
                if (notYet is null && p.OutboundPreferredFromTick != 0 && Environment.TickCount64 < p.OutboundPreferredFromTick)
                {
                    notYet = p; // keep looking for the pair it replaces
                    continue;
                }
                pair = p;
                return true;
            }
        }
        pair = notYet!;
        return notYet is not null;
    }

    /// <summary>Removes and zeroes every pair.</summary>
    public void Dispose()
    {
        EspSaPair[] all;
        lock (_gate)
        {
            all = _current.NewestFirst;
            _current = new Snapshot(FrozenDictionary<uint, EspSaPair>.Empty, []);
        }
        foreach (var p in all) p.Dispose();
    }
}
