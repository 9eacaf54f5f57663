using System.Buffers.Binary;
using System.Text.Json;
using IkeActors.Protocol.Tests.Support;

namespace IkeActors.Protocol.Tests;

/// <summary>
/// Writes the messages our generated writers build into one pcap (IPv4/UDP 500), runs
/// Wireshark's independent ISAKMP dissector over it once (tshark -T json, plus one -V text
/// run), and checks that tshark finds nothing malformed and reads back exactly the values
/// the test put in. Expected values are RFC 2407/2408/2409/3947 constants written out
/// here, never re-read with our own decoder.
/// </summary>
public sealed class TsharkInteropTests : IClassFixture<TsharkInteropTests.Capture>
{
    /// <summary>The capture and tshark's two views of it, made once for the class.</summary>
    public sealed class Capture : IDisposable
    {
        public const int MainMode1Frame = 1, MainMode3Frame = 2, QuickMode1Frame = 3, DeleteFrame = 4,
            MainMode5Frame = 5, DpdFrame = 6, BrokenFrame = 7;

        public const int FirstRandomFrame = BrokenFrame + 1, RandomCount = 60;

        public readonly List<byte[]> Messages = [];
        /// <summary>What the test put into each random message, frame FirstRandomFrame + index.</summary>
        public readonly List<RandomModel> Models = [];
        public readonly string Directory;
        public readonly JsonDocument Json;
        public readonly string Verbose;

        public Capture()
        {
            Messages.Add(SampleMessages.MainMode1());
            Messages.Add(SampleMessages.MainMode3());
            Messages.Add(SampleMessages.QuickMode1());
            Messages.Add(SampleMessages.InformationalDelete());
            Messages.Add(MainMode5Plaintext());
            Messages.Add(DpdAndIsakmpDelete());
            Messages.Add(Broken());
            var random = new Random(20261127);
            for (var i = 0; i < RandomCount; i++)
            {
                var (bytes, model) = RandomMessage(random);
                Messages.Add(bytes);
                Models.Add(model);
            }

            var pcap = new PcapWriter(PcapWriter.LinkTypeEthernet);
            foreach (var m in Messages) pcap.AddUdp(m, [10, 0, 0, 1], 500, [10, 0, 0, 2], 500);
            Directory = Path.Combine(Path.GetTempPath(), "ikeactors-tshark-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(Directory);
            var file = Path.Combine(Directory, "samples.pcap");
            pcap.Save(file);

            Json = JsonDocument.Parse(Tshark.Run("-n", "-r", file, "-o", "ip.check_checksum:TRUE", "-T", "json", "--no-duplicate-keys"));
            Verbose = Tshark.Run("-n", "-r", file, "-V");
        }

        public JsonElement Frame(int number) => Json.RootElement[number - 1].GetProperty("_source").GetProperty("layers");

        public JsonElement Isakmp(int number) => Frame(number).GetProperty("isakmp");

        public void Dispose()
        {
            Json.Dispose();
            try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
        }
    }

    private readonly Capture _c;

    public TsharkInteropTests(Capture capture) => _c = capture;

    // ---- the extra messages this test builds itself --------------------------------------

    /// <summary>MM5 as it is before encryption (RFC 2409 §5): ID(IPV4_ADDR 10.0.0.1, UDP/500) + HASH + N(INITIAL-CONTACT).</summary>
    private static byte[] MainMode5Plaintext()
    {
        var buffer = new byte[256];
        var m = new MessageBuilder(buffer, new IsakmpHeader
        {
            InitiatorCookie = SampleMessages.InitiatorCookie, ResponderCookie = SampleMessages.ResponderCookie, Version = 0x10,
            ExchangeType = ExchangeType.IdentityProtection, Flags = 0, MessageId = 0,
        });
        m.Add(new IdPayload { IdType = (IdType)1, ProtocolId = 17, Port = 500, IdentificationData = new byte[] { 10, 0, 0, 1 } });
        m.Add(new HashPayload { HashData = SampleMessages.Bytes(20, 9) });
        m.Add(new NotificationPayload
        {
            Doi = (Doi)1, ProtocolId = (ProtocolId)1, NotifyType = (NotifyMessageType)24578, Spi = Cookies(),
        });
        return m.Finish().ToArray();
    }

    /// <summary>Informational: HASH + N(R-U-THERE, RFC 3706 §5: 16-byte cookie SPI, 4-byte sequence) + DELETE(ISAKMP SA, SPI size 16).</summary>
    private static byte[] DpdAndIsakmpDelete()
    {
        var buffer = new byte[256];
        var m = new MessageBuilder(buffer, new IsakmpHeader
        {
            InitiatorCookie = SampleMessages.InitiatorCookie, ResponderCookie = SampleMessages.ResponderCookie, Version = 0x10,
            ExchangeType = (ExchangeType)5, Flags = 0, MessageId = 0x0badcafe,
        });
        m.Add(new HashPayload { HashData = SampleMessages.Bytes(20, 10) });
        m.Add(new NotificationPayload
        {
            Doi = (Doi)1, ProtocolId = (ProtocolId)1, NotifyType = (NotifyMessageType)36136, Spi = Cookies(),
            NotificationData = new byte[] { 0x00, 0x00, 0x30, 0x39 },
        });
        m.Add(new DeletePayload { Doi = (Doi)1, ProtocolId = (ProtocolId)1, SpiSize = 16, Spis = Cookies() });
        return m.Finish().ToArray();
    }

