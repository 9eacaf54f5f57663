using System.Net;
using System.Text.Json;
using IkeActors.Gateway.Hosting;
using IkeActors.Grains;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests.Routing;

/// <summary>
/// A lane's own negotiations (<see cref="FrontEndNegotiations"/>) against the seed's initiator ASA (our engine,
/// samples/SiteToSite/asa1-initiator.cfg) with the hub sample as responder: the SA goes to its grain only once up,
/// with what the grain needs; a datagram that is not the next message changes nothing; an unanswered MM2 is
/// retransmitted and the SA ends when the engine gives up (RFC 2408 §5); an abandoned SA goes without a word.
/// </summary>
public class FrontEndNegotiationsTests
{
    private static readonly IPEndPoint Initiator = new(IPAddress.Parse("10.0.0.1"), 500);
    private const string Key = "10.0.0.1/";

    private static string Sample(params string[] path) => File.ReadAllText(Path.Combine([RepoPaths.Root, "samples", .. path]));

    private sealed class Host : IFrontEndNegotiationHost
    {
        public List<IkeStepResult> Emitted { get; } = [];
        public List<(string Key, string State, string? Failure)> States { get; } = [];
        public List<(string Key, FrontEndHandOver HandOver, IkeSaSnapshot Snapshot, IkeSa Sa)> Promoted { get; } = [];
        public int DebugLevel => 127;
        public DebugLogExport? Export => null;

        public IAddressBook AddressBook { get; } = new LocalAddressBook();

        public void LeaseFailed(Exception error, string session) => throw error;
        public void Emit(IkeStepResult result) => Emitted.Add(result);
        public void StateChanged(string key, string state, string? phase1Failure) => States.Add((key, state, phase1Failure));

        /// <summary>Offers the grain is to refuse (unreachable) before it takes one.</summary>
        public int Refuse { get; set; }
        public int Refused { get; private set; }

        public Task<IkeStepResult?> Promote(string key, FrontEndHandOver handOver, IkeSa sa)
        {
            if (Refused < Refuse)
            {
                Refused++;
                return Task.FromResult<IkeStepResult?>(null);
            }
            // The live SA is the host's now; its snapshot as a grain elsewhere would get it.
            Promoted.Add((key, handOver, JsonSerializer.Deserialize<IkeSaSnapshot>(IkeSaSnapshotJson.Serialize(sa))!, sa));
            return Task.FromResult<IkeStepResult?>(new IkeStepResult([], [], nameof(MainModeState.MM_ACTIVE)));
        }

        public IEnumerable<byte[]> Sent(int from) => Emitted.Skip(from).SelectMany(r => r.Send).Select(d => d.Bytes);
    }

    private sealed class Lab : IDisposable
    {
        public long Now;
        public Host Host { get; } = new();
        public NegotiationEngine Peer { get; }
        public FrontEndNegotiations Lane { get; }
        public string SaKey { get; private set; } = "";

        public Lab()
        {
            var hub = IkeActors.Config.AsaConfigLoader.Load(Sample("Hub", "hub.cfg"));
            var seed = IkeActors.Config.AsaConfigLoader.Load(Sample("SiteToSite", "asa1-initiator.cfg"));
            Assert.True(hub.IsValid && seed.IsValid);
            Peer = new NegotiationEngine(new GatewayContext(seed.Config, Initiator));
            Lane = new FrontEndNegotiations(new GatewayContext(hub.Config, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 500)), Host,
                TimeSpan.FromSeconds(2), () => Now);
        }

