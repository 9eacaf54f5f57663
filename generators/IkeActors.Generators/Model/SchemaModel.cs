using System;

namespace IkeActors.Generators.Model;

// The parsed schema, as equatable records: the incremental pipeline compares these
// to decide whether generated code must be re-emitted.

/// <summary>Where a schema element was written (0-based line and column), for diagnostics.</summary>
internal sealed record SchemaLocation(string Path, int Line, int Column, int Length);

internal sealed record SchemaDiagnostic(string Id, string Message, SchemaLocation Location);

internal sealed record EnumMemberDef(string Name, ulong Value, string Display, string? Doc, SchemaLocation Location);

/// <summary><c>enum Name : u8 [flags]</c>: a wire enumeration with the names the ASA prints.</summary>
internal sealed record EnumDef(
    string Name, string Namespace, int WidthBytes, bool IsFlags,
    EquatableArray<EnumMemberDef> Members, string? Doc, SchemaLocation Location);

internal enum FieldKind { Integer, Reserved, Bytes, Array, Payloads, Attributes }

/// <summary>One row of a payload's encoding table.</summary>
internal sealed record FieldDef(
    FieldKind Kind,
    string Name,
    int WidthBytes,          // Integer / Reserved: 1, 2, 3, 4 or 8
    string? EnumType,        // Integer: the enum it is read as
    bool IsLength,           // Integer: the header's total-length field
    int FixedSize,           // Bytes: size N (0 when sized otherwise)
    string? SizeField,       // Bytes: size F (F is derived on write)
    bool Rest,               // Bytes/Array/Payloads/Attributes: to the end of the payload
    int Min, int Max,        // Bytes: bounds on a variable size (-1 = none)
    string? ElementField,    // Array: element size field (explicit in the model)
    string? CountField,      // Array/Payloads: element count field (derived on write)
    string? ChildType,       // Payloads: nested payload type; Attributes: attribute class (optional)
    string? Doc,
    SchemaLocation Location);

/// <summary><c>payload Name = N "DISPLAY"</c> or <c>header Name</c>.</summary>
internal sealed record PayloadDef(
    string Name, string Namespace, bool IsHeader, int TypeNumber, string Display, bool IsNested,
    EquatableArray<FieldDef> Fields, string? Doc, SchemaLocation Location);

internal enum AttributeForm { Basic, Variable, Any }

internal sealed record AttributeDef(int Type, string Name, AttributeForm Form, string? EnumType, string Display, string? Doc, SchemaLocation Location);

/// <summary><c>attributes Name</c>: a data-attribute class table (RFC 2408 §3.3).</summary>
internal sealed record AttributeClassDef(string Name, string Namespace, EquatableArray<AttributeDef> Attributes, string? Doc, SchemaLocation Location);

/// <summary><c>vendor Name "display" HEX [prefix]</c>.</summary>
internal sealed record VendorDef(string Name, string Namespace, string Display, EquatableArray<byte> Bytes, bool IsPrefix, string? Doc, SchemaLocation Location);

internal enum HoleType { Text, Int, Hex, HexUpper, Ip, Payloads }

internal sealed record TemplatePart(string? Literal, string? HoleName, HoleType HoleType);

/// <summary><c>message Name id=N severity=N class=C level=N context=C "template"</c>.</summary>
internal sealed record MessageDef(
    string Name, string Namespace, int SyslogId, int Severity, string Class, int Level, string Context,
    string Template, EquatableArray<TemplatePart> Parts, string? Doc, SchemaLocation Location);

/// <summary>Everything one schema file declares, plus the diagnostics of reading it.</summary>
internal sealed record SchemaFile(
    string Path,
    EquatableArray<EnumDef> Enums,
    EquatableArray<PayloadDef> Payloads,
    EquatableArray<AttributeClassDef> AttributeClasses,
    EquatableArray<VendorDef> Vendors,
    EquatableArray<MessageDef> Messages,
    EquatableArray<SchemaDiagnostic> Diagnostics);
