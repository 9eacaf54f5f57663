using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using IkeActors.Negotiation.Tests.Support;
using IkeActors.Protocol;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// NAT traversal (RFC 3947): vendor IDs in MM1/MM2, NAT-D in MM3/MM4, the float to UDP 4500 at MM5,
/// UDP-Encapsulated modes in Quick Mode. A "NAT" in the lab rewrites the source port the receiver
/// sees, which is what the NAT-D hashes cover (RFC 3947 §3.2: HASH(CKY-I | CKY-R | IP | Port)).
/// </summary>
public class NatTraversalTests
{
    private const byte NatDPayloadRfc = 20, NatDPayloadDraft = 130; // RFC 3947 §3.2; draft-ietf-ipsec-nat-t-ike-02/03

    /// <summary>A port-translating NAT in front of the left gateway: its UDP 500 seems to come from 31500, its 4500 from 34500.</summary>
    private static IPEndPoint LeftBehindNat(bool fromLeft, SendDatagram send) =>
        fromLeft
            ? new IPEndPoint(Lab.LeftAddress.Address, send.NatT ? 34500 : 31500)
            : new IPEndPoint(Lab.RightAddress.Address, send.NatT ? Lab.NatTPort : 500);

    private static Lab NewLab() => new(Lab.SampleConfig("asa1-initiator.cfg"), Lab.SampleConfig("asa2-responder.cfg"));

    /// <summary>The payload types of a plaintext (unencrypted) Main Mode message, in chain order.</summary>
    private static List<byte> PayloadTypes(byte[] datagram)
    {
        Assert.True(IsakmpMessage.TryParse(datagram, out var m, out _));
        var types = new List<byte>();
        foreach (var p in m.Payloads) types.Add(p.Type);
        return types;
    }

    private static byte[] Sent(Lab lab, bool left, string step) =>
        (left ? lab.LeftOutput : lab.RightOutput).OfType<SendDatagram>().Select(s => s.Datagram)
            .First(d => new StepClassifier().Classify(left, d) == step);

    [Fact]
    public void Without_a_NAT_both_ends_stay_on_UDP_500_and_ESP_is_plain_tunnel_mode()
    {
        using var lab = NewLab();
        lab.AcquireAndRun();
        var (left, right) = LabAssert.TunnelUp(lab);

        // Both announced RFC 3947, so NAT-D is in MM3 and MM4 (two each: peer's hash, then own).
        Assert.Equal(NatTraversalVersion.Rfc3947, lab.Left.Sas.Single().NatTraversal);
        Assert.Equal(2, PayloadTypes(Sent(lab, true, "MM3")).Count(t => t == NatDPayloadRfc));
        Assert.Equal(2, PayloadTypes(Sent(lab, false, "MM4")).Count(t => t == NatDPayloadRfc));
        Assert.Contains(lab.LeftLines, l => l.EndsWith("Automatic NAT Detection Status: Remote end is NOT behind a NAT device This end is NOT behind a NAT device"));
        Assert.Contains(lab.RightLines, l => l.EndsWith("Automatic NAT Detection Status: Remote end is NOT behind a NAT device This end is NOT behind a NAT device"));

        Assert.DoesNotContain(lab.LeftOutput.OfType<SendDatagram>(), s => s.NatT);
        Assert.DoesNotContain(lab.RightOutput.OfType<SendDatagram>(), s => s.NatT);
        Assert.Equal(EncapsulationMode.Tunnel, left.Transform.Mode);
        Assert.False(left.IsUdpEncapsulated);
        Assert.False(right.IsUdpEncapsulated);
    }

