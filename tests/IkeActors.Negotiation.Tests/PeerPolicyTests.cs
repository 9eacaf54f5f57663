using System.Net;
using IkeActors.Crypto;
using IkeActors.Negotiation.Peers;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>The rules about a peer's IKE SAs that both hosts (the engine, the grains) carry out.</summary>
public class PeerPolicyTests
{
    private static readonly IPAddress Peer = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress Other = IPAddress.Parse("10.0.0.9");

    private static PeerSa Sa(ulong cookie, MainModeState state, long order, IkeRole role = IkeRole.Responder, IPAddress? peer = null,
        ulong rekeyOf = 0, ulong rekeyedBy = 0) => new(cookie, peer ?? Peer, role, state, order, rekeyOf, rekeyedBy);

    [Fact]
    public void An_acquire_starts_Main_Mode_only_when_the_peer_has_no_live_IKE_SA()
    {
        Assert.Equal(AcquireChoice.StartMainMode, PeerPolicy.Acquire([]).Choice);
        Assert.Equal(AcquireChoice.StartMainMode, PeerPolicy.Acquire([Sa(1, MainModeState.MM_DELETED, 1)]).Choice);

        var coming = PeerPolicy.Acquire([Sa(1, MainModeState.MM_WAIT_MSG4, 1, IkeRole.Initiator)]);
        Assert.Equal((AcquireChoice.WaitForMainMode, 1UL), (coming.Choice, coming.Sa!.InitiatorCookie));

        // During a rekey the established SA carries the Quick Mode; once both are up, the one not being replaced.
        var rekeying = PeerPolicy.Acquire([Sa(1, MainModeState.MM_ACTIVE, 1, rekeyedBy: 2), Sa(2, MainModeState.MM_WAIT_MSG2, 2, IkeRole.Initiator, rekeyOf: 1)]);
        Assert.Equal((AcquireChoice.QuickMode, 1UL), (rekeying.Choice, rekeying.Sa!.InitiatorCookie));
        var bothUp = PeerPolicy.Acquire([Sa(1, MainModeState.MM_ACTIVE, 1, rekeyedBy: 2), Sa(2, MainModeState.MM_ACTIVE, 2, IkeRole.Initiator, rekeyOf: 1)]);
        Assert.Equal((AcquireChoice.QuickMode, 2UL), (bothUp.Choice, bothUp.Sa!.InitiatorCookie));
    }

    [Fact]
    public void A_Phase_1_rekey_starts_only_for_an_established_SA_alone_with_its_peer()
    {
        var old = Sa(1, MainModeState.MM_ACTIVE, 1, IkeRole.Initiator);
        Assert.True(PeerPolicy.StartsPhase1Rekey(old, [old]));
        Assert.True(PeerPolicy.StartsPhase1Rekey(old, [old, Sa(2, MainModeState.MM_DELETED, 2)]));
        Assert.True(PeerPolicy.StartsPhase1Rekey(old, [old, Sa(3, MainModeState.MM_WAIT_MSG3, 3, peer: Other)]));
        // The peer's Main Mode in flight, or already up: it rekeys, ours would collide.
        Assert.False(PeerPolicy.StartsPhase1Rekey(old, [old, Sa(2, MainModeState.MM_WAIT_MSG3, 2)]));
        Assert.False(PeerPolicy.StartsPhase1Rekey(old, [old, Sa(2, MainModeState.MM_ACTIVE, 2)]));
        Assert.False(PeerPolicy.StartsPhase1Rekey(old with { RekeyedBy = 5 }, [old with { RekeyedBy = 5 }]));
        Assert.False(PeerPolicy.StartsPhase1Rekey(old with { State = MainModeState.MM_WAIT_MSG6 }, [old with { State = MainModeState.MM_WAIT_MSG6 }]));
    }

    [Fact]
    public void In_a_rekey_collision_the_end_that_initiated_the_old_SA_wins()
    {
        var ours = Sa(2, MainModeState.MM_WAIT_MSG2, 2, IkeRole.Initiator, rekeyOf: 1);

        var weInitiated = PeerPolicy.PeerMainMode(Peer, [Sa(1, MainModeState.MM_ACTIVE, 1, IkeRole.Initiator, rekeyedBy: 2), ours]);
        Assert.Equal(PeerMainModeChoice.RefuseAsRekeyCollision, weInitiated.Choice);
        Assert.Equal(1UL, weInitiated.Replaced!.InitiatorCookie);

        var theyInitiated = PeerPolicy.PeerMainMode(Peer, [Sa(1, MainModeState.MM_ACTIVE, 1, IkeRole.Responder, rekeyedBy: 2), ours]);
        Assert.Equal(PeerMainModeChoice.AcceptAbandoningOurRekey, theyInitiated.Choice);
        Assert.Equal((2UL, 1UL), (theyInitiated.Ours!.InitiatorCookie, theyInitiated.Replaced!.InitiatorCookie));
    }

