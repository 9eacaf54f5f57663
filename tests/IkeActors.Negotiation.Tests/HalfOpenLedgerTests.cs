using System.Net;
using IkeActors.Negotiation.Admission;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// The half-open ledger: every end counted once, a per-address bound under the node's, the busiest address gives
/// way under pressure, leases that end what nobody reported. (The front-end once counted half-open SAs that timed
/// out inside their grain forever: after 1,024 of them every MM1 was refused.)
/// </summary>
public class HalfOpenLedgerTests
{
    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1_000_000;
        public override long TimestampFrequency => 1_000_000;
        public override long GetTimestamp() => Interlocked.Read(ref _ticks);
        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, (long)(by.TotalSeconds * TimestampFrequency));
    }

    private static IPAddress A(int i) => IPAddress.Parse($"198.51.100.{i}");

    [Fact]
    public void One_address_holds_at_most_its_own_share_and_other_addresses_still_get_in()
    {
        var ledger = new HalfOpenLedger(new HalfOpenLimits { MaxHalfOpen = 100, MaxHalfOpenPerPeer = 5 });
        var verdicts = Enumerable.Range(0, 50).Select(i => ledger.TryAdmit($"flood/{i}", A(1), hasPreSharedKey: true)).ToList();

        Assert.Equal(5, verdicts.Count(v => v.Admitted));
        Assert.All(verdicts.Skip(5), v => Assert.Equal(Mm1Refusal.PeerHalfOpenLimit, v.Refusal));
        Assert.True(ledger.TryAdmit("peer/1", A(2), hasPreSharedKey: true).Admitted);
        var stats = ledger.Statistics();
        Assert.Equal((6, 2, 45L, 6L), (stats.HalfOpen, stats.Peers, stats.RefusedPeerLimit, stats.Admitted));
    }

    [Fact]
    public void An_address_without_any_key_takes_no_room()
    {
        var ledger = new HalfOpenLedger(new HalfOpenLimits { MaxHalfOpen = 2, MaxHalfOpenPerPeer = 1 });
        for (var i = 0; i < 10; i++) Assert.Equal(Mm1Refusal.NoPreSharedKey, ledger.TryAdmit($"k/{i}", A(i), hasPreSharedKey: false).Refusal);

        Assert.Equal(0, ledger.Count);
        Assert.Equal(10, ledger.Statistics().RefusedNoKey);
        Assert.True(ledger.TryAdmit("peer/1", A(50), hasPreSharedKey: true).Admitted);
    }

    [Fact]
    public void Every_end_frees_its_room_once_and_a_retransmitted_MM1_takes_none()
    {
        var ledger = new HalfOpenLedger(new HalfOpenLimits { MaxHalfOpen = 3, MaxHalfOpenPerPeer = 3 });
        Assert.True(ledger.TryAdmit("a", A(1), true).Admitted);
        var again = ledger.TryAdmit("a", A(1), true);
        Assert.True(again.Admitted && again.Retransmission);
        Assert.Equal(1, ledger.Count);

        Assert.True(ledger.Release("a"));
        Assert.False(ledger.Release("a")); // reported twice (front-end and grain): counted once
        Assert.False(ledger.Release("never-admitted"));
        Assert.Equal(0, ledger.Count);
        Assert.Equal(0, ledger.CountFor(A(1)));
        for (var i = 0; i < 3; i++) Assert.True(ledger.TryAdmit($"n/{i}", A(1), true).Admitted);
    }

    [Fact]
    public void A_half_open_SA_nobody_reports_on_stops_counting_when_its_lease_ends()
    {
        var clock = new ManualTime();
        var ledger = new HalfOpenLedger(new HalfOpenLimits { MaxHalfOpen = 4, MaxHalfOpenPerPeer = 4, Lease = TimeSpan.FromSeconds(70) }, clock);
        for (var i = 0; i < 4; i++) Assert.True(ledger.TryAdmit($"lost/{i}", A(1), true).Admitted);
        Assert.Equal(Mm1Refusal.PeerHalfOpenLimit, ledger.TryAdmit("next", A(1), true).Refusal);

        clock.Advance(TimeSpan.FromSeconds(69));
        Assert.Equal(4, ledger.Count);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, ledger.Count);
        Assert.Equal(4, ledger.Statistics().Expired);
        Assert.True(ledger.TryAdmit("next", A(1), true).Admitted);
    }

    [Fact]
    public void The_default_lease_covers_the_engines_retransmissions_of_one_message()
    {
        // 2 s doubling, 4 retransmissions: answered within 2+4+8+16 s, abandoned at 2+4+8+16+32 = 62 s.
        Assert.Equal(TimeSpan.FromSeconds(70), HalfOpenLimits.LeaseFor(new NegotiationSettings()));
        Assert.True(new HalfOpenLimits().Lease >= HalfOpenLimits.LeaseFor(new NegotiationSettings()));
    }

    [Fact]
    public void When_the_node_is_full_the_oldest_half_open_SA_of_the_busiest_address_gives_way()
    {
        var clock = new ManualTime();
        var ledger = new HalfOpenLedger(new HalfOpenLimits { MaxHalfOpen = 6, MaxHalfOpenPerPeer = 5 }, clock);
        ledger.TryAdmit("quiet/1", A(9), true);
        clock.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 5; i++) { ledger.TryAdmit($"busy/{i}", A(1), true); clock.Advance(TimeSpan.FromSeconds(1)); }

        var newcomer = ledger.TryAdmit("new/1", A(2), true);

        Assert.True(newcomer.Admitted);
        Assert.Equal("busy/0", newcomer.Evicted); // not quiet/1, older but from an address with one
        Assert.False(ledger.Contains("busy/0"));
        Assert.True(ledger.Contains("quiet/1"));
        Assert.Equal(6, ledger.Count);
        Assert.Equal(1, ledger.Statistics().Evicted);
    }

    [Fact]
    public void A_full_node_refuses_an_address_that_already_holds_as_many_as_the_busiest()
    {
        var ledger = new HalfOpenLedger(new HalfOpenLimits { MaxHalfOpen = 4, MaxHalfOpenPerPeer = 5 });
        for (var i = 0; i < 4; i++) ledger.TryAdmit($"p{i}", A(i), true); // four addresses with one each

        // The busiest address itself (two of four) finds no busier one to give way.
        ledger.Release("p3");
        ledger.TryAdmit("p0-second", A(0), true);
        Assert.Equal(Mm1Refusal.HalfOpenLimit, ledger.TryAdmit("p0-third", A(0), true).Refusal);
        // A new address (none yet) takes the room of the busiest (A(0), two).
        var fresh = ledger.TryAdmit("fresh", A(7), true);
        Assert.True(fresh.Admitted);
        Assert.Equal("p0", fresh.Evicted);
        Assert.Equal(1, ledger.Statistics().RefusedNodeLimit);
    }

    [Fact]
    public void A_flood_spread_over_many_addresses_turns_over_and_the_count_never_exceeds_the_bound()
    {
        var ledger = new HalfOpenLedger(new HalfOpenLimits { MaxHalfOpen = 64, MaxHalfOpenPerPeer = 5 });
        var admitted = 0;
        for (var i = 0; i < 10_000; i++)
        {
            if (ledger.TryAdmit($"f/{i}", A(i % 200 + 1), true).Admitted) admitted++;
            Assert.True(ledger.Count <= 64);
        }
        var stats = ledger.Statistics();
        Assert.Equal(64, stats.HalfOpen);
        Assert.Equal(admitted, stats.Admitted);
        Assert.Equal(admitted - 64, stats.Evicted);
        Assert.Equal(10_000, stats.Admitted + stats.Refused);
        // A peer that never flooded still gets in.
        Assert.True(ledger.TryAdmit("legit", IPAddress.Parse("203.0.113.5"), true).Admitted);
    }

    [Fact]
    public void Concurrent_admissions_and_releases_leave_an_exact_count()
    {
        var ledger = new HalfOpenLedger(new HalfOpenLimits { MaxHalfOpen = 100_000, MaxHalfOpenPerPeer = 100_000 });
        Parallel.For(0, 8, t =>
        {
            for (var i = 0; i < 2_000; i++)
            {
                var key = $"{t}/{i}";
                Assert.True(ledger.TryAdmit(key, A(t + 1), true).Admitted);
                if (i % 2 == 0) Assert.True(ledger.Release(key));
            }
        });
        Assert.Equal(8 * 1_000, ledger.Count);
        Assert.Equal(1_000, ledger.CountFor(A(3)));
    }

    private static byte[] SeedMm1()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        var output = new NegotiationOutput();
        lab.Left.Acquire(new IkeActors.Config.Lookup.Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), output);
        return output.OfType<SendDatagram>().Single().Datagram;
    }

    [Fact]
    public void An_MM1_from_an_address_without_a_key_gets_the_ASA_line_no_answer_and_no_SA()
    {
        // The seed's responder has a key for 10.0.0.1 only (no DefaultL2LGroup key).
        using var responder = new NegotiationEngine(new GatewayContext(Lab.Load(Configs.Responder), Lab.RightAddress, new SeededEnvironment(3)));
        var output = new NegotiationOutput();
        responder.Receive(SeedMm1(), new IPEndPoint(IPAddress.Parse("192.0.2.77"), 500), output);

        Assert.Empty(responder.Sas);
        Assert.Empty(output.OfType<SendDatagram>());
        // %ASA-3-713138 (Cisco ASA syslog reference): "Group %s not found and BASE GROUP default preshared key not configured"
        LabAssert.Line(output.DebugLines.ToList(), "[IKEv1]: IP = 192.0.2.77, Group 192.0.2.77 not found and BASE GROUP default preshared key not configured");
        // The configured peer is not affected.
        output.Clear();
        responder.Receive(SeedMm1(), Lab.LeftAddress, output);
        Assert.Single(responder.Sas);
        Assert.Single(output.OfType<SendDatagram>());
    }

    [Fact]
    public void Refusal_lines_are_printed_at_most_once_a_second_per_reason_while_every_refusal_is_counted()
    {
        var clock = new ManualTime();
        var gateway = new GatewayContext(Lab.Load(Configs.Responder), Lab.RightAddress, new SeededEnvironment(3));
        var admission = new Mm1Admission(gateway, new HalfOpenLedger(new HalfOpenLimits { MaxHalfOpenPerPeer = 1 }, clock), clock);
        var output = new NegotiationOutput();
        Assert.True(admission.Admit("a", IPAddress.Parse("10.0.0.1"), output).Admitted);
        for (var i = 0; i < 100; i++)
        {
            admission.Admit($"flood/{i}", IPAddress.Parse("10.0.0.1"), output);        // the address's share is taken
            admission.Admit($"nokey/{i}", IPAddress.Parse("192.0.2.1"), output);       // no key at all
        }
        Assert.Equal(1, output.DebugLines.Count(l => l.Contains("Maximum concurrent IKE negotiations exceeded!")));
        Assert.Equal(1, output.DebugLines.Count(l => l.Contains("BASE GROUP default preshared key not configured")));
        clock.Advance(TimeSpan.FromSeconds(1));
        admission.Admit("flood/x", IPAddress.Parse("10.0.0.1"), output);
        Assert.Equal(2, output.DebugLines.Count(l => l.Contains("Maximum concurrent IKE negotiations exceeded!")));
        var stats = admission.Ledger.Statistics();
        Assert.Equal((101L, 100L), (stats.RefusedPeerLimit, stats.RefusedNoKey));
    }
}