    [Fact]
    public void Behind_a_NAT_the_initiator_floats_to_4500_at_MM5_and_Quick_Mode_agrees_on_UDP_encapsulated_tunnel()
    {
        using var lab = NewLab();
        lab.SourceSeen = LeftBehindNat;
        lab.AcquireAndRun();
        var (left, right) = LabAssert.TunnelUp(lab);

        // RFC 3947 §3.2: the right sees the left's port rewritten: the left's own hash does not match.
        Assert.Contains(lab.RightLines, l => l.EndsWith("Automatic NAT Detection Status: Remote end IS behind a NAT device This end is NOT behind a NAT device"));
        Assert.Contains(lab.LeftLines, l => l.EndsWith("Automatic NAT Detection Status: Remote end is NOT behind a NAT device This end IS behind a NAT device"));

        // RFC 3947 §4: MM1..MM4 on 500, MM5 on; from the initiator's 4500 to the responder's 4500.
        var leftSends = lab.LeftOutput.OfType<SendDatagram>().ToList();
        var classifier = new StepClassifier();
        foreach (var s in leftSends)
        {
            var step = classifier.Classify(true, s.Datagram);
            var floated = step is not ("MM1" or "MM3");
            Assert.True(floated == s.NatT, $"{step}: NatT={s.NatT}");
            Assert.Equal(floated ? new IPEndPoint(Lab.RightAddress.Address, 4500) : Lab.RightAddress, s.To);
        }
        // The responder answers MM5 and everything after where the NAT put the left's 4500.
        var rightSends = lab.RightOutput.OfType<SendDatagram>().ToList();
        Assert.Equal(2, rightSends.Count(s => !s.NatT)); // MM2, MM4
        Assert.All(rightSends.Where(s => s.NatT), s => Assert.Equal(new IPEndPoint(Lab.LeftAddress.Address, 34500), s.To));

        // RFC 3947 §5.1: Encapsulation Mode 3 (UDP-Encapsulated-Tunnel), ESP to the NAT-T endpoints.
        Assert.Equal(EncapsulationMode.UdpEncapsulatedTunnel, left.Transform.Mode);
        Assert.Equal(new IPEndPoint(Lab.RightAddress.Address, 4500), left.UdpEncapsulatedTo);
        Assert.Equal(new IPEndPoint(Lab.LeftAddress.Address, 34500), right.UdpEncapsulatedTo);
        Assert.True(lab.Right.Sas.Single().NatDetected);
        Assert.True(lab.Left.Sas.Single().NatDetected);

        var show = IkeActors.Negotiation.Show.ShowCommands.CryptoIpsecSa(lab.Right.Context.Config, Lab.RightAddress.Address, lab.Right.Sas, TimeSpan.FromSeconds(5));
        Assert.Contains("in use settings ={L2L, Tunnel,  NAT-T-Encaps, IKEv1, }", show);
    }

    private static NegotiationEngine Forced(string config, IPEndPoint address, int seed) =>
        new(new GatewayContext(Lab.Load(Lab.SampleConfig(config)), address, new SeededEnvironment(seed), new NegotiationSettings { ForceEncapsulation = true }));

    [Fact]
    public void A_responder_that_forces_encapsulation_seems_behind_a_NAT_so_the_initiator_floats_and_ESP_goes_in_UDP()
    {
        using var lab = NewLab();
        lab.Right = Forced("asa2-responder.cfg", Lab.RightAddress, 1001);
        lab.AcquireAndRun();
        var (left, right) = LabAssert.TunnelUp(lab);

        // RFC 3947 §3.2: the right's own hash is a random one, so the left sees it behind a NAT; the right's view is true.
        Assert.Contains(lab.LeftLines, l => l.EndsWith("Automatic NAT Detection Status: Remote end IS behind a NAT device This end is NOT behind a NAT device"));
        Assert.Contains(lab.RightLines, l => l.EndsWith("Automatic NAT Detection Status: Remote end is NOT behind a NAT device This end is NOT behind a NAT device"));
        // RFC 3947 §4: the initiator moves to 4500 at MM5; Quick Mode agrees on UDP-Encapsulated-Tunnel (§5.1).
        Assert.Contains(lab.LeftOutput.OfType<SendDatagram>(), s => s.NatT);
        Assert.Equal(EncapsulationMode.UdpEncapsulatedTunnel, left.Transform.Mode);
        Assert.Equal(new IPEndPoint(Lab.RightAddress.Address, 4500), left.UdpEncapsulatedTo);
        Assert.Equal(new IPEndPoint(Lab.LeftAddress.Address, 4500), right.UdpEncapsulatedTo);
        Assert.True(lab.Left.Sas.Single().NatDetected);
        Assert.True(lab.Right.Sas.Single().NatDetected);
    }

    [Fact]
    public void An_initiator_that_forces_encapsulation_floats_itself_and_the_responder_follows()
    {
        using var lab = NewLab();
        lab.Left = Forced("asa1-initiator.cfg", Lab.LeftAddress, 1);
        lab.AcquireAndRun();
        var (left, right) = LabAssert.TunnelUp(lab);

        Assert.Contains(lab.RightLines, l => l.EndsWith("Automatic NAT Detection Status: Remote end IS behind a NAT device This end is NOT behind a NAT device"));
        var classifier = new StepClassifier();
        foreach (var send in lab.LeftOutput.OfType<SendDatagram>())
        {
            var step = classifier.Classify(true, send.Datagram);
            Assert.True((step is not ("MM1" or "MM3")) == send.NatT, $"{step}: NatT={send.NatT}");
        }
        Assert.Equal(EncapsulationMode.UdpEncapsulatedTunnel, left.Transform.Mode);
        Assert.True(left.IsUdpEncapsulated);
        Assert.True(right.IsUdpEncapsulated);
    }

