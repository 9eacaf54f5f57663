using System.Net;
using System.Text;
using CustomPayload;
using IkeActors.Protocol;

namespace IkeActors.Samples.Tests;

public class CustomPayloadTests
{
    [Fact]
    public void A_schema_only_payload_encodes_decodes_and_prints()
    {
        var tag = new SiteTagPayload { Priority = 5, Label = Encoding.ASCII.GetBytes("HQ") };
        Assert.Equal(4 + 2 + 1 + 1 + 2, tag.EncodedSize); // RFC 2408 §3.2 generic header + fields

        var buffer = new byte[256];
        var m = new MessageBuilder(buffer, new IsakmpHeader
        {
            InitiatorCookie = 0x1122334455667788, Version = 0x10, ExchangeType = ExchangeType.Informational,
        });
        m.Add(new HashPayload { HashData = new byte[20] });
        m.Add(tag);
        var message = m.Finish().ToArray();

        // The product's walker passes the private payload through structurally...
        Assert.True(IsakmpMessage.TryParse(message, out var parsed, out var error), error.ToString());
        var found = false;
        foreach (var entry in parsed.Payloads)
        {
            if (entry.Type != SiteTagPayloadView.PayloadTypeNumber) continue;
            // ...and the sample's generated decoder reads it.
            Assert.True(SiteTagPayloadView.TryParse(entry.Raw, out var view, out error), error.ToString());
            Assert.Equal(5, view.Priority);
            Assert.Equal("HQ", Encoding.ASCII.GetString(view.Label));
            Assert.True(view.Extension.IsEmpty);
            Assert.Equal(tag, SiteTagPayload.FromView(view));

            var sink = new ListDebugSink(level: 1);
            CustomPayload.AsaDebug.SiteTagReceived(sink, new DebugContext(IPAddress.Parse("10.0.0.2")), Encoding.ASCII.GetString(view.Label), view.Priority);
            Assert.Equal("[IKEv1]: IP = 10.0.0.2, Received site tag HQ with priority 5", Assert.Single(sink.Lines));
            found = true;
        }
        Assert.True(found);

        // The walker's payload list names it as unknown to the product schemas.
        var decode = new ListDebugSink(level: 1);
        var text = new DebugTextWriter(stackalloc char[128]);
        Span<byte> types = stackalloc byte[4];
        text.AppendPayloadList(types[..parsed.GetPayloadTypes(types)]);
        Assert.Equal("HDR + HASH (8) + UNKNOWN (200) + NONE (0)", text.Written.ToString());
        text.Dispose();
    }

    [Fact]
    public void The_schema_limits_are_enforced_on_decode()
    {
        // Label longer than the schema's max 64: LabelSize 65 with 65 bytes present.
        var bytes = new byte[4 + 4 + 65];
        bytes[3] = (byte)bytes.Length;
        bytes[6] = 65;
        Assert.False(SiteTagPayloadView.TryParse(bytes, out _, out var error));
        Assert.Equal(WireErrorReason.SizeOutOfRange, error.Reason);
        Assert.Equal("SiteTagPayload.Label", error.Field);

        // Non-zero reserved octet.
        var ok = new byte[] { 0, 0, 0, 8, 0, 1, 0, 1 };
        Assert.False(SiteTagPayloadView.TryParse(ok, out _, out error));
        Assert.Equal(WireErrorReason.ReservedNotZero, error.Reason);
        Assert.Equal(7, error.Offset);
    }
}
