using System.Collections.Generic;
using System.Linq;
using IkeActors.Generators.Model;

namespace IkeActors.Generators.Emit;

/// <summary>vendor -> KnownVendorId enum, the bytes of each ID, and identification of a received VID.</summary>
internal static class VendorEmitter
{
    public static string Emit(string ns, IReadOnlyList<VendorDef> vendors)
    {
        var w = CodeWriter.File("the vendor-ID schemas of " + ns, ns);
        w.Doc("Vendor IDs the schemas name (RFC 2408 §3.16 payload bodies).");
        w.Open("public enum KnownVendorId");
        w.Line("Unknown = 0,");
        foreach (var v in vendors) { w.Doc(v.Doc); w.Line(v.Name + ","); }
        w.Close();
        w.Line();
        w.Open("public static partial class VendorIds");
        foreach (var v in vendors)
        {
            w.Doc(v.Display + (v.IsPrefix ? " (prefix: a version or capabilities may follow)" : "") + (v.Doc is null ? "" : ". " + v.Doc));
            w.Line("public static global::System.ReadOnlySpan<byte> " + v.Name + " => new byte[] { " + string.Join(", ", v.Bytes.Select(b => "0x" + b.ToString("x2"))) + " };");
        }
        w.Line();
        w.Doc("Names a received vendor ID; exact IDs must match whole, prefix IDs must start the payload body.");
        w.Open("public static KnownVendorId Identify(global::System.ReadOnlySpan<byte> vendorId)");
        // Longest first so a more specific prefix wins over a shorter one.
        foreach (var v in vendors.OrderByDescending(v => v.Bytes.Count))
        {
            var test = "global::System.MemoryExtensions." + (v.IsPrefix ? "StartsWith" : "SequenceEqual") + "(vendorId, " + v.Name + ")";
            w.Line("if (" + test + ") return KnownVendorId." + v.Name + ";");
        }
        w.Line("return KnownVendorId.Unknown;");
        w.Close();
        w.Line();
        w.Doc("The bytes to send for a known vendor ID.");
        w.Open("public static global::System.ReadOnlySpan<byte> GetBytes(KnownVendorId id) => id switch");
        foreach (var v in vendors) w.Line("KnownVendorId." + v.Name + " => " + v.Name + ",");
        w.Line("_ => default,");
        w.Close(";");
        w.Doc("A readable name for a known vendor ID.");
        w.Open("public static string GetDisplayName(KnownVendorId id) => id switch");
        foreach (var v in vendors) w.Line("KnownVendorId." + v.Name + " => " + CodeWriter.Literal(v.Display) + ",");
        w.Line("_ => \"unknown\",");
        w.Close(";");
        w.Close();
        return w.ToString();
    }
}
