using System.Text.RegularExpressions;

namespace IkeActors.Interop.Tests;

/// <summary>
/// Phase 2 rekeys in both directions while a ping runs through the tunnel. strongSwan has a
/// 60 s ESP lifetime: it rekeys every CHILD_SA it holds at 90 % (54 s), whoever initiated it, and deletes
/// the old one at 60 s. Our engine rekeys only the pairs it initiated (the responder leaves it to the
/// initiator) at 85 % of the seconds or kilobytes lifetime, and the ASA's minimum seconds lifetime is 120
/// (rekey at 102 s): by seconds alone strongSwan would always win. So our crypto map also has a kilobyte
/// lifetime (1000 kB), and a burst of large pings right after our acquire pushes the first pair past 850 kB:
/// we rekey it (KEY_REKEY_IB) and delete it; strongSwan then rekeys the pair we made 54 s later, and so on.
/// Make-before-break on both sides means none of the continuous pings is lost, and every rekey ends with
/// the old pair deleted (RFC 2408 §4.6.3 DELETE).
/// </summary>
public sealed class RekeyUnderTrafficTests
{
    /// <summary>
    /// 0.2 s apart, 90 s: our kilobyte rekey comes in the first seconds, strongSwan's rekey of the pair it made at 54 s of
    /// that pair's life and its DELETE of the old one at 60 s, with half a minute to spare (three minutes before: the same
    /// rekeys, a third more of them by strongSwan, twice the suite's time).
    /// </summary>
    private const int PingCount = 450;

