using CsCheck;

namespace IkeActors.Protocol.Tests;

/// <summary>
/// For every payload of the schemas: random valid values encode to exactly EncodedSize
/// bytes and decode back to an equal value; the decoder sees nothing the writer did not put.
/// </summary>
public class RoundTripPropertyTests
{
    private delegate bool Decoder<T>(ReadOnlySpan<byte> data, out T value, out WireError error);

    private const int Iterations = 300;

    private static readonly Gen<byte[]> AnyBytes = Gen.Byte.Array[0, 64];

    private static Gen<byte[]> BytesOf(int min, int max) => Gen.Byte.Array[min, max];

    private static readonly Gen<DataAttribute> Attribute =
        Gen.Bool.SelectMany(basic => basic
            ? Gen.Select(Gen.UShort[0, 0x7FFF], Gen.UShort, (t, v) => DataAttribute.Basic(t, v))
            : Gen.Select(Gen.UShort[0, 0x7FFF], Gen.Byte.Array[0, 40], (t, v) => DataAttribute.Variable(t, v)));

    private static readonly Gen<TransformPayload> Transform =
        Gen.Select(Gen.Byte, Gen.Byte, Attribute.List[0, 8],
            (n, id, attrs) => new TransformPayload { TransformNumber = n, TransformId = id, Attributes = attrs });

    private static readonly Gen<ProposalPayload> Proposal =
        Gen.Select(Gen.Byte, Gen.Byte, BytesOf(0, 16), Transform.List[0, 4],
            (n, p, spi, t) => new ProposalPayload { ProposalNumber = n, ProtocolId = (ProtocolId)p, Spi = spi, Transforms = t });

    private static readonly Gen<SaPayload> Sa =
        Gen.Select(Gen.UInt, Gen.UInt, Proposal.List[0, 3],
            (doi, sit, p) => new SaPayload { Doi = (Doi)doi, Situation = (Situation)sit, Proposals = p });

    private static void RoundTrip<T>(Gen<T> gen, Decoder<T> decode) where T : struct, IIsakmpPayload, IEquatable<T>
    {
        gen.Sample(value =>
        {
            var size = value.EncodedSize;
            var buffer = new byte[size + 8];
            var written = value.Write(buffer, 13);
            Assert.Equal(size, written);
            Assert.Equal(13, buffer[0]);
            Assert.Equal(size, buffer[2] << 8 | buffer[3]);
            // Extra bytes after the payload must not be taken as part of it.
            Assert.True(decode(buffer, out var decoded, out var error), error.ToString());
            Assert.Equal(value, decoded);
            Assert.Equal(value.GetHashCode(), decoded.GetHashCode());
            var again = new byte[size];
            decoded.Write(again, 13);
            Assert.Equal(buffer.AsSpan(0, size).ToArray(), again);
        }, iter: Iterations);
    }

    [Fact] public void Sa_round_trips() => RoundTrip(Sa, SaPayload.TryDecode);
    [Fact] public void Proposal_round_trips() => RoundTrip(Proposal, ProposalPayload.TryDecode);
    [Fact] public void Transform_round_trips() => RoundTrip(Transform, TransformPayload.TryDecode);

    [Fact] public void Ke_round_trips() => RoundTrip(BytesOf(1, 600).Select(b => new KePayload { KeyExchangeData = b }), KePayload.TryDecode);

    [Fact]
    public void Id_round_trips() => RoundTrip(
        Gen.Select(Gen.Byte, Gen.Byte, Gen.UShort, AnyBytes,
            (t, p, port, d) => new IdPayload { IdType = (IdType)t, ProtocolId = p, Port = port, IdentificationData = d }),
        IdPayload.TryDecode);

    [Fact]
    public void Cert_round_trips() => RoundTrip(
        Gen.Select(Gen.Byte, AnyBytes, (e, d) => new CertPayload { Encoding = (CertificateEncoding)e, CertificateData = d }),
        CertPayload.TryDecode);

    [Fact]
    public void CertRequest_round_trips() => RoundTrip(
        Gen.Select(Gen.Byte, AnyBytes, (e, d) => new CertRequestPayload { CertificateType = (CertificateEncoding)e, CertificateAuthority = d }),
        CertRequestPayload.TryDecode);

    [Fact] public void Hash_round_trips() => RoundTrip(BytesOf(1, 64).Select(b => new HashPayload { HashData = b }), HashPayload.TryDecode);
    [Fact] public void Signature_round_trips() => RoundTrip(BytesOf(1, 300).Select(b => new SignaturePayload { SignatureData = b }), SignaturePayload.TryDecode);
    [Fact] public void Nonce_round_trips() => RoundTrip(BytesOf(8, 256).Select(b => new NoncePayload { NonceData = b }), NoncePayload.TryDecode);

    [Fact]
    public void Notification_round_trips() => RoundTrip(
        Gen.Select(Gen.UInt, Gen.Byte, Gen.UShort, BytesOf(0, 16), AnyBytes,
            (doi, p, t, spi, d) => new NotificationPayload { Doi = (Doi)doi, ProtocolId = (ProtocolId)p, NotifyType = (NotifyMessageType)t, Spi = spi, NotificationData = d }),
        NotificationPayload.TryDecode);

