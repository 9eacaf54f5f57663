using IkeActors.Crypto;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// <see cref="NegotiationSettings.DhExponent"/> reaches every key pair the engine generates, and a tunnel with short
/// exponents on one side and full ones on the other comes up (the exponent length is private: RFC 3526 §8).
/// </summary>
public class DhExponentTests
{
    private sealed class RecordingEnvironment(int seed) : INegotiationEnvironment
    {
        private readonly SeededEnvironment _inner = new(seed);
        public List<DhExponentPolicy> Policies { get; } = [];
        public void Fill(Span<byte> destination) => _inner.Fill(destination);
        public DhKeyPair CreateKeyPair(DhGroup group)
        {
            Policies.Add(((ModpGroup)group).ExponentPolicy);
            return _inner.CreateKeyPair(group);
        }
    }

    [Theory]
    [InlineData(DhExponentPolicy.FullLength)]
    [InlineData(DhExponentPolicy.TwiceSecurityStrength)]
    public void The_responders_key_pairs_use_its_setting_and_the_tunnel_comes_up(DhExponentPolicy responder)
    {
        using var lab = new Lab(Lab.SampleConfig("asa1-initiator.cfg"), Lab.SampleConfig("asa2-responder.cfg"));
        var left = new RecordingEnvironment(1);
        var right = new RecordingEnvironment(1001);
        lab.Left = new NegotiationEngine(new GatewayContext(Lab.Load(Lab.SampleConfig("asa1-initiator.cfg")), Lab.LeftAddress, left));
        lab.Right = new NegotiationEngine(new GatewayContext(Lab.Load(Lab.SampleConfig("asa2-responder.cfg")), Lab.RightAddress, right,
            new NegotiationSettings { DhExponent = responder }));

        lab.AcquireAndRun();

        Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>());
        Assert.Single(lab.RightOutput.OfType<InstallIpsecSa>());
        Assert.Equal([DhExponentPolicy.FullLength], left.Policies);
        Assert.Equal([responder], right.Policies);
    }
}
