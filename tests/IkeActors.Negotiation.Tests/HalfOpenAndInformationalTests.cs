using System.Buffers.Binary;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

public class HalfOpenAndInformationalTests
{
    /// <summary>The initiator's real MM1, to be replayed with other initiator cookies.</summary>
    private static byte[] RealMainMode1()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        var output = new NegotiationOutput();
        lab.Left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), output);
        return output.OfType<SendDatagram>().Single().Datagram;
    }

    private static byte[] WithInitiatorCookie(byte[] mm1, ulong cookie)
    {
        var copy = mm1.ToArray();
        BinaryPrimitives.WriteUInt64BigEndian(copy, cookie);
        return copy;
    }

    [Fact]
    public void A_flood_of_distinct_MM1s_keeps_at_most_MaxHalfOpen_responder_SAs()
    {
        const int limit = 5;
        var mm1 = RealMainMode1();
        using var responder = new NegotiationEngine(new GatewayContext(Lab.Load(Configs.Responder), Lab.RightAddress, new SeededEnvironment(7))) { MaxHalfOpen = limit };
        var output = new NegotiationOutput();
        for (ulong cookie = 1; cookie <= 40; cookie++) responder.Receive(WithInitiatorCookie(mm1, cookie), Lab.LeftAddress, output);

        Assert.Equal(limit, responder.Sas.Count);
        Assert.All(responder.Sas, sa => Assert.Equal(MainModeState.MM_WAIT_MSG3, sa.State));
        Assert.Equal(Enumerable.Range(1, limit).Select(i => (ulong)i), responder.Sas.Select(s => s.InitiatorCookie).Order());
        Assert.Equal(limit, output.OfType<SendDatagram>().Count());
        var lines = output.DebugLines.ToList();
        // `crypto ikev1 limit max-in-negotiation-sa`: the ASA's line for each MM1 refused.
        Assert.Equal(40 - limit, LabAssert.Count(lines, "[IKEv1]: IP = 10.0.0.1, Maximum concurrent IKE negotiations exceeded!"));
        Assert.Equal(limit, lines.Count(l => l.Contains("IKE SA Proposal # 1, Transform # 1 acceptable")));

        // A retransmission of an MM1 already held is still answered (it is not a new SA).
        output.Clear();
        responder.Receive(WithInitiatorCookie(mm1, 3), Lab.LeftAddress, output);
        LabAssert.Line(output.DebugLines.ToList(), "[IKEv1]: IP = 10.0.0.1, Duplicate Phase 1 packet detected. Retransmitting last packet.");
        Assert.Single(output.OfType<SendDatagram>());
        Assert.Equal(limit, responder.Sas.Count);

        // Half-open SAs time out (their MM2 is never answered) and make room again.
        var armed = responder.Sas.Select(s => s.InitiatorCookie).ToList();
        for (var round = 0; round < 5; round++)
            foreach (var cookie in armed) responder.TimerFired(cookie, new TimerKey(TimerKind.Retransmit, 0), output);
        Assert.Equal(limit, output.OfType<NegotiationFailed>().Count(f => f.Reason == FailureReason.RetransmissionsExhausted));
        Assert.Empty(responder.Sas);
        output.Clear();
        responder.Receive(WithInitiatorCookie(mm1, 1000), Lab.LeftAddress, output);
        Assert.Single(responder.Sas);
        Assert.DoesNotContain(output.DebugLines, l => l.Contains("Maximum concurrent"));
    }

    [Fact]
    public void Established_SAs_do_not_count_against_the_half_open_bound()
    {
        var mm1 = RealMainMode1();
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        // Lab.Right has the default bound; one established SA leaves all of it for half-open ones. (All MM1s come
        // from one address here: its own bound is lifted for this test; the per-address bound has tests of its own.)
        lab.Right.MaxHalfOpenPerPeer = int.MaxValue;
        var output = new NegotiationOutput();
        for (var cookie = 1UL; cookie <= (ulong)lab.Right.MaxHalfOpen + 3; cookie++) lab.Right.Receive(WithInitiatorCookie(mm1, cookie), Lab.LeftAddress, output);
        Assert.Equal(lab.Right.MaxHalfOpen + 1, lab.Right.Sas.Count);
        Assert.Equal(3, output.DebugLines.Count(l => l.Contains("Maximum concurrent IKE negotiations exceeded!")));
    }

    [Fact]
    public void DeleteAll_on_the_initiator_sends_DELETEs_and_the_responder_removes_its_SAs()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.AcquireAndRun();
        var (leftPair, rightPair) = LabAssert.TunnelUp(lab);
        var leftBefore = lab.LeftLines.Count;
        var rightBefore = lab.RightLines.Count;
        var leftSent = lab.LeftOutput.OfType<SendDatagram>().Count();

        lab.Left.DeleteAll(lab.LeftOutput);
        lab.Run();

        // RFC 2408 §3.15, RFC 2409 §5.7: the ESP SPI we receive on (the peer's outbound), then the
        // ISAKMP SA by its cookies, each in an Informational exchange protected by HASH(1).
        var sent = lab.LeftOutput.OfType<SendDatagram>().Skip(leftSent).ToList();
        Assert.Equal(2, sent.Count);
        Assert.All(sent, s => Assert.Equal(5, s.Datagram[18])); // exchange type Informational
        Assert.All(sent, s => Assert.Equal(1, s.Datagram[19] & 1)); // encrypted
        var left = lab.LeftLines.Skip(leftBefore).ToList();
        Assert.Equal(
        [
            "[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, constructing blank hash payload",
            "[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, constructing IPSec delete payload",
            "[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, constructing qm hash payload",
        ], left.Take(3));
        Assert.Matches(@"^\[IKEv1\]: IP = 10\.0\.0\.2, IKE_DECODE SENDING Message \(msgid=[0-9a-f]+\) with payloads : HDR \+ HASH \(8\) \+ DELETE \(12\) \+ NONE \(0\) total length : \d+$", left[3]);
        LabAssert.Line(left, "[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, IKE Deleting SA: Remote Proxy 192.168.2.0, Local Proxy 192.168.1.0");
        LabAssert.Line(left, "[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, constructing IKE delete payload");
        Assert.Equal(2, left.Count(l => l.Contains("IKE_DECODE SENDING") && l.Contains("HDR + HASH (8) + DELETE (12) + NONE (0)")));
        Assert.Empty(lab.Left.Sas);
        Assert.Contains(lab.LeftOutput.OfType<IkeSaDeleted>(), d => d.Reason == "deleted locally");
        var leftGone = Assert.Single(lab.LeftOutput.OfType<IpsecSaDeleted>());
        Assert.Equal((leftPair.Inbound.Spi, leftPair.Outbound.Spi, "deleted locally"), (leftGone.InboundSpi, leftGone.OutboundSpi, leftGone.Reason));
        // Key buffers are zeroed on deletion (design: secrets).
        Assert.All(new[] { leftPair.Inbound.EncryptionKey, leftPair.Outbound.IntegrityKey }, k => Assert.All(k, b => Assert.Equal(0, b)));

        var right = lab.RightLines.Skip(rightBefore).ToList();
        Assert.Equal(2, right.Count(l => l.Contains("IKE_DECODE RECEIVED") && l.Contains("HDR + HASH (8) + DELETE (12) + NONE (0)")));
        Assert.Equal(2, LabAssert.Count(right, "[IKEv1 DEBUG]: Group = 10.0.0.1, IP = 10.0.0.1, processing delete"));
        LabAssert.Line(right, "[IKEv1]: Group = 10.0.0.1, IP = 10.0.0.1, Connection terminated for peer 10.0.0.1. Reason: Peer Terminate Remote Proxy 192.168.1.0, Local Proxy 192.168.2.0");
        LabAssert.Line(right, "[IKEv1 DEBUG]: Group = 10.0.0.1, IP = 10.0.0.1, IKE Deleting SA: Remote Proxy 192.168.1.0, Local Proxy 192.168.2.0");
        Assert.DoesNotContain(right, l => l.Contains("Information Exchange processing failed"));
        Assert.Contains(lab.RightOutput.OfType<DeleteReceived>(), t => t.Protocol == IkeActors.Protocol.ProtocolId.IpsecEsp && t.Spi == rightPair.Outbound.Spi);
        Assert.Contains(lab.RightOutput.OfType<IkeSaDeleted>(), d => d.Reason == "peer deleted the IKE SA");
        // The data plane hears of the IPsec SA pair once, from the ESP delete (not again with the IKE SA).
        var rightGone = Assert.Single(lab.RightOutput.OfType<IpsecSaDeleted>());
        Assert.Equal((rightPair.Inbound.Spi, rightPair.Outbound.Spi), (rightGone.InboundSpi, rightGone.OutboundSpi));
        Assert.StartsWith("peer deleted SPI", rightGone.Reason);
        Assert.Empty(lab.Right.Sas);
        Assert.All(rightPair.Inbound.EncryptionKey, b => Assert.Equal(0, b));
        // The responder answers nothing (RFC 2408 §3.15: deletes are not acknowledged).
        Assert.Equal(["MM2", "MM4", "MM6", "QM2"], LabAssert.Sent(lab, left: false));
    }

    [Fact]
    public void Deleting_the_responder_side_tells_the_initiator_the_same_way()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        var sa = lab.Right.Sas.Single();
        var output = lab.RightOutput;
        sa.Delete(output);
        lab.Run();
        Assert.Equal(MainModeState.MM_DELETED, sa.State);
        Assert.Empty(lab.Right.Sas);
        Assert.Empty(lab.Left.Sas);
        LabAssert.Line(lab.LeftLines, "[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, Connection terminated for peer 10.0.0.2. Reason: Peer Terminate Remote Proxy 192.168.2.0, Local Proxy 192.168.1.0");
        Assert.Contains(lab.LeftOutput.OfType<IkeSaDeleted>(), d => d.Reason == "peer deleted the IKE SA");
        // A second delete of the same SA does nothing.
        var count = output.Actions.Count;
        sa.Delete(output);
        Assert.Equal(count, output.Actions.Count);
    }
}
