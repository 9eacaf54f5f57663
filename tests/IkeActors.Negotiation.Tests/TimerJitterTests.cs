using System.Text.RegularExpressions;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// Rekey and DPD jitter (<see cref="NegotiationSettings.RekeyJitter"/>, <see cref="NegotiationSettings.DpdJitter"/>):
/// tunnels set up together must not rekey or probe in the same second. Without jitter the timers are the ASA's own
/// (the seed's "Starting P1 rekey timer: 82080 seconds." for the initiator, 64800 for the responder, 3060 s for Phase 2
/// of a 3600 s lifetime, the default DPD threshold 10 s); with it each SA draws its own, earlier only, never below the
/// ASA's point minus the margin.
/// </summary>
public class TimerJitterTests
{
    private static readonly NegotiationSettings Jittered = new() { RekeyJitter = 0.10, DpdJitter = 0.20 };
    private const int Tunnels = 24;

    private sealed record Timers(TimeSpan P1Left, TimeSpan P1Right, TimeSpan P2Left, TimeSpan DpdLeft, string P1Line);

    private static Timers SetUp(int seed, NegotiationSettings? settings)
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder, seed, settings);
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        static TimeSpan Armed(NegotiationOutput o, TimerKind kind) => o.OfType<ArmTimer>().First(a => a.Key.Kind == kind).Due;
        return new Timers(Armed(lab.LeftOutput, TimerKind.Phase1Rekey), Armed(lab.RightOutput, TimerKind.Phase1Rekey),
            Armed(lab.LeftOutput, TimerKind.Phase2Rekey), Armed(lab.LeftOutput, TimerKind.Dpd),
            lab.LeftLines.Single(l => l.Contains("Starting P1 rekey timer")));
    }

    [Fact]
    public void Without_jitter_every_tunnel_gets_the_ASA_timers_exactly()
    {
        var all = Enumerable.Range(1, 6).Select(seed => SetUp(seed, null)).ToList();
        Assert.All(all, t =>
        {
            Assert.Equal(TimeSpan.FromSeconds(82080), t.P1Left);
            Assert.Equal(TimeSpan.FromSeconds(64800), t.P1Right);
            Assert.Equal(TimeSpan.FromSeconds(3060), t.P2Left);
            Assert.Equal(TimeSpan.FromSeconds(10), t.DpdLeft);
            Assert.EndsWith("Starting P1 rekey timer: 82080 seconds.", t.P1Line);
        });
    }

    [Fact]
    public void With_jitter_the_rekey_points_and_DPD_probes_of_many_tunnels_spread_and_come_only_earlier()
    {
        var all = Enumerable.Range(1, Tunnels).Select(seed => SetUp(seed, Jittered)).ToList();
        // 10 % of the 86400 s lifetime (8640 s) earlier at most; the ASA line prints the timer actually armed.
        Assert.All(all, t =>
        {
            Assert.InRange(t.P1Left.TotalSeconds, 82080 - 8640, 82080);
            Assert.InRange(t.P1Right.TotalSeconds, 64800 - 8640, 64800);
            Assert.InRange(t.P2Left.TotalSeconds, 3060 - 360, 3060);
            Assert.InRange(t.DpdLeft.TotalMilliseconds, 8000, 10000);
            Assert.Equal((int)t.P1Left.TotalSeconds, int.Parse(Regex.Match(t.P1Line, @"timer: (\d+) seconds\.$").Groups[1].Value));
        });
        // Spread: nearly every tunnel in a second of its own (24 draws from 8641 values), over much of the window.
        Assert.True(all.Select(t => t.P1Left).Distinct().Count() >= Tunnels - 2, string.Join(", ", all.Select(t => t.P1Left.TotalSeconds)));
        Assert.True(all.Max(t => t.P1Left) - all.Min(t => t.P1Left) > TimeSpan.FromSeconds(4000));
        Assert.True(all.Select(t => t.P2Left).Distinct().Count() >= Tunnels / 2);
        Assert.True(all.Select(t => t.DpdLeft).Distinct().Count() >= Tunnels / 2);
        Assert.True(all.Max(t => t.DpdLeft) - all.Min(t => t.DpdLeft) > TimeSpan.FromMilliseconds(1000));
    }

    [Fact]
    public void The_same_environment_draws_the_same_timers()
    {
        Assert.Equal(SetUp(7, Jittered), SetUp(7, Jittered));
    }

    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(10, 1.0)]
    [InlineData(86400, 5.0)]
    public void A_timer_never_reaches_zero(int seconds, double share)
    {
        var environment = new SeededEnvironment(3);
        for (var i = 0; i < 200; i++) Assert.InRange(TimerJitter.Earlier(seconds, share, environment), 1, seconds);
    }
}
