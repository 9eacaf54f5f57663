using System.Buffers.Binary;
using IkeActors.Protocol.Tests.Support;

namespace IkeActors.Protocol.Tests;

/// <summary>
/// Real packets: the strongSwan 5.9.8 captures in tests/data/strongswan-5.9.8/ (pcapng,
/// Ethernet + IPv4 + UDP 500/4500). Every ISAKMP message parses; every plaintext one is
/// rebuilt from decoded values and re-encodes byte for byte; and what we read agrees with
/// tshark's transcript of the same capture.
/// </summary>
public class ReferenceCaptureTests
{
    private static readonly string[] KnownCaptures =
    [
        "strongswan-strongswan.pcap",
        "icmp-only/strongswan-strongswan.pcap",
        "libreswan/strongswan-libreswan.pcap",
    ];

    public static TheoryData<string> Captures => new(KnownCaptures);

    private static List<CapturedIsakmp> Read(string capture) => PcapNg.ReadIsakmp(InteropReference.File(capture));

    [Fact]
    public void Every_pcap_in_the_reference_folder_is_covered()
    {
        var dir = InteropReference.Directory();
        var found = System.IO.Directory.GetFiles(dir, "*.pcap*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);
        Assert.Equal(KnownCaptures.Order(StringComparer.Ordinal), found);
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void Every_isakmp_message_parses(string capture)
    {
        var messages = Read(capture);
        Assert.True(messages.Count >= 10, $"{capture}: only {messages.Count} ISAKMP messages found");
        foreach (var c in messages)
        {
            Assert.True(IsakmpMessage.TryParse(c.Message, out var message, out var error), $"{c}: {error}");
            Assert.Equal(c.Message.Length, (int)message.Header.Length);
            Assert.Equal(0x10, message.Header.Version);
            Assert.NotEqual(0UL, message.Header.InitiatorCookie);
            if (message.IsEncrypted)
            {
                Assert.False(message.PayloadsValidated, c.ToString());
                // RFC 2409 Appendix B: the ciphertext is whole cipher blocks (3DES here: 8 bytes).
                Assert.Equal(0, message.Body.Length % 8);
                Assert.True(c.SourcePort == 4500 && c.DestinationPort == 4500, $"{c}: encrypted, so NAT-T has floated (tests/data/strongswan-5.9.8/README.md: from MM5 on)");
            }
            else
            {
                Assert.True(message.PayloadsValidated, c.ToString());
                var n = 0;
                foreach (var _ in message.Payloads) n++;
                Assert.True(n >= 2, $"{c}: {n} payloads");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void Every_plaintext_message_rebuilt_from_values_is_byte_identical(string capture)
    {
        var plaintext = 0;
        foreach (var c in Read(capture))
        {
            Assert.True(IsakmpMessage.TryParse(c.Message, out var message, out var error), $"{c}: {error}");
            if (message.IsEncrypted) continue;
            plaintext++;
            var rebuilt = Rebuild(message, c.ToString());
            Assert.True(c.Message.AsSpan().SequenceEqual(rebuilt), $"{c}: re-encoded bytes differ at offset {FirstDifference(c.Message, rebuilt)}\n" +
                $"captured {Convert.ToHexString(c.Message)}\nrebuilt  {Convert.ToHexString(rebuilt)}");
        }
        Assert.Equal(4, plaintext); // MM1-MM4; MM5 onward is encrypted
    }

    private static int FirstDifference(byte[] a, byte[] b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++) if (a[i] != b[i]) return i;
        return n;
    }

    /// <summary>Header and payloads decoded into values, then written again with MessageBuilder.</summary>
    private static byte[] Rebuild(IsakmpMessage message, string what)
    {
        var buffer = new byte[message.Raw.Length + 256];
        var builder = new MessageBuilder(buffer, IsakmpHeader.FromView(message.Header));
        foreach (var entry in message.Payloads)
        {
            WireError error;
            var ok = entry.Type switch
            {
                1 => Add(ref builder, SaPayload.TryDecode(entry.Raw, out var sa, out error), sa),
                4 => Add(ref builder, KePayload.TryDecode(entry.Raw, out var ke, out error), ke),
                5 => Add(ref builder, IdPayload.TryDecode(entry.Raw, out var id, out error), id),
                6 => Add(ref builder, CertPayload.TryDecode(entry.Raw, out var cert, out error), cert),
                7 => Add(ref builder, CertRequestPayload.TryDecode(entry.Raw, out var cr, out error), cr),
                8 => Add(ref builder, HashPayload.TryDecode(entry.Raw, out var hash, out error), hash),
                9 => Add(ref builder, SignaturePayload.TryDecode(entry.Raw, out var sig, out error), sig),
                10 => Add(ref builder, NoncePayload.TryDecode(entry.Raw, out var nonce, out error), nonce),
                11 => Add(ref builder, NotificationPayload.TryDecode(entry.Raw, out var n, out error), n),
                12 => Add(ref builder, DeletePayload.TryDecode(entry.Raw, out var d, out error), d),
                13 => Add(ref builder, VendorIdPayload.TryDecode(entry.Raw, out var vid, out error), vid),
                20 => Add(ref builder, NatDPayload.TryDecode(entry.Raw, out var natd, out error), natd),
                21 => Add(ref builder, NatOaPayload.TryDecode(entry.Raw, out var natoa, out error), natoa),
                128 => Add(ref builder, IosKeepalivePayload.TryDecode(entry.Raw, out var ka, out error), ka),
                130 => Add(ref builder, NatDDraftPayload.TryDecode(entry.Raw, out var natdd, out error), natdd),
                131 => Add(ref builder, NatOaDraftPayload.TryDecode(entry.Raw, out var natoad, out error), natoad),
                132 => Add(ref builder, FragmentPayload.TryDecode(entry.Raw, out var frag, out error), frag),
                _ => throw new Xunit.Sdk.XunitException($"{what}: no value type for payload type {entry.Type}"),
            };
            Assert.True(ok, $"{what}: payload type {entry.Type} at offset {entry.Offset}: {error.Shift(entry.Offset)}");
        }
        return builder.Finish().ToArray();
    }

    private static bool Add<T>(ref MessageBuilder builder, bool decoded, in T value) where T : struct, IIsakmpPayload
    {
        if (decoded) builder.Add(value);
        return decoded;
    }

    [Theory]
    [InlineData("strongswan-strongswan.pcap", "strongswan-strongswan.decoded.txt")]
    [InlineData("strongswan-strongswan.pcap", "strongswan-strongswan.decrypted.txt")]
    [InlineData("icmp-only/strongswan-strongswan.pcap", "icmp-only/strongswan-strongswan.decrypted.txt")]
    [InlineData("libreswan/strongswan-libreswan.pcap", "libreswan/strongswan-libreswan.decrypted.txt")]
    public void What_we_read_agrees_with_the_tshark_transcript(string capture, string transcript)
    {
        var ours = Read(capture);
        var theirs = InteropReference.ParseVerbose(InteropReference.File(transcript));
        Assert.Equal(theirs.Select(t => t.Frame), ours.Select(o => o.FrameNumber));
        for (var i = 0; i < ours.Count; i++)
        {
            var (c, t) = (ours[i], theirs[i]);
            var at = $"{transcript} frame {t.Frame}";
            Assert.Equal(t.SourcePort, c.SourcePort);
            Assert.Equal(t.DestinationPort, c.DestinationPort);
            Assert.Equal(t.NonEspMarker, c.DestinationPort == 4500);
            Assert.True(IsakmpMessage.TryParse(c.Message, out var m, out var error), $"{at}: {error}");
            var h = m.Header;
            Assert.Equal(t.InitiatorSpi, h.InitiatorCookie.ToString("x16"));
            Assert.Equal(t.ResponderSpi, h.ResponderCookie.ToString("x16"));
            Assert.Equal(t.NextPayload, (int)h.NextPayload);
            Assert.Equal(t.ExchangeType, (int)h.ExchangeType);
            Assert.Equal(t.Flags, (int)h.Flags);
            Assert.Equal(t.MessageId, h.MessageId);
            Assert.Equal(t.Length, (int)h.Length);
            if (m.IsEncrypted)
            {
                Assert.Equal(t.EncryptedDataLength, m.Body.Length);
                continue;
            }
            var payloads = new List<(int, int)>();
            var vendorIds = new List<string>();
            foreach (var p in m.Payloads)
            {
                payloads.Add((p.Type, p.Raw.Length));
                if (p.Type == 13)
                {
                    Assert.True(VendorIdPayloadView.TryParse(p.Raw, out var vid, out error), $"{at}: {error}");
                    vendorIds.Add(Convert.ToHexStringLower(vid.VendorId));
                }
            }
            Assert.Equal(t.Payloads, payloads);
            Assert.Equal(t.VendorIds, vendorIds);
        }
    }

    [Fact]
    public void The_transcript_parser_reads_what_the_interop_readme_says()
    {
        // Facts taken by eye from strongswan-strongswan.decoded.txt and the reference's README, so that
        // a transcript parser reading nothing cannot make the comparison above pass vacuously.
        var t = InteropReference.ParseVerbose(InteropReference.File("strongswan-strongswan.decoded.txt"));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17], t.Select(m => m.Frame));
        Assert.Equal([2, 2, 2, 2, 2, 2, 32, 32, 32, 5, 5], t.Select(m => m.ExchangeType));
        Assert.Equal([180, 160, 244, 244, 100, 68, 180, 180, 60, 76, 84], t.Select(m => m.Length));
        Assert.All(t, m => Assert.Equal("85f3281bbdbee122", m.InitiatorSpi));
        Assert.Equal("0000000000000000", t[0].ResponderSpi);
        Assert.All(t.Skip(1), m => Assert.Equal("7f0c2fc3cf65bdd2", m.ResponderSpi));
        Assert.Equal([(1, 56), (13, 12), (13, 20), (13, 24), (13, 20), (13, 20)], t[0].Payloads);
        Assert.Equal([(4, 132), (10, 36), (20, 24), (20, 24)], t[2].Payloads);
        Assert.Equal(72, t[4].EncryptedDataLength);
        Assert.True(t[4].NonEspMarker);
    }

    [Fact]
    public void Strongswan_main_mode_1_reads_as_the_interop_readme_describes()
    {
        var mm1 = Read("strongswan-strongswan.pcap")[0];
        Assert.Equal((1, "10.0.0.1", "10.0.0.2", 500), (mm1.FrameNumber, mm1.Source, mm1.Destination, (int)mm1.DestinationPort));
        Assert.True(IsakmpMessage.TryParse(mm1.Message, out var m, out var error), error.ToString());
        Assert.Equal(0x85f3281bbdbee122UL, m.Header.InitiatorCookie);
        Assert.Equal(0UL, m.Header.ResponderCookie);
        Assert.Equal(ExchangeType.IdentityProtection, m.Header.ExchangeType);
        Assert.Equal(180u, m.Header.Length);
        Span<byte> types = stackalloc byte[16];
        Assert.Equal(new byte[] { 1, 13, 13, 13, 13, 13 }, types[..m.GetPayloadTypes(types)].ToArray());

        // The reference's README: XAUTH, DPD, Cisco Fragmentation, RFC 3947, draft-ietf-ipsec-nat-t-ike-02\n (bytes as tshark prints them).
        var vids = new List<string>();
        foreach (var p in m.Payloads)
            if (p.Type == 13 && VendorIdPayloadView.TryParse(p.Raw, out var v, out _)) vids.Add(Convert.ToHexStringLower(v.VendorId));
        Assert.Equal(
            ["09002689dfd6b712", "afcad71368a1f1c96b8696fc77570100", "4048b7d56ebce88525e7de7f00d6c2d380000000",
             "4a131c81070358455c5728f20e95452f", "90cb80913ebb696e086381b5ec427b1f"], vids);
        Assert.Equal(KnownVendorId.NatTDraft02N, VendorIds.Identify(Convert.FromHexString(vids[4])));
        Assert.Equal(KnownVendorId.NatTRfc3947, VendorIds.Identify(Convert.FromHexString(vids[3])));

        // The proposal: 3des-sha1-modp1024, PSK, 86400 s (the reference's README, "Lab"; decoded.txt frame 1).
        foreach (var p in m.Payloads)
        {
            if (p.Type != 1) continue;
            Assert.True(SaPayloadView.TryParse(p.Raw, out var sa, out error), error.ToString());
            Assert.Equal(Doi.Ipsec, sa.Doi);
            Assert.Equal(Situation.IdentityOnly, sa.Situation);
            var proposals = 0;
            foreach (var proposal in sa.Proposals)
            {
                proposals++;
                Assert.Equal((1, ProtocolId.Isakmp, 0, 1), ((int)proposal.ProposalNumber, proposal.ProtocolId, (int)proposal.SpiSize, (int)proposal.TransformCount));
                foreach (var transform in proposal.Transforms)
                {
                    Assert.Equal((1, 1), ((int)transform.TransformNumber, (int)transform.TransformId));
                    var attributes = new List<(int, bool, ulong)>();
                    foreach (var a in transform.Attributes)
                    {
                        Assert.True(a.TryGetInteger(out var value));
                        attributes.Add((a.Type, a.IsBasic, value));
                    }
                    Assert.Equal([(1, true, 5UL), (2, true, 2UL), (4, true, 2UL), (3, true, 1UL), (11, true, 1UL), (12, false, 86400UL)], attributes);
                }
            }
            Assert.Equal(1, proposals);
        }
    }

    [Fact]
    public void Strongswan_main_mode_3_carries_nat_d_and_the_floated_messages_carry_the_non_esp_marker()
    {
        var all = Read("strongswan-strongswan.pcap");
        var mm3 = all[2];
        Assert.True(IsakmpMessage.TryParse(mm3.Message, out var m, out var error), error.ToString());
        Span<byte> types = stackalloc byte[16];
        Assert.Equal(new byte[] { 4, 10, 20, 20 }, types[..m.GetPayloadTypes(types)].ToArray());
        foreach (var p in m.Payloads)
        {
            if (p.Type == 4) { Assert.True(KePayloadView.TryParse(p.Raw, out var ke, out error)); Assert.Equal(128, ke.KeyExchangeData.Length); } // MODP1024
            if (p.Type == 20) { Assert.True(NatDPayloadView.TryParse(p.Raw, out var natd, out error)); Assert.Equal(20, natd.HashOfAddressAndPort.Length); } // SHA-1
        }
        // Frames 5 on (README: floats to 4500 from MM5): the UDP payload starts with four zero bytes.
        var floated = all.Where(c => c.DestinationPort == 4500).Select(c => c.FrameNumber);
        Assert.Equal([5, 6, 7, 8, 9, 16, 17], floated);
        var raw = PcapNg.ReadPackets(File.ReadAllBytes(InteropReference.File("strongswan-strongswan.pcap")));
        var frame5 = raw.Single(r => r.Frame == 5).Data;
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(frame5.AsSpan(14 + 20 + 8)));
        Assert.Equal(0x85f3281bbdbee122UL, BinaryPrimitives.ReadUInt64BigEndian(frame5.AsSpan(14 + 20 + 8 + 4)));
    }
}
