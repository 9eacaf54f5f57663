using System.Diagnostics;
using IkeActors.Gateway.Commands;
using IkeActors.Grains;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>
/// The summary views `show` renders from the SA directory alone: `show vpn-sessiondb summary` against a real ASA's
/// output (tests/data/asa-show/show-vpn-sessiondb-summary.txt: the same rows, counts and column widths), `show crypto
/// isakmp sa` at 100,000 SAs, and the IkeActors `show crypto isakmp timers` spread of rekey points.
/// </summary>
public class SessionSummaryViewTests
{
    private static readonly string[] Asa = File.ReadAllLines(Path.Combine(RepoPaths.Data, "asa-show", "show-vpn-sessiondb-summary.txt"));

    private static string AsaLine(string startsWith) => Asa.Single(l => l.StartsWith(startsWith, StringComparison.Ordinal)).TrimEnd();

    /// <summary>A real ASA's summary with IKEv1 remote-access sessions (its column titles are misplaced in the source: rows only).</summary>
    private static readonly string[] AsaRa = File.ReadAllLines(Path.Combine(RepoPaths.Data, "asa-show", "show-vpn-sessiondb-summary-ikev1-ra.txt"));

    private static string AsaRaLine(string startsWith) => AsaRa.Single(l => l.StartsWith(startsWith, StringComparison.Ordinal)).TrimEnd();

    private static string[] Render(SaDirectorySummary s, int nodes = 1) => SessionSummaryView.Render(s, nodes).Split('\n');

    [Fact]
    public void The_layout_is_the_ASAs_line_for_line()
    {
        // The ASA's Site-to-Site VPN session counts (29 active, 59 cumulative, peak 29), 127 sessions in all.
        var ours = Render(new SaDirectorySummary(0, 0, 0, Sessions: 29, CumulativeSessions: 59, PeakSessions: 29));
        Assert.Equal(Asa[..5], ours[..5]); // rule, "VPN Session Summary", rule, column titles, column rule
        Assert.Equal(AsaLine("Site-to-Site VPN"), ours[5]);
        Assert.Equal(AsaLine("  IKEv2 IPsec                :     29").Replace("IKEv2", "IKEv1"), ours[6]);
        Assert.Equal(Asa[12], ours[7]);
        Assert.Equal(AsaLine("Total Active and Inactive").Replace("127", " 29").Replace("432", " 59"), ours[8]);
        // Capacity right-aligned in the same column as the ASA's 5000 (ours: 100,000 per node).
        Assert.Equal(AsaLine("Device Total VPN Capacity").Length, ours[9].Length);
        Assert.Equal("Device Total VPN Capacity    : 100000", ours[9]);
        Assert.Equal(AsaLine("Device Load"), ours[10]);
        Assert.Equal(Asa[16..22].Select(l => l.TrimEnd()), ours[11..17].Select(l => l.TrimEnd()));
        Assert.Equal(Asa[21], ours[16]); // the Tunnels Summary column titles, trailing spaces and all
    }

    [Fact]
    public void The_tunnel_rows_and_totals_have_the_ASAs_columns()
    {
        // IKEv1: 0 up, 1 ever, peak 1 (the ASA's Clientless row); IPsec pairs 376 up in all with the IKE SAs, 3518 ever.
        var ours = Render(new SaDirectorySummary(0, 0, 0, CumulativeIke: 1, PeakIke: 1, IpsecSas: 376, CumulativeIpsec: 3517, PeakIpsec: 400));
        Assert.Equal(AsaLine("Clientless                   :").Replace("Clientless", "IKEv1     "), ours[18]);
        Assert.Equal("IPsec                        :    376 :       3517 :             400", ours[19]);
        Assert.Equal(Asa[27], ours[20]);
        Assert.Equal(AsaLine("Totals"), ours[21]);
        Assert.Equal(Asa[29], ours[22]);
        Assert.Equal("", ours[23]);
    }

    [Fact]
    public void Remote_access_sessions_have_the_ASAs_own_row_and_count_in_the_totals()
    {
        // The ASA's two remote-access sessions (2 active, 2 cumulative, peak 2); its other 6 cumulative sessions (a
        // Load Balancing row, peak 1) are L2L sessions here, so the totals are the ASA's: 2 active, 8 cumulative.
        var ours = Render(new SaDirectorySummary(0, 0, 0, CumulativeSessions: 6, PeakSessions: 1,
            RemoteAccessSessions: 2, CumulativeRemoteAccessSessions: 2, PeakRemoteAccessSessions: 2));
        Assert.Equal(Asa[..5], ours[..5]);
        Assert.Equal(AsaRaLine("IKEv1 IPsec/L2TP IPsec"), ours[5]);
        var l2l = AsaRaLine("Load Balancing(Encryption)").Replace("Load Balancing(Encryption)", "Site-to-Site VPN".PadRight(26), StringComparison.Ordinal);
        Assert.Equal(l2l, ours[6]);
        Assert.Equal(l2l.Replace("Site-to-Site VPN", "  IKEv1 IPsec".PadRight(16), StringComparison.Ordinal), ours[7]);
        Assert.Equal(AsaRa[7], ours[8]);
        Assert.Equal(AsaRaLine("Total Active and Inactive"), ours[9]);
        Assert.Equal("Device Total VPN Capacity    : 100000", ours[10]);
        // The Tunnels Summary block follows one line lower than without the row.
        var without = Render(new SaDirectorySummary(0, 0, 0, CumulativeSessions: 6, PeakSessions: 1));
        Assert.Equal(without[10..], ours[11..]);
    }

