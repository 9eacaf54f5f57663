using System.Globalization;
using IkeActors.Generators.Model;

namespace IkeActors.Generators.Emit;

/// <summary>enum -> a C# enum plus display names as the ASA prints them ("SA (1)").</summary>
internal static class EnumEmitter
{
    public static string Emit(EnumDef e)
    {
        var w = CodeWriter.File(System.IO.Path.GetFileName(e.Location.Path), e.Namespace);
        w.Doc(e.Doc);
        if (e.IsFlags) w.Line("[global::System.Flags]");
        w.Open("public enum " + e.Name + " : " + Types.Unsigned(e.WidthBytes));
        foreach (var m in e.Members)
        {
            w.Doc(m.Doc);
            w.Line(m.Name + " = " + Value(m.Value, e.IsFlags) + ",");
        }
        w.Close();
        w.Line();
        w.Doc("Names of " + e.Name + " values as Cisco ASA debug output prints them.");
        w.Open("public static partial class " + e.Name + "Names");
        w.Doc("The display name (\"SA\"), or null for a value the schema does not name.");
        w.Open("public static string? GetDisplayName(this " + e.Name + " value) => value switch");
        foreach (var m in e.Members) w.Line(e.Name + "." + m.Name + " => " + CodeWriter.Literal(m.Display) + ",");
        w.Line("_ => null,");
        w.Close(";");
        w.Doc("The ASA form with the number (\"SA (1)\"), or null for a value the schema does not name.");
        w.Open("public static string? ToAsaString(this " + e.Name + " value) => value switch");
        foreach (var m in e.Members)
            w.Line(e.Name + "." + m.Name + " => " + CodeWriter.Literal(m.Display + " (" + m.Value.ToString(CultureInfo.InvariantCulture) + ")") + ",");
        w.Line("_ => null,");
        w.Close(";");
        w.Doc("True when the schema names this value.");
        w.Open("public static bool IsDefined(this " + e.Name + " value) => value switch");
        foreach (var m in e.Members) w.Line(e.Name + "." + m.Name + " => true,");
        w.Line("_ => false,");
        w.Close(";");
        w.Close();
        return w.ToString();
    }

    private static string Value(ulong v, bool hex) =>
        hex ? "0x" + v.ToString("X", CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture);
}

internal static class Types
{
    public static string Unsigned(int width) => width switch
    {
        1 => "byte", 2 => "ushort", 3 => "uint", 4 => "uint", _ => "ulong",
    };

    public static string ReadExpr(int width, string span) => width switch
    {
        1 => span + "[0]",
        2 => "global::System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(" + span + ")",
        4 => "global::System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(" + span + ")",
        _ => "global::System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(" + span + ")",
    };

    public static string WriteStmt(int width, string span, string value) => width switch
    {
        1 => span + "[0] = " + value + ";",
        2 => "global::System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(" + span + ", " + value + ");",
        4 => "global::System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(" + span + ", " + value + ");",
        _ => "global::System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(" + span + ", " + value + ");",
    };

    public static ulong MaxValue(int width) => width >= 8 ? ulong.MaxValue : (1UL << (width * 8)) - 1;
}
