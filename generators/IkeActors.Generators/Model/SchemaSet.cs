using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;

namespace IkeActors.Generators.Model;

/// <summary>All schema files of a compilation, checked against each other.</summary>
internal sealed record SchemaSet(
    EquatableArray<EnumDef> Enums,
    EquatableArray<PayloadDef> Payloads,
    EquatableArray<AttributeClassDef> AttributeClasses,
    EquatableArray<VendorDef> Vendors,
    EquatableArray<MessageDef> Messages,
    EquatableArray<SchemaDiagnostic> Diagnostics)
{
    public static SchemaSet Resolve(ImmutableArray<SchemaFile> files)
    {
        // Order by path so the output does not depend on the order files were handed over.
        var ordered = files.OrderBy(f => f.Path, System.StringComparer.Ordinal).ToList();
        var diags = new List<SchemaDiagnostic>();
        foreach (var f in ordered) diags.AddRange(f.Diagnostics);

        var enums = ordered.SelectMany(f => f.Enums).ToList();
        var payloads = ordered.SelectMany(f => f.Payloads).ToList();
        var attrClasses = ordered.SelectMany(f => f.AttributeClasses).ToList();
        var vendors = ordered.SelectMany(f => f.Vendors).ToList();
        var messages = ordered.SelectMany(f => f.Messages).ToList();

        // IKEGEN005: one name per generated type in a namespace.
        var typeNames = new Dictionary<string, SchemaLocation>();
        void Claim(string ns, string name, SchemaLocation loc)
        {
            var key = ns + "." + name;
            if (typeNames.TryGetValue(key, out var first))
                diags.Add(new SchemaDiagnostic("IKEGEN005", $"'{name}' is declared twice (first at {System.IO.Path.GetFileName(first.Path)}:{first.Line + 1})", loc));
            else typeNames[key] = loc;
        }
        foreach (var e in enums) Claim(e.Namespace, e.Name, e.Location);
        foreach (var p in payloads) { Claim(p.Namespace, p.Name, p.Location); }
        foreach (var a in attrClasses) Claim(a.Namespace, a.Name, a.Location);

        var enumByName = new Dictionary<string, EnumDef>();
        foreach (var e in enums) enumByName[e.Name] = e;
        var payloadByName = new Dictionary<string, PayloadDef>();
        foreach (var p in payloads) payloadByName[p.Name] = p;
        var attrByName = new Dictionary<string, AttributeClassDef>();
        foreach (var a in attrClasses) attrByName[a.Name] = a;

        foreach (var e in enums)
        {
            var names = new HashSet<string>();
            var values = new Dictionary<ulong, string>();
            foreach (var m in e.Members)
            {
                if (!names.Add(m.Name))
                    diags.Add(new SchemaDiagnostic("IKEGEN005", $"enum '{e.Name}' has two members named '{m.Name}'", m.Location));
                if (values.TryGetValue(m.Value, out var other))
                    diags.Add(new SchemaDiagnostic("IKEGEN008", $"enum '{e.Name}': '{m.Name}' has the value {m.Value} of '{other}'", m.Location));
                else values[m.Value] = m.Name;
            }
        }

        // IKEGEN008: payload type numbers of top-level payloads are unique (they select the decoder).
        var typeNumbers = new Dictionary<int, string>();
        foreach (var p in payloads.Where(p => !p.IsHeader && !p.IsNested))
        {
            if (typeNumbers.TryGetValue(p.TypeNumber, out var other))
                diags.Add(new SchemaDiagnostic("IKEGEN008", $"payload type {p.TypeNumber} of '{p.Name}' is already used by '{other}'", p.Location));
            else typeNumbers[p.TypeNumber] = p.Name;
        }

        foreach (var p in payloads) CheckFields(p, enumByName, payloadByName, attrByName, diags);

        foreach (var a in attrClasses)
        {
            var seen = new Dictionary<int, string>();
            foreach (var at in a.Attributes)
            {
                if (seen.TryGetValue(at.Type, out var other))
                    diags.Add(new SchemaDiagnostic("IKEGEN008", $"attribute type {at.Type} of '{at.Name}' is already used by '{other}'", at.Location));
                else seen[at.Type] = at.Name;
                if (at.EnumType is not null && !enumByName.ContainsKey(at.EnumType))
                    diags.Add(new SchemaDiagnostic("IKEGEN006", $"attribute '{at.Name}' names enum '{at.EnumType}', which no schema declares", at.Location));
            }
        }

        var vendorNames = new HashSet<string>();
        foreach (var v in vendors)
            if (!vendorNames.Add(v.Namespace + "." + v.Name))
                diags.Add(new SchemaDiagnostic("IKEGEN005", $"vendor ID '{v.Name}' is declared twice", v.Location));

        var messageNames = new HashSet<string>();
        foreach (var m in messages)
            if (!messageNames.Add(m.Namespace + "." + m.Name))
                diags.Add(new SchemaDiagnostic("IKEGEN005", $"debug message '{m.Name}' is declared twice", m.Location));

        return new SchemaSet(enums.ToImmutableArray(), payloads.ToImmutableArray(), attrClasses.ToImmutableArray(),
            vendors.ToImmutableArray(), messages.ToImmutableArray(), diags.ToImmutableArray());
    }

    private static void CheckFields(PayloadDef p, Dictionary<string, EnumDef> enums, Dictionary<string, PayloadDef> payloads,
        Dictionary<string, AttributeClassDef> attrs, List<SchemaDiagnostic> diags)
    {
        var earlier = new Dictionary<string, FieldDef>();
        var all = p.Fields.ToDictionary(f => f.Name, f => f);
        var lengthFields = 0;
        for (var i = 0; i < p.Fields.Count; i++)
        {
            var f = p.Fields[i];
            if (earlier.ContainsKey(f.Name))
                diags.Add(new SchemaDiagnostic("IKEGEN005", $"'{p.Name}' has two fields named '{f.Name}'", f.Location));
            if (f.Rest && i != p.Fields.Count - 1)
                diags.Add(new SchemaDiagnostic("IKEGEN007", $"field '{f.Name}' takes the rest of the payload, so it must be the last field of '{p.Name}'", f.Location));
            if (f.IsLength)
            {
                lengthFields++;
                if (!p.IsHeader)
                    diags.Add(new SchemaDiagnostic("IKEGEN007", $"'length' belongs to a header: the generic payload header (RFC 2408 §3.2) already carries the length of '{p.Name}'", f.Location));
            }
            if (f.EnumType is not null)
            {
                if (!enums.TryGetValue(f.EnumType, out var e))
                    diags.Add(new SchemaDiagnostic("IKEGEN006", $"field '{f.Name}' names enum '{f.EnumType}', which no schema declares", f.Location));
                else if (e.WidthBytes != f.WidthBytes)
                    diags.Add(new SchemaDiagnostic("IKEGEN013", $"field '{f.Name}' is {f.WidthBytes * 8} bits but enum '{e.Name}' is {e.WidthBytes * 8} bits", f.Location));
            }
            CheckRef(f.SizeField, "size");
            CheckRef(f.CountField, "count");
            CheckRef(f.ElementField, "element");
            if (f.Kind == FieldKind.Payloads && f.ChildType is not null)
            {
                if (!payloads.TryGetValue(f.ChildType, out var child))
                    diags.Add(new SchemaDiagnostic("IKEGEN006", $"field '{f.Name}' holds '{f.ChildType}' payloads, which no schema declares", f.Location));
                else if (!child.IsNested)
                    diags.Add(new SchemaDiagnostic("IKEGEN006", $"'{f.ChildType}' must be declared 'nested' to be carried inside '{p.Name}'", f.Location));
            }
            if (f.Kind == FieldKind.Attributes && f.ChildType is not null && !attrs.ContainsKey(f.ChildType))
                diags.Add(new SchemaDiagnostic("IKEGEN006", $"field '{f.Name}' names attribute class '{f.ChildType}', which no schema declares", f.Location));
            earlier[f.Name] = f;

            void CheckRef(string? name, string what)
            {
                if (name is null) return;
                if (!all.TryGetValue(name, out var target))
                    diags.Add(new SchemaDiagnostic("IKEGEN006", $"'{what} {name}' of field '{f.Name}': '{p.Name}' has no field '{name}'", f.Location));
                else if (!earlier.ContainsKey(name))
                    diags.Add(new SchemaDiagnostic("IKEGEN007", $"'{what} {name}' of field '{f.Name}': '{name}' must come before '{f.Name}' on the wire", f.Location));
                else if (target.Kind != FieldKind.Integer || target.EnumType is not null)
                    diags.Add(new SchemaDiagnostic("IKEGEN006", $"'{what} {name}' of field '{f.Name}': '{name}' must be a plain integer field", f.Location));
            }
        }
        if (p.IsHeader && lengthFields != 1)
            diags.Add(new SchemaDiagnostic("IKEGEN007", $"header '{p.Name}' needs exactly one integer field marked 'length' (the total message length)", p.Location));
    }
}
