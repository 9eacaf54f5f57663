using System.Text.RegularExpressions;

namespace IkeActors.Interop.Tests;

/// <summary>What the interop tests check a tunnel with: pings through it and the counters of `show crypto ipsec sa`.</summary>
internal static class Tunnel
{
    internal sealed record PingResult(int Sent, int Received, string Output);

    /// <summary>Pings 192.168.2.1 (the right side's inside) from 192.168.1.1 inside a namespace.</summary>
    internal static PingResult Ping(string ns, int count)
    {
        var (_, output) = InteropLab.Exec(ns, "ping", "-n", "-c", count.ToString(), "-i", "0.2", "-W", "3", "-I", "192.168.1.1", "192.168.2.1");
        var m = Regex.Match(output, @"(\d+) packets transmitted, (\d+) received");
        Assert.True(m.Success, output);
        return new PingResult(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), output);
    }

    /// <summary>`#pkts encaps` and `#pkts decaps` of `show crypto ipsec sa`.</summary>
    internal static (long Encaps, long Decaps) Counters(string show)
    {
        var e = Regex.Match(show, @"#pkts encaps: (\d+)");
        var d = Regex.Match(show, @"#pkts decaps: (\d+)");
        Assert.True(e.Success && d.Success, show);
        return (long.Parse(e.Groups[1].Value), long.Parse(d.Groups[1].Value));
    }

    /// <summary>`current outbound spi: X` / `current inbound spi : X` of `show crypto ipsec sa`.</summary>
    internal static uint Spi(string show, string direction)
    {
        var m = Regex.Match(show, $@"current {direction} spi\s*: ([0-9A-F]{{8}})");
        Assert.True(m.Success, show);
        return Convert.ToUInt32(m.Groups[1].Value, 16);
    }
}