    [Fact]
    public void Delete_round_trips() => RoundTrip(
        Gen.Select(Gen.UInt, Gen.Byte, Gen.Byte[0, 16], Gen.Int[0, 6], Gen.Byte,
            (doi, p, size, count, seed) => new DeletePayload
            {
                Doi = (Doi)doi, ProtocolId = (ProtocolId)p, SpiSize = size,
                Spis = Enumerable.Range(0, size * count).Select(i => (byte)(seed + i)).ToArray(),
            }),
        DeletePayload.TryDecode);

    [Fact] public void VendorId_round_trips() => RoundTrip(BytesOf(1, 40).Select(b => new VendorIdPayload { VendorId = b }), VendorIdPayload.TryDecode);
    [Fact] public void NatD_round_trips() => RoundTrip(BytesOf(1, 64).Select(b => new NatDPayload { HashOfAddressAndPort = b }), NatDPayload.TryDecode);
    [Fact] public void NatDDraft_round_trips() => RoundTrip(BytesOf(1, 64).Select(b => new NatDDraftPayload { HashOfAddressAndPort = b }), NatDDraftPayload.TryDecode);

    [Fact]
    public void NatOa_round_trips() => RoundTrip(
        Gen.Select(Gen.Byte, AnyBytes, (t, a) => new NatOaPayload { IdType = (IdType)t, Address = a }), NatOaPayload.TryDecode);

    [Fact]
    public void NatOaDraft_round_trips() => RoundTrip(
        Gen.Select(Gen.Byte, AnyBytes, (t, a) => new NatOaDraftPayload { IdType = (IdType)t, Address = a }), NatOaDraftPayload.TryDecode);

    [Fact]
    public void IosKeepalive_round_trips() => RoundTrip(
        Gen.Select(Gen.UShort, Gen.UShort, (a, b) => new IosKeepalivePayload { KeepaliveInterval = a, RetryInterval = b }),
        IosKeepalivePayload.TryDecode);

    [Fact]
    public void Fragment_round_trips() => RoundTrip(
        Gen.Select(Gen.UShort, Gen.Byte, Gen.Byte, AnyBytes,
            (id, n, f, d) => new FragmentPayload { FragmentId = id, FragmentNumber = n, Flags = (FragmentFlags)f, FragmentData = d }),
        FragmentPayload.TryDecode);

    [Fact]
    public void Header_round_trips()
    {
        Gen.Select(Gen.ULong, Gen.ULong, Gen.Byte, Gen.Byte, Gen.Byte, Gen.Byte, Gen.UInt,
            (i, r, np, v, x, f, id) => new IsakmpHeader
            {
                InitiatorCookie = i, ResponderCookie = r, NextPayload = (PayloadType)np, Version = v,
                ExchangeType = (ExchangeType)x, Flags = (IsakmpFlags)f, MessageId = id,
            })
            .Sample(h =>
            {
                var buffer = new byte[IsakmpHeaderView.MinimumSize];
                Assert.Equal(28, h.Write(buffer));
                Assert.True(IsakmpHeader.TryDecode(buffer, out var back, out var error), error.ToString());
                Assert.Equal(h, back);
            }, iter: Iterations);
    }

    [Fact]
    public void Whole_messages_round_trip_through_the_walker()
    {
        // A random chain of payloads of several kinds: the walker must report exactly
        // the types that were added, in order, and the header length must be the total.
        var entry = Gen.OneOf(
            Sa.Select(p => (IIsakmpPayload)p),
            BytesOf(8, 64).Select(b => (IIsakmpPayload)new NoncePayload { NonceData = b }),
            BytesOf(1, 40).Select(b => (IIsakmpPayload)new VendorIdPayload { VendorId = b }),
            BytesOf(1, 20).Select(b => (IIsakmpPayload)new HashPayload { HashData = b }));
        entry.List[0, 8].Sample(payloads =>
        {
            var buffer = new byte[8192];
            var m = new MessageBuilder(buffer, new IsakmpHeader { InitiatorCookie = 1, Version = 0x10, ExchangeType = ExchangeType.IdentityProtection });
            foreach (var p in payloads)
            {
                switch (p)
                {
                    case SaPayload sa: m.Add(sa); break;
                    case NoncePayload nonce: m.Add(nonce); break;
                    case VendorIdPayload v: m.Add(v); break;
                    case HashPayload h: m.Add(h); break;
                }
            }
            var bytes = m.Finish().ToArray();
            Assert.True(IsakmpMessage.TryParse(bytes, out var message, out var error), error.ToString());
            Span<byte> types = stackalloc byte[16];
            var n = message.GetPayloadTypes(types);
            Assert.Equal(payloads.Select(p => p.PayloadType).ToArray(), types[..n].ToArray());
            Assert.Equal((uint)bytes.Length, message.Header.Length);
        }, iter: 200);
    }
}
