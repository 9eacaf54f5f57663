using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>RFC 2407 §4.6.3.3: INITIAL-CONTACT tells the receiver the sender has no state from before.</summary>
public class InitialContactTests
{
    [Fact]
    public void A_rebooted_initiator_makes_the_responder_drop_its_old_SAs_silently()
    {
        var leftConfig = Lab.Load(Lab.SampleConfig("asa1-initiator.cfg"));
        var right = new NegotiationEngine(new GatewayContext(Lab.Load(Lab.SampleConfig("asa2-responder.cfg")), Lab.RightAddress, new SeededEnvironment(7)));
        var ro = new NegotiationOutput();

        var before = Negotiate(new NegotiationEngine(new GatewayContext(leftConfig, Lab.LeftAddress, new SeededEnvironment(1))), right, ro);
        var oldSa = Assert.Single(right.Sas);
        var oldPair = Assert.Single(ro.OfType<InstallIpsecSa>()).Pair;

        // The left gateway restarts: new engine, new cookies, no memory of the old SAs.
        var start = ro.Actions.Count;
        Negotiate(new NegotiationEngine(new GatewayContext(leftConfig, Lab.LeftAddress, new SeededEnvironment(2))), right, ro);
        var after = ro.Actions.Skip(start).ToList();

        var current = Assert.Single(right.Sas);
        Assert.NotEqual(oldSa.InitiatorCookie, current.InitiatorCookie);
        Assert.Equal(MainModeState.MM_DELETED, oldSa.State);
        Assert.Contains(after, a => a is InitialContactReceived c && c.Sa == current.InitiatorCookie);
        Assert.Contains(after, a => a is IpsecSaDeleted d && d.InboundSpi == oldPair.Inbound.Spi);
        Assert.Contains(after, a => a is IkeSaDeleted d && d.InitiatorCookie == oldSa.InitiatorCookie);
        // No DELETE goes to a peer that has forgotten the SA: every datagram after QM2 belongs to the new SA.
        Assert.All(after.OfType<SendDatagram>(), s => Assert.Equal(current.InitiatorCookie, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(s.Datagram)));
        Assert.True(before);
    }

    [Fact]
    public void The_responder_prints_the_ASA_lines_for_the_old_IKE_SA_and_its_pair()
    {
        var leftConfig = Lab.Load(Lab.SampleConfig("asa1-initiator.cfg"));
        using var right = new NegotiationEngine(new GatewayContext(Lab.Load(Lab.SampleConfig("asa2-responder.cfg")), Lab.RightAddress, new SeededEnvironment(7)));
        var ro = new NegotiationOutput();
        Negotiate(new NegotiationEngine(new GatewayContext(leftConfig, Lab.LeftAddress, new SeededEnvironment(1))), right, ro);
        var oldSa = Assert.Single(right.Sas);
        var start = ro.Actions.Count;
        Negotiate(new NegotiationEngine(new GatewayContext(leftConfig, Lab.LeftAddress, new SeededEnvironment(2))), right, ro);

        var lines = ro.Actions.Skip(start).OfType<DebugEvent>().Select(d => d.ConsoleLine).ToList();
        Assert.Contains(lines, l => l.EndsWith($"Deleting IKE SA with associated IPsec connection entries. IKE peer: 10.0.0.1, SA address: 0x{oldSa.InitiatorCookie:x}, tunnel count: 1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith("IKE Deleting SA: Remote Proxy 192.168.1.0, Local Proxy 192.168.2.0", StringComparison.Ordinal));
        Assert.Single(right.Sas);
    }

    private static bool Negotiate(NegotiationEngine left, NegotiationEngine right, NegotiationOutput ro)
    {
        var lo = new NegotiationOutput();
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);
        int ls = 0, rs = ro.Actions.Count;
        for (var round = 0; round < 20; round++)
        {
            var moved = false;
            for (; ls < lo.Actions.Count; ls++)
                if (lo.Actions[ls] is SendDatagram s) { right.Receive(s.Datagram, Lab.LeftAddress, ro); moved = true; }
            for (; rs < ro.Actions.Count; rs++)
                if (ro.Actions[rs] is SendDatagram s) { left.Receive(s.Datagram, Lab.RightAddress, lo); moved = true; }
            if (!moved) break;
        }
        return lo.OfType<InstallIpsecSa>().Any();
    }
}
