using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using IkeActors.Generators.Model;

namespace IkeActors.Generators.Emit;

/// <summary>
/// payload/header -> a zero-copy validating view (ref struct over the wire bytes) and an
/// equatable value with an exact-size writer. One generic plan per encoding table, in the
/// spirit of strongSwan's encoding rules, but emitted as straight-line code.
/// </summary>
internal static class PayloadEmitter
{
    private const string Rt = "global::IkeActors.Protocol.";
    private const string Bp = "global::System.Buffers.Binary.BinaryPrimitives.";
    private const string Span = "global::System.ReadOnlySpan<byte>";

    public static string Emit(PayloadDef p, SchemaSet set)
    {
        var w = CodeWriter.File(System.IO.Path.GetFileName(p.Location.Path), p.Namespace);
        var plan = new Plan(p, set);
        EmitView(w, plan);
        w.Line();
        EmitModel(w, plan);
        return w.ToString();
    }

    private sealed class Plan
    {
        public Plan(PayloadDef p, SchemaSet set)
        {
            P = p;
            HeaderSize = p.IsHeader ? 0 : 4;
            Derived = new HashSet<string>();
            foreach (var f in p.Fields)
            {
                if (f.SizeField is not null) Derived.Add(f.SizeField);
                if (f.CountField is not null) Derived.Add(f.CountField);
                if (f.IsLength) Derived.Add(f.Name);
            }
            Referenced = new HashSet<string>(p.Fields.SelectMany(f => new[] { f.SizeField, f.CountField, f.ElementField }).Where(n => n is not null)!);
            Minimum = HeaderSize + p.Fields.Sum(FixedWidth);
            Children = new Dictionary<string, PayloadDef>();
            foreach (var f in p.Fields)
                if (f.Kind == FieldKind.Payloads && f.ChildType is not null)
                {
                    var child = set.Payloads.FirstOrDefault(x => x.Name == f.ChildType);
                    if (child is not null) Children[f.Name] = child;
                }
            Enums = set.Enums.ToDictionary(e => e.Name, e => e);
        }

        public PayloadDef P { get; }
        public int HeaderSize { get; }
        public int Minimum { get; }
        public HashSet<string> Derived { get; }
        public HashSet<string> Referenced { get; }
        public Dictionary<string, PayloadDef> Children { get; }
        public Dictionary<string, EnumDef> Enums { get; }
        public string View => P.Name + "View";
        public string Model => P.Name;
        public string Err(string field) => CodeWriter.Literal(P.Name + "." + field);

        public string IntType(FieldDef f) => f.EnumType is not null && Enums.ContainsKey(f.EnumType) ? f.EnumType : Types.Unsigned(f.WidthBytes);
    }

    private static int FixedWidth(FieldDef f) => f.Kind switch
    {
        FieldKind.Integer or FieldKind.Reserved => f.WidthBytes,
        FieldKind.Bytes when f.FixedSize > 0 => f.FixedSize,
        _ => 0,
    };

    // ------------------------------------------------------------------ view

