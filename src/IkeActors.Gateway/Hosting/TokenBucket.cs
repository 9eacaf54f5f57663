namespace IkeActors.Gateway.Hosting;

/// <summary>At most <c>rate</c> takes a second, with a burst of one second's worth (a short lock per take).</summary>
internal sealed class TokenBucket(int rate, TimeProvider clock)
{
    private readonly Lock _lock = new();
    private double _tokens = rate;
    private long _last = clock.GetTimestamp();

    public bool TryTake()
    {
        lock (_lock)
        {
            var now = clock.GetTimestamp();
            _tokens = Math.Min(rate, _tokens + (now - _last) * (double)rate / clock.TimestampFrequency);
            _last = now;
            if (_tokens < 1) return false;
            _tokens -= 1;
            return true;
        }
    }
}
