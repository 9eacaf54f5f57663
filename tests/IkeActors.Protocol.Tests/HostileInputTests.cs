using CsCheck;
using IkeActors.Protocol.Tests.Support;

namespace IkeActors.Protocol.Tests;

/// <summary>
/// Wire input never throws. For our sample messages and the real strongSwan/libreswan
/// packets: every truncation, every single-byte mutation, random multi-byte mutations and
/// random byte arrays go through IsakmpMessage.TryParse, TryParseDecrypted and every
/// payload view's TryParse. A rejection names an offset inside the input and a reason; an
/// acceptance can be walked completely (payloads, proposals, transforms, attributes), each
/// accepted part re-validates on its own, and an accepted plaintext message rebuilt from
/// decoded values gives back exactly the bytes that were accepted.
/// </summary>
public class HostileInputTests
{
    private static readonly (string Name, byte[] Bytes)[] Samples =
    [
        ("MM1", SampleMessages.MainMode1()),
        ("MM3", SampleMessages.MainMode3()),
        ("QM1", SampleMessages.QuickMode1()),
        ("DELETE", SampleMessages.InformationalDelete()),
        ("OTHERS", OtherPayloads()),
    ];

    /// <summary>A payload of a type no schema declares (RFC 2408 §3.1: 128-255 private use), for the walker's unknown-type path.</summary>
    private readonly struct UnknownPayload(byte type, byte[] body) : IIsakmpPayload
    {
        public byte PayloadType => type;
        public int EncodedSize => 4 + body.Length;
        public int Write(Span<byte> destination, byte nextPayload)
        {
            destination[0] = nextPayload;
            destination[1] = 0;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)EncodedSize);
            body.CopyTo(destination[4..]);
            return EncodedSize;
        }
    }

    /// <summary>
    /// Every payload type the samples lack, so that mutations reach their decoders too: CERT, CR, SIG,
    /// NAT-OA, Cisco keepalive, draft NAT-D/NAT-OA, fragment, a two-SPI ISAKMP DELETE, a notify with data,
    /// and a private-use type 200. Structurally valid; not a message any peer would send.
    /// </summary>
    private static byte[] OtherPayloads()
    {
        var buffer = new byte[512];
        var m = new MessageBuilder(buffer, new IsakmpHeader
        {
            InitiatorCookie = SampleMessages.InitiatorCookie, ResponderCookie = SampleMessages.ResponderCookie, Version = 0x10,
            ExchangeType = (ExchangeType)5, Flags = 0, MessageId = 0x01020304,
        });
        m.Add(new CertPayload { Encoding = (CertificateEncoding)4, CertificateData = SampleMessages.Bytes(10, 11) });
        m.Add(new CertRequestPayload { CertificateType = (CertificateEncoding)4, CertificateAuthority = SampleMessages.Bytes(6, 12) });
        m.Add(new SignaturePayload { SignatureData = SampleMessages.Bytes(8, 13) });
        m.Add(new NatOaPayload { IdType = (IdType)1, Address = new byte[] { 192, 168, 1, 1 } });
        m.Add(new IosKeepalivePayload { KeepaliveInterval = 20, RetryInterval = 2 });
        m.Add(new NatDDraftPayload { HashOfAddressAndPort = SampleMessages.Bytes(20, 14) });
        m.Add(new NatOaDraftPayload { IdType = (IdType)1, Address = new byte[] { 10, 0, 0, 1 } });
        m.Add(new UnknownPayload(200, [1, 2, 3]));
        m.Add(new DeletePayload { Doi = (Doi)1, ProtocolId = (ProtocolId)1, SpiSize = 16, Spis = SampleMessages.Bytes(32, 15) });
        m.Add(new NotificationPayload { Doi = (Doi)1, ProtocolId = (ProtocolId)1, NotifyType = (NotifyMessageType)36137, Spi = SampleMessages.Bytes(16, 16), NotificationData = new byte[] { 0, 0, 0, 7 } });
        m.Add(new FragmentPayload { FragmentId = 1, FragmentNumber = 1, Flags = (FragmentFlags)1, FragmentData = SampleMessages.Bytes(8, 17) });
        return m.Finish().ToArray();
    }

    private static List<(string Name, byte[] Bytes)> ReferenceMessages() =>
    [
        .. new[] { "strongswan-strongswan.pcap", "icmp-only/strongswan-strongswan.pcap", "libreswan/strongswan-libreswan.pcap" }
            .SelectMany(capture => PcapNg.ReadIsakmp(InteropReference.File(capture)).Select(c => ($"{capture} {c}", c.Message))),
    ];

    // ---- the property ---------------------------------------------------------------------

    /// <summary>Runs every decoder over the input; returns a description of the first violation, or null.</summary>
    private static string? Check(ReadOnlySpan<byte> data)
    {
        try
        {
            return CheckMessage(data, decrypted: false)
                ?? CheckMessage(data, decrypted: true)
                ?? CheckEveryView(data)
                ?? CheckAttributes(data);
        }
        catch (Exception e)
        {
            return "threw " + e;
        }
    }

    private static string? Rejection(string who, WireError error, int length)
    {
        if (error.Reason == WireErrorReason.None) return $"{who}: false with reason None ({error})";
        if (error.Offset < 0 || error.Offset > length) return $"{who}: error offset {error.Offset} outside the {length}-byte input ({error})";
        if (string.IsNullOrEmpty(error.Field)) return $"{who}: error without a field name ({error})";
        return null;
    }

    private static string? CheckMessage(ReadOnlySpan<byte> data, bool decrypted)
    {
        var who = decrypted ? "IsakmpMessage.TryParseDecrypted" : "IsakmpMessage.TryParse";
        var ok = decrypted
            ? IsakmpMessage.TryParseDecrypted(data, out var message, out var error)
            : IsakmpMessage.TryParse(data, out message, out error);
        if (!ok) return Rejection(who, error, data.Length);
        if (error != default) return $"{who}: true with an error {error}";

        var h = message.Header;
        if (h.Length != message.Raw.Length || message.Raw.Length > data.Length || h.Length < 28) return $"{who}: header length {h.Length}, raw {message.Raw.Length}";
        if (!data[..message.Raw.Length].SequenceEqual(message.Raw)) return $"{who}: Raw is not a prefix of the input";
        _ = (h.InitiatorCookie, h.ResponderCookie, h.NextPayload, h.Version, h.ExchangeType, h.Flags, h.MessageId);
        if (h.Version >> 4 != 1) return $"{who}: accepted major version {h.Version >> 4}";

        if (!decrypted && message.IsEncrypted)
            return message.PayloadsValidated || message.Payloads.MoveNext() ? $"{who}: encrypted body enumerated as payloads" : null;
        if (!message.PayloadsValidated) return $"{who}: plaintext message without a validated chain";

        var expectedType = (byte)h.NextPayload;
        var end = 28;
        var allKnown = true;
        foreach (var entry in message.Payloads)
        {
            if (entry.Type != expectedType) return $"{who}: payload at {entry.Offset} has type {entry.Type}, the chain said {expectedType}";
            if (entry.Offset != end) return $"{who}: payload at {entry.Offset}, expected {end}";
            if (entry.Raw.Length < 4 || entry.Offset + entry.Raw.Length > message.Raw.Length) return $"{who}: payload at {entry.Offset} of {entry.Raw.Length} bytes out of bounds";
            _ = entry.Body.Length;
            expectedType = entry.Raw[0];
            end += entry.Raw.Length;
            allKnown &= PayloadDispatch.IsKnown(entry.Type);
            var inner = CheckPayload(entry.Type, entry.Raw, mustAccept: true);
            if (inner is not null) return $"{who}: payload type {entry.Type} at {entry.Offset}: {inner}";
        }
        if (expectedType != 0) return $"{who}: chain ends with Next Payload {expectedType}";
        var line = IkeDecodeLine(message);
        if (!line.StartsWith("HDR", StringComparison.Ordinal) || !line.EndsWith(" + NONE (0)", StringComparison.Ordinal)) return $"{who}: IKE_DECODE payload list '{line}'";
        if (!decrypted && end != message.Raw.Length) return $"{who}: payloads end at {end} of {message.Raw.Length}";
        if (decrypted && end > message.Raw.Length) return $"{who}: payloads end at {end} beyond {message.Raw.Length}";

        // Accepted plaintext made only of known payloads: the values re-encode to the accepted bytes.
        if (allKnown && !decrypted)
        {
            var rebuilt = Rebuild(message);
            if (rebuilt is null) return $"{who}: a payload the walk accepted does not decode into a value";
            if (!message.Raw.SequenceEqual(rebuilt)) return $"{who}: accepted bytes do not re-encode identically: {Convert.ToHexString(message.Raw)} -> {Convert.ToHexString(rebuilt)}";
        }
        return null;
    }

    /// <summary>The "HDR + SA (1) + ... + NONE (0)" text the ASA debug prints for the message (any type byte must format).</summary>
    private static string IkeDecodeLine(IsakmpMessage message)
    {
        Span<byte> types = stackalloc byte[64];
        var n = message.GetPayloadTypes(types);
        var writer = new DebugTextWriter(stackalloc char[16]); // small, so that the pooled growth path runs too
        try
        {
            writer.AppendPayloadList(types[..n]);
            return writer.Written.ToString();
        }
        finally
        {
            writer.Dispose();
        }
    }

    private static byte[]? Rebuild(IsakmpMessage message)
    {
        var buffer = new byte[message.Raw.Length + 64];
        var b = new MessageBuilder(buffer, IsakmpHeader.FromView(message.Header));
        foreach (var e in message.Payloads)
        {
            var ok = e.Type switch
            {
                1 => Add(ref b, SaPayload.TryDecode(e.Raw, out var v1, out _), v1),
                4 => Add(ref b, KePayload.TryDecode(e.Raw, out var v4, out _), v4),
                5 => Add(ref b, IdPayload.TryDecode(e.Raw, out var v5, out _), v5),
                6 => Add(ref b, CertPayload.TryDecode(e.Raw, out var v6, out _), v6),
                7 => Add(ref b, CertRequestPayload.TryDecode(e.Raw, out var v7, out _), v7),
                8 => Add(ref b, HashPayload.TryDecode(e.Raw, out var v8, out _), v8),
                9 => Add(ref b, SignaturePayload.TryDecode(e.Raw, out var v9, out _), v9),
                10 => Add(ref b, NoncePayload.TryDecode(e.Raw, out var v10, out _), v10),
                11 => Add(ref b, NotificationPayload.TryDecode(e.Raw, out var v11, out _), v11),
                12 => Add(ref b, DeletePayload.TryDecode(e.Raw, out var v12, out _), v12),
                13 => Add(ref b, VendorIdPayload.TryDecode(e.Raw, out var v13, out _), v13),
                14 => Add(ref b, AttributePayload.TryDecode(e.Raw, out var v14, out _), v14),
                20 => Add(ref b, NatDPayload.TryDecode(e.Raw, out var v20, out _), v20),
                21 => Add(ref b, NatOaPayload.TryDecode(e.Raw, out var v21, out _), v21),
                128 => Add(ref b, IosKeepalivePayload.TryDecode(e.Raw, out var v128, out _), v128),
                130 => Add(ref b, NatDDraftPayload.TryDecode(e.Raw, out var v130, out _), v130),
                131 => Add(ref b, NatOaDraftPayload.TryDecode(e.Raw, out var v131, out _), v131),
                132 => Add(ref b, FragmentPayload.TryDecode(e.Raw, out var v132, out _), v132),
                _ => false,
            };
            if (!ok) return null;
        }
        return b.Finish().ToArray();
    }

    private static bool Add<T>(ref MessageBuilder builder, bool decoded, in T value) where T : struct, IIsakmpPayload
    {
        if (decoded) builder.Add(value);
        return decoded;
    }

    /// <summary>Every payload view over the same bytes (as if the type field had said so).</summary>
    private static string? CheckEveryView(ReadOnlySpan<byte> data)
    {
        if (!IsakmpHeaderView.TryParse(data, out var header, out var error))
        {
            var r = Rejection("IsakmpHeaderView", error, data.Length);
            if (r is not null) return r;
        }
        else if (header.Raw.Length != 28 || header.Length < 28 || header.Length > data.Length)
        {
            return $"IsakmpHeaderView: accepted length {header.Length}";
        }

        foreach (var type in ViewTypes)
        {
            var r = CheckPayload(type, data, mustAccept: false);
            if (r is not null) return r;
        }
        return null;
    }

    private static readonly byte[] ViewTypes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 20, 21, 128, 130, 131, 132];

    /// <summary>Parses with the view of the given payload type and walks everything it exposes.</summary>
    private static string? CheckPayload(byte type, ReadOnlySpan<byte> data, bool mustAccept)
    {
        bool ok;
        WireError error;
        ReadOnlySpan<byte> raw;
        string? deep = null;
        switch (type)
        {
            case 1:
                ok = SaPayloadView.TryParse(data, out var sa, out error); raw = sa.Raw;
                if (ok) deep = WalkSa(sa);
                break;
            case 2:
                ok = ProposalPayloadView.TryParse(data, out var proposal, out error); raw = proposal.Raw;
                if (ok) deep = WalkProposal(proposal);
                break;
            case 3:
                ok = TransformPayloadView.TryParse(data, out var transform, out error); raw = transform.Raw;
                if (ok) deep = WalkTransform(transform);
                break;
            case 4: ok = KePayloadView.TryParse(data, out var ke, out error); raw = ke.Raw; if (ok) _ = ke.KeyExchangeData.Length; break;
            case 5:
                ok = IdPayloadView.TryParse(data, out var id, out error); raw = id.Raw;
                if (ok) _ = (id.IdType, id.ProtocolId, id.Port, id.IdentificationData.Length);
                break;
            case 6: ok = CertPayloadView.TryParse(data, out var cert, out error); raw = cert.Raw; if (ok) _ = (cert.Encoding, cert.CertificateData.Length); break;
            case 7:
                ok = CertRequestPayloadView.TryParse(data, out var cr, out error); raw = cr.Raw;
                if (ok) _ = (cr.CertificateType, cr.CertificateAuthority.Length);
                break;
            case 8: ok = HashPayloadView.TryParse(data, out var hash, out error); raw = hash.Raw; if (ok) _ = hash.HashData.Length; break;
            case 9: ok = SignaturePayloadView.TryParse(data, out var sig, out error); raw = sig.Raw; if (ok) _ = sig.SignatureData.Length; break;
            case 10: ok = NoncePayloadView.TryParse(data, out var nonce, out error); raw = nonce.Raw; if (ok) _ = nonce.NonceData.Length; break;
            case 11:
                ok = NotificationPayloadView.TryParse(data, out var n, out error); raw = n.Raw;
                if (ok)
                {
                    _ = (n.Doi, n.ProtocolId, n.NotifyType);
                    if (12 + n.Spi.Length + n.NotificationData.Length != n.Raw.Length || n.Spi.Length != n.SpiSize) deep = "notification SPI/data do not add up";
                }
                break;
            case 12:
                ok = DeletePayloadView.TryParse(data, out var d, out error); raw = d.Raw;
                if (ok)
                {
                    _ = (d.Doi, d.ProtocolId);
                    if (d.SpiSize * d.SpiCount != d.Spis.Length) deep = "delete SPI size x count != SPI bytes";
                }
                break;
            case 13: ok = VendorIdPayloadView.TryParse(data, out var vid, out error); raw = vid.Raw; if (ok) _ = VendorIds.Identify(vid.VendorId); break;
            case 14:
                ok = AttributePayloadView.TryParse(data, out var attr, out error); raw = attr.Raw;
                if (ok)
                {
                    _ = (attr.CfgType, attr.Identifier);
                    var covered = 8;
                    foreach (var a in attr.Attributes) { _ = a.TryGetInteger(out _); covered += a.IsBasic ? 4 : 4 + a.Value.Length; }
                    if (covered != attr.Raw.Length) deep = $"mode-config attributes cover {covered} of {attr.Raw.Length} bytes";
                }
                break;
            case 20: ok = NatDPayloadView.TryParse(data, out var natd, out error); raw = natd.Raw; if (ok) _ = natd.HashOfAddressAndPort.Length; break;
            case 21: ok = NatOaPayloadView.TryParse(data, out var oa, out error); raw = oa.Raw; if (ok) _ = (oa.IdType, oa.Address.Length); break;
            case 128:
                ok = IosKeepalivePayloadView.TryParse(data, out var ka, out error); raw = ka.Raw;
                if (ok) _ = (ka.KeepaliveInterval, ka.RetryInterval);
                break;
            case 130: ok = NatDDraftPayloadView.TryParse(data, out var natdd, out error); raw = natdd.Raw; if (ok) _ = natdd.HashOfAddressAndPort.Length; break;
            case 131: ok = NatOaDraftPayloadView.TryParse(data, out var oad, out error); raw = oad.Raw; if (ok) _ = (oad.IdType, oad.Address.Length); break;
            case 132:
                ok = FragmentPayloadView.TryParse(data, out var frag, out error); raw = frag.Raw;
                if (ok) _ = (frag.FragmentId, frag.FragmentNumber, frag.Flags, frag.FragmentData.Length);
                break;
            default:
                return null; // unknown types: the walker checks only the generic header
        }

        var name = $"view for payload type {type}";
        if (!ok) return mustAccept ? $"{name} rejects a payload the message walk accepted: {error}" : Rejection(name, error, data.Length);
        if (error != default) return $"{name}: true with an error {error}";
        if (deep is not null) return $"{name}: {deep}";
        if (raw.Length < 4 || raw.Length > data.Length || !data[..raw.Length].SequenceEqual(raw)) return $"{name}: Raw of {raw.Length} bytes is not a prefix of the input";
        if ((raw[2] << 8 | raw[3]) != raw.Length) return $"{name}: Raw length {raw.Length} differs from its payload length field";
        if (raw[1] != 0) return $"{name}: accepted a non-zero RESERVED octet";
        return ReEncode(type, raw) is { } problem ? $"{name}: {problem}" : null;
    }

    /// <summary>An accepted payload decoded into its value form and written again (same Next Payload) gives the same bytes.</summary>
    private static string? ReEncode(byte type, ReadOnlySpan<byte> raw) => type switch
    {
        1 => Same(SaPayload.TryDecode(raw, out var v1, out _), v1, raw),
        2 => Same(ProposalPayload.TryDecode(raw, out var v2, out _), v2, raw),
        3 => Same(TransformPayload.TryDecode(raw, out var v3, out _), v3, raw),
        4 => Same(KePayload.TryDecode(raw, out var v4, out _), v4, raw),
        5 => Same(IdPayload.TryDecode(raw, out var v5, out _), v5, raw),
        6 => Same(CertPayload.TryDecode(raw, out var v6, out _), v6, raw),
        7 => Same(CertRequestPayload.TryDecode(raw, out var v7, out _), v7, raw),
        8 => Same(HashPayload.TryDecode(raw, out var v8, out _), v8, raw),
        9 => Same(SignaturePayload.TryDecode(raw, out var v9, out _), v9, raw),
        10 => Same(NoncePayload.TryDecode(raw, out var v10, out _), v10, raw),
        11 => Same(NotificationPayload.TryDecode(raw, out var v11, out _), v11, raw),
        12 => Same(DeletePayload.TryDecode(raw, out var v12, out _), v12, raw),
        13 => Same(VendorIdPayload.TryDecode(raw, out var v13, out _), v13, raw),
        20 => Same(NatDPayload.TryDecode(raw, out var v20, out _), v20, raw),
        21 => Same(NatOaPayload.TryDecode(raw, out var v21, out _), v21, raw),
        128 => Same(IosKeepalivePayload.TryDecode(raw, out var v128, out _), v128, raw),
        130 => Same(NatDDraftPayload.TryDecode(raw, out var v130, out _), v130, raw),
        131 => Same(NatOaDraftPayload.TryDecode(raw, out var v131, out _), v131, raw),
        132 => Same(FragmentPayload.TryDecode(raw, out var v132, out _), v132, raw),
        _ => null,
    };

    private static string? Same<T>(bool decoded, in T value, ReadOnlySpan<byte> raw) where T : struct, IIsakmpPayload
    {
        if (!decoded) return "TryDecode rejects what the view accepted";
        if (value.EncodedSize != raw.Length) return $"EncodedSize {value.EncodedSize} for {raw.Length} accepted bytes";
        var again = new byte[raw.Length];
        var written = value.Write(again, raw[0]);
        if (written != raw.Length || !raw.SequenceEqual(again))
            return $"accepted bytes do not re-encode identically: {Convert.ToHexString(raw)} -> {Convert.ToHexString(again.AsSpan(0, written))}";
        return null;
    }

    private static string? WalkSa(SaPayloadView sa)
    {
        _ = (sa.NextPayload, sa.PayloadLength, sa.Doi, sa.Situation);
        var length = 12;
        var count = 0;
        foreach (var p in sa.Proposals)
        {
            count++;
            if (!ProposalPayloadView.TryParse(p.Raw, out _, out var e)) return $"nested proposal {count} does not re-validate: {e}";
            var r = WalkProposal(p);
            if (r is not null) return $"proposal {count}: {r}";
            length += p.Raw.Length;
        }
        return length == sa.Raw.Length ? null : $"proposals cover {length} of {sa.Raw.Length} bytes";
    }

    private static string? WalkProposal(ProposalPayloadView p)
    {
        _ = (p.NextPayload, p.ProposalNumber, p.ProtocolId);
        if (p.Spi.Length != p.SpiSize) return "SPI length differs from SPI size";
        var length = 8 + p.Spi.Length;
        var count = 0;
        foreach (var t in p.Transforms)
        {
            count++;
            if (!TransformPayloadView.TryParse(t.Raw, out _, out var e)) return $"nested transform {count} does not re-validate: {e}";
            var r = WalkTransform(t);
            if (r is not null) return $"transform {count}: {r}";
            length += t.Raw.Length;
        }
        if (count != p.TransformCount) return $"{count} transforms enumerated, count field says {p.TransformCount}";
        return length == p.Raw.Length ? null : $"transforms cover {length} of {p.Raw.Length} bytes";
    }

    private static string? WalkTransform(TransformPayloadView t)
    {
        _ = (t.NextPayload, t.TransformNumber, t.TransformId);
        var length = 8;
        foreach (var a in t.Attributes)
        {
            _ = (a.Type, a.IsBasic, a.BasicValue, a.Value.Length, a.Offset, a.TryGetInteger(out _));
            length += a.IsBasic ? 4 : 4 + a.Value.Length;
        }
        return length == t.Raw.Length ? null : $"attributes cover {length} of {t.Raw.Length} bytes";
    }

    /// <summary>The attribute list validator and reader over raw bytes (the reader must stop, not throw, on bad input).</summary>
    private static string? CheckAttributes(ReadOnlySpan<byte> data)
    {
        var valid = DataAttributeReader.Validate(data, out var error);
        if (!valid)
        {
            var r = Rejection("DataAttributeReader.Validate", error, data.Length);
            if (r is not null) return r;
        }
        var covered = 0;
        foreach (var a in new DataAttributeReader(data))
        {
            if (a.Offset != covered) return $"attribute at {a.Offset}, expected {covered}";
            covered += a.IsBasic ? 4 : 4 + a.Value.Length;
            if (covered > data.Length) return "attribute reader went past the data";
            _ = a.TryGetInteger(out _);
        }
        if (valid && covered != data.Length) return $"validated attributes cover {covered} of {data.Length} bytes";
        return null;
    }

    private static void AssertClean(string what, ReadOnlySpan<byte> data)
    {
        var problem = Check(data);
        if (problem is not null)
            throw new Xunit.Sdk.XunitException($"{what}: {problem}\ninput ({data.Length} bytes): {Convert.ToHexString(data)}");
    }

    // ---- the inputs -------------------------------------------------------------------------

    [Fact]
    public void The_unmodified_messages_are_accepted_and_clean()
    {
        foreach (var (name, bytes) in Samples.Concat(ReferenceMessages()))
        {
            Assert.True(IsakmpMessage.TryParse(bytes, out _, out var error), $"{name}: {error}");
            AssertClean(name, bytes);
        }
    }

    private static void EveryTruncation(string name, byte[] bytes)
    {
        for (var length = 0; length < bytes.Length; length++)
        {
            var cut = bytes.AsSpan(0, length);
            AssertClean($"{name} cut to {length}", cut);
            // A datagram shorter than its header's length field is always rejected.
            if (IsakmpMessage.TryParse(cut, out _, out var error))
                throw new Xunit.Sdk.XunitException($"{name} cut to {length} bytes was accepted");
            Assert.NotEqual(WireErrorReason.None, error.Reason);
        }
    }

    [Fact]
    public void Every_truncation_of_the_samples() { foreach (var (n, b) in Samples) EveryTruncation(n, b); }

    [Fact]
    public void Every_truncation_of_the_reference_packets() { foreach (var (n, b) in ReferenceMessages()) EveryTruncation(n, b); }

    [Fact]
    public void Every_single_byte_value_at_every_offset_of_the_samples()
    {
        var reasons = new HashSet<WireErrorReason>();
        var accepted = 0;
        foreach (var (name, original) in Samples)
        {
            var bytes = (byte[])original.Clone();
            for (var offset = 0; offset < bytes.Length; offset++)
            {
                for (var value = 0; value < 256; value++)
                {
                    bytes[offset] = (byte)value;
                    AssertClean($"{name} with byte {offset} = 0x{value:x2}", bytes);
                    if (IsakmpMessage.TryParse(bytes, out _, out var error)) accepted++;
                    else reasons.Add(error.Reason);
                }
                bytes[offset] = original[offset];
            }
        }
        // Not vacuous: plenty of mutants still parse (and so went through the re-encode check),
        // and the rejections exercise every kind of check the messages contain.
        Assert.True(accepted > 10_000, $"only {accepted} mutants accepted");
        Assert.Superset(new HashSet<WireErrorReason>
        {
            WireErrorReason.LengthTooShort, WireErrorReason.LengthBeyondData, WireErrorReason.ReservedNotZero,
            WireErrorReason.CountMismatch, WireErrorReason.SizeOutOfRange, WireErrorReason.BadNextPayload,
            WireErrorReason.AttributeTruncated, WireErrorReason.TrailingBytes, WireErrorReason.UnsupportedVersion,
            WireErrorReason.Truncated,
        }, reasons);
    }

    /// <summary>
    /// RFC 2408 §3.15: SPI Size 0 with Number of SPIs 3 and no SPI bytes. The view accepts it
    /// (0 x 3 == 0 bytes), but DeletePayload has no SpiCount of its own and writes the count as
    /// Spis.Length / SpiSize, i.e. 0: the accepted bytes do not survive decode + encode.
    /// </summary>
    [Fact]
    public void Delete_with_spi_size_zero_and_a_nonzero_count_is_rejected_or_round_trips()
    {
        var bytes = SampleMessages.InformationalDelete();
        // DELETE at 52: length 16 -> 12, SPI size (61) 4 -> 0, count (62..63) 1 -> 3; message length 68 -> 64.
        bytes[55] = 12; bytes[61] = 0; bytes[63] = 3; bytes[27] = 64;
        AssertClean("DELETE with SPI size 0, 3 SPIs", bytes.AsSpan(0, 64));
    }

    private static readonly Func<byte, byte>[] Mutations =
    [
        _ => 0x00, _ => 0xFF, _ => 0x01, _ => 0x80, _ => 0x7F,
        b => (byte)(b ^ 0x01), b => (byte)(b ^ 0x80), b => (byte)(b + 1), b => (byte)(b - 1), b => (byte)~b,
    ];

    [Fact]
    public void Boundary_mutations_at_every_offset_of_the_reference_packets()
    {
        foreach (var (name, original) in ReferenceMessages())
        {
            var bytes = (byte[])original.Clone();
            for (var offset = 0; offset < bytes.Length; offset++)
            {
                foreach (var mutate in Mutations)
                {
                    bytes[offset] = mutate(original[offset]);
                    AssertClean($"{name} with byte {offset} = 0x{bytes[offset]:x2}", bytes);
                }
                bytes[offset] = original[offset];
            }
        }
    }

    [Fact]
    public void Reference_packets_with_trailing_bytes_or_a_grown_length_field()
    {
        foreach (var (name, original) in ReferenceMessages().Concat(Samples))
        {
            // UDP may carry more than the header's length: the message is the first Length bytes.
            var padded = original.Concat(new byte[] { 0, 0, 0, 0 }).ToArray();
            AssertClean(name + " + 4 zero bytes", padded);
            Assert.True(IsakmpMessage.TryParse(padded, out var m, out var error), $"{name}: {error}");
            Assert.Equal(original.Length, m.Raw.Length);
            // A length field that claims the padding too leaves bytes after the last payload.
            var grown = (byte[])padded.Clone();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(grown.AsSpan(24), (uint)grown.Length);
            AssertClean(name + " with length covering 4 extra bytes", grown);
            var encrypted = (grown[19] & 1) != 0;
            Assert.Equal(encrypted, IsakmpMessage.TryParse(grown, out _, out error));
            if (!encrypted) Assert.Equal(WireErrorReason.TrailingBytes, error.Reason);
        }
    }

    [Fact]
    public void Random_byte_arrays()
    {
        Gen.Byte.Array[0, 600].Sample(bytes => AssertClean("random", bytes), iter: 20_000);
    }

    /// <summary>Random bytes behind a plausible header (version 1.0, a matching length, a known first payload): reaches the payload decoders.</summary>
    [Fact]
    public void Random_bodies_behind_a_valid_header()
    {
        var gen = Gen.Select(Gen.Byte.Array[0, 300], Gen.Int[0, ViewTypes.Length - 1].Select(i => ViewTypes[i]), Gen.Byte[0, 1], (body, first, flags) => (body, first, flags));
        gen.Sample(t =>
        {
            var bytes = new byte[28 + t.body.Length];
            bytes[16] = t.first; bytes[17] = 0x10; bytes[18] = 2; bytes[19] = t.flags;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(24), (uint)bytes.Length);
            t.body.CopyTo(bytes, 28);
            AssertClean("random body", bytes);
        }, iter: 20_000);
    }

    /// <summary>Several random byte changes at once, on the samples and the reference packets.</summary>
    [Fact]
    public void Random_multi_byte_mutations()
    {
        var corpus = Samples.Select(s => s.Bytes).Concat(ReferenceMessages().Select(r => r.Bytes)).ToArray();
        var gen = Gen.Select(Gen.Int[0, corpus.Length - 1], Gen.Select(Gen.Int[0, 1000], Gen.Byte).Array[1, 6], (i, changes) => (i, changes));
        gen.Sample(t =>
        {
            var bytes = (byte[])corpus[t.i].Clone();
            foreach (var (at, value) in t.changes) bytes[at % bytes.Length] = value;
            AssertClean($"corpus[{t.i}] mutated", bytes);
        }, iter: 20_000);
    }

    /// <summary>Structure-aware mutations: random values in the length, count and size fields of a real SA, inside a valid message.</summary>
    [Fact]
    public void Random_length_and_count_fields_in_nested_sa_structures()
    {
        var mm1 = SampleMessages.MainMode1();
        var qm1 = SampleMessages.QuickMode1();
        // Offsets of the 16-bit length fields and 8-bit count/size fields, from the RFC 2408 layouts:
        // MM1 SA at 28: SA length 30, proposal at 40 (length 42, SPI size 46, count 47),
        // transform at 48 (length 50), attributes from 56 (TLV life duration length at 56 + 6*4 + 2).
        var mm1Fields = new[] { (30, 2), (42, 2), (46, 1), (47, 1), (50, 2), (82, 2), (26, 2) };
        // QM1: HASH 28..52, SA at 52 (length 54), proposal at 64 (length 66, SPI size 70, count 71), transform at 76 (length 78).
        var qm1Fields = new[] { (54, 2), (66, 2), (70, 1), (71, 1), (78, 2), (30, 2) };
        var gen = Gen.Select(Gen.Bool, Gen.Int[0, 6], Gen.UShort, (qm, field, value) => (qm, field, value));
        gen.Sample(t =>
        {
            var (source, fields) = t.qm ? (qm1, qm1Fields) : (mm1, mm1Fields);
            var bytes = (byte[])source.Clone();
            var (at, size) = fields[t.field % fields.Length];
            if (size == 2) System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at), t.value);
            else bytes[at] = (byte)t.value;
            AssertClean($"{(t.qm ? "QM1" : "MM1")} field at {at} = {t.value}", bytes);
        }, iter: 20_000);
    }

    [Fact]
    public void The_field_offsets_used_above_are_right()
    {
        var mm1 = SampleMessages.MainMode1();
        Assert.Equal(1, mm1[16]);                       // first payload SA
        Assert.Equal(60, mm1[30] << 8 | mm1[31]);       // SA length
        Assert.Equal(48, mm1[42] << 8 | mm1[43]);       // proposal length
        Assert.Equal((0, 1), (mm1[46], mm1[47]));       // SPI size, transform count
        Assert.Equal(40, mm1[50] << 8 | mm1[51]);       // transform length
        Assert.Equal((0x00, 0x0c, 0x00, 0x04), (mm1[80], mm1[81], mm1[82], mm1[83])); // TLV life duration, length 4
        var qm1 = SampleMessages.QuickMode1();
        Assert.Equal((8, 1), (qm1[16], qm1[28]));       // HASH, then SA
        Assert.Equal(64, qm1[54] << 8 | qm1[55]);
        Assert.Equal(52, qm1[66] << 8 | qm1[67]);
        Assert.Equal((4, 1), (qm1[70], qm1[71]));
        Assert.Equal(40, qm1[78] << 8 | qm1[79]);
    }
}