    [Fact]
    public async Task Both_sides_rekey_phase_2_under_a_continuous_ping_without_losing_a_packet()
    {
        using var lab = new InteropLab();
        lab.StartStrongSwan("--role", "responder", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1", "--esp-lifetime", "60");
        var config = InteropLab.LeftConfig(c => InteropLab.Replace(c, "crypto map MAP 10 set reverse-route\n",
            "crypto map MAP 10 set reverse-route\ncrypto map MAP 10 set security-association lifetime seconds 120\n" +
            "crypto map MAP 10 set security-association lifetime kilobytes 1000\n"));
        var gateway = lab.StartGateway(lab.Left, config, "10.0.0.1:500", "--tun", "ike%d");

        // Bring the tunnel up from an acquire first; the continuous ping starts once the SAs are in place.
        Ping(lab.Left, 1, "0.2");
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        lab.StrongSwan("wait-established", "30");

        var continuous = Task.Run(() => Ping(lab.Left, PingCount, "0.2"));
        await Task.Delay(2000);
        // About 880 kB through the first pair (330 round trips of 1328-byte packets): past 85 % of its 1000 kB.
        var burst = Ping(lab.Left, 330, "0.01", size: 1300);
        Assert.True(burst.Received == 330, $"burst: {330 - burst.Received} of 330 lost\n{burst.Output}\n{Tail(gateway.Output)}");
        var ping = await continuous;
        var log = lab.StrongSwanLog;
        Assert.True(ping.Received == PingCount,
            $"{PingCount - ping.Received} of {PingCount} pings lost during the rekeys\n{Lost(ping.Output)}\n{ping.Output[^Math.Min(400, ping.Output.Length)..]}\n{Tail(gateway.Output)}\n{Tail(log)}");

        // strongSwan initiated a rekey (it generates a Quick Mode request; the first one came from us) ...
        Assert.True(Count(log, @"generating QUICK_MODE request [0-9]+ \[ HASH SA No ID ID \]") >= 1, "strongSwan initiated no rekey\n" + Tail(log));
        // ... and we initiated one as well: our debug line, and strongSwan parsing a second Quick Mode request from us.
        Assert.Contains(gateway.Lines, l => l.Contains("Pitcher: received KEY_REKEY_IB", StringComparison.Ordinal));
        Assert.Contains(gateway.Lines, l => l.Contains("IKE Initiator: Rekeying Phase 2", StringComparison.Ordinal));
        // (our first Quick Mode carried N(INITIAL_CONTACT); a rekey does not)
        Assert.True(Count(log, @"parsed QUICK_MODE request [0-9]+ \[ HASH SA No ID ID \]") >= 1, "no rekey from our side reached strongSwan\n" + Tail(log));
        Assert.True(Count(log, @"CHILD_SA gw\{[0-9]+\} established") >= 3, Tail(log));

        // Old SAs deleted on both sides: DELETEs sent and received by strongSwan, our delete lines, one pair left.
        Assert.True(Count(log, @"generating INFORMATIONAL_V1 request [0-9]+ \[ HASH D \]") >= 1, "strongSwan sent no DELETE\n" + Tail(log));
        Assert.True(Count(log, @"received DELETE for ESP CHILD_SA with SPI") >= 1, "strongSwan received no DELETE from us\n" + Tail(log));
        Assert.Contains(gateway.Lines, l => l.Contains("IKE Received delete for rekeyed centry", StringComparison.Ordinal)
            || l.Contains("Pitcher: received key delete msg", StringComparison.Ordinal));

        var sas = "";
        InteropLab.Eventually(() => Count(sas = lab.StrongSwan("list-sas"), @"INSTALLED, TUNNEL-in-UDP") == 1, TimeSpan.FromSeconds(10),
            () => "strongSwan still lists more than one CHILD_SA:\n" + sas);
        Assert.Contains("ESTABLISHED, IKEv1", sas);
        var show = "";
        InteropLab.Eventually(() => Count(show = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa"), @"current outbound spi:") == 1,
            TimeSpan.FromSeconds(10), () => "our show crypto ipsec sa lists more than one pair:\n" + show);
        // The pair left is the one strongSwan lists (its outbound SPI is our inbound one, and vice versa).
        var ours = Regex.Match(show, @"current outbound spi: ([0-9A-F]{8})");
        var theirs = Regex.Match(sas, @"\bin\s+([0-9a-f]{8})");
        Assert.True(ours.Success && theirs.Success, show + sas);
        Assert.Equal(theirs.Groups[1].Value, ours.Groups[1].Value.ToLowerInvariant());
    }

    private sealed record PingResult(int Sent, int Received, string Output);

    private static PingResult Ping(string ns, int count, string interval, int size = 56)
    {
        // -D -O: each reply and each missing one on its own line with its time, to place a loss against the rekeys.
        var (_, output) = InteropLab.Exec(ns, "ping", "-n", "-D", "-O", "-c", count.ToString(), "-i", interval, "-s", size.ToString(), "-W", "2", "-I", "192.168.1.1", "192.168.2.1");
        var m = Regex.Match(output, @"(\d+) packets transmitted, (\d+) received");
        Assert.True(m.Success, output);
        return new PingResult(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), output);
    }

    /// <summary>The lines of the pings that got no answer, with their times (UTC), and the replies either side of them.</summary>
    private static string Lost(string output)
    {
        var lines = output.Split('\n');
        var lost = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].Contains("no answer yet", StringComparison.Ordinal)) continue;
            var at = Regex.Match(lines[i], @"^\[(\d+)\.(\d+)\]");
            var when = at.Success ? DateTimeOffset.FromUnixTimeSeconds(long.Parse(at.Groups[1].Value)).UtcDateTime.ToString("HH:mm:ss") + "." + at.Groups[2].Value[..3] + " UTC " : "";
            lost.Add(when + string.Join(" | ", lines[Math.Max(0, i - 1)..Math.Min(lines.Length, i + 2)]));
        }
        return lost.Count == 0 ? "(ping reported no missing sequence number)" : "missing: " + string.Join("\n", lost);
    }

    private static int Count(string text, string pattern) => Regex.Matches(text, pattern).Count;

    private static string Tail(string text) => text.Length <= 6000 ? text : text[^6000..];
}
