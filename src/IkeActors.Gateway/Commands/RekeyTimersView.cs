using System.Globalization;
using System.Text;
using IkeActors.Grains;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// `show crypto isakmp timers`: an IkeActors command, not an ASA one. How the IKE SAs' Phase 1 rekey points are
/// spread (the directory entries carry each SA's due time): count, earliest, latest, the most SAs due in any one
/// second, and a per-minute histogram. With rekey jitter (`ikeactors run`) 100,000 tunnels set up within minutes
/// rekey over a window of 10 % of the lifetime, not in the same second.
/// </summary>
public static class RekeyTimersView
{
    private const int BarWidth = 50;

    public static string Render(IEnumerable<SaDirectoryEntry> entries, DateTime nowUtc)
    {
        var due = entries.Where(e => e.Phase1RekeyDueUtc is not null).Select(e => e.Phase1RekeyDueUtc!.Value).Order().ToList();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Phase 1 rekey timers: {due.Count} IKE SA{(due.Count == 1 ? "" : "s")}\n");
        if (due.Count == 0) return sb.ToString();
        var (busiestSecond, most) = due.GroupBy(d => Truncate(d, TimeSpan.TicksPerSecond)).Select(g => (g.Key, g.Count()))
            .OrderByDescending(g => g.Item2).ThenBy(g => g.Key).First();
        sb.Append(CultureInfo.InvariantCulture, $"  Earliest: {Time(due[0])} (in {Seconds(due[0] - nowUtc)} s)\n");
        sb.Append(CultureInfo.InvariantCulture, $"  Latest  : {Time(due[^1])} (in {Seconds(due[^1] - nowUtc)} s)\n");
        sb.Append(CultureInfo.InvariantCulture, $"  Most due in one second: {most} (at {Time(busiestSecond)})\n");
        sb.Append("Due per minute:\n");
        var byMinute = due.GroupBy(d => Truncate(d, TimeSpan.TicksPerMinute)).ToDictionary(g => g.Key, g => g.Count());
        var peak = byMinute.Values.Max();
        for (var m = Truncate(due[0], TimeSpan.TicksPerMinute); m <= due[^1]; m = m.AddMinutes(1))
        {
            var n = byMinute.GetValueOrDefault(m);
            var bar = n == 0 ? 0 : Math.Max(1, (int)((long)n * BarWidth / peak));
            sb.Append(string.Create(CultureInfo.InvariantCulture, $"  {m:yyyy-MM-dd HH:mm} {n,7} {new string('#', bar)}").TrimEnd()).Append('\n');
        }
        return sb.ToString();
    }

    private static DateTime Truncate(DateTime t, long ticks) => new(t.Ticks - t.Ticks % ticks, DateTimeKind.Utc);

    private static string Time(DateTime t) => t.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static long Seconds(TimeSpan span) => Math.Max(0, (long)span.TotalSeconds);
}
