using System.Net;
using IkeActors.Protocol;

namespace IkeActors.Negotiation.Admission;

/// <summary>
/// Whether a responder gives an MM1 a half-open IKE SA: the one rule every host calls (the in-process engine, the
/// cluster's UDP front-end). An address with no key at all (no tunnel-group of its own and no DefaultL2LGroup key)
/// takes no room and gets no answer: it could never authenticate (RFC 2409 §5.4: SKEYID needs the pre-shared key),
/// and answering an unauthenticated source would only reflect a flood. Otherwise the <see cref="HalfOpenLedger"/>
/// decides. A refusal prints the ASA's line (713138 for no key, 713191 for the limits) at most once a second per
/// reason, so a flood cannot flood the console too.
/// </summary>
public sealed class Mm1Admission(GatewayContext gateway, HalfOpenLedger ledger, TimeProvider? clock = null)
{
    private readonly long[] _lastLine = new long[Enum.GetValues<Mm1Refusal>().Length];

    public HalfOpenLedger Ledger { get; } = ledger;

    /// <summary>
    /// Decides for the MM1 (or, <paramref name="aggressive"/>, AM1) of SA <paramref name="key"/> from <paramref name="peer"/>;
    /// refusal lines go to <paramref name="output"/>. An AM1 may name a remote-access group whose key any address may hold.
    /// </summary>
    public Mm1Verdict Admit(string key, IPAddress peer, IDebugSink output, bool aggressive = false)
    {
        var context = new DebugContext(peer);
        if (aggressive && gateway.Config.AggressiveModeDisabled)
        {
            // `crypto ikev1 am-disable`: refused before any room is taken or any hash of a key computed.
            if (LineDue(Mm1Refusal.AggressiveModeDisabled)) AsaDebug.AggressiveModeDisabled(output, context);
            return new Mm1Verdict(Mm1Refusal.AggressiveModeDisabled);
        }
        var hasKey = gateway.Config.PreSharedKeyForPeer(peer) is not null || aggressive && gateway.Config.AcceptsAggressiveModeByGroup;
        var verdict = Ledger.TryAdmit(key, peer, hasKey);
        if (verdict.Admitted || !LineDue(verdict.Refusal)) return verdict;
        if (verdict.Refusal == Mm1Refusal.NoPreSharedKey) AsaDebug.GroupNotFoundNoDefaultKey(output, context, peer.ToString());
        else AsaDebug.MaxConcurrentNegotiations(output, context);
        return verdict;
    }

    private bool LineDue(Mm1Refusal refusal)
    {
        if (clock is null) return true;
        var now = clock.GetTimestamp();
        ref var last = ref _lastLine[(int)refusal];
        var seen = Interlocked.Read(ref last);
        if (seen != 0 && now - seen < clock.TimestampFrequency) return false;
        return Interlocked.CompareExchange(ref last, now, seen) == seen;
    }
}