        /// <summary>The initiator's datagrams for the interesting traffic (its MM1).</summary>
        public List<byte[]> Start()
        {
            var output = new NegotiationOutput(0);
            Peer.Acquire(new IkeActors.Config.Lookup.Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), output);
            var mm1 = output.OfType<SendDatagram>().Select(d => d.Datagram).ToList();
            SaKey = Key + Convert.ToHexStringLower(mm1[0].AsSpan(0, 8));
            return mm1;
        }

        /// <summary>The initiator's answers to what the lane sent since <paramref name="from"/>.</summary>
        public List<byte[]> Answer(int from)
        {
            var output = new NegotiationOutput(0);
            foreach (var d in Host.Sent(from).ToList()) Peer.Receive(d, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 500), output);
            return output.OfType<SendDatagram>().Select(d => d.Datagram).ToList();
        }

        /// <summary>Plays both ends until nothing more is sent.</summary>
        public async Task RunToEnd(List<byte[]> mm1)
        {
            Assert.True(Lane.Start(SaKey, mm1[0], Initiator));
            var seen = 0;
            for (var round = 0; round < 10; round++)
            {
                var emitted = Host.Emitted.Count;
                var answers = Answer(seen);
                seen = emitted;
                if (answers.Count == 0) break;
                foreach (var a in answers) if (Lane.Holds(SaKey)) await Lane.Receive(SaKey, a, Initiator, natT: false);
            }
        }

        public void Dispose() => Peer.Dispose();
    }

    [Fact]
    public async Task The_sa_goes_to_its_grain_once_main_mode_and_quick_mode_are_done_with_its_pair_and_timers()
    {
        using var lab = new Lab();
        await lab.RunToEnd(lab.Start());

        var (key, handOver, snapshot, sa) = Assert.Single(lab.Host.Promoted);
        Assert.Equal(lab.SaKey, key);
        Assert.False(lab.Lane.Holds(lab.SaKey));
        Assert.Equal(0, lab.Lane.Count);
        // RFC 2409 §5 and §5.5: phase 1 up, one IPsec SA pair installed, nothing running.
        Assert.Equal(nameof(MainModeState.MM_ACTIVE), snapshot.State.ToString());
        Assert.Single(lab.Peer.Sas.Single().IpsecSas);
        Assert.NotNull(handOver.LastInstall);
        // The lifetime timers travel as absolute times: the Phase 1 rekey (86,400 s lifetime) and the pair's rekey and expiry.
        Assert.Contains(handOver.Timers, t => t.Kind == (int)TimerKind.Phase1Rekey && t.DueUtc > DateTime.UtcNow.AddHours(12));
        Assert.Contains(handOver.Timers, t => t.Kind == (int)TimerKind.Phase2Expire);
        // The lane hands the live SA over (no snapshot of its keys made) and no longer holds it.
        Assert.Empty(handOver.Snapshot);
        Assert.Equal(MainModeState.MM_ACTIVE, sa.State);
        // The states a grain would have reported, in order; no failure.
        Assert.Equal([nameof(MainModeState.MM_WAIT_MSG3), nameof(MainModeState.MM_WAIT_MSG5), nameof(MainModeState.MM_ACTIVE)],
            lab.Host.States.Select(s => s.State));
        Assert.All(lab.Host.States, s => Assert.Null(s.Failure));
        // The ASA's lines came out as the steps ran.
        Assert.Contains(lab.Host.Emitted.SelectMany(r => r.DebugLines), l => l.Contains("PHASE 1 COMPLETED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_sa_its_grain_did_not_take_stays_in_the_lane_and_is_offered_again()
    {
        using var lab = new Lab();
        lab.Host.Refuse = 2;
        await lab.RunToEnd(lab.Start());
        Assert.Equal(1, lab.Host.Refused);
        Assert.True(lab.Lane.Holds(lab.SaKey));
        Assert.Empty(lab.Host.Promoted);
        // Not before the retry delay; then again, until taken.
        lab.Now += (long)FrontEndNegotiations.PromotionRetry.TotalMilliseconds - 1;
        await lab.Lane.FireDue();
        Assert.Equal(1, lab.Host.Refused);
        for (var i = 0; i < 2; i++)
        {
            lab.Now = lab.Lane.NextDue;
            await lab.Lane.FireDue();
        }
        Assert.Equal(2, lab.Host.Refused);
        var (key, handOver, snapshot, _) = Assert.Single(lab.Host.Promoted);
        Assert.Equal(lab.SaKey, key);
        Assert.Equal(nameof(MainModeState.MM_ACTIVE), snapshot.State.ToString());
        Assert.Contains(handOver.Timers, t => t.Kind == (int)TimerKind.Phase1Rekey);
        Assert.False(lab.Lane.Holds(lab.SaKey));
        Assert.DoesNotContain(lab.Host.States, s => s.State == nameof(MainModeState.MM_DELETED));
    }

    [Fact]
    public async Task An_sa_its_grain_never_takes_is_deleted_at_the_peer_not_dropped()
    {
        using var lab = new Lab();
        lab.Host.Refuse = int.MaxValue;
        await lab.RunToEnd(lab.Start());
        Assert.Equal(MainModeState.MM_ACTIVE, lab.Peer.Sas.Single().State);
        var sent = lab.Host.Emitted.Count;
        for (var i = 0; i < 2 * FrontEndNegotiations.PromotionAttempts && lab.Lane.Holds(lab.SaKey); i++)
        {
            lab.Now = lab.Lane.NextDue;
            await lab.Lane.FireDue();
        }
        Assert.Equal(FrontEndNegotiations.PromotionAttempts, lab.Host.Refused);
        Assert.False(lab.Lane.Holds(lab.SaKey));
        Assert.Equal(nameof(MainModeState.MM_DELETED), lab.Host.States[^1].State);
        Assert.Equal(long.MaxValue, lab.Lane.NextDue);
        // RFC 2408 §3.15: the peer hears of it (the pair's and the IKE SA's DELETEs) and drops its side.
        Assert.NotEmpty(lab.Host.Sent(sent));
        lab.Answer(sent);
        Assert.DoesNotContain(lab.Peer.Sas, sa => sa.State == MainModeState.MM_ACTIVE);
    }

    [Fact]
    public async Task A_datagram_that_is_not_the_next_message_changes_nothing()
    {
        using var lab = new Lab();
        var mm1 = lab.Start();
        Assert.True(lab.Lane.Start(lab.SaKey, mm1[0], Initiator));
        var states = lab.Host.States.Count;
        var truncated = mm1[0][..20];                                   // shorter than the header
        var zeros = mm1[0][..28].Concat(new byte[64]).ToArray();        // a header, then zeros where payloads should be
        zeros[24..28].AsSpan().Clear();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(zeros.AsSpan(24), (uint)zeros.Length);
        var encrypted = mm1[0].ToArray();                               // an "encrypted" Main Mode message before MM3
        encrypted[19] |= 0x01;
        var hostile = new[] { truncated, zeros, encrypted };
        foreach (var d in hostile) await lab.Lane.Receive(lab.SaKey, d, Initiator, natT: false);
        Assert.True(lab.Lane.Holds(lab.SaKey));
        Assert.Equal(states, lab.Host.States.Count);
        Assert.Empty(lab.Host.Promoted);
        // The real MM3 still completes it.
        var answers = lab.Answer(0);
        foreach (var a in answers) await lab.Lane.Receive(lab.SaKey, a, Initiator, natT: false);
        Assert.Equal(nameof(MainModeState.MM_WAIT_MSG5), lab.Host.States[^1].State);
    }

    [Fact]
    public async Task An_unanswered_mm2_is_resent_and_the_sa_ends_when_the_engine_gives_up()
    {
        using var lab = new Lab();
        var mm1 = lab.Start()[0];
        Assert.True(lab.Lane.Start(lab.SaKey, mm1, Initiator));
        var mm2 = lab.Host.Emitted.SelectMany(r => r.Send).Single().Bytes;
        Assert.True(lab.Lane.NextDue < long.MaxValue);
        var resent = 0;
        for (var i = 0; i < 20 && lab.Lane.Holds(lab.SaKey); i++)
        {
            lab.Now = lab.Lane.NextDue;
            var before = lab.Host.Emitted.Count;
            await lab.Lane.FireDue();
            resent += lab.Host.Sent(before).Count(d => d.AsSpan().SequenceEqual(mm2));
        }
        Assert.False(lab.Lane.Holds(lab.SaKey));
        Assert.True(resent >= 2, $"MM2 resent {resent} times");
        var end = lab.Host.States[^1];
        Assert.Equal(nameof(MainModeState.MM_DELETED), end.State);
        Assert.Equal(nameof(FailureReason.RetransmissionsExhausted), end.Failure);
        Assert.Equal(long.MaxValue, lab.Lane.NextDue);
        Assert.Empty(lab.Host.Promoted);
    }

    [Fact]
    public async Task An_abandoned_half_open_sa_goes_without_a_word()
    {
        using var lab = new Lab();
        var mm1 = lab.Start()[0];
        Assert.True(lab.Lane.Start(lab.SaKey, mm1, Initiator));
        var emitted = lab.Host.Emitted.Count;
        lab.Lane.Abandon(lab.SaKey);
        Assert.False(lab.Lane.Holds(lab.SaKey));
        lab.Now = long.MaxValue / 2;
        await lab.Lane.FireDue();
        Assert.Empty(lab.Host.Sent(emitted));
        Assert.Equal(long.MaxValue, lab.Lane.NextDue);
    }

    [Fact]
    public void An_mm1_the_responder_refuses_is_answered_by_its_notify_and_holds_nothing()
    {
        using var lab = new Lab();
        var mm1 = lab.Start()[0];
        // RFC 2408 §3.1: a non-zero responder cookie is no MM1; nothing is held, nothing is sent.
        var notMm1 = mm1.ToArray();
        notMm1[8] = 1;
        Assert.False(lab.Lane.Start(lab.SaKey, notMm1, Initiator));
        Assert.Equal(0, lab.Lane.Count);
        Assert.Empty(lab.Host.Sent(0));
        Assert.Empty(lab.Host.States);
    }
}