    [Fact]
    public void The_remote_access_row_stays_once_there_was_a_session_and_the_load_counts_both_kinds()
    {
        // Never a remote-access session: no row (the ASA leaves out the session types it never had).
        Assert.DoesNotContain(Render(new SaDirectorySummary(0, 0, 0, Sessions: 3, CumulativeSessions: 3, PeakSessions: 3)), l => l.StartsWith("IKEv1 IPsec/L2TP", StringComparison.Ordinal));
        // All gone since: the row stays with its counts.
        var gone = Render(new SaDirectorySummary(0, 0, 0, CumulativeRemoteAccessSessions: 5, PeakRemoteAccessSessions: 4));
        Assert.Equal("IKEv1 IPsec/L2TP IPsec       :      0 :          5 :           4", gone[5]);
        var load = Render(new SaDirectorySummary(0, 0, 0, Sessions: 60_000, RemoteAccessSessions: 90_000), nodes: 2);
        Assert.Equal("Total Active and Inactive    : 150000             Total Cumulative :      0", load[9]);
        Assert.Equal("Device Load                  :    75%", load[11]);
    }

    [Fact]
    public void The_load_is_sessions_over_the_capacity_of_all_nodes()
    {
        var ours = Render(new SaDirectorySummary(0, 0, 0, Sessions: 150_000), nodes: 2);
        Assert.Equal("Device Total VPN Capacity    : 200000", ours[9]);
        Assert.Equal("Device Load                  :    75%", ours[10]);
    }

    [Fact]
    public void Show_crypto_isakmp_sa_renders_100000_directory_entries_within_two_seconds()
    {
        var entries = Enumerable.Range(0, 100_000)
            .Select(i => new SaDirectoryEntry($"10.{100 + i / 65536}.{i / 256 % 256}.{i % 256}/{i:x16}", "MM_ACTIVE", i % 2 == 0, i)).ToList();
        IsakmpSaView.Render(entries[..10]); // compiled once, as in a running node
        var watch = Stopwatch.StartNew();
        var text = IsakmpSaView.Render(entries);
        watch.Stop();
        // `show` has 2 s in all; this machine may be busy with other test processes.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"rendered in {watch.Elapsed}");
        Assert.StartsWith("IKEv1 SAs:\n\n   Active SA: 100000\n", text, StringComparison.Ordinal);
        Assert.Contains("\n100000 IKE Peer: 10.101.134.159\n    Type    : L2L             Role    : responder\n    Rekey   : no              State   : MM_ACTIVE\n", text, StringComparison.Ordinal);
        Assert.Equal("There are no IKEv1 SAs\n", IsakmpSaView.Render([]));
    }

    [Fact]
    public void The_timers_view_counts_the_rekey_points_per_second_and_per_minute()
    {
        var now = new DateTime(2026, 12, 3, 7, 0, 0, DateTimeKind.Utc);
        var entries = new[] { 100, 100.2, 100.9, 101, 130, 190, 305 }
            .Select((s, i) => new SaDirectoryEntry($"10.0.0.{i}/{i:x16}", "MM_ACTIVE", true, i, Phase1RekeyDueUtc: now.AddSeconds(s)))
            .Append(new SaDirectoryEntry("10.0.0.99/0000000000000063", "MM_WAIT_MSG2", true, 99)).ToList();
        var lines = RekeyTimersView.Render(entries, now).Split('\n');
        Assert.Equal("Phase 1 rekey timers: 7 IKE SAs", lines[0]);
        Assert.Equal($"  Earliest: 2026-12-03 07:01:40 UTC (in 100 s)", lines[1]);
        Assert.Equal($"  Latest  : 2026-12-03 07:05:05 UTC (in 305 s)", lines[2]);
        Assert.Equal("  Most due in one second: 3 (at 2026-12-03 07:01:40 UTC)", lines[3]);
        Assert.Equal("Due per minute:", lines[4]);
        Assert.Equal("  2026-12-03 07:01       4 " + new string('#', 50), lines[5]);
        Assert.Equal("  2026-12-03 07:02       1 " + new string('#', 12), lines[6]);
        Assert.Equal("  2026-12-03 07:03       1 " + new string('#', 12), lines[7]);
        Assert.Equal("  2026-12-03 07:04       0", lines[8]);
        Assert.Equal("  2026-12-03 07:05       1 " + new string('#', 12), lines[9]);
        Assert.Equal("", lines[10]);
        Assert.Equal("Phase 1 rekey timers: 0 IKE SAs\n", RekeyTimersView.Render([], now));
    }
}
