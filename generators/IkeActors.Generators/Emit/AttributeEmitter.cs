using IkeActors.Generators.Model;

namespace IkeActors.Generators.Emit;

/// <summary>attributes -> an enum of attribute types and a table of their forms (TV/TLV) for validation.</summary>
internal static class AttributeEmitter
{
    private const string Rt = "global::IkeActors.Protocol.";

    public static string Emit(AttributeClassDef a)
    {
        var w = CodeWriter.File(System.IO.Path.GetFileName(a.Location.Path), a.Namespace);
        w.Doc(a.Doc);
        w.Open("public enum " + a.Name + " : ushort");
        foreach (var at in a.Attributes) { w.Doc(at.Doc); w.Line(at.Name + " = " + at.Type + ","); }
        w.Close();
        w.Line();
        w.Doc("Form, display name and value enum of each " + a.Name + " (RFC 2408 §3.3 data attributes).");
        w.Open("public static partial class " + a.Name + "Table");
        w.Doc("The form the schema allows for an attribute type, or null for a type it does not name.");
        w.Open("public static " + Rt + "AttributeForm? GetForm(ushort type) => type switch");
        foreach (var at in a.Attributes) w.Line(at.Type + " => " + Rt + "AttributeForm." + at.Form + ",");
        w.Line("_ => null,");
        w.Close(";");
        w.Open("public static string? GetDisplayName(this " + a.Name + " type) => type switch");
        foreach (var at in a.Attributes) w.Line(a.Name + "." + at.Name + " => " + CodeWriter.Literal(at.Display) + ",");
        w.Line("_ => null,");
        w.Close(";");
        w.Doc("The name of a basic attribute's value through its enum (\"AES\", \"Group 2\"), or null.");
        w.Open("public static string? GetValueName(ushort type, ulong value) => type switch");
        foreach (var at in a.Attributes)
            if (at.EnumType is not null)
                w.Line(at.Type + " => ((" + at.EnumType + ")value).GetDisplayName(),");
        w.Line("_ => null,");
        w.Close(";");
        w.Doc("Checks every attribute of a validated list against the table: a named type in the wrong form is an error; unknown types are left to negotiation (ATTRIBUTES-NOT-SUPPORTED).");
        w.Open("public static bool TryValidateForms(" + Rt + "DataAttributeReader attributes, out " + Rt + "WireError error)");
        w.Line("error = default;");
        w.Open("foreach (var attribute in attributes)");
        w.Line("var form = GetForm(attribute.Type);");
        w.Line("if (form == " + Rt + "AttributeForm.Basic && !attribute.IsBasic || form == " + Rt + "AttributeForm.Variable && attribute.IsBasic)");
        w.Line("{ error = new(attribute.Offset, " + CodeWriter.Literal(a.Name) + ", " + Rt + "WireErrorReason.AttributeForm); return false; }");
        w.Close();
        w.Line("return true;");
        w.Close();
        w.Close();
        return w.ToString();
    }
}