    [Fact]
    public void A_peer_MM1_without_a_rekey_of_ours_in_flight_is_accepted()
    {
        Assert.Equal(PeerMainModeChoice.Accept, PeerPolicy.PeerMainMode(Peer, []).Choice);
        Assert.Equal(PeerMainModeChoice.Accept, PeerPolicy.PeerMainMode(Peer, [Sa(1, MainModeState.MM_ACTIVE, 1, IkeRole.Initiator)]).Choice);
        // Our rekey is already up (no longer half-open), or belongs to another peer, or its old SA is gone.
        Assert.Equal(PeerMainModeChoice.Accept, PeerPolicy.PeerMainMode(Peer,
            [Sa(1, MainModeState.MM_ACTIVE, 1, IkeRole.Initiator), Sa(2, MainModeState.MM_ACTIVE, 2, IkeRole.Initiator, rekeyOf: 1)]).Choice);
        Assert.Equal(PeerMainModeChoice.Accept, PeerPolicy.PeerMainMode(Peer,
            [Sa(1, MainModeState.MM_ACTIVE, 1, IkeRole.Initiator, peer: Other), Sa(2, MainModeState.MM_WAIT_MSG2, 2, IkeRole.Initiator, peer: Other, rekeyOf: 1)]).Choice);
        Assert.Equal(PeerMainModeChoice.Accept, PeerPolicy.PeerMainMode(Peer,
            [Sa(1, MainModeState.MM_DELETED, 1, IkeRole.Initiator), Sa(2, MainModeState.MM_WAIT_MSG2, 2, IkeRole.Initiator, rekeyOf: 1)]).Choice);
    }

    [Fact]
    public void INITIAL_CONTACT_on_an_established_SA_removes_every_older_SA_with_that_peer_and_nothing_else()
    {
        PeerSa[] sas =
        [
            Sa(1, MainModeState.MM_ACTIVE, 1, IkeRole.Initiator),
            Sa(2, MainModeState.MM_WAIT_MSG4, 2, IkeRole.Initiator),
            Sa(3, MainModeState.MM_ACTIVE, 3, peer: Other),
            Sa(4, MainModeState.MM_DELETED, 4),
            Sa(5, MainModeState.MM_ACTIVE, 5),
            Sa(6, MainModeState.MM_WAIT_MSG3, 6),
        ];
        var gone = PeerPolicy.InitialContact(5, Peer, sas);
        Assert.Equal([1UL, 2UL], gone.Select(s => s.InitiatorCookie));
    }

    [Fact]
    public void INITIAL_CONTACT_from_an_SA_not_yet_authenticated_deletes_nothing()
    {
        PeerSa[] sas = [Sa(1, MainModeState.MM_ACTIVE, 1, IkeRole.Initiator), Sa(2, MainModeState.MM_WAIT_MSG5, 2)];
        Assert.Empty(PeerPolicy.InitialContact(2, Peer, sas));
        Assert.Empty(PeerPolicy.InitialContact(2, Peer, [sas[0], sas[1] with { State = MainModeState.MM_DELETED }]));
    }

    [Fact]
    public void INITIAL_CONTACT_for_another_peer_address_or_an_unknown_SA_deletes_nothing()
    {
        PeerSa[] sas = [Sa(1, MainModeState.MM_ACTIVE, 1, IkeRole.Initiator), Sa(2, MainModeState.MM_ACTIVE, 2, peer: Other), Sa(3, MainModeState.MM_ACTIVE, 3)];
        // SA 2 was negotiated with 10.0.0.9: it cannot speak for 10.0.0.1, nor 10.0.0.1's SA for 10.0.0.9.
        Assert.Empty(PeerPolicy.InitialContact(2, Peer, sas));
        Assert.Empty(PeerPolicy.InitialContact(3, Other, sas));
        Assert.Empty(PeerPolicy.InitialContact(99, Peer, sas));
        // And an SA with 10.0.0.9 reporting for itself leaves 10.0.0.1's SAs alone.
        Assert.Empty(PeerPolicy.InitialContact(2, Other, sas));
    }

