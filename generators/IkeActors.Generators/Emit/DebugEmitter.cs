using System.Collections.Generic;
using System.Linq;
using IkeActors.Generators.Model;

namespace IkeActors.Generators.Emit;

/// <summary>
/// message -> one strongly typed method per ASA debug message, writing the exact text
/// into a stack buffer only when the sink's `debug crypto ikev1` level lets it print,
/// plus the catalog (id, severity, class, level, template) for tools that read logs back.
/// </summary>
internal static class DebugEmitter
{
    private const string Rt = "global::IkeActors.Protocol.";

    public static string Emit(string ns, IReadOnlyList<MessageDef> messages)
    {
        var w = CodeWriter.File("the debug-message schemas of " + ns, ns);
        w.Doc("The ASA debug-message catalog of the schemas: one entry per message.");
        w.Open("public static partial class AsaDebugCatalog");
        foreach (var m in messages)
        {
            w.Doc(m.Template + (m.Doc is null ? "" : " (" + m.Doc + ")"));
            w.Line("public static readonly " + Rt + "DebugMessageInfo " + m.Name + " = new("
                + CodeWriter.Literal(m.Name) + ", " + m.SyslogId + ", " + m.Severity + ", " + Rt + "DebugClass." + ClassName(m.Class) + ", "
                + m.Level + ", " + (m.Context == "peer" ? "true" : "false") + ", " + CodeWriter.Literal(m.Template) + ");");
        }
        w.Line();
        w.Doc("Every message of the catalog, in schema order.");
        w.Line("public static global::System.Collections.Generic.IReadOnlyList<" + Rt + "DebugMessageInfo> All { get; } = new " + Rt + "DebugMessageInfo[]");
        w.Line("{");
        foreach (var m in messages) w.Line("    " + m.Name + ",");
        w.Line("};");
        w.Close();
        w.Line();
        w.Doc("Writes ASA `debug crypto ikev1` lines; a message below the sink's level costs one comparison and allocates nothing.");
        w.Open("public static partial class AsaDebug");
        foreach (var m in messages)
        {
            var parameters = new List<string> { Rt + "IDebugSink sink" };
            if (m.Context == "peer") parameters.Add("in " + Rt + "DebugContext context");
            foreach (var part in m.Parts.Where(x => x.HoleName is not null))
                parameters.Add(ParamType(part.HoleType) + " " + part.HoleName);
            w.Doc(m.Template);
            w.Open("public static void " + m.Name + "(" + string.Join(", ", parameters) + ")");
            w.Line("if (sink.Level < " + m.Level + ") return;");
            w.Line("var text = new " + Rt + "DebugTextWriter(stackalloc char[256]);");
            if (m.Context == "peer") w.Line("text.AppendContext(in context);");
            foreach (var part in m.Parts)
            {
                if (part.Literal is not null) { w.Line("text.Append(" + CodeWriter.Literal(part.Literal) + ");"); continue; }
                w.Line(part.HoleType switch
                {
                    HoleType.Text => "text.Append(" + part.HoleName + ");",
                    HoleType.Int => "text.AppendInteger(" + part.HoleName + ");",
                    HoleType.Hex => "text.AppendHex(" + part.HoleName + ", upperCase: false);",
                    HoleType.HexUpper => "text.AppendHex(" + part.HoleName + ", upperCase: true);",
                    HoleType.Ip => "text.AppendAddress(" + part.HoleName + ");",
                    _ => "text.AppendPayloadList(" + part.HoleName + ");",
                });
            }
            w.Line("sink.Write(new " + Rt + "DebugLine(AsaDebugCatalog." + m.Name + ", text.Written));");
            w.Line("text.Dispose();");
            w.Close();
        }
        w.Close();
        return w.ToString();
    }

    private static string ClassName(string c) => c switch
    {
        "IKEv1" => "IKEv1", "DEBUG" => "Debug", "DECODE" => "Decode", _ => "Ipsec",
    };

    private static string ParamType(HoleType t) => t switch
    {
        HoleType.Text => "global::System.ReadOnlySpan<char>",
        HoleType.Int => "long",
        HoleType.Hex or HoleType.HexUpper => "ulong",
        HoleType.Ip => "global::System.Net.IPAddress?",
        _ => "global::System.ReadOnlySpan<byte>",
    };
}
