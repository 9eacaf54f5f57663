using System.Buffers.Binary;

namespace IkeActors.Negotiation;

/// <summary>
/// Spreads the timers of many SAs set up together so they do not rekey or probe in the same second: a timer fires
/// earlier by a uniform draw of up to a share of its length, from the environment's randomness (the engine has none of
/// its own). As strongSwan does (peer_cfg get_rekey_time: rekey time minus random() % jitter; child_cfg apply_jitter:
/// rekey minus a uniform share of up to the jitter), only ever earlier, so a rekey still comes before the lifetime ends.
/// A share of zero draws nothing: the timer is exact and the environment's random stream is untouched.
/// </summary>
internal static class TimerJitter
{
    /// <summary><paramref name="seconds"/> minus a whole number of seconds drawn from 0..floor(seconds × share) (at least 1 s left).</summary>
    public static int Earlier(int seconds, double share, INegotiationEnvironment environment)
    {
        var margin = share <= 0 ? 0 : (int)Math.Min(seconds - 1L, (long)Math.Floor(seconds * Math.Min(share, 1)));
        return margin <= 0 ? seconds : seconds - (int)Draw(environment, (uint)margin + 1);
    }

    /// <summary><paramref name="interval"/> minus whole milliseconds drawn from 0..interval × share (DPD: a spread within the second too).</summary>
    public static TimeSpan Earlier(TimeSpan interval, double share, INegotiationEnvironment environment)
    {
        var margin = share <= 0 ? 0 : (long)Math.Min(interval.TotalMilliseconds - 1, Math.Floor(interval.TotalMilliseconds * Math.Min(share, 1)));
        return margin <= 0 ? interval : interval - TimeSpan.FromMilliseconds(Draw(environment, (uint)Math.Min(margin + 1, uint.MaxValue)));
    }

    /// <summary>Uniform in 0..bound-1 (rejection sampling: no modulo bias).</summary>
    private static uint Draw(INegotiationEnvironment environment, uint bound)
    {
        Span<byte> bytes = stackalloc byte[4];
        var limit = uint.MaxValue - uint.MaxValue % bound;
        while (true)
        {
            environment.Fill(bytes);
            var value = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            if (value < limit) return value % bound;
        }
    }
}
