using System.Collections.Frozen;

namespace IkeActors.Esp;

/// <summary>
/// The SA database (RFC 4301 §4.4.2) with the minimal outbound SPD the data plane needs: inbound lookup
/// by SPI in one frozen-dictionary probe, outbound lookup by the inner packet's flow. Writers (the grains
/// installing and deleting SAs) take a lock and publish a new immutable snapshot; packet threads read the
/// current snapshot without locks or allocation.
/// During a rekey two pairs with the same selectors coexist: outbound picks the newest
/// (make-before-break), inbound accepts both SPIs until the old pair is removed. A Quick Mode
/// responder's new inbound SA may come first, alone (<see cref="AddInbound"/>): it is found by SPI
/// only, and <see cref="Add"/> of its pair completes it.
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

    /// <summary>
    /// Installs a pair and returns it as installed. When its inbound SPI is installed alone (<see cref="AddInbound"/>),
    /// the pair completes that SA: the inbound SA already there stays, with the packets it has counted and its replay
    /// window (RFC 4303 §3.4.3: a packet received before the pair completed is not accepted again), and the pair's
    /// own copy of it is disposed. Throws if a whole pair has the inbound SPI already (RFC 4301 §4.1: the SPI names
    /// the SA).
    /// </summary>
    public EspSaPair Add(EspSaPair pair)
    {
        if (pair.IsInboundOnly) throw new ArgumentException("an inbound SA alone is installed with AddInbound", nameof(pair));
        var installed = pair;
        lock (_gate)
        {
            var s = _current;
            if (s.BySpi.TryGetValue(pair.Inbound.Spi, out var existing))
            {
                if (!existing.IsInboundOnly) throw new InvalidOperationException($"inbound SPI 0x{pair.Inbound.Spi:X8} is already installed");
                installed = existing.CompletedBy(pair);
            }
            installed.Generation = ++_generation;
            var bySpi = new Dictionary<uint, EspSaPair>(s.BySpi) { [pair.Inbound.Spi] = installed };
            EspSaPair[] list = [installed, .. s.NewestFirst];
            Volatile.Write(ref _current, new Snapshot(bySpi.ToFrozenDictionary(), list));
        }
        if (!ReferenceEquals(installed, pair)) pair.Inbound.Dispose();
        PairAdded?.Invoke(installed);
        return installed;
    }

    /// <summary>
    /// Installs an inbound SA alone (<see cref="EspSaPair.InboundOnly"/>): a Quick Mode responder's between its QM2 and
    /// QM3, so that ESP the initiator sends on the new SA before its QM3 arrives is received (RFC 2409 §5.5). It is
    /// found by <see cref="TryGetInbound"/> only: not in <see cref="Pairs"/>, never chosen to send. False (nothing
    /// changed, the caller keeps <paramref name="inbound"/>) when the SPI is installed already: the same SA announced
    /// again after a restore.
    /// </summary>
    public bool AddInbound(EspSaPair inbound)
    {
        if (!inbound.IsInboundOnly) throw new ArgumentException("a whole pair is installed with Add", nameof(inbound));
        lock (_gate)
        {
            var s = _current;
            if (s.BySpi.ContainsKey(inbound.Inbound.Spi)) return false;
            var bySpi = new Dictionary<uint, EspSaPair>(s.BySpi) { [inbound.Inbound.Spi] = inbound };
            Volatile.Write(ref _current, s with { BySpi = bySpi.ToFrozenDictionary() });
        }
        return true;
    }

    /// <summary>Removes the pair (or the inbound SA alone) with this inbound SPI and zeroes its keys; false if none.</summary>
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

    /// <summary>Removes and zeroes every pair and inbound SA alone.</summary>
    public void Dispose()
    {
        EspSaPair[] all;
        lock (_gate)
        {
            all = [.. _current.BySpi.Values];
            _current = new Snapshot(FrozenDictionary<uint, EspSaPair>.Empty, []);
        }
        foreach (var p in all) p.Dispose();
    }
}
