using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using IkeActors.Generators.Model;

namespace IkeActors.Generators.Emit;

/// <summary>
/// Per namespace: the payload dispatch table (type number -> validating decoder) and,
/// where a header is declared, the whole-message walker over the payload chain.
/// </summary>
internal static class MessageEmitter
{
    private const string Rt = "global::IkeActors.Protocol.";
    private const string Span = "global::System.ReadOnlySpan<byte>";

    public static string EmitDispatch(string ns, IReadOnlyList<PayloadDef> payloads)
    {
        var w = CodeWriter.File("the payload schemas of " + ns, ns);
        w.Doc("Selects the decoder of a payload by its type number (RFC 2408 §3.1 Next Payload).");
        w.Open("public static partial class PayloadDispatch");
        var top = payloads.Where(p => !p.IsHeader && !p.IsNested).OrderBy(p => p.TypeNumber).ToList();
        var nested = payloads.Where(p => p.IsNested).OrderBy(p => p.TypeNumber).ToList();
        w.Doc("True when a schema of this namespace declares a top-level payload with this type.");
        w.Open("public static bool IsKnown(byte type) => type switch");
        foreach (var p in top) w.Line(p.TypeNumber.ToString(CultureInfo.InvariantCulture) + " => true,");
        w.Line("_ => false,");
        w.Close(";");
        w.Line();
        w.Doc("Validates one payload (generic header included). Unknown types pass with only the generic header checked; a payload that may only be nested is an error at the top level.");
        w.Open("public static bool TryValidate(byte type, " + Span + " payload, out " + Rt + "WireError error)");
        w.Open("switch (type)");
        foreach (var p in top)
            w.Line("case " + p.TypeNumber.ToString(CultureInfo.InvariantCulture) + ": return " + p.Name + "View.TryParse(payload, out _, out error);");
        foreach (var p in nested.Where(n => top.All(t => t.TypeNumber != n.TypeNumber)).GroupBy(n => n.TypeNumber).Select(g => g.First()))
            w.Line("case " + p.TypeNumber.ToString(CultureInfo.InvariantCulture) + ": error = new(0, " + CodeWriter.Literal(p.Name) + ", " + Rt + "WireErrorReason.BadNextPayload); return false;");
        w.Line("default: error = default; return true;");
        w.Close();
        w.Close();
        w.Close();
        return w.ToString();
    }