    [Fact]
    public void INITIAL_CONTACT_on_an_older_SA_leaves_the_newer_ones()
    {
        PeerSa[] sas = [Sa(1, MainModeState.MM_ACTIVE, 1), Sa(2, MainModeState.MM_ACTIVE, 2), Sa(3, MainModeState.MM_WAIT_MSG2, 3, IkeRole.Initiator)];
        Assert.Equal([1UL], PeerPolicy.InitialContact(2, Peer, sas).Select(s => s.InitiatorCookie));
    }

    [Fact]
    public void The_IPsec_SAs_of_a_rekeyed_SA_go_to_the_SA_that_replaces_it()
    {
        var old = Sa(1, MainModeState.MM_ACTIVE, 1, IkeRole.Initiator, rekeyedBy: 3);
        var peerNew = Sa(2, MainModeState.MM_ACTIVE, 2);
        var oursNew = Sa(3, MainModeState.MM_ACTIVE, 3, IkeRole.Initiator, rekeyOf: 1);
        Assert.Equal(1UL, PeerPolicy.ReplacedByOurRekey(oursNew, [old, peerNew, oursNew])!.InitiatorCookie);
        Assert.Null(PeerPolicy.ReplacedByOurRekey(peerNew, [old, peerNew, oursNew]));
        Assert.Null(PeerPolicy.ReplacedByOurRekey(oursNew with { State = MainModeState.MM_WAIT_MSG6 }, [old]));
        Assert.Null(PeerPolicy.ReplacedByOurRekey(oursNew, [old with { State = MainModeState.MM_DELETED }]));

        // The peer's DELETE of the old SA: the SA that names it as replaced first, then the oldest other established one.
        Assert.Equal(3UL, PeerPolicy.SuccessorOf(old, [old, peerNew, oursNew])!.InitiatorCookie);
        Assert.Equal(2UL, PeerPolicy.SuccessorOf(old, [old, peerNew, oursNew with { RekeyOf = 0 }])!.InitiatorCookie);
        Assert.Null(PeerPolicy.SuccessorOf(old, [old, Sa(4, MainModeState.MM_WAIT_MSG3, 4), Sa(5, MainModeState.MM_ACTIVE, 5, peer: Other)]));
    }

    [Fact]
    public void A_dead_peer_takes_every_other_live_SA_with_it()
    {
        var dead = Sa(1, MainModeState.MM_ACTIVE, 1);
        var gone = PeerPolicy.PeerDead(dead, [dead, Sa(2, MainModeState.MM_WAIT_MSG2, 2, IkeRole.Initiator), Sa(3, MainModeState.MM_ACTIVE, 3, peer: Other), Sa(4, MainModeState.MM_DELETED, 4)]);
        Assert.Equal([2UL], gone.Select(s => s.InitiatorCookie));
    }

    [Fact]
    public void Cookies_come_from_the_environment_and_are_never_zero()
    {
        var environment = new ZeroFirst();
        Assert.Equal(0x0102030405060708UL, PeerPolicy.NewCookie(environment));
        Assert.Equal(2, environment.Calls);
    }

    [Fact]
    public void The_engine_and_the_front_end_start_from_one_half_open_limit()
    {
        using var engine = new NegotiationEngine(new GatewayContext(Lab.Load(Configs.Responder), Lab.RightAddress, new SeededEnvironment(3)));
        Assert.Equal(PeerPolicy.HalfOpenLimits.MaxHalfOpen, engine.MaxHalfOpen);
        Assert.Equal(PeerPolicy.HalfOpenLimits.MaxHalfOpenPerPeer, engine.MaxHalfOpenPerPeer);
        Assert.Equal(new Admission.HalfOpenLimits(), PeerPolicy.HalfOpenLimits);
    }

    private sealed class ZeroFirst : INegotiationEnvironment
    {
        public int Calls { get; private set; }

        public void Fill(Span<byte> destination)
        {
            if (Calls++ == 0) destination.Clear();
            else for (var i = 0; i < destination.Length; i++) destination[i] = (byte)(i + 1);
        }

        public DhKeyPair CreateKeyPair(DhGroup group) => group.GenerateKeyPair();
    }
}
