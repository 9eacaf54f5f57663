using IkeActors.Negotiation;
using Microsoft.Extensions.Logging;

namespace IkeActors.Grains;

/// <summary>
/// Phase 1 rekey across grains: the old IKE SA releases its installed IPsec SA pairs (<see cref="IkeSa.ReleaseIpsecSas(ulong, Func{uint, bool}, NegotiationOutput)"/>)
/// and the new one adopts them (<see cref="IkeSa.AdoptIpsecSas"/>), the pairs travelling as <see cref="IpsecSaTransfer"/>
/// with their lifetime timers.
/// <list type="bullet">
/// <item>Ours: the new SA is MM_ACTIVE and calls the old grain's <see cref="HandOver"/>: pairs released, DELETE sent, old SA
/// deleted; the new grain adopts what it returns.</item>
/// <item>The peer's: a new SA with the peer reaching MM_ACTIVE registers with the TunnelGrain, which names the SA it
/// replaces; that grain learns its successor (<see cref="PrepareSuccessor"/>), so the peer's DELETE releases the pairs
/// (<see cref="IpsecSasReleased"/>) and they go to the new grain's <see cref="AdoptIpsecSas"/>.</item>
/// </list>
/// The data plane is untouched throughout: IPsec SA grains keep their pairs (IKEv1 IPsec SAs outlive their IKE SA).
/// </summary>
public sealed partial class IkeSaGrain
{
    public async Task<IpsecSaHandOver> HandOver(string successorKey, List<uint> successorMessageIds, int debugLevel)
    {
        if (_sa is null || _sa.State != MainModeState.MM_ACTIVE) return new IpsecSaHandOver();
        var output = new NegotiationOutput(debugLevel);
        var released = _sa.ReleaseIpsecSas(ParseKey(successorKey).Cookie, successorMessageIds.Contains, output);
        var handOver = Pack(released);
        _sa.Delete(output, notifyPeer: true);
        await Step(output, transmit: true);
        return handOver;
    }

    public async Task PrepareSuccessor(string successorKey)
    {
        // The TunnelGrain names this SA as replaced only when no rekey of ours replaces it (none ran, or ours lost a
        // collision and was abandoned): the peer's successor takes the pairs.
        if (_sa is null || _sa.State != MainModeState.MM_ACTIVE) return;
        _rekeyedBy = null;
        _successorKey = successorKey;
        _sa.Successor = ParseKey(successorKey).Cookie;
        if (_sa.CanSnapshot) await Persist();
    }

    /// <summary>After a step in which the peer deleted this SA after its rekey: the released pairs go to the successor.</summary>
    private async Task HandOverReleased(NegotiationOutput output)
    {
        if (_sa is null || output.OfType<IpsecSasReleased>().FirstOrDefault(r => r.From == _sa.InitiatorCookie) is not { } released) return;
        var handOver = Pack(released.IpsecSas);
        await GrainFactory.Reference<IIkeSaPhase1Rekey>(IIkeSaGrain.KeyFor(PeerKey, released.To)).AdoptIpsecSas(handOver);
    }

    /// <summary>Released pairs as they travel, with this grain's lifetime timers for them (which leave this grain); the objects are disposed.</summary>
    private IpsecSaHandOver Pack(IReadOnlyList<IpsecSa> released)
    {
        var moved = released.Select(p => p.MessageId).ToHashSet();
        var timers = _due.Where(kv => moved.Contains(kv.Key.MessageId) && kv.Key.Kind is TimerKind.Phase2Rekey or TimerKind.Phase2Expire)
            .Select(kv => new StoredTimer { Kind = (int)kv.Key.Kind, MessageId = kv.Key.MessageId, DueUtc = kv.Value }).ToList();
        foreach (var t in timers)
        {
            Disarm(new TimerKey((TimerKind)t.Kind, t.MessageId));
        }
        var pairs = released.Select(IpsecSaTransfers.From).ToList();
        foreach (var p in released) p.Dispose();
        return new IpsecSaHandOver { Pairs = pairs, Timers = timers };
    }

    /// <summary>Takes handed-over pairs into this SA, re-arms their timers and makes their IPsec SA grains ours.</summary>
    public async Task AdoptIpsecSas(IpsecSaHandOver handOver)
    {
        try
        {
            if (_sa is null || _sa.State != MainModeState.MM_ACTIVE || handOver.Pairs.Count == 0) return;
            var pairs = new List<IpsecSa>();
            foreach (var p in handOver.Pairs)
            {
                try
                {
                    pairs.Add(IpsecSaTransfers.ToIpsecSa(p, _sa));
                }
                catch (IkeSaSnapshotException e)
                {
                    logger.LogWarning("IPsec SA pair handed over to {Key} cannot be adopted: {Reason}", Key, e.Message);
                }
            }
            var output = new NegotiationOutput(TimerDebugLevel);
            _sa.AdoptIpsecSas(pairs, output);
            var adopted = _sa.IpsecSas.Where(pairs.Contains).ToList();
            _adoptedUnreported += adopted.Count;
            RearmLifetimeTimers(handOver.Timers);
            foreach (var ipsecSa in adopted)
                await GrainFactory.Reference<IIpsecSaGrain>(IIpsecSaGrain.KeyFor(PeerKey, ipsecSa.InboundSpi)).SetOwner(Key);
            await Step(output, transmit: true);
            await PersistIfCompleted(new NegotiationOutput(0), force: true);
        }
        finally
        {
            foreach (var p in handOver.Pairs) p.ClearKeys();
        }
    }
}
