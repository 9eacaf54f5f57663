using IkeActors.Negotiation;

namespace IkeActors.Grains;

/// <summary>
/// One partition of the SA directory (in memory: the SA grains register again at their next change of state). Its
/// counters (cumulative, peak, previous) are this partition's since its activation; see <see cref="SaDirectorySummary"/>.
/// </summary>
/// <remarks>Never collected for being idle: the list lives only here (a quiet concentrator's SAs report nothing for hours).</remarks>
[CollectionAgeLimit(AlwaysActive = true)]
public sealed class SaDirectoryGrain : Grain, ISaDirectoryGrain
{
    private const string Active = nameof(MainModeState.MM_ACTIVE);
    private readonly Dictionary<string, SaDirectoryEntry> _sas = new(StringComparer.Ordinal);
    private long _lastOrder, _previous, _cumulativeIke, _cumulativeSessions, _cumulativeIpsec, _cumulativeRaSessions;
    private int _active, _ipsecSas, _peakIke, _peakSessions, _peakIpsec, _raSessions, _peakRaSessions;
    /// <summary>Active site-to-site IKE SAs by peer: an L2L session is a peer with at least one (two during a Phase 1 rekey).</summary>
    private readonly Dictionary<string, int> _activeByPeer = new(StringComparer.Ordinal);
    private int Sessions => _activeByPeer.Count;
    /// <summary>The keys of each peer's SAs: INITIAL-CONTACT asks for one peer's, and must not scan the partition.</summary>
    private readonly Dictionary<string, HashSet<string>> _keysByPeer = new(StringComparer.Ordinal);

    /// <summary>SAs whose grain reported their end: key -> (that report's sequence, when); kept for <see cref="EndedKept"/>.</summary>
    private readonly Dictionary<string, (long Sequence, long At)> _ended = new(StringComparer.Ordinal);
    private static readonly long EndedKept = (long)TimeSpan.FromMinutes(10).TotalMilliseconds;
    private long _endedPruned = Environment.TickCount64;

    public Task Set(SaDirectoryUpdate u)
    {
        var known = _sas.GetValueOrDefault(u.Key);
        // One-way reports may arrive out of order: an older one must not undo a newer one, nor bring back an SA that ended.
        if (u.Sequence != 0 && (known is not null ? u.Sequence <= known.Sequence
                : _ended.TryGetValue(u.Key, out var end) && u.Sequence <= end.Sequence))
            return Task.CompletedTask;
        // A cluster-wide order: the time of the first report, unique within the partition (one peer's SAs share it).
        var order = known?.Order ?? (_lastOrder = Math.Max(DateTime.UtcNow.Ticks, _lastOrder + 1));
        var entry = new SaDirectoryEntry(u.Key, u.State, u.Initiator, order, u.Rekey, u.Phase1RekeyDueUtc, Math.Max(0, u.IpsecSas), u.Sequence, u.Aggressive, u.RemoteAccess,
            u.RemoteAccessPending);
        Count(known, -1);
        Count(entry, +1);
        if (entry.State == Active && known?.State != Active) _cumulativeIke++;
        // A session begins when the SA becomes one of its kind (a remote-access SA is none while XAUTH or Mode Config runs).
        if (entry.Session != (known?.Session ?? SessionKind.None))
        {
            if (entry.Session == SessionKind.SiteToSite && _activeByPeer[entry.Peer] == 1) _cumulativeSessions++;
            else if (entry.Session == SessionKind.RemoteAccess && !entry.Rekey) _cumulativeRaSessions++;
        }
        // Pairs installed since the last report; those adopted in a Phase 1 rekey were counted by the SA that installed them.
        _cumulativeIpsec += Math.Max(0, entry.IpsecSas - (known?.IpsecSas ?? 0) - Math.Max(0, u.AdoptedIpsecSas));
        _sas[u.Key] = entry;
        if (known is null)
        {
            if (!_keysByPeer.TryGetValue(entry.Peer, out var keys)) _keysByPeer[entry.Peer] = keys = new(StringComparer.Ordinal);
            keys.Add(u.Key);
        }
        _peakIke = Math.Max(_peakIke, _active);
        _peakSessions = Math.Max(_peakSessions, Sessions);
        _peakRaSessions = Math.Max(_peakRaSessions, _raSessions);
        _peakIpsec = Math.Max(_peakIpsec, _ipsecSas);
        return Task.CompletedTask;
    }

    public Task Ended(string ikeSaKey, long sequence)
    {
        if (_sas.TryGetValue(ikeSaKey, out var known) && sequence != 0 && sequence <= known.Sequence) return Task.CompletedTask;
        var now = Environment.TickCount64;
        if (now - _endedPruned > 60_000)
        {
            // At most once a minute: a burst of ends (a peer's INITIAL-CONTACT, a node's restart) stays linear.
            foreach (var (key, (_, at)) in _ended)
                if (now - at > EndedKept) _ended.Remove(key);
            _endedPruned = now;
        }
        _ended[ikeSaKey] = (sequence, now);
        return Remove(ikeSaKey);
    }

    public Task Remove(string ikeSaKey)
    {
        if (_sas.Remove(ikeSaKey, out var last))
        {
            Count(last, -1);
            if (last.State == Active) _previous++;
            if (_keysByPeer.TryGetValue(last.Peer, out var keys) && keys.Remove(ikeSaKey) && keys.Count == 0) _keysByPeer.Remove(last.Peer);
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> List() =>
        Task.FromResult<IReadOnlyList<string>>(_sas.Keys.Order(StringComparer.Ordinal).ToList());

    public Task<IReadOnlyList<SaDirectoryEntry>> Entries() => Task.FromResult<IReadOnlyList<SaDirectoryEntry>>(_sas.Values.ToList());

    public Task<IReadOnlyList<SaDirectoryEntry>> ListPeer(string peerAddress)
    {
        IReadOnlyList<SaDirectoryEntry> entries = _keysByPeer.TryGetValue(peerAddress, out var keys)
            ? keys.Select(k => _sas[k]).OrderBy(e => e.Order).ToList()
            : [];
        return Task.FromResult(entries);
    }

    public Task<SaDirectorySummary> Summary() => Task.FromResult(new SaDirectorySummary(
        _active, _sas.Count - _active, _previous, _cumulativeIke, _peakIke,
        Sessions, _cumulativeSessions, _peakSessions, _ipsecSas, _cumulativeIpsec, _peakIpsec, _raSessions, _cumulativeRaSessions, _peakRaSessions));

    /// <summary>The running counts an entry adds to (+1) or takes from (-1).</summary>
    private void Count(SaDirectoryEntry? e, int sign)
    {
        if (e is null) return;
        _ipsecSas += sign * e.IpsecSas;
        if (e.State != Active) return;
        _active += sign;
        if (e.Session == SessionKind.RemoteAccess) _raSessions += sign;
        if (e.Session != SessionKind.SiteToSite) return;
        var peer = e.Peer;
        var n = _activeByPeer.GetValueOrDefault(peer) + sign;
        if (n <= 0) _activeByPeer.Remove(peer);
        else _activeByPeer[peer] = n;
    }
}
