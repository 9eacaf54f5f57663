using IkeActors.Negotiation.Tests.Support;
using IkeActors.Protocol;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// The IOS keepalive payload (type 128, RFC 2408 §3.1 private use) goes in MM5/MM6 only to a peer whose
/// vendor IDs say it is a Cisco gateway. Libreswan 4.10 drops a Main Mode message carrying it ("message
/// ignored because it contains an unknown or unexpected payload type (128??) at the outermost level"),
/// which was seen in the interop lab in both roles.
/// </summary>
public class CiscoPrivatePayloadTests
{
    /// <summary>The left gateway's Cisco vendor IDs made unrecognisable (last byte flipped): it looks like a non-Cisco peer.</summary>
    private static byte[] WithoutCiscoVendorIds(byte[] datagram)
    {
        var copy = (byte[])datagram.Clone();
        foreach (var vid in new[] { VendorIds.CiscoUnity.ToArray(), VendorIds.CiscoVpn3000.ToArray(), VendorIds.IkeActors.ToArray() })
        {
            var at = copy.AsSpan().IndexOf(vid);
            if (at >= 0) copy[at + vid.Length - 1] ^= 0xff;
        }
        return copy;
    }

    [Fact]
    public void A_peer_without_Cisco_vendor_ids_gets_no_IOS_keepalive_payload_and_the_tunnel_comes_up()
    {
        using var lab = new Lab(Lab.SampleConfig("asa1-initiator.cfg"), Lab.SampleConfig("asa2-responder.cfg"));
        lab.Tamper = (fromLeft, _, datagram) => fromLeft ? WithoutCiscoVendorIds(datagram) : datagram;
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);

        // The responder saw no Cisco vendor ID: its MM6 is ID + HASH (+ DPD vendor ID), no payload 128.
        Assert.DoesNotContain(lab.RightLines, l => l.Contains("Constructing IOS keep alive payload", StringComparison.Ordinal));
        Assert.Contains(lab.RightLines, l => l.Contains("SENDING Message (msgid=0) with payloads : HDR + ID (5) + HASH (8) + VENDOR (13) + NONE (0)", StringComparison.Ordinal));
        // The initiator did see the responder's Cisco vendor IDs: its MM5 keeps the payload, as between two ASAs.
        Assert.Contains(lab.LeftLines, l => l.Contains("SENDING Message (msgid=0) with payloads : HDR + ID (5) + HASH (8) + IOS KEEPALIVE (128) + VENDOR (13)", StringComparison.Ordinal));
    }

    [Fact]
    public void Between_two_Cisco_gateways_both_send_it()
    {
        using var lab = new Lab(Lab.SampleConfig("asa1-initiator.cfg"), Lab.SampleConfig("asa2-responder.cfg"));
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        Assert.Contains(lab.LeftLines, l => l.EndsWith("Constructing IOS keep alive payload: proposal=32767/32767 sec.", StringComparison.Ordinal));
        Assert.Contains(lab.RightLines, l => l.EndsWith("Constructing IOS keep alive payload: proposal=32767/32767 sec.", StringComparison.Ordinal));
    }
}
