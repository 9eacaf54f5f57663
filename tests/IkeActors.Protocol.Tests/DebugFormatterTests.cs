using System.Net;
using IkeActors.Protocol.Tests.Support;

namespace IkeActors.Protocol.Tests;

/// <summary>The generated AsaDebug methods print the seed's lines exactly, and cost nothing when filtered.</summary>
public class DebugFormatterTests
{
    private static readonly DebugContext Peer = new(IPAddress.Parse("10.0.0.2"));
    private static readonly DebugContext PeerWithGroup = new(IPAddress.Parse("10.0.0.2"), "10.0.0.2");

    [Fact]
    public void Seed_lines_are_printed_byte_for_byte()
    {
        var sink = new ListDebugSink(127);
        AsaDebug.PitcherKeyAcquire(sink, 0);
        AsaDebug.ConstructingIsakmpSaPayload(sink, Peer);
        Span<byte> types = stackalloc byte[8];
        var mm1 = SampleMessages.MainMode1();
        Assert.True(IsakmpMessage.TryParse(mm1, out var message, out _));
        AsaDebug.IkeDecodeSending(sink, Peer, message.Header.MessageId, types[..message.GetPayloadTypes(types)], mm1.Length);
        AsaDebug.Phase1Completed(sink, PeerWithGroup);
        AsaDebug.ResponderForcingRekeyDurationSeconds(sink, PeerWithGroup, 28800, 3600);
        AsaDebug.SecurityNegotiationCompleteL2LInitiator(sink, PeerWithGroup, "10.0.0.2", 0xfd2d851f, 0xdde50931);
        AsaDebug.StartingP2RekeyTimer(sink, PeerWithGroup, 3060);
        AsaDebug.IpsecNewEmbryonicSa(sink, "53FC3C00");

        // Expected text: the seed document (tests/data/seed/asa-ikev1-main-mode-psk-debugs.device-output.txt) and golden-initiator.txt.
        Assert.Equal(new[]
        {
            "[IKEv1 DEBUG]: Pitcher: received a key acquire message, spi 0x0",
            "[IKEv1 DEBUG]: IP = 10.0.0.2, constructing ISAKMP SA payload",
            $"[IKEv1]: IP = 10.0.0.2, IKE_DECODE SENDING Message (msgid=0) with payloads : HDR + SA (1) + VENDOR (13) + VENDOR (13) + VENDOR (13) + VENDOR (13) + NONE (0) total length : {mm1.Length}",
            "[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, PHASE 1 COMPLETED",
            "[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, Responder forcing change of IPSec rekeying duration from 28800 to 3600 seconds",
            "[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, Security negotiation complete for LAN-to-LAN Group (10.0.0.2) Initiator, Inbound SPI = 0xfd2d851f, Outbound SPI = 0xdde50931",
            "[IKEv1 DEBUG]: Group = 10.0.0.2, IP = 10.0.0.2, Starting P2 rekey timer: 3060 seconds.",
            "IPSEC: New embryonic SA created @ 0x53FC3C00,",
        }, sink.Lines);
    }

    [Fact]
    public void The_level_filters_like_debug_crypto_ikev1_N()
    {
        var sink = new ListDebugSink(1);
        AsaDebug.ConstructingIsakmpSaPayload(sink, Peer);   // a level-10 DEBUG line
        AsaDebug.Phase1Completed(sink, PeerWithGroup);       // a level-1 notice
        Assert.Equal(new[] { "[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, PHASE 1 COMPLETED" }, sink.Lines);
        sink.Level = 0;
        AsaDebug.Phase1Completed(sink, PeerWithGroup);
        Assert.Single(sink.Lines);
    }

    [Fact]
    public void Syslog_form_carries_severity_and_id()
    {
        var sink = new SyslogSink();
        AsaDebug.Phase1Completed(sink, PeerWithGroup);
        Assert.Equal("%ASA-5-713119: Group = 10.0.0.2, IP = 10.0.0.2, PHASE 1 COMPLETED", Assert.Single(sink.Lines));
    }

    [Fact]
    public void A_filtered_message_allocates_nothing()
    {
        var sink = new ListDebugSink(0);
        AsaDebug.ConstructingIsakmpSaPayload(sink, Peer); // warm up (JIT)
        AsaDebug.SecurityNegotiationCompleteL2LInitiator(sink, PeerWithGroup, "g", 1, 2);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            AsaDebug.ConstructingIsakmpSaPayload(sink, Peer);
            AsaDebug.SecurityNegotiationCompleteL2LInitiator(sink, PeerWithGroup, "g", (ulong)i, 2);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_printed_message_allocates_nothing_in_the_formatter()
    {
        var sink = new CountingSink();
        AsaDebug.StartingP2RekeyTimer(sink, PeerWithGroup, 3060); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) AsaDebug.StartingP2RekeyTimer(sink, PeerWithGroup, i);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1001, sink.Count);
    }

    private sealed class SyslogSink : IDebugSink
    {
        public List<string> Lines { get; } = new();
        public int Level => 255;
        public void Write(in DebugLine line) => Lines.Add(line.ToSyslogString());
    }

    private sealed class CountingSink : IDebugSink
    {
        public int Count;
        public int Level => 127;
        public void Write(in DebugLine line) { if (line.Text.Length > 0) Count++; }
    }
}