    [Fact]
    public void Forcing_encapsulation_needs_NAT_T_on_both_ends_without_it_ESP_stays_plain()
    {
        using var lab = NewLab();
        lab.Right = Forced("asa2-responder.cfg", Lab.RightAddress, 1001);
        var natT = new[] { VendorIds.NatTRfc3947.ToArray(), VendorIds.NatTDraft03.ToArray(), VendorIds.NatTDraft02.ToArray() };
        lab.Tamper = (fromLeft, _, d) => fromLeft ? natT.Aggregate(d, (x, vid) => Replace(x, vid, new byte[16])) : d;
        lab.AcquireAndRun();
        var (left, right) = LabAssert.TunnelUp(lab);
        Assert.DoesNotContain(lab.LeftOutput.OfType<SendDatagram>(), s => s.NatT);
        Assert.Equal(EncapsulationMode.Tunnel, left.Transform.Mode);
        Assert.False(right.IsUdpEncapsulated);
    }

    [Fact]
    public void After_the_float_DPD_and_DELETE_go_to_the_NAT_T_endpoint()
    {
        using var lab = NewLab();
        lab.SourceSeen = LeftBehindNat;
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        var before = lab.RightOutput.Actions.Count;
        lab.Right.DeleteAll(lab.RightOutput);
        var deletes = lab.RightOutput.Actions.Skip(before).OfType<SendDatagram>().ToList();
        Assert.NotEmpty(deletes);
        Assert.All(deletes, d => Assert.True(d.NatT && d.To.Equals(new IPEndPoint(Lab.LeftAddress.Address, 34500)), d.To.ToString()));
    }

    [Fact]
    public void A_draft_03_peer_gets_NAT_D_under_payload_130_and_the_draft_encapsulation_mode()
    {
        using var lab = NewLab();
        lab.SourceSeen = LeftBehindNat;
        // The left offers the drafts only: its RFC 3947 vendor ID is overwritten (MM1 VIDs are not under HASH_I).
        lab.Tamper = (fromLeft, _, d) => fromLeft ? Replace(d, VendorIds.NatTRfc3947.ToArray(), new byte[16]) : d;
        lab.AcquireAndRun();
        var (left, _) = LabAssert.TunnelUp(lab);
        Assert.Equal(NatTraversalVersion.Draft03, lab.Right.Sas.Single().NatTraversal);
        Assert.Equal(2, PayloadTypes(Sent(lab, false, "MM4")).Count(t => t == NatDPayloadDraft));
        Assert.Equal(EncapsulationMode.UdpEncapsulatedTunnelDraft, left.Transform.Mode);
    }

    [Fact]
    public void A_peer_without_NAT_T_gets_no_NAT_D_and_nobody_floats_even_through_a_NAT()
    {
        using var lab = NewLab();
        lab.SourceSeen = LeftBehindNat;
        var natT = new[] { VendorIds.NatTRfc3947.ToArray(), VendorIds.NatTDraft03.ToArray(), VendorIds.NatTDraft02.ToArray() };
        lab.Tamper = (fromLeft, _, d) => fromLeft ? natT.Aggregate(d, (x, vid) => Replace(x, vid, new byte[16])) : d;
        lab.AcquireAndRun();
        var (left, _) = LabAssert.TunnelUp(lab);
        Assert.Equal(NatTraversalVersion.None, lab.Right.Sas.Single().NatTraversal);
        Assert.DoesNotContain(PayloadTypes(Sent(lab, false, "MM4")), t => t is NatDPayloadRfc or NatDPayloadDraft);
        Assert.DoesNotContain(lab.RightLines, l => l.Contains("Automatic NAT Detection Status"));
        Assert.DoesNotContain(lab.LeftOutput.OfType<SendDatagram>(), s => s.NatT);
        Assert.Equal(EncapsulationMode.Tunnel, left.Transform.Mode);
    }