    /// <summary>The Informational DELETE with its HASH payload length raised past the message: both decoders must object.</summary>
    private static byte[] Broken()
    {
        var bytes = SampleMessages.InformationalDelete();
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(28 + 2), 200);
        return bytes;
    }

    private static byte[] Cookies()
    {
        var c = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(c, SampleMessages.InitiatorCookie);
        BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(8), SampleMessages.ResponderCookie);
        return c;
    }

    // ---- JSON helpers ---------------------------------------------------------------------

    /// <summary>With --no-duplicate-keys a repeated key becomes an array, a single one stays a value.</summary>
    private static List<JsonElement> All(JsonElement parent, string key)
    {
        if (!parent.TryGetProperty(key, out var v)) return [];
        return v.ValueKind == JsonValueKind.Array ? [.. v.EnumerateArray()] : [v];
    }

    private static string S(JsonElement parent, string key) =>
        parent.TryGetProperty(key, out var v) ? v.GetString() ?? "" : throw new Xunit.Sdk.XunitException($"tshark did not report {key} in {parent}");

    private static long N(JsonElement parent, string key)
    {
        var s = S(parent, key);
        return s.StartsWith("0x", StringComparison.Ordinal) ? Convert.ToInt64(s[2..], 16) : long.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Hex(ReadOnlySpan<byte> b) => string.Join(':', b.ToArray().Select(x => x.ToString("x2")));

    private static string Hex(string compact) => Hex(Convert.FromHexString(compact));

    private static List<JsonElement> Payloads(JsonElement isakmp) => All(isakmp, "isakmp.typepayload_tree");

    private static List<long> PayloadTypes(JsonElement isakmp) =>
        [.. All(isakmp, "isakmp.typepayload").Select(e => long.Parse(e.GetString()!, System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>Every (path, value) of the object tree whose key satisfies the predicate.</summary>
    private static IEnumerable<(string Key, JsonElement Value)> Find(JsonElement e, Func<string, bool> match)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                if (match(p.Name)) yield return (p.Name, p.Value);
                foreach (var x in Find(p.Value, match)) yield return x;
            }
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in e.EnumerateArray())
                foreach (var x in Find(item, match)) yield return x;
        }
    }

    // Wireshark's expert severities (epan/proto.h PI_SEVERITY_MASK values).
    private const long SeverityWarn = 0x00600000, SeverityError = 0x00800000;

    private static List<string> Problems(JsonElement frame)
    {
        var problems = new List<string>();
        foreach (var (key, value) in Find(frame, k => k.StartsWith("_ws.malformed", StringComparison.Ordinal)))
            problems.Add($"{key}: {value}");
        foreach (var (_, value) in Find(frame, k => k == "_ws.expert"))
            foreach (var expert in value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray()] : new List<JsonElement> { value })
            {
                var severity = expert.TryGetProperty("_ws.expert.severity", out var sv) ? long.Parse(sv.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : 0;
                if (severity >= SeverityWarn) problems.Add($"expert severity 0x{severity:x}: {expert}");
            }
        return problems;
    }

    // ---- tests ------------------------------------------------------------------------------

    [Fact]
    public void Tshark_sees_every_frame_as_isakmp_on_udp_500_with_a_valid_ip_header()
    {
        Assert.Equal(_c.Messages.Count, _c.Json.RootElement.GetArrayLength());
        for (var i = 1; i <= _c.Messages.Count; i++)
        {
            var frame = _c.Frame(i);
            Assert.Equal("eth:ethertype:ip:udp:isakmp", S(frame.GetProperty("frame"), "frame.protocols"));
            var ip = frame.GetProperty("ip");
            Assert.Equal("10.0.0.1", S(ip, "ip.src"));
            Assert.Equal("10.0.0.2", S(ip, "ip.dst"));
            Assert.Equal(20 + 8 + _c.Messages[i - 1].Length, N(ip, "ip.len"));
            var udp = frame.GetProperty("udp");
            Assert.Equal(500, N(udp, "udp.srcport"));
            Assert.Equal(500, N(udp, "udp.dstport"));
            Assert.Equal(8 + _c.Messages[i - 1].Length, N(udp, "udp.length"));
            Assert.Equal("1", S(ip, "ip.checksum.status")); // 1 = Good (validation switched on for this run)
        }
    }

    [Fact]
    public void Ip_header_checksum_sums_to_zero()
    {
        // RFC 1071: summing a header that includes its checksum gives 0xFFFF, so the complement is 0.
        var packet = PcapWriter.BuildIpv4Udp(SampleMessages.MainMode1(), [10, 0, 0, 1], 500, [10, 0, 0, 2], 500, 0x1234);
        Assert.Equal(0, PcapWriter.InternetChecksum(packet.AsSpan(0, 20)));
        Assert.NotEqual(0, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(10)));
    }

    [Fact]
    public void No_malformed_packet_or_expert_warning_or_error_in_any_message_we_wrote()
    {
        for (var i = 1; i < Capture.BrokenFrame; i++)
            Assert.True(Problems(_c.Frame(i)).Count == 0, $"frame {i}: " + string.Join("; ", Problems(_c.Frame(i))));
    }

    [Fact]
    public void The_checks_do_catch_a_broken_message()
    {
        // A HASH payload length of 200 in a 68-byte message: tshark flags it, and so do we.
        var problems = Problems(_c.Frame(Capture.BrokenFrame));
        Assert.Contains(problems, p => p.Contains("Malformed", StringComparison.Ordinal));
        Assert.False(IsakmpMessage.TryParse(_c.Messages[Capture.BrokenFrame - 1], out _, out var error));
        Assert.Equal(new WireError(28 + 2, "generic payload header.PayloadLength", WireErrorReason.LengthBeyondData), error);

        // The -V text agrees: exactly one malformed frame, and it is the last one.
        var frames = _c.Verbose.Split("\nFrame ", StringSplitOptions.None);
        Assert.Equal(_c.Messages.Count, frames.Length);
        for (var i = 0; i < frames.Length; i++)
        {
            var bad = frames[i].Contains("[Malformed Packet", StringComparison.Ordinal) || frames[i].Contains("Expert Info (Error", StringComparison.Ordinal)
                || frames[i].Contains("Expert Info (Warning", StringComparison.Ordinal);
            Assert.True(bad == (i + 1 == Capture.BrokenFrame), $"frame {i + 1}: malformed/expert text {(bad ? "present" : "absent")}");
        }
    }

    [Fact]
    public void Headers_read_the_same()
    {
        // (frame, exchange type, responder cookie, message id)
        var expected = new (int Frame, long Exchange, ulong Rspi, uint MessageId)[]
        {
            (Capture.MainMode1Frame, 2, 0, 0),                     // Identity Protection (RFC 2408 §4.6)
            (Capture.MainMode3Frame, 2, SampleMessages.ResponderCookie, 0),
            (Capture.QuickMode1Frame, 32, SampleMessages.ResponderCookie, 0x7b80c2b0), // Quick Mode (RFC 2409)
            (Capture.DeleteFrame, 5, SampleMessages.ResponderCookie, 0x1234abcd),     // Informational
            (Capture.MainMode5Frame, 2, SampleMessages.ResponderCookie, 0),
            (Capture.DpdFrame, 5, SampleMessages.ResponderCookie, 0x0badcafe),
        };
        foreach (var (frame, exchange, rspi, messageId) in expected)
        {
            var h = _c.Isakmp(frame);
            Assert.Equal("85:f3:28:1b:bd:be:e1:22", S(h, "isakmp.ispi"));
            Assert.Equal(Hex(rspi.ToString("x16")), S(h, "isakmp.rspi"));
            Assert.Equal("0x10", S(h, "isakmp.version"));
            Assert.Equal(exchange, N(h, "isakmp.exchangetype"));
            Assert.Equal("0x00", S(h, "isakmp.flags"));
            Assert.Equal(messageId, (uint)N(h, "isakmp.messageid"));
            Assert.Equal(_c.Messages[frame - 1].Length, N(h, "isakmp.length"));
        }
    }

    [Fact]
    public void Payload_types_and_lengths_read_the_same()
    {
        // Lengths from the RFC layouts: generic header 4; SA 4+8 + proposal 8(+SPI) + transform 8 + attributes
        // (TV 4 each, TLV 4+value); VID 4+id; KE 4+128; NONCE/HASH/NAT-D 4+20; ID 8+data; N 12+SPI+data; D 12+SPIs.
        const int mm1Transform = 8 + 6 * 4 + (4 + 4), mm1Proposal = 8 + mm1Transform, mm1Sa = 12 + mm1Proposal;
        const int qmTransform = 8 + 6 * 4 + (4 + 4), qmProposal = 8 + 4 + qmTransform, qmSa = 12 + qmProposal;
        var expected = new (int Frame, (long Type, long Length)[] Payloads)[]
        {
            (Capture.MainMode1Frame, [(1, mm1Sa), (13, 4 + 16), (13, 4 + 16), (13, 4 + 16), (13, 4 + 20)]),
            (Capture.MainMode3Frame, [(4, 4 + 128), (10, 4 + 20), (13, 4 + 16), (13, 4 + 8), (13, 4 + 16), (13, 4 + 16), (20, 4 + 20), (20, 4 + 20)]),
            (Capture.QuickMode1Frame, [(8, 4 + 20), (1, qmSa), (10, 4 + 20), (5, 8 + 8), (5, 8 + 8), (11, 12 + 16)]),
            (Capture.DeleteFrame, [(8, 4 + 20), (12, 12 + 4)]),
            (Capture.MainMode5Frame, [(5, 8 + 4), (8, 4 + 20), (11, 12 + 16)]),
            (Capture.DpdFrame, [(8, 4 + 20), (11, 12 + 16 + 4), (12, 12 + 16)]),
        };
        foreach (var (frame, payloads) in expected)
        {
            var isakmp = _c.Isakmp(frame);
            Assert.Equal(payloads.Select(p => p.Type), PayloadTypes(isakmp));
            var trees = Payloads(isakmp);
            Assert.Equal(payloads.Length, trees.Count);
            for (var i = 0; i < trees.Count; i++)
            {
                Assert.Equal(payloads[i].Length, N(trees[i], "isakmp.payloadlength"));
                Assert.Equal(i + 1 < payloads.Length ? payloads[i + 1].Type : 0, N(trees[i], "isakmp.nextpayload"));
            }
            Assert.Equal(payloads[0].Type, N(isakmp, "isakmp.nextpayload"));
            Assert.Equal(28 + payloads.Sum(p => p.Length), N(isakmp, "isakmp.length"));
        }
    }

    private static List<(long Format, long Type, string Value)> Attributes(JsonElement transform, string prefix) =>
        [.. All(transform, prefix).Select(a => (N(a, prefix + ".format"), N(a, prefix + ".type"), S(a, prefix + ".value")))];

    [Fact]
    public void Main_mode_sa_proposal_transform_and_oakley_attributes_read_the_same()
    {
        var sa = Payloads(_c.Isakmp(Capture.MainMode1Frame))[0];
        Assert.Equal(1, N(sa, "isakmp.sa.doi"));                       // IPSEC DOI
        Assert.Equal("00:00:00:01", S(sa, "isakmp.sa.situation"));     // SIT_IDENTITY_ONLY
        Assert.Equal(2, N(sa, "isakmp.typepayload"));
        var proposal = Assert.Single(All(sa, "isakmp.typepayload_tree"));
        Assert.Equal(1, N(proposal, "isakmp.prop.number"));
        Assert.Equal(1, N(proposal, "isakmp.prop.protoid"));           // PROTO_ISAKMP
        Assert.Equal(0, N(proposal, "isakmp.spisize"));
        Assert.False(proposal.TryGetProperty("isakmp.spi", out _));
        Assert.Equal(1, N(proposal, "isakmp.prop.transforms"));
        Assert.Equal(3, N(proposal, "isakmp.typepayload"));
        var transform = Assert.Single(All(proposal, "isakmp.typepayload_tree"));
        Assert.Equal(1, N(transform, "isakmp.trans.number"));
        Assert.Equal(1, N(transform, "isakmp.trans.id"));              // KEY_IKE
        // RFC 2409 Appendix A: 1 encryption AES-CBC 7, 14 key length 128, 2 hash SHA 2, 4 group 2,
        // 3 auth pre-shared key 1, 11 life type seconds 1, 12 life duration 86400 (TLV, 4 bytes).
        Assert.Equal(
            [(1, 1, "00:07"), (1, 14, "00:80"), (1, 2, "00:02"), (1, 4, "00:02"), (1, 3, "00:01"), (1, 11, "00:01"), (0, 12, "00:01:51:80")],
            Attributes(transform, "isakmp.ike.attr"));
        var attrs = All(transform, "isakmp.ike.attr");
        Assert.Equal(7, N(attrs[0], "isakmp.ike.attr.encryption_algorithm"));
        Assert.Equal(128, N(attrs[1], "isakmp.ike.attr.key_length"));
        Assert.Equal(2, N(attrs[2], "isakmp.ike.attr.hash_algorithm"));
        Assert.Equal(2, N(attrs[3], "isakmp.ike.attr.group_description"));
        Assert.Equal(1, N(attrs[4], "isakmp.ike.attr.authentication_method"));
        Assert.Equal(1, N(attrs[5], "isakmp.ike.attr.life_type"));
        Assert.Equal(4, N(attrs[6], "isakmp.ike.attr.length"));
        Assert.Equal(86400, N(attrs[6], "isakmp.ike.attr.life_duration"));
    }

    [Fact]
    public void Quick_mode_sa_esp_proposal_and_ipsec_attributes_read_the_same()
    {
        var sa = Payloads(_c.Isakmp(Capture.QuickMode1Frame))[1];
        Assert.Equal(1, N(sa, "isakmp.sa.doi"));
        Assert.Equal("00:00:00:01", S(sa, "isakmp.sa.situation"));
        var proposal = Assert.Single(All(sa, "isakmp.typepayload_tree"));
        Assert.Equal(1, N(proposal, "isakmp.prop.number"));
        Assert.Equal(3, N(proposal, "isakmp.prop.protoid"));           // PROTO_IPSEC_ESP
        Assert.Equal(4, N(proposal, "isakmp.spisize"));
        Assert.Equal("fd:2d:85:1f", S(proposal, "isakmp.spi"));
        Assert.Equal(1, N(proposal, "isakmp.prop.transforms"));
        var transform = Assert.Single(All(proposal, "isakmp.typepayload_tree"));
        Assert.Equal(1, N(transform, "isakmp.trans.number"));
        Assert.Equal(12, N(transform, "isakmp.trans.id"));             // ESP_AES
        // RFC 2407 §4.5: 4 encapsulation tunnel 1, 1 life type seconds 1, 2 duration 28800 (fits TV),
        // 1 life type kilobytes 2, 2 duration 4608000 (TLV), 5 auth HMAC-SHA 2, 6 key length 128.
        Assert.Equal(
            [(1, 4, "00:01"), (1, 1, "00:01"), (1, 2, "70:80"), (1, 1, "00:02"), (0, 2, "00:46:50:00"), (1, 5, "00:02"), (1, 6, "00:80")],
            Attributes(transform, "isakmp.ipsec.attr"));
        var attrs = All(transform, "isakmp.ipsec.attr");
        Assert.Equal(1, N(attrs[0], "isakmp.ipsec.attr.encap_mode"));
        Assert.Equal(28800, N(attrs[2], "isakmp.ipsec.attr.life_duration"));
        Assert.Equal(4608000, N(attrs[4], "isakmp.ipsec.attr.life_duration"));
        Assert.Equal(2, N(attrs[5], "isakmp.ipsec.attr.auth_algorithm"));
        Assert.Equal(128, N(attrs[6], "isakmp.ipsec.attr.key_length"));
    }

    [Fact]
    public void Vendor_ids_read_the_same_bytes_and_tshark_names_them()
    {
        var mm1 = Payloads(_c.Isakmp(Capture.MainMode1Frame)).Skip(1).ToList();
        var mm3 = Payloads(_c.Isakmp(Capture.MainMode3Frame)).Skip(2).Take(4).ToList();
        // MD5 of the draft/RFC names (RFC 3947 §3.1 and the drafts), DPD RFC 3706 §3.1, Cisco's published IDs.
        var expected = new (JsonElement Payload, string Bytes, string Name)[]
        {
            (mm1[0], "cd60464335df21f87cfdb2fc68b6a448", "draft-ietf-ipsec-nat-t-ike-02"),
            (mm1[1], "7d9419a65310ca6f2c179d9215529d56", "draft-ietf-ipsec-nat-t-ike-03"),
            (mm1[2], "4a131c81070358455c5728f20e95452f", "RFC 3947 Negotiation of NAT-Traversal in the IKE"),
            (mm1[3], "4048b7d56ebce88525e7de7f00d6c2d3c0000000", "Cisco Fragmentation"),
            (mm3[0], "12f5f28c457168a9702d9fe274cc0100", "CISCO-UNITY"),
            (mm3[1], "09002689dfd6b712", "XAUTH"),
            (mm3[2], "afcad71368a1f1c96b8696fc77570100", "RFC 3706 DPD (Dead Peer Detection)"),
            (mm3[3], "1f07f70eaa6514d3b0fa96542a500100", "CISCO-CONCENTRATOR"),
        };
        foreach (var (payload, bytes, name) in expected)
        {
            Assert.Equal(Hex(bytes), S(payload, "isakmp.vid_bytes"));
            Assert.Equal(name, S(payload, "isakmp.vid_string"));
        }
    }

    [Fact]
    public void Key_exchange_nonce_hash_and_nat_d_data_read_the_same()
    {
        var mm3 = Payloads(_c.Isakmp(Capture.MainMode3Frame));
        Assert.Equal(Hex(SampleMessages.Bytes(128, 1)), S(mm3[0], "isakmp.key_exchange.data"));
        Assert.Equal(Hex(SampleMessages.Bytes(20, 2)), S(mm3[1], "isakmp.nonce"));
        Assert.Equal(Hex(SampleMessages.Bytes(20, 3)), S(mm3[6], "isakmp.ike.nat_hash"));
        Assert.Equal(Hex(SampleMessages.Bytes(20, 4)), S(mm3[7], "isakmp.ike.nat_hash"));
        var qm = Payloads(_c.Isakmp(Capture.QuickMode1Frame));
        Assert.Equal(Hex(SampleMessages.Bytes(20, 5)), S(qm[0], "isakmp.hash"));
        Assert.Equal(Hex(SampleMessages.Bytes(20, 6)), S(qm[2], "isakmp.nonce"));
        Assert.Equal(Hex(SampleMessages.Bytes(20, 7)), S(Payloads(_c.Isakmp(Capture.DeleteFrame))[0], "isakmp.hash"));
    }

    [Fact]
    public void Identification_payloads_read_the_same()
    {
        var qm = Payloads(_c.Isakmp(Capture.QuickMode1Frame));
        foreach (var (payload, subnet) in new[] { (qm[3], "192.168.1.0"), (qm[4], "192.168.2.0") })
        {
            Assert.Equal(4, N(payload, "isakmp.id.type"));             // ID_IPV4_ADDR_SUBNET
            Assert.Equal(0, N(payload, "isakmp.id.protoid"));
            Assert.Equal(0, N(payload, "isakmp.id.port"));
            var data = payload.GetProperty("isakmp.id.data");
            Assert.Equal(subnet, S(data, "isakmp.id.data.ipv4_addr"));
            Assert.Equal("255.255.255.0", S(data, "isakmp.id.data.ipv4_subnet"));
        }
        var mm5 = Payloads(_c.Isakmp(Capture.MainMode5Frame))[0];
        Assert.Equal(1, N(mm5, "isakmp.id.type"));                     // ID_IPV4_ADDR
        Assert.Equal(17, N(mm5, "isakmp.id.protoid"));
        Assert.Equal(500, N(mm5, "isakmp.id.port"));
        Assert.Equal("10.0.0.1", S(mm5.GetProperty("isakmp.id.data"), "isakmp.id.data.ipv4_addr"));
    }

    [Fact]
    public void Notifications_read_the_same()
    {
        var cookies = "85:f3:28:1b:bd:be:e1:22:b4:fe:68:86:73:c9:45:2c";
        foreach (var payload in new[] { Payloads(_c.Isakmp(Capture.QuickMode1Frame))[5], Payloads(_c.Isakmp(Capture.MainMode5Frame))[2] })
        {
            Assert.Equal(1, N(payload, "isakmp.notify.doi"));
            Assert.Equal(1, N(payload, "isakmp.notify.protoid"));
            Assert.Equal(16, N(payload, "isakmp.spisize"));
            Assert.Equal(24578, N(payload, "isakmp.notify.msgtype"));   // INITIAL-CONTACT (RFC 2407 §4.6.3.3)
            Assert.Equal(cookies, S(payload, "isakmp.spi"));
            Assert.Equal("", S(payload, "isakmp.notify.data"));
        }
        var dpd = Payloads(_c.Isakmp(Capture.DpdFrame))[1];
        Assert.Equal(1, N(dpd, "isakmp.notify.doi"));
        Assert.Equal(1, N(dpd, "isakmp.notify.protoid"));
        Assert.Equal(16, N(dpd, "isakmp.spisize"));
        Assert.Equal(36136, N(dpd, "isakmp.notify.msgtype"));           // R-U-THERE (RFC 3706 §5)
        Assert.Equal(cookies, S(dpd, "isakmp.spi"));
        Assert.Equal("00:00:30:39", S(dpd, "isakmp.notify.data"));
        Assert.Contains("Notify Message Type: R-U-THERE (36136)", _c.Verbose, StringComparison.Ordinal);
        Assert.Contains("Notify Message Type: INITIAL-CONTACT (24578)", _c.Verbose, StringComparison.Ordinal);
    }

    [Fact]
    public void Deletes_read_the_same()
    {
        var esp = Payloads(_c.Isakmp(Capture.DeleteFrame))[1];
        Assert.Equal(1, N(esp, "isakmp.delete.doi"));
        Assert.Equal(3, N(esp, "isakmp.delete.protoid"));              // ESP
        Assert.Equal(4, N(esp, "isakmp.spisize"));
        Assert.Equal(1, N(esp, "isakmp.spinum"));
        Assert.Equal(["dd:e5:09:31"], All(esp, "isakmp.delete.spi").Select(e => e.GetString()));

        var isakmpSa = Payloads(_c.Isakmp(Capture.DpdFrame))[2];
        Assert.Equal(1, N(isakmpSa, "isakmp.delete.doi"));
        Assert.Equal(1, N(isakmpSa, "isakmp.delete.protoid"));         // ISAKMP
        Assert.Equal(16, N(isakmpSa, "isakmp.spisize"));
        Assert.Equal(1, N(isakmpSa, "isakmp.spinum"));
        Assert.Equal(["85:f3:28:1b:bd:be:e1:22:b4:fe:68:86:73:c9:45:2c"], All(isakmpSa, "isakmp.delete.spi").Select(e => e.GetString()));
    }

    // ---- random valid messages ----------------------------------------------------------------

    /// <summary>One expected payload: its type, length, the (tshark field, value) pairs it must show, and SA proposals.</summary>
    public sealed record ExpectedPayload(int Type, int Length, List<(string Field, string Value)> Fields, List<ExpectedProposal> Proposals);

    public sealed record ExpectedProposal(int Number, int ProtocolId, string? Spi, List<ExpectedTransform> Transforms);

    public sealed record ExpectedTransform(int Number, int Id, string AttributePrefix, List<(long Format, long Type, string Value)> Attributes);

    public sealed record RandomModel(ulong Icookie, ulong Rcookie, int Exchange, uint MessageId, List<ExpectedPayload> Payloads);

    private static byte[] RandomBytes(Random r, int min, int max)
    {
        var b = new byte[r.Next(min, max + 1)];
        r.NextBytes(b);
        return b;
    }

    private static ulong RandomCookie(Random r) => (ulong)r.NextInt64(1, long.MaxValue) << 1 | 1;

    /// <summary>
    /// A structurally valid message of 1-8 payloads with random contents, kept to what the RFCs
    /// allow for each field (so that a complaint from tshark means a wrong encoding, not an odd value).
    /// </summary>
    private static (byte[] Bytes, RandomModel Model) RandomMessage(Random r)
    {
        var exchanges = new[] { 2, 4, 5, 32 };
        var model = new RandomModel(RandomCookie(r), r.Next(4) == 0 ? 0 : RandomCookie(r), exchanges[r.Next(exchanges.Length)], (uint)r.NextInt64(0, uint.MaxValue), []);
        var buffer = new byte[8192];
        var m = new MessageBuilder(buffer, new IsakmpHeader
        {
            InitiatorCookie = model.Icookie, ResponderCookie = model.Rcookie, Version = 0x10,
            ExchangeType = (ExchangeType)model.Exchange, Flags = 0, MessageId = model.MessageId,
        });
        var count = r.Next(1, 9);
        for (var i = 0; i < count; i++)
        {
            switch (r.Next(9))
            {
                case 0:
                {
                    var (sa, expected) = RandomSa(r);
                    m.Add(sa);
                    model.Payloads.Add(expected);
                    break;
                }
                case 1:
                {
                    var data = RandomBytes(r, 1, 300);
                    m.Add(new KePayload { KeyExchangeData = data });
                    model.Payloads.Add(new(4, 4 + data.Length, [("isakmp.key_exchange.data", Hex(data))], []));
                    break;
                }
                case 2:
                {
                    var data = RandomBytes(r, 8, 256);
                    m.Add(new NoncePayload { NonceData = data });
                    model.Payloads.Add(new(10, 4 + data.Length, [("isakmp.nonce", Hex(data))], []));
                    break;
                }
                case 3:
                {
                    var data = RandomBytes(r, 16, 64);
                    m.Add(new HashPayload { HashData = data });
                    model.Payloads.Add(new(8, 4 + data.Length, [("isakmp.hash", Hex(data))], []));
                    break;
                }
                case 4:
                {
                    var data = RandomBytes(r, 4, 40);
                    m.Add(new VendorIdPayload { VendorId = data });
                    model.Payloads.Add(new(13, 4 + data.Length, [("isakmp.vid_bytes", Hex(data))], []));
                    break;
                }
                case 5:
                {
                    var data = RandomBytes(r, 16, 32);
                    m.Add(new NatDPayload { HashOfAddressAndPort = data });
                    model.Payloads.Add(new(20, 4 + data.Length, [("isakmp.ike.nat_hash", Hex(data))], []));
                    break;
                }
                case 6:
                {
                    // ID_IPV4_ADDR (1), ID_IPV4_ADDR_SUBNET (4) or ID_KEY_ID (11), RFC 2407 §4.6.2.
                    var kind = new[] { 1, 4, 11 }[r.Next(3)];
                    var data = kind switch { 1 => RandomBytes(r, 4, 4), 4 => RandomBytes(r, 8, 8), _ => RandomBytes(r, 1, 32) };
                    var protocol = (byte)(r.Next(2) == 0 ? 0 : 17);
                    var port = (ushort)(protocol == 0 ? 0 : r.Next(0, 65536));
                    m.Add(new IdPayload { IdType = (IdType)kind, ProtocolId = protocol, Port = port, IdentificationData = data });
                    var fields = new List<(string, string)> { ("isakmp.id.type", $"{kind}"), ("isakmp.id.protoid", $"{protocol}"), ("isakmp.id.port", $"{port}") };
                    model.Payloads.Add(new(5, 8 + data.Length, fields, []));
                    break;
                }
                case 7:
                {
                    // INITIAL-CONTACT with the cookies, R-U-THERE / R-U-THERE-ACK with a sequence number (RFC 3706), or
                    // an ESP notify (RESPONDER-LIFETIME 24576 without data) with a 4-byte SPI.
                    var which = r.Next(3);
                    var (protocol, spi, type, data) = which switch
                    {
                        0 => (1, RandomBytes(r, 16, 16), 24578, Array.Empty<byte>()),
                        1 => (1, RandomBytes(r, 16, 16), 36136 + r.Next(2), RandomBytes(r, 4, 4)),
                        _ => (3, RandomBytes(r, 4, 4), 24576, Array.Empty<byte>()),
                    };
                    m.Add(new NotificationPayload { Doi = (Doi)1, ProtocolId = (ProtocolId)protocol, NotifyType = (NotifyMessageType)type, Spi = spi, NotificationData = data });
                    var fields = new List<(string, string)>
                    {
                        ("isakmp.notify.doi", "1"), ("isakmp.notify.protoid", $"{protocol}"), ("isakmp.spisize", $"{spi.Length}"),
                        ("isakmp.notify.msgtype", $"{type}"), ("isakmp.spi", Hex(spi)),
                    };
                    if (which == 1) fields.Add(("isakmp.notify.data", Hex(data)));
                    model.Payloads.Add(new(11, 12 + spi.Length + data.Length, fields, []));
                    break;
                }
                default:
                {
                    var n = r.Next(1, 5);
                    var spis = RandomBytes(r, 4 * n, 4 * n);
                    m.Add(new DeletePayload { Doi = (Doi)1, ProtocolId = (ProtocolId)3, SpiSize = 4, Spis = spis });
                    var fields = new List<(string, string)>
                    {
                        ("isakmp.delete.doi", "1"), ("isakmp.delete.protoid", "3"), ("isakmp.spisize", "4"), ("isakmp.spinum", $"{n}"),
                    };
                    model.Payloads.Add(new(12, 12 + spis.Length, fields, []));
                    break;
                }
            }
        }
        return (m.Finish().ToArray(), model);
    }

    /// <summary>1-3 proposals: ISAKMP (KEY_IKE, Oakley attributes) or ESP/AH (4-byte SPI, IPsec DOI attributes).</summary>
    private static (SaPayload, ExpectedPayload) RandomSa(Random r)
    {
        var proposals = new List<ProposalPayload>();
        var expected = new List<ExpectedProposal>();
        var proposalCount = r.Next(1, 4);
        var phase1 = r.Next(2) == 0;
        var length = 12;
        for (var p = 1; p <= proposalCount; p++)
        {
            var protocol = phase1 ? 1 : r.Next(2, 4);
            var spi = phase1 ? [] : RandomBytes(r, 4, 4);
            var transforms = new List<TransformPayload>();
            var expectedTransforms = new List<ExpectedTransform>();
            var transformCount = r.Next(1, 4);
            length += 8 + spi.Length;
            for (var t = 1; t <= transformCount; t++)
            {
                var attributes = new List<DataAttribute>();
                var expectedAttributes = new List<(long, long, string)>();
                // Phase 1: encryption 1-7, hash 1-6, auth 1-5, group 1-2/5/14, life type 1-2, life duration TLV.
                // Phase 2: life type 1-2, life duration TLV, encapsulation 1-4, auth 1-7, key length.
                var specs = phase1
                    ? new (int Type, int[] Values)[] { (1, [1, 2, 3, 5, 7]), (2, [1, 2, 4, 5, 6]), (3, [1, 3, 5]), (4, [1, 2, 5, 14]), (11, [1, 2]), (14, [128, 192, 256]) }
                    : [(1, [1, 2]), (4, [1, 2, 3, 4]), (5, [1, 2, 5, 6, 7]), (6, [128, 192, 256])];
                foreach (var (type, values) in specs)
                {
                    if (r.Next(3) == 0) continue;
                    var value = (ushort)values[r.Next(values.Length)];
                    attributes.Add(DataAttribute.Basic((ushort)type, value));
                    expectedAttributes.Add((1, type, $"{value >> 8:x2}:{value & 0xff:x2}"));
                }
                if (r.Next(2) == 0)
                {
                    var durationType = (ushort)(phase1 ? 12 : 2);
                    var duration = RandomBytes(r, 4, 4);
                    attributes.Add(DataAttribute.Variable(durationType, duration));
                    expectedAttributes.Add((0, durationType, Hex(duration)));
                }
                var id = phase1 ? 1 : protocol == 3 ? new[] { 3, 11, 12 }[r.Next(3)] : new[] { 2, 3 }[r.Next(2)];
                transforms.Add(new TransformPayload { TransformNumber = (byte)t, TransformId = (byte)id, Attributes = attributes });
                expectedTransforms.Add(new(t, id, phase1 ? "isakmp.ike.attr" : "isakmp.ipsec.attr", expectedAttributes));
                length += 8 + attributes.Sum(a => a.EncodedSize);
            }
            proposals.Add(new ProposalPayload { ProposalNumber = (byte)p, ProtocolId = (ProtocolId)protocol, Spi = spi, Transforms = transforms });
            expected.Add(new(p, protocol, spi.Length == 0 ? null : Hex(spi), expectedTransforms));
        }
        var sa = new SaPayload { Doi = (Doi)1, Situation = (Situation)1, Proposals = proposals };
        return (sa, new ExpectedPayload(1, length, [("isakmp.sa.doi", "1"), ("isakmp.sa.situation", "00:00:00:01")], expected));
    }

    [Fact]
    public void Random_valid_messages_read_the_same_and_are_not_malformed()
    {
        // The fixed seed gives a corpus that reaches every payload kind, both SA flavours and TLV attributes.
        var payloads = _c.Models.SelectMany(m => m.Payloads).ToList();
        Assert.Superset(new HashSet<int> { 1, 4, 5, 8, 10, 11, 12, 13, 20 }, payloads.Select(p => p.Type).ToHashSet());
        var allTransforms = payloads.SelectMany(p => p.Proposals).SelectMany(p => p.Transforms).ToList();
        Assert.Contains(allTransforms, t => t.AttributePrefix == "isakmp.ike.attr" && t.Attributes.Any(a => a.Format == 0));
        Assert.Contains(allTransforms, t => t.AttributePrefix == "isakmp.ipsec.attr" && t.Attributes.Any(a => a.Format == 0));
        Assert.Contains(payloads, p => p.Proposals.Count == 3);

        for (var i = 0; i < Capture.RandomCount; i++)
        {
            var frame = Capture.FirstRandomFrame + i;
            var model = _c.Models[i];
            var at = $"random frame {frame}";
            var problems = Problems(_c.Frame(frame));
            Assert.True(problems.Count == 0, $"{at}: " + string.Join("; ", problems));
            var isakmp = _c.Isakmp(frame);
            Assert.Equal(Hex(model.Icookie.ToString("x16")), S(isakmp, "isakmp.ispi"));
            Assert.Equal(Hex(model.Rcookie.ToString("x16")), S(isakmp, "isakmp.rspi"));
            Assert.Equal(model.Exchange, N(isakmp, "isakmp.exchangetype"));
            Assert.Equal(model.MessageId, (uint)N(isakmp, "isakmp.messageid"));
            Assert.Equal(28 + model.Payloads.Sum(p => p.Length), N(isakmp, "isakmp.length"));
            Assert.Equal(model.Payloads.Select(p => (long)p.Type), PayloadTypes(isakmp));
            var trees = Payloads(isakmp);
            Assert.Equal(model.Payloads.Count, trees.Count);
            for (var j = 0; j < trees.Count; j++)
            {
                var (tree, expected) = (trees[j], model.Payloads[j]);
                Assert.True(expected.Length == N(tree, "isakmp.payloadlength"), $"{at} payload {j} (type {expected.Type}): length");
                foreach (var (field, value) in expected.Fields)
                    Assert.True(value == S(tree, field), $"{at} payload {j} (type {expected.Type}): {field} = {S(tree, field)}, expected {value}");
                if (expected.Type == 12)
                    Assert.Equal(int.Parse(expected.Fields[3].Value, System.Globalization.CultureInfo.InvariantCulture), All(tree, "isakmp.delete.spi").Count);
                if (expected.Type != 1) continue;
                var proposals = All(tree, "isakmp.typepayload_tree");
                Assert.Equal(expected.Proposals.Count, proposals.Count);
                for (var p = 0; p < proposals.Count; p++)
                {
                    var (prop, ep) = (proposals[p], expected.Proposals[p]);
                    Assert.Equal(ep.Number, N(prop, "isakmp.prop.number"));
                    Assert.Equal(ep.ProtocolId, N(prop, "isakmp.prop.protoid"));
                    Assert.Equal(ep.Transforms.Count, N(prop, "isakmp.prop.transforms"));
                    Assert.Equal(ep.Spi, prop.TryGetProperty("isakmp.spi", out var spi) ? spi.GetString() : null);
                    var transforms = All(prop, "isakmp.typepayload_tree");
                    Assert.Equal(ep.Transforms.Count, transforms.Count);
                    for (var t = 0; t < transforms.Count; t++)
                    {
                        var et = ep.Transforms[t];
                        Assert.Equal(et.Number, N(transforms[t], "isakmp.trans.number"));
                        Assert.Equal(et.Id, N(transforms[t], "isakmp.trans.id"));
                        Assert.Equal(et.Attributes, Attributes(transforms[t], et.AttributePrefix));
                    }
                }
            }
        }
    }
}
