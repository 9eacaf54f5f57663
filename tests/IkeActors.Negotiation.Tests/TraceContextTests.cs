using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using IkeActors.Config.Lookup;
using IkeActors.Crypto;
using IkeActors.Negotiation.Tests.Support;
using IkeActors.Protocol;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// The private trace-context vendor ID (IkeSa.TraceContext.cs): the initiator puts its W3C traceparent in
/// MM5 only for a peer whose MM4 carried the IkeActors vendor ID; the responder hands a well-formed one to
/// its host and ignores anything else without a trace of it in its state. MM5/MM6 are read here with a copy
/// of the receiver's ISAKMP cipher, the way the receiver itself decrypts them (RFC 2409 Appendix B).
/// </summary>
public class TraceContextTests
{
    // The examples of the W3C Trace Context recommendation (§3.2.2, traceparent header).
    private const string Valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    private const string OtherValid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private static readonly byte[] TraceVid = VendorIds.IkeActorsTraceContext.ToArray();
    private static readonly byte[] IkeActorsVid = VendorIds.IkeActors.ToArray();
    private const byte VendorIdPayload = 13; // RFC 2408 §3.1

    [Fact]
    public void An_IkeActors_peer_gets_the_trace_context_in_MM5_and_its_host_gets_it_as_a_trace_event()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        var classifier = new StepClassifier();
        byte[]? mm4 = null, mm5 = null;
        lab.Tamper = (fromLeft, _, d) =>
        {
            var step = classifier.Classify(fromLeft, d);
            if (step == "MM4") mm4 = d;
            if (step == "MM5") mm5 = Open(Single(lab.Right), d);
            return d;
        };
        StartWithTraceParent(lab, Valid);
        lab.Run();

        LabAssert.TunnelUp(lab);
        Assert.NotNull(mm4);
        Assert.Contains(VendorIdBodies(mm4), b => b.AsSpan().StartsWith(IkeActorsVid)); // the peer said it is IkeActors
        Assert.Equal([.. TraceVid, .. Encoding.ASCII.GetBytes(Valid)], Assert.Single(VendorIdBodies(mm5!), b => b.AsSpan().StartsWith(TraceVid)));
        var handed = Assert.Single(TraceContextEvents(lab.RightOutput));
        Assert.Equal(Valid, handed.TraceParent);
        // It came with MM5 (Main Mode, message ID 0): the last message the responder took before it.
        var at = lab.RightOutput.Actions.ToList().IndexOf(handed);
        Assert.Equal(ExchangeMessage.MainMode(5), lab.RightOutput.Actions.Take(at).OfType<MessageReceived>().Last().Message);
        Assert.Empty(TraceContextEvents(lab.LeftOutput));
        // Not an ASA debug line on either side.
        Assert.DoesNotContain(lab.LeftLines.Concat(lab.RightLines), l => l.Contains("4bf92f35", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("removed")] // an ASA or strongSwan: no IkeActors vendor ID at all
    [InlineData("zeroed")]  // an unknown vendor ID in its place
    public void A_peer_whose_MM4_lacks_the_IkeActors_vendor_id_never_gets_it(string how)
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        var classifier = new StepClassifier();
        byte[]? mm5 = null;
        var changed = 0;
        lab.Tamper = (fromLeft, _, d) =>
        {
            var step = classifier.Classify(fromLeft, d);
            if (step == "MM4")
            {
                var without = RewriteVendorId(d, IkeActorsVid, body => how == "removed" ? null : [.. new byte[16], .. body.AsSpan(16)]);
                changed++;
                Assert.DoesNotContain(VendorIdBodies(without), b => b.AsSpan().StartsWith(IkeActorsVid));
                return without;
            }
            if (step == "MM5") mm5 = Open(Single(lab.Right), d);
            return d;
        };
        StartWithTraceParent(lab, Valid);
        lab.Run();

        Assert.Equal(1, changed);
        LabAssert.TunnelUp(lab);
        Assert.NotNull(mm5);
        Assert.DoesNotContain(VendorIdBodies(mm5), b => b.AsSpan().StartsWith(TraceVid));
        Assert.Empty(TraceContextEvents(lab.RightOutput));
    }

    public static TheoryData<string?> HostValuesNotSent => new()
    {
        null, "", "garbage",
        Valid.ToUpperInvariant(),                                      // W3C: lower-case hex only
        "ff" + Valid[2..],                                             // version ff is invalid
        "01" + Valid[2..],                                             // a version this parser does not know
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",     // all-zero trace-id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",     // all-zero parent-id
        Valid[..^1],                                                   // 54 characters
        Valid + "0",                                                   // 56 characters
        Valid.Replace('-', '_'),
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",     // not hex
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\u00e9", // not ASCII
    };