    public static string EmitWalker(PayloadDef header)
    {
        var name = header.Name.EndsWith("Header") ? header.Name.Substring(0, header.Name.Length - 6) + "Message" : header.Name + "Message";
        var view = header.Name + "View";
        int Off(string field)
        {
            var off = 0;
            foreach (var f in header.Fields)
            {
                if (f.Name == field) return off;
                off += f.Kind is FieldKind.Integer or FieldKind.Reserved ? f.WidthBytes : f.FixedSize;
            }
            return -1;
        }
        var next = Off("NextPayload");
        var version = Off("Version");
        var flags = Off("Flags");
        var length = header.Fields.First(f => f.IsLength);
        var w = CodeWriter.File(System.IO.Path.GetFileName(header.Location.Path), header.Namespace);
        w.Doc("A whole ISAKMP message: header plus the validated payload chain (RFC 2408 §3.1, §3.2). Zero-copy.");
        w.Open("public readonly ref partial struct " + name);
        w.Line("private readonly " + Span + " _raw;");
        w.Line("private readonly bool _walked;");
        w.Line("private " + name + "(" + Span + " raw, bool walked) { _raw = raw; _walked = walked; }");
        w.Line();
        w.Doc("The message bytes, as long as the header's length field says.");
        w.Line("public " + Span + " Raw => _raw;");
        w.Line("public " + view + " Header => " + view + ".FromValidated(_raw.Slice(0, " + view + ".MinimumSize));");
        w.Doc("Everything after the header: the payload chain, or ciphertext when the Encryption flag is set.");
        w.Line("public " + Span + " Body => _raw.Slice(" + view + ".MinimumSize);");
        if (flags >= 0)
        {
            w.Doc("RFC 2408 §3.1: Flags bit 0 (E) - the payloads after the header are encrypted.");
            w.Line("public bool IsEncrypted => (_raw[" + flags + "] & 0x01) != 0;");
        }
        w.Doc("True when the payload chain was walked and validated (false for an encrypted body).");
        w.Line("public bool PayloadsValidated => _walked;");
        w.Line();
        w.Doc("Parses a datagram: header checks, then the payload chain unless the body is encrypted. Never throws.");
        w.Open("public static bool TryParse(" + Span + " datagram, out " + name + " message, out " + Rt + "WireError error)");
        w.Line("return TryParseCore(datagram, plaintextWithPadding: false, out message, out error);");
        w.Close();
        w.Line();
        w.Doc("Parses a message whose body was decrypted in place: the chain is walked whatever the E flag says, and padding after the last payload is allowed (RFC 2409 Appendix B).");
        w.Open("public static bool TryParseDecrypted(" + Span + " message, out " + name + " parsed, out " + Rt + "WireError error)");
        w.Line("return TryParseCore(message, plaintextWithPadding: true, out parsed, out error);");
        w.Close();
        w.Line();
        w.Open("private static bool TryParseCore(" + Span + " data, bool plaintextWithPadding, out " + name + " message, out " + Rt + "WireError error)");
        w.Line("message = default;");
        w.Line("if (!" + view + ".TryParse(data, out _, out error)) return false;");
        w.Line("int total = (int)" + Types.ReadExpr(length.WidthBytes, "data.Slice(" + Off(length.Name) + ")") + ";");
        w.Line("var raw = data.Slice(0, total);");
        if (version >= 0)
        {
            w.Line("// RFC 2408 §5.1: a major version this implementation does not speak is rejected (INVALID-MAJOR-VERSION).");
            w.Line("if ((raw[" + version + "] >> 4) != 1) { error = new(" + version + ", " + CodeWriter.Literal(header.Name + ".Version") + ", " + Rt + "WireErrorReason.UnsupportedVersion); return false; }");
        }
        if (flags >= 0)
            w.Line("if (!plaintextWithPadding && (raw[" + flags + "] & 0x01) != 0) { message = new(raw, false); return true; }");
        w.Line("int offset = " + view + ".MinimumSize;");
        w.Line("byte type = raw[" + next + "];");
        w.Open("while (type != 0)");
        w.Line("if (raw.Length - offset < 4) { error = new(offset, \"generic payload header\", " + Rt + "WireErrorReason.Truncated); return false; }");
        w.Line("int length = global::System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(raw.Slice(offset + 2));");
        w.Line("if (length < 4) { error = new(offset + 2, \"generic payload header.PayloadLength\", " + Rt + "WireErrorReason.LengthTooShort); return false; }");
        w.Line("if (length > raw.Length - offset) { error = new(offset + 2, \"generic payload header.PayloadLength\", " + Rt + "WireErrorReason.LengthBeyondData); return false; }");
        w.Line("if (!PayloadDispatch.TryValidate(type, raw.Slice(offset, length), out var inner)) { error = inner.Shift(offset); return false; }");
        w.Line("type = raw[offset];");
        w.Line("offset += length;");
        w.Close();
        w.Line("if (offset != raw.Length && !plaintextWithPadding) { error = new(offset, " + CodeWriter.Literal(name) + ", " + Rt + "WireErrorReason.TrailingBytes); return false; }");
        w.Line("message = new(raw, true);");
        w.Line("return true;");
        w.Close();
        w.Line();
        w.Doc("The payloads in order, as (type, bytes) entries. Empty when the chain was not walked.");
        w.Line("public " + Rt + "PayloadEntryEnumerator Payloads => _walked ? new(Body, _raw[" + next + "], " + view + ".MinimumSize) : default;");
        w.Line();
        w.Doc("Writes the payload type numbers in order into destination (for the IKE_DECODE debug line); returns how many.");
        w.Open("public int GetPayloadTypes(global::System.Span<byte> destination)");
        w.Line("int n = 0;");
        w.Line("foreach (var entry in Payloads) { if (n == destination.Length) break; destination[n++] = entry.Type; }");
        w.Line("return n;");
        w.Close();
        w.Close();
        return w.ToString();
    }
}