    private static void EmitView(CodeWriter w, Plan plan)
    {
        var p = plan.P;
        w.Doc((p.Doc is null ? "" : p.Doc + ". ") + "Zero-copy view of validated wire bytes; create it with TryParse.");
        w.Open("public readonly ref partial struct " + plan.View);
        if (!p.IsHeader)
        {
            w.Doc("The payload type number (RFC 2408 §3.1 Next Payload values).");
            w.Line("public const byte PayloadTypeNumber = " + p.TypeNumber.ToString(CultureInfo.InvariantCulture) + ";");
        }
        w.Doc("The smallest valid encoding: " + (p.IsHeader ? "" : "generic payload header and ") + "fixed fields.");
        w.Line("public const int MinimumSize = " + plan.Minimum.ToString(CultureInfo.InvariantCulture) + ";");
        w.Line();
        w.Line("private readonly " + Span + " _raw;");
        w.Line("private " + plan.View + "(" + Span + " raw) => _raw = raw;");
        w.Line();
        w.Doc("Creates a view over bytes already validated by TryParse (used by chain enumerators).");
        w.Line("internal static " + plan.View + " FromValidated(" + Span + " raw) => new(raw);");
        w.Line();
        w.Doc(p.IsHeader ? "The header bytes." : "The whole payload, generic header included.");
        w.Line("public " + Span + " Raw => _raw;");
        if (!p.IsHeader)
        {
            w.Doc("Type of the payload that follows this one (0 = none), RFC 2408 §3.2.");
            w.Line("public byte NextPayload => _raw[0];");
            w.Doc("Payload length including the generic header, RFC 2408 §3.2.");
            w.Line("public ushort PayloadLength => " + Bp + "ReadUInt16BigEndian(_raw.Slice(2));");
        }

        // Accessors, with offsets as constant + the sizes of earlier variable fields.
        var constOff = plan.HeaderSize;
        var dyn = new List<string>();
        foreach (var f in p.Fields)
        {
            var off = dyn.Count == 0 ? constOff.ToString(CultureInfo.InvariantCulture) : constOff.ToString(CultureInfo.InvariantCulture) + " + " + string.Join(" + ", dyn);
            switch (f.Kind)
            {
                case FieldKind.Integer:
                    w.Doc(f.Doc);
                    var read = Types.ReadExpr(f.WidthBytes, "_raw.Slice(" + off + ")");
                    w.Line("public " + plan.IntType(f) + " " + f.Name + " => (" + plan.IntType(f) + ")" + read + ";");
                    constOff += f.WidthBytes;
                    break;
                case FieldKind.Reserved:
                    constOff += f.WidthBytes;
                    break;
                case FieldKind.Bytes when f.FixedSize > 0:
                    w.Doc(f.Doc);
                    w.Line("public " + Span + " " + f.Name + " => _raw.Slice(" + off + ", " + f.FixedSize + ");");
                    constOff += f.FixedSize;
                    break;
                case FieldKind.Bytes when f.SizeField is not null:
                    w.Doc(f.Doc);
                    w.Line("public " + Span + " " + f.Name + " => _raw.Slice(" + off + ", (int)" + f.SizeField + ");");
                    dyn.Add("(int)" + f.SizeField);
                    break;
                case FieldKind.Bytes:
                case FieldKind.Array:
                    w.Doc(f.Doc);
                    w.Line("public " + Span + " " + f.Name + " => _raw.Slice(" + off + ");");
                    break;
                case FieldKind.Payloads:
                    w.Doc(f.Doc);
                    var childView = f.ChildType + "View";
                    w.Line("public " + childView + ".Chain " + f.Name + " => new(_raw.Slice(" + off + "));");
                    break;
                case FieldKind.Attributes:
                    w.Doc(f.Doc);
                    w.Line("public " + Rt + "DataAttributeReader " + f.Name + " => new(_raw.Slice(" + off + "));");
                    break;
            }
        }
        w.Line();
        EmitTryParse(w, plan);
        if (!p.IsHeader)
        {
            w.Line();
            EmitChain(w, plan);
        }
        w.Close();
    }