    [Theory]
    [MemberData(nameof(HostValuesNotSent))]
    public void A_missing_or_malformed_host_trace_context_is_not_sent(string? traceParent)
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        var classifier = new StepClassifier();
        byte[]? mm5 = null;
        lab.Tamper = (fromLeft, _, d) =>
        {
            if (classifier.Classify(fromLeft, d) == "MM5") mm5 = Open(Single(lab.Right), d);
            return d;
        };
        StartWithTraceParent(lab, traceParent);
        lab.Run();

        LabAssert.TunnelUp(lab);
        Assert.DoesNotContain(VendorIdBodies(mm5!), b => b.AsSpan().StartsWith(TraceVid));
        Assert.Empty(TraceContextEvents(lab.RightOutput));
    }

    [Fact]
    public void The_responder_never_sends_it_even_when_its_host_set_one()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        var classifier = new StepClassifier();
        byte[]? mm6 = null;
        lab.Tamper = (fromLeft, _, d) =>
        {
            var step = classifier.Classify(fromLeft, d);
            if (step == "MM3") Single(lab.Right).TraceParent = OtherValid; // the responder's SA exists since MM1
            if (step == "MM6") mm6 = Open(Single(lab.Left), d);
            return d;
        };
        StartWithTraceParent(lab, Valid);
        lab.Run();

        LabAssert.TunnelUp(lab);
        Assert.DoesNotContain(VendorIdBodies(mm6!), b => b.AsSpan().StartsWith(TraceVid));
        Assert.Empty(TraceContextEvents(lab.LeftOutput));
    }

    public static TheoryData<string, byte[]> ReceivedValues => new()
    {
        { "valid (control)", Encoding.ASCII.GetBytes(OtherValid) },
        { "empty", [] },
        { "54 octets", Encoding.ASCII.GetBytes(OtherValid[..^1]) },
        { "56 octets", Encoding.ASCII.GetBytes(OtherValid + "1") },
        { "300 octets", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(OtherValid, 6))[..300]) },
        { "upper-case hex", Encoding.ASCII.GetBytes(OtherValid.ToUpperInvariant()) },
        { "not hex", Encoding.ASCII.GetBytes(OtherValid.Replace('a', 'x')) },
        { "all-zero trace-id", Encoding.ASCII.GetBytes("00-00000000000000000000000000000000-b7ad6b7169203331-01") },
        { "all-zero parent-id", Encoding.ASCII.GetBytes("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01") },
        { "version ff", Encoding.ASCII.GetBytes("ff" + OtherValid[2..]) },
        { "no dashes", Encoding.ASCII.GetBytes(OtherValid.Replace('-', ' ')) },
        { "NUL octets", new byte[55] },
        { "high octets", [.. Encoding.ASCII.GetBytes(OtherValid[..54]), 0xff] },
        { "random", RandomBytes(55, 7) },
    };

    /// <summary>
    /// The responder reads a crafted MM5 (the initiator's, with the trace-context body replaced and
    /// re-encrypted under the responder's own key and IV). Only the well-formed control reaches the host;
    /// every other value changes nothing: same debug lines, same actions, same SA as the control.
    /// </summary>
    [Theory]
    [MemberData(nameof(ReceivedValues))]
    public void A_malformed_trace_context_in_MM5_is_ignored_and_changes_nothing(string what, byte[] value)
    {
        var control = RespondToCraftedMm5(Encoding.ASCII.GetBytes(OtherValid));
        var run = RespondToCraftedMm5(value);

        Assert.True(run.Crafted, what);
        Assert.Equal(MainModeState.MM_ACTIVE, run.State); // MM5 authenticated: HASH_I does not cover vendor IDs (RFC 2409 §5)
        Assert.Empty(run.Failures);
        if (what == "valid (control)")
        {
            Assert.Equal(OtherValid, Assert.Single(run.TraceContexts).TraceParent);
            return;
        }
        Assert.Empty(run.TraceContexts);
        Assert.Equal(control.Lines, run.Lines);
        Assert.Equal(control.Actions.Where(a => a != nameof(TraceContextReceived)), run.Actions);
        Assert.Equal(control.Summary, run.Summary);
    }

    private sealed record ResponderView(bool Crafted, MainModeState State, List<NegotiationFailed> Failures, List<TraceContextReceived> TraceContexts,
        List<string> Lines, List<string> Actions, string Summary);

    private static ResponderView RespondToCraftedMm5(byte[] value)
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        var classifier = new StepClassifier();
        var crafted = false;
        lab.Tamper = (fromLeft, _, d) =>
        {
            switch (classifier.Classify(fromLeft, d))
            {
                case "MM5":
                    var responder = Single(lab.Right);
                    var plain = Open(responder, d);
                    var changed = RewriteVendorId(plain, TraceVid, _ => [.. TraceVid, .. value]);
                    crafted = !changed.AsSpan().SequenceEqual(plain);
                    using (var cipher = CipherOf(responder)) return IsakmpMessages.Encrypt(changed, cipher, 0);
                case "MM6":
                    // The changed MM5 moved the responder's CBC chain (RFC 2409 Appendix B: MM6's IV is MM5's
                    // last cipher block), so the initiator could not read MM6: this test looks at the responder only.
                    return null;
                default:
                    return d;
            }
        };
        StartWithTraceParent(lab, Valid);
        lab.Run();
        var sa = Single(lab.Right);
        static string Normalize(string line) => Regex.Replace(line, @"total length : \d+", "total length : N");
        return new ResponderView(crafted, sa.State, lab.RightOutput.OfType<NegotiationFailed>().ToList(), TraceContextEvents(lab.RightOutput),
            lab.RightLines.Select(Normalize).ToList(),
            lab.RightOutput.Actions.Select(a => a.GetType().Name).ToList(),
            $"{sa.Role} {sa.State} {sa.TunnelGroup} {sa.Transform} {sa.InitiatorCookie:x16} {sa.ResponderCookie:x16} {sa.DpdNegotiated} {sa.TraceParent ?? "-"}");
    }

    // ------------------------------------------------------------------ helpers

    private static void StartWithTraceParent(Lab lab, string? traceParent)
    {
        lab.Left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lab.LeftOutput);
        Single(lab.Left).TraceParent = traceParent; // what the grain does with its span's context before MM5
    }

    private static IkeSa Single(NegotiationEngine engine) => Assert.Single(engine.Sas);

    private static List<TraceContextReceived> TraceContextEvents(NegotiationOutput output) =>
        output.OfType<TraceContextReceived>().ToList();

    /// <summary>A copy of the receiver's phase-1 cipher in its current IV state (so reading changes nothing).</summary>
    private static IsakmpCipher CipherOf(IkeSa receiver)
    {
        Assert.True(IsakmpCipher.TryCreate(receiver.Keys!, out var copy));
        Assert.True(copy.TryImportIvs(receiver.Cipher!.ExportIvs()));
        return copy;
    }

    /// <summary>Header and plaintext payload chain of an encrypted Main Mode message, as the receiver decrypts it.</summary>
    private static byte[] Open(IkeSa receiver, byte[] datagram)
    {
        using var cipher = CipherOf(receiver);
        Assert.True(IsakmpMessages.TryDecrypt(datagram, cipher, 0, out var plaintext));
        return plaintext[..ChainEnd(plaintext)];
    }

    /// <summary>Where the payload chain ends (RFC 2408 §3.2: Next Payload 0 closes it); what follows is CBC padding.</summary>
    private static int ChainEnd(byte[] message)
    {
        var offset = 28;
        var next = message[16];
        while (next != 0)
        {
            next = message[offset];
            offset += BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset + 2));
        }
        return offset;
    }

    private static List<byte[]> VendorIdBodies(byte[] message)
    {
        var bodies = new List<byte[]>();
        var (offset, type) = (28, message[16]);
        while (type != 0)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset + 2));
            if (type == VendorIdPayload) bodies.Add(message[(offset + 4)..(offset + length)]);
            type = message[offset];
            offset += length;
        }
        return bodies;
    }

    /// <summary>
    /// The message with the first vendor ID whose body starts with <paramref name="prefix"/> replaced by
    /// <paramref name="replace"/>'s body, or removed (null); lengths and the Next Payload chain fixed (RFC 2408 §3.2).
    /// </summary>
    private static byte[] RewriteVendorId(byte[] message, byte[] prefix, Func<byte[], byte[]?> replace)
    {
        var end = ChainEnd(message);
        var (offset, type, nextField) = (28, message[16], 16);
        while (type != 0)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset + 2));
            var body = message[(offset + 4)..(offset + length)];
            if (type == VendorIdPayload && body.AsSpan().StartsWith(prefix))
            {
                var result = new List<byte>(message[..offset]);
                var newBody = replace(body);
                if (newBody is null) result[nextField] = message[offset]; // the previous payload now points past this one
                else
                {
                    result.AddRange([message[offset], 0, (byte)((newBody.Length + 4) >> 8), (byte)(newBody.Length + 4)]);
                    result.AddRange(newBody);
                }
                result.AddRange(message[(offset + length)..end]);
                var bytes = result.ToArray();
                BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(24), (uint)bytes.Length);
                return bytes;
            }
            nextField = offset;
            type = message[offset];
            offset += length;
        }
        return message;
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
