using System.Globalization;
using System.Text;
using IkeActors.Grains;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// `show vpn-sessiondb summary` in the ASA's layout (tests/data/asa-show/show-vpn-sessiondb-summary.txt): the
/// "VPN Session Summary" block with the Site-to-Site VPN / IKEv1 IPsec rows (an L2L session is a peer with an IKE SA
/// up; Site-to-Site rows have no Inactive column) and the "Tunnels Summary" block (IKEv1: IKE SAs up, remote access
/// included; IPsec: IPsec SA pairs installed). Remote-access sessions (XAUTH / Mode Config clients) have the ASA's own
/// row, "IKEv1 IPsec/L2TP IPsec", a top-level row without a sub-row or Inactive column, printed once there was one
/// (the ASA leaves out session types it never had); the totals and the load count both kinds. Its label and columns:
/// tests/data/asa-show/show-vpn-sessiondb-summary-ikev1-ra.txt (a real ASA's output, from genieparser's test data).
/// Cumulative and peak counts come from the SA directory's partitions (see <see cref="SaDirectorySummary"/>
/// for what "peak" means in a cluster). The capacity is <see cref="SessionsPerNode"/> per node, the design target.
/// </summary>
public static class SessionSummaryView
{
    public const int SessionsPerNode = 100_000;
    private const string Rule = "---------------------------------------------------------------------------\n";
    private const string ColumnRule = "                             ----------------------------------------------\n";

    public static string Render(SaDirectorySummary s, int nodes)
    {
        var capacity = (long)SessionsPerNode * Math.Max(1, nodes);
        var active = (long)s.Sessions + s.RemoteAccessSessions;
        var load = (int)(active * 100L / capacity);
        var sb = new StringBuilder();
        sb.Append(Rule).Append("VPN Session Summary\n").Append(Rule);
        sb.Append("                               Active : Cumulative : Peak Concur : Inactive\n").Append(ColumnRule);
        if (s.RemoteAccessSessions > 0 || s.CumulativeRemoteAccessSessions > 0)
            Row(sb, "IKEv1 IPsec/L2TP IPsec", s.RemoteAccessSessions, s.CumulativeRemoteAccessSessions, s.PeakRemoteAccessSessions, 11);
        Row(sb, "Site-to-Site VPN", s.Sessions, s.CumulativeSessions, s.PeakSessions, 11);
        Row(sb, "  IKEv1 IPsec", s.Sessions, s.CumulativeSessions, s.PeakSessions, 11);
        sb.Append(Rule);
        sb.Append(Name("Total Active and Inactive")).Append(Num(active, 7))
            .Append("             Total Cumulative :").Append(Num(s.CumulativeSessions + s.CumulativeRemoteAccessSessions, 7)).Append('\n');
        sb.Append(Name("Device Total VPN Capacity")).Append(Num(capacity, 7)).Append('\n');
        sb.Append(Name("Device Load")).Append(Num(load, 6)).Append("%\n");
        sb.Append(Rule).Append('\n');
        sb.Append(Rule).Append("Tunnels Summary\n").Append(Rule);
        sb.Append("                               Active : Cumulative : Peak Concurrent   \n").Append(ColumnRule);
        Row(sb, "IKEv1", s.Active, s.CumulativeIke, s.PeakIke, 15);
        Row(sb, "IPsec", s.IpsecSas, s.CumulativeIpsec, s.PeakIpsec, 15);
        sb.Append(Rule);
        sb.Append(Name("Totals")).Append(Num(s.Active + s.IpsecSas, 7)).Append(" :").Append(Num(s.CumulativeIke + s.CumulativeIpsec, 11)).Append('\n');
        sb.Append(Rule);
        return sb.ToString();
    }

    /// <summary>"Name" padded to 29, then " : active : cumulative : peak" with the sample's column widths.</summary>
    private static void Row(StringBuilder sb, string name, long active, long cumulative, long peak, int peakWidth) =>
        sb.Append(Name(name)).Append(Num(active, 7)).Append(" :").Append(Num(cumulative, 11)).Append(" :").Append(Num(peak, peakWidth + 1)).Append('\n');

    private static string Name(string name) => name.PadRight(29) + ":";

    private static string Num(long value, int width) => value.ToString(CultureInfo.InvariantCulture).PadLeft(width);
}