    private static void EmitTryParse(CodeWriter w, Plan plan)
    {
        var p = plan.P;
        var name = CodeWriter.Literal(p.Name);
        w.Doc("Validates lengths, reserved fields and nested structures; never throws. Offsets in the error are relative to data.");
        w.Open("public static bool TryParse(" + Span + " data, out " + plan.View + " view, out " + Rt + "WireError error)");
        w.Line("view = default;");
        w.Line("error = default;");
        if (p.IsHeader)
        {
            var lengthField = p.Fields.First(f => f.IsLength);
            var lengthOff = OffsetOfFixed(p, lengthField, plan.HeaderSize);
            w.Line("if (data.Length < MinimumSize) { error = new(0, " + name + ", " + Rt + "WireErrorReason.Truncated); return false; }");
            w.Line("ulong length = " + Types.ReadExpr(lengthField.WidthBytes, "data.Slice(" + lengthOff + ")") + ";");
            w.Line("if (length < MinimumSize) { error = new(" + lengthOff + ", " + plan.Err(lengthField.Name) + ", " + Rt + "WireErrorReason.LengthTooShort); return false; }");
            w.Line("if (length > (ulong)data.Length) { error = new(" + lengthOff + ", " + plan.Err(lengthField.Name) + ", " + Rt + "WireErrorReason.LengthBeyondData); return false; }");
            w.Line("var raw = data.Slice(0, MinimumSize);");
        }
        else
        {
            w.Line("if (data.Length < 4) { error = new(0, " + name + ", " + Rt + "WireErrorReason.Truncated); return false; }");
            w.Line("int length = " + Bp + "ReadUInt16BigEndian(data.Slice(2));");
            w.Line("if (length < MinimumSize) { error = new(2, " + plan.Err("PayloadLength") + ", " + Rt + "WireErrorReason.LengthTooShort); return false; }");
            w.Line("if (length > data.Length) { error = new(2, " + plan.Err("PayloadLength") + ", " + Rt + "WireErrorReason.LengthBeyondData); return false; }");
            w.Line("var raw = data.Slice(0, length);");
            w.Line("// RFC 2408 §3.2: the generic header's RESERVED octet MUST be 0.");
            w.Line("if (raw[1] != 0) { error = new(1, " + plan.Err("Reserved") + ", " + Rt + "WireErrorReason.ReservedNotZero); return false; }");
        }
        w.Line("int offset = " + plan.HeaderSize + ";");
        foreach (var f in p.Fields)
        {
            var err = plan.Err(f.Name);
            switch (f.Kind)
            {
                case FieldKind.Integer:
                    w.Line("if (raw.Length - offset < " + f.WidthBytes + ") { error = new(offset, " + err + ", " + Rt + "WireErrorReason.Truncated); return false; }");
                    if (plan.Referenced.Contains(f.Name))
                        w.Line("ulong f" + f.Name + " = " + Types.ReadExpr(f.WidthBytes, "raw.Slice(offset)") + ";");
                    w.Line("offset += " + f.WidthBytes + ";");
                    break;
                case FieldKind.Reserved:
                    w.Line("if (raw.Length - offset < " + f.WidthBytes + ") { error = new(offset, " + err + ", " + Rt + "WireErrorReason.Truncated); return false; }");
                    w.Line("if (global::System.MemoryExtensions.ContainsAnyExcept(raw.Slice(offset, " + f.WidthBytes + "), (byte)0)) { error = new(offset, " + err + ", " + Rt + "WireErrorReason.ReservedNotZero); return false; }");
                    w.Line("offset += " + f.WidthBytes + ";");
                    break;
                case FieldKind.Bytes:
                    var sizeExpr = f.FixedSize > 0 ? f.FixedSize.ToString(CultureInfo.InvariantCulture)
                        : f.SizeField is not null ? "f" + f.SizeField : "(ulong)(raw.Length - offset)";
                    w.Open("");
                    w.Line("ulong n = " + sizeExpr + ";");
                    w.Line("if (n > (ulong)(raw.Length - offset)) { error = new(offset, " + err + ", " + Rt + "WireErrorReason.Truncated); return false; }");
                    if (f.Min >= 0) w.Line("if (n < " + f.Min + ") { error = new(offset, " + err + ", " + Rt + "WireErrorReason.SizeOutOfRange); return false; }");
                    if (f.Max >= 0) w.Line("if (n > " + f.Max + ") { error = new(offset, " + err + ", " + Rt + "WireErrorReason.SizeOutOfRange); return false; }");
                    w.Line("offset += (int)n;");
                    w.Close();
                    break;
                case FieldKind.Array:
                    // Zero-size elements cannot be counted: a non-zero count with them could not round-trip.
                    w.Line("if (f" + f.ElementField + " * f" + f.CountField + " != (ulong)(raw.Length - offset) || (f" + f.ElementField + " == 0 && f" + f.CountField + " != 0)) { error = new(offset, " + err + ", " + Rt + "WireErrorReason.CountMismatch); return false; }");
                    w.Line("offset = raw.Length;");
                    break;
                case FieldKind.Payloads:
                    var child = plan.Children.TryGetValue(f.Name, out var c) ? c : null;
                    var childView = f.ChildType + "View";
                    var childType = child?.TypeNumber ?? 0;
                    w.Open("");
                    w.Line("ulong count = 0;");
                    w.Open("while (offset < raw.Length)");
                    w.Line("if (!" + childView + ".TryParse(raw.Slice(offset), out var child, out var inner)) { error = inner.Shift(offset); return false; }");
                    w.Line("int at = offset;");
                    w.Line("offset += child.Raw.Length;");
                    w.Line("count++;");
                    w.Line("// RFC 2408 §3.5/§3.6: more nested payloads follow when Next Payload is " + childType + "; the last one says 0.");
                    w.Line("if (child.NextPayload != (offset < raw.Length ? (byte)" + childType + " : (byte)0)) { error = new(at, " + err + ", " + Rt + "WireErrorReason.BadNextPayload); return false; }");
                    w.Close();
                    if (f.CountField is not null)
                        w.Line("if (count != f" + f.CountField + ") { error = new(offset, " + plan.Err(f.CountField) + ", " + Rt + "WireErrorReason.CountMismatch); return false; }");
                    w.Close();
                    break;
                case FieldKind.Attributes:
                    w.Line("if (!" + Rt + "DataAttributeReader.Validate(raw.Slice(offset), out var attributeError)) { error = attributeError.Shift(offset); return false; }");
                    w.Line("offset = raw.Length;");
                    break;
            }
        }
        w.Line("if (offset != raw.Length) { error = new(offset, " + name + ", " + Rt + "WireErrorReason.TrailingBytes); return false; }");
        w.Line("view = new(raw);");
        w.Line("return true;");
        w.Close();
    }