    [Fact]
    public void A_floated_SA_keeps_its_NAT_T_endpoint_through_a_snapshot_and_refuses_one_of_another_address()
    {
        using var lab = NewLab();
        lab.SourceSeen = LeftBehindNat;
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        var snapshot = JsonSerializer.Deserialize<IkeSaSnapshot>(JsonSerializer.Serialize(lab.Right.Sas.Single().Snapshot()))!;
        Assert.Equal(NatTraversalVersion.Rfc3947, snapshot.NatTraversal);
        Assert.Equal(34500, snapshot.NatTPeerPort);

        using var engine = new NegotiationEngine(new GatewayContext(Lab.Load(Lab.SampleConfig("asa2-responder.cfg")), Lab.RightAddress, new SeededEnvironment(7)));
        var output = new NegotiationOutput();
        var restored = engine.Restore(snapshot, output);
        Assert.Equal(new IPEndPoint(Lab.LeftAddress.Address, 34500), restored.NatTPeer);
        Assert.True(restored.UsesUdpEncapsulation);
        Assert.Equal(new IPEndPoint(Lab.LeftAddress.Address, 34500), Assert.Single(restored.IpsecSas).Pair.UdpEncapsulatedTo);

        // Hostile snapshots: a NAT-T endpoint on another address, an out-of-range port, an unknown version.
        var elsewhere = JsonSerializer.Deserialize<IkeSaSnapshot>(JsonSerializer.Serialize(snapshot).Replace("\"NatTPeerAddress\":\"10.0.0.1\"", "\"NatTPeerAddress\":\"203.0.113.9\""))!;
        var badPort = JsonSerializer.Deserialize<IkeSaSnapshot>(JsonSerializer.Serialize(snapshot).Replace("\"NatTPeerPort\":34500", "\"NatTPeerPort\":70000"))!;
        var badVersion = JsonSerializer.Deserialize<IkeSaSnapshot>(JsonSerializer.Serialize(snapshot).Replace("\"NatTraversal\":3", "\"NatTraversal\":9"))!;
        foreach (var bad in new[] { elsewhere, badPort, badVersion })
        {
            using var other = new NegotiationEngine(new GatewayContext(Lab.Load(Lab.SampleConfig("asa2-responder.cfg")), Lab.RightAddress, new SeededEnvironment(8)));
            Assert.Throws<IkeSaSnapshotException>(() => other.Restore(bad, new NegotiationOutput()));
        }
    }

    [Fact]
    public void A_datagram_on_4500_with_someone_elses_cookies_moves_nothing()
    {
        using var lab = NewLab();
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        var sa = lab.Right.Sas.Single();
        // A forged informational with the right initiator cookie but a wrong responder cookie, "from 4500".
        var forged = Sent(lab, true, "MM5").ToArray();
        BinaryPrimitives.WriteUInt64BigEndian(forged.AsSpan(8), 0x1122334455667788);
        lab.Right.Receive(forged, new IPEndPoint(Lab.LeftAddress.Address, 40000), lab.RightOutput, natT: true);
        Assert.Null(sa.NatTPeer);
    }

    [Fact]
    public void The_NAT_T_endpoint_moves_only_for_a_datagram_that_authenticates()
    {
        using var lab = NewLab();
        lab.SourceSeen = LeftBehindNat;
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        var sa = lab.Right.Sas.Single();
        Assert.Equal(new IPEndPoint(Lab.LeftAddress.Address, 34500), sa.NatTPeer);

        // Anyone can copy cookies from the wire: a damaged copy of the left's MM5 "from" another port moves nothing.
        var forged = Sent(lab, true, "MM5").ToArray();
        forged[^1] ^= 0x55;
        lab.Right.Receive(forged, new IPEndPoint(Lab.LeftAddress.Address, 40000), lab.RightOutput, natT: true);
        Assert.Equal(new IPEndPoint(Lab.LeftAddress.Address, 34500), sa.NatTPeer);

        // The NAT rebinds the left's 4500 to 34501: its next Quick Mode authenticates (HASH(1)), and the answer goes there.
        lab.SourceSeen = (fromLeft, send) => fromLeft
            ? new IPEndPoint(Lab.LeftAddress.Address, send.NatT ? 34501 : 31500)
            : new IPEndPoint(Lab.RightAddress.Address, send.NatT ? Lab.NatTPort : 500);
        var before = lab.RightOutput.Actions.Count;
        lab.Left.Acquire(new IkeActors.Config.Lookup.Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 6, 40000, 80), lab.LeftOutput);
        lab.Run();
        Assert.Equal(new IPEndPoint(Lab.LeftAddress.Address, 34501), sa.NatTPeer);
        Assert.All(lab.RightOutput.Actions.Skip(before).OfType<SendDatagram>(), d => Assert.Equal(34501, d.To.Port));
        Assert.Equal(2, lab.RightOutput.OfType<InstallIpsecSa>().Count());
    }

    private static byte[] Replace(byte[] data, byte[] find, byte[] with)
    {
        var i = data.AsSpan().IndexOf(find);
        if (i < 0) return data;
        var copy = data.ToArray();
        with.CopyTo(copy.AsSpan(i));
        return copy;
    }
}
