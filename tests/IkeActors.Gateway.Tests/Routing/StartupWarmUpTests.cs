using IkeActors.Gateway.Hosting;
using IkeActors.Negotiation;

namespace IkeActors.Gateway.Tests.Routing;

/// <summary>The start-up tunnel in memory comes up (Main Mode, Quick Mode, the hand-over restored) at any debug level and exponent policy.</summary>
public class StartupWarmUpTests
{
    [Theory]
    [InlineData(0, false)]
    [InlineData(255, false)]
    [InlineData(0, true)]
    public void The_warm_up_tunnel_comes_up_and_is_taken_over(int debugLevel, bool shortExponents)
    {
        var settings = new NegotiationSettings
        {
            DhExponent = shortExponents ? IkeActors.Crypto.DhExponentPolicy.TwiceSecurityStrength : IkeActors.Crypto.DhExponentPolicy.FullLength,
        };
        var (up, took) = StartupWarmUp.Run(settings, debugLevel);
        Assert.True(up);
        Assert.True(took > TimeSpan.Zero);
    }
}
