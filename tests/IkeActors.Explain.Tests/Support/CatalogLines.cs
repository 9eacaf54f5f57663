using System.Text.RegularExpressions;
using IkeActors.Protocol;

namespace IkeActors.Explain.Tests.Support;

/// <summary>Hand-written log lines made from the debug catalog's exact templates (schemas/debug-ikev1.isakmp).</summary>
internal static class CatalogLines
{
    public static string L(string name, string? peer = "10.0.0.1", string? group = null, params (string Name, object Value)[] holes)
    {
        var m = AsaDebugCatalog.All.Single(x => x.Name == name);
        var text = Regex.Replace(m.Template.Replace("{{", "\u0001").Replace("}}", "\u0002"), @"\{(\w+):(\w+)\}", h =>
        {
            var v = holes.FirstOrDefault(x => x.Name == h.Groups[1].Value);
            if (v.Name is null) throw new ArgumentException($"{name}: no value for {h.Value}");
            return Convert.ToString(v.Value, System.Globalization.CultureInfo.InvariantCulture)!;
        }).Replace('\u0001', '{').Replace('\u0002', '}');
        var context = m.HasPeerContext ? (group is null ? "" : $"Group = {group}, ") + $"IP = {peer}, " : "";
        return m.Tag + context + text;
    }

    /// <summary>The syslog form of a console line whose message is known.</summary>
    public static string Syslog(DebugMessageInfo m, string consoleLine) =>
        $"%ASA-{m.Severity}-{m.SyslogId}: " + consoleLine[m.Tag.Length..];
}
