using System.Net;
using IkeActors.Config.Model;
using IkeActors.Negotiation;
using IkeActors.Negotiation.Peers;
using Microsoft.Extensions.Logging;

namespace IkeActors.Grains;

/// <summary>
/// The peer's other IKE SAs: what <see cref="NegotiationEngine"/> does for the SAs it holds, done through the peer's
/// <see cref="ITunnelGrain"/>, which applies <see cref="PeerPolicy"/> to the SAs it knows of. After a step: INITIAL-CONTACT
/// removes the older SAs (before this SA registers, so none is named its predecessor), a new MM_ACTIVE SA registers
/// (and takes the pairs of the SA it replaces, see HandOver), our Phase 1 rekey starts, a dead peer takes the other SAs.
/// </summary>
public sealed partial class IkeSaGrain
{
    private async Task CoordinateWithPeer(NegotiationOutput output)
    {
        if (_sa is null) return;
        var tunnel = GrainFactory.Reference<ITunnelGrain>(PeerKey);
        var cookie = _sa.InitiatorCookie;
        var active = _sa.State == MainModeState.MM_ACTIVE;
        // RFC 2407 §4.6.3.3: the peer has no memory of its earlier SAs with us.
        var contact = active && output.OfType<InitialContactReceived>().Any(c => c.Sa == cookie);
        var rekeysDue = output.OfType<Phase1RekeyDue>().Where(d => d.Sa == cookie).ToList();
        var established = active && output.OfType<Phase1Established>().Any(e => e.Sa.InitiatorCookie == cookie);
        if (contact && established && rekeysDue.Count == 0)
        {
            // Up with INITIAL-CONTACT in one step (a lane's take-over, a responder's MM5): both in one tunnel call.
            await Established(initialContact: true);
        }
        else
        {
            if (contact) await tunnel.InitialContact(Key, _sa.Role == IkeRole.Initiator);
            foreach (var due in rekeysDue) await StartOurRekey(due);
            if (established && _sa.State == MainModeState.MM_ACTIVE) await Established(initialContact: false);
        }
        await HandOverReleased(output);
        if (output.OfType<IkeActors.Negotiation.PeerDead>().Any(d => d.Sa == _sa.InitiatorCookie))
        {
            // ASA: a peer lost by DPD loses every IKE SA with it (PeerPolicy.PeerDead, carried out by the TunnelGrain).
            await tunnel.PeerDead(Key);
            if (_successorKey is not null && _successorKey != Key) await GrainFactory.Reference<IIkeSaTeardown>(_successorKey).PeerDead();
        }
    }

    public Task PeerDead() => DeleteSilently((sa, output) => sa.Delete(output, notifyPeer: false));

    public Task InitialContact() => DeleteSilently(PeerTeardown.InitialContact);

    /// <summary>The peer rules removed this SA: it and its IPsec SAs go without a DELETE.</summary>
    private async Task DeleteSilently(Action<IkeSa, NegotiationOutput> delete)
    {
        if (_sa is null || _sa.State == MainModeState.MM_DELETED) return;
        var output = new NegotiationOutput(TimerDebugLevel);
        delete(_sa, output);
        await Step(output, transmit: true);
    }

    private async Task StartOurRekey(Phase1RekeyDue due)
    {
        if (_rekeyedBy is not null || _sa is null) return;
        var qm = _sa.IpsecSas.OrderBy(q => q.MessageId).FirstOrDefault();
        if (qm is null) return;
        var acquire = new AcquireRequest(Ipv4.ToAddress(qm.Local.Range.First).ToString(), Ipv4.ToAddress(qm.Remote.Range.First).ToString(),
            qm.Local.Protocol, qm.Local.Port, qm.Remote.Port);
        _rekeyedBy = await GrainFactory.Reference<ITunnelGrain>(PeerKey).StartPhase1Rekey(Key, acquire, TimerDebugLevel);
        if (_rekeyedBy is null) logger.LogInformation("phase 1 rekey of {Key} not started: another IKE SA with the peer is current", Key);
        else if (_sa.CanSnapshot) await Persist();
    }

    public async Task StartRekey(string rekeyOfKey, AcquireRequest acquire, int debugLevel)
    {
        if (_sa is not null) return;
        var output = new NegotiationOutput(debugLevel);
        var (peer, cookie) = ParseKey(Key);
        var match = gateway.Lookup.MatchOutbound(ToPacket(acquire), gateway.OutsideInterface);
        if (match is null) return;
        _sa = IkeSa.StartRekey(gateway, match, new IPEndPoint(peer, NegotiationEngine.IsakmpPort), output, cookie, ParseKey(rekeyOfKey).Cookie);
        _timerDebugLevel = debugLevel;
        await Step(output, transmit: true);
    }

    /// <summary>
    /// This SA is MM_ACTIVE: it is the tunnel's current one; if it replaces another, the pairs come over. With
    /// <paramref name="initialContact"/> the tunnel first removes the peer's older SAs (INITIAL-CONTACT).
    /// </summary>
    private async Task Established(bool initialContact)
    {
        var tunnel = GrainFactory.Reference<ITunnelGrain>(PeerKey);
        var previous = initialContact
            ? await tunnel.RegisterWithInitialContact(Key, _sa!.Role == IkeRole.Initiator)
            : await tunnel.Register(Key);
        if (_sa!.RekeyOf != 0)
        {
            // Our rekey: the old grain hands its pairs over and deletes itself (make-before-break).
            var old = GrainFactory.Reference<IIkeSaPhase1Rekey>(IIkeSaGrain.KeyFor(PeerKey, _sa.RekeyOf));
            var handOver = await old.HandOver(Key, [.. _sa.QuickModes.Select(q => q.MessageId)], TimerDebugLevel);
            await AdoptIpsecSas(handOver);
        }
        else if (previous is not null)
        {
            // Possibly the peer's rekey: the old SA must hand its pairs over when the peer deletes it.
            await GrainFactory.Reference<IIkeSaPhase1Rekey>(previous).PrepareSuccessor(Key);
        }
    }

    /// <summary>
    /// A new IKE SA grain whose first datagram is the peer's MM1 asks the TunnelGrain whether it collides with our own
    /// Phase 1 rekey (both sides' rekey timers fired at once; <see cref="PeerPolicy.PeerMainMode"/>). When ours wins the
    /// MM1 and its retransmissions stay unanswered: the peer's Main Mode times out and its old SA hands the pairs to
    /// ours on our DELETE.
    /// </summary>
    private async Task<bool> RefusedAsRekeyCollision(Datagram datagram)
    {
        if (_refusedAsCollision) return true;
        if (_sa is not null) return false;
        // RFC 2408 §3.1: responder cookie zero and exchange type Identity Protection = the first message of a Main Mode.
        if (!IkeActors.Protocol.IsakmpHeaderView.TryParse(datagram.Bytes, out var header, out _)
            || header.ResponderCookie != 0 || header.ExchangeType != IkeActors.Protocol.ExchangeType.IdentityProtection) return false;
        if (await GrainFactory.Reference<ITunnelGrain>(PeerKey).AdmitPeerMainMode(Key)) return false;
        _refusedAsCollision = true;
        logger.LogInformation("Main Mode {Key} from the peer collides with our Phase 1 rekey, which wins: not answered", Key);
        return true;
    }
}