    private static int OffsetOfFixed(PayloadDef p, FieldDef target, int start)
    {
        var off = start;
        foreach (var f in p.Fields)
        {
            if (ReferenceEquals(f, target)) return off;
            off += FixedWidth(f);
        }
        return off;
    }

    private static void EmitChain(CodeWriter w, Plan plan)
    {
        w.Doc("Enumerates a validated chain of these payloads (nested in a parent, or a message body).");
        w.Open("public ref struct Chain");
        w.Line("private " + Span + " _rest;");
        w.Line("private " + plan.View + " _current;");
        w.Line("internal Chain(" + Span + " rest) { _rest = rest; _current = default; }");
        w.Line("public Chain GetEnumerator() => this;");
        w.Line("public " + plan.View + " Current => _current;");
        w.Open("public bool MoveNext()");
        w.Line("if (_rest.Length < 4) return false;");
        w.Line("int length = " + Bp + "ReadUInt16BigEndian(_rest.Slice(2));");
        w.Line("if (length < 4 || length > _rest.Length) return false;");
        w.Line("_current = new(_rest.Slice(0, length));");
        w.Line("_rest = _rest.Slice(length);");
        w.Line("return true;");
        w.Close();
        w.Close();
    }

    // ------------------------------------------------------------------ value

    private static void EmitModel(CodeWriter w, Plan plan)
    {
        var p = plan.P;
        var modelFields = p.Fields.Where(f => f.Kind != FieldKind.Reserved && !plan.Derived.Contains(f.Name)).ToList();
        w.Doc((p.Doc is null ? "" : p.Doc + ". ") + "Value form: build it, compare it, write it with its exact size known up front.");
        w.Open("public readonly partial struct " + plan.Model + " : global::System.IEquatable<" + plan.Model + ">" + (p.IsHeader ? "" : ", " + Rt + "IIsakmpPayload"));
        if (!p.IsHeader)
        {
            w.Doc("The payload type number (RFC 2408 §3.1).");
            w.Line("public byte PayloadType => " + p.TypeNumber.ToString(CultureInfo.InvariantCulture) + ";");
        }
        foreach (var f in modelFields)
        {
            switch (f.Kind)
            {
                case FieldKind.Integer:
                    w.Doc(f.Doc);
                    w.Line("public " + plan.IntType(f) + " " + f.Name + " { get; init; }");
                    break;
                case FieldKind.Bytes:
                case FieldKind.Array:
                    w.Doc(f.Doc);
                    w.Line("public global::System.ReadOnlyMemory<byte> " + f.Name + " { get; init; }");
                    break;
                case FieldKind.Payloads:
                case FieldKind.Attributes:
                    var elem = f.Kind == FieldKind.Payloads ? f.ChildType! : Rt + "DataAttribute";
                    var backing = "_" + char.ToLowerInvariant(f.Name[0]) + f.Name.Substring(1);
                    w.Line("private readonly global::System.Collections.Generic.IReadOnlyList<" + elem + ">? " + backing + ";");
                    w.Doc(f.Doc);
                    w.Line("public global::System.Collections.Generic.IReadOnlyList<" + elem + "> " + f.Name
                        + " { get => " + backing + " ?? global::System.Array.Empty<" + elem + ">(); init => " + backing + " = value; }");
                    break;
            }
        }
        w.Line();

        // EncodedSize
        w.Doc("The exact number of bytes Write produces.");
        w.Open("public int EncodedSize");
        w.Open("get");
        w.Line("int size = " + plan.Minimum + ";");
        foreach (var f in p.Fields)
        {
            if (f.Kind == FieldKind.Bytes && f.FixedSize == 0) w.Line("size += " + f.Name + ".Length;");
            else if (f.Kind == FieldKind.Array) w.Line("size += " + f.Name + ".Length;");
            else if (f.Kind is FieldKind.Payloads or FieldKind.Attributes)
                w.Line("for (int i = 0; i < " + f.Name + ".Count; i++) size += " + f.Name + "[i].EncodedSize;");
        }
        w.Line("return size;");
        w.Close();
        w.Close();
        w.Line();

        // Write
        var maxSize = p.IsHeader ? "int.MaxValue" : "65535";
        w.Doc(p.IsHeader
            ? "Writes the header; the length field gets the header size until a message writer sets the total."
            : "Writes the payload with its generic header; returns the bytes written (EncodedSize).");
        w.Open("public int Write(global::System.Span<byte> destination" + (p.IsHeader ? "" : ", byte nextPayload") + ")");
        w.Line("int size = EncodedSize;");
        if (!p.IsHeader)
            w.Line("if (size > " + maxSize + ") throw new global::System.InvalidOperationException(\"" + p.Name + " is \" + size + \" bytes; a payload length holds at most 65535 (RFC 2408 §3.2).\");");
        w.Line("if (destination.Length < size) throw new global::System.ArgumentException(\"" + p.Name + " needs \" + size + \" bytes.\", nameof(destination));");
        w.Line("var d = destination.Slice(0, size);");
        if (!p.IsHeader)
        {
            w.Line("d[0] = nextPayload;");
            w.Line("d[1] = 0;");
            w.Line(Bp + "WriteUInt16BigEndian(d.Slice(2), (ushort)size);");
        }
        w.Line("int offset = " + plan.HeaderSize + ";");
        foreach (var f in p.Fields)
        {
            switch (f.Kind)
            {
                case FieldKind.Integer:
                    string value;
                    var t = Types.Unsigned(f.WidthBytes);
                    var max = Types.MaxValue(f.WidthBytes).ToString(CultureInfo.InvariantCulture) + "UL";
                    if (f.IsLength) value = "(" + t + ")size";
                    else if (plan.Derived.Contains(f.Name))
                    {
                        var user = p.Fields.First(x => x.SizeField == f.Name || x.CountField == f.Name);
                        string amount;
                        if (user.SizeField == f.Name) amount = user.Name + ".Length";
                        else if (user.Kind == FieldKind.Payloads) amount = user.Name + ".Count";
                        else amount = "(" + user.ElementField + " == 0 ? 0 : " + user.Name + ".Length / " + user.ElementField + ")";
                        w.Line("if ((ulong)" + amount + " > " + max + ") throw new global::System.InvalidOperationException(\"" + p.Name + "." + user.Name + " is too long for " + f.Name + ".\");");
                        value = "(" + t + ")" + amount;
                    }
                    else value = "(" + t + ")" + f.Name;
                    w.Line(Types.WriteStmt(f.WidthBytes, "d.Slice(offset)", value));
                    w.Line("offset += " + f.WidthBytes + ";");
                    break;
                case FieldKind.Reserved:
                    w.Line("d.Slice(offset, " + f.WidthBytes + ").Clear();");
                    w.Line("offset += " + f.WidthBytes + ";");
                    break;
                case FieldKind.Bytes:
                    if (f.FixedSize > 0)
                        w.Line("if (" + f.Name + ".Length != " + f.FixedSize + ") throw new global::System.InvalidOperationException(\"" + p.Name + "." + f.Name + " must be " + f.FixedSize + " bytes.\");");
                    if (f.Min >= 0 || f.Max >= 0)
                    {
                        var cond = new List<string>();
                        if (f.Min >= 0) cond.Add(f.Name + ".Length < " + f.Min);
                        if (f.Max >= 0) cond.Add(f.Name + ".Length > " + f.Max);
                        w.Line("if (" + string.Join(" || ", cond) + ") throw new global::System.InvalidOperationException(\"" + p.Name + "." + f.Name + " must be "
                            + (f.Min >= 0 ? f.Min.ToString(CultureInfo.InvariantCulture) : "0") + " to " + (f.Max >= 0 ? f.Max.ToString(CultureInfo.InvariantCulture) : "65535") + " bytes.\");");
                    }
                    w.Line(f.Name + ".Span.CopyTo(d.Slice(offset));");
                    w.Line("offset += " + f.Name + ".Length;");
                    break;
                case FieldKind.Array:
                    w.Line("if (" + f.ElementField + " == 0 ? " + f.Name + ".Length != 0 : " + f.Name + ".Length % " + f.ElementField + " != 0) throw new global::System.InvalidOperationException(\""
                        + p.Name + "." + f.Name + " must be a whole number of " + f.ElementField + "-byte elements.\");");
                    w.Line(f.Name + ".Span.CopyTo(d.Slice(offset));");
                    w.Line("offset += " + f.Name + ".Length;");
                    break;
                case FieldKind.Payloads:
                    var childType = plan.Children.TryGetValue(f.Name, out var c) ? c.TypeNumber : 0;
                    w.Line("for (int i = 0; i < " + f.Name + ".Count; i++) offset += " + f.Name + "[i].Write(d.Slice(offset), i + 1 < " + f.Name + ".Count ? (byte)" + childType + " : (byte)0);");
                    break;
                case FieldKind.Attributes:
                    w.Line("for (int i = 0; i < " + f.Name + ".Count; i++) offset += " + f.Name + "[i].Write(d.Slice(offset));");
                    break;
            }
        }
        w.Line("return offset;");
        w.Close();
        w.Line();

        // FromView / TryDecode
        w.Doc("Copies a validated view into a value (allocates; the view itself does not).");
        w.Open("public static " + plan.Model + " FromView(" + plan.View + " view)");
        foreach (var f in modelFields.Where(f => f.Kind is FieldKind.Payloads or FieldKind.Attributes))
        {
            var elem = f.Kind == FieldKind.Payloads ? f.ChildType! : Rt + "DataAttribute";
            w.Line("var l" + f.Name + " = new global::System.Collections.Generic.List<" + elem + ">();");
            w.Line("foreach (var item in view." + f.Name + ") l" + f.Name + ".Add(" + elem + ".FromView(item));");
        }
        w.Line("return new " + plan.Model);
        w.Line("{");
        foreach (var f in modelFields)
        {
            var v = f.Kind switch
            {
                FieldKind.Integer => "view." + f.Name,
                FieldKind.Bytes or FieldKind.Array => "view." + f.Name + ".ToArray()",
                _ => "l" + f.Name,
            };
            w.Line("    " + f.Name + " = " + v + ",");
        }
        w.Line("};");
        w.Close();
        w.Line();
        w.Doc("Validates and copies in one step; never throws on wire input.");
        w.Open("public static bool TryDecode(" + Span + " data, out " + plan.Model + " value, out " + Rt + "WireError error)");
        w.Line("if (!" + plan.View + ".TryParse(data, out var view, out error)) { value = default; return false; }");
        w.Line("value = FromView(view);");
        w.Line("return true;");
        w.Close();
        w.Line();

        // Equality
        var terms = new List<string>();
        foreach (var f in modelFields)
        {
            terms.Add(f.Kind switch
            {
                FieldKind.Integer => f.Name + " == other." + f.Name,
                FieldKind.Bytes or FieldKind.Array => "global::System.MemoryExtensions.SequenceEqual(" + f.Name + ".Span, other." + f.Name + ".Span)",
                _ => Rt + "WireEquality.ListEquals(" + f.Name + ", other." + f.Name + ")",
            });
        }
        w.Line("public bool Equals(" + plan.Model + " other) => " + (terms.Count == 0 ? "true" : string.Join("\n        && ", terms)) + ";");
        w.Line("public override bool Equals(object? obj) => obj is " + plan.Model + " other && Equals(other);");
        w.Open("public override int GetHashCode()");
        w.Line("var hash = new global::System.HashCode();");
        foreach (var f in modelFields)
        {
            w.Line(f.Kind switch
            {
                FieldKind.Integer => "hash.Add(" + f.Name + ");",
                FieldKind.Bytes or FieldKind.Array => "hash.AddBytes(" + f.Name + ".Span);",
                _ => "hash.Add(" + f.Name + ".Count);",
            });
        }
        w.Line("return hash.ToHashCode();");
        w.Close();
        w.Line("public static bool operator ==(" + plan.Model + " left, " + plan.Model + " right) => left.Equals(right);");
        w.Line("public static bool operator !=(" + plan.Model + " left, " + plan.Model + " right) => !left.Equals(right);");
        w.Close();
    }
}
