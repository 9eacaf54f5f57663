using System.Globalization;
using System.Text;
using IkeActors.Grains;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// `show crypto isakmp stats` in the ASA's layout: "Global IKEv1 Statistics" (names and order as the ASA 8.4+ prints
/// them) and the "IKEV1 Call Admission Statistics" block, from the concentrator's real counters: the SA directory
/// (Active/Previous Tunnels) and every node's front-end and half-open ledger, summed. Counters this gateway does not
/// keep (notifies, phase 2 exchanges, decrypt and hash failures) are left out rather than printed as zeros;
/// the refusals by reason follow the ASA's lines (not an ASA block: the per-address bound is ours).
/// </summary>
public static class IsakmpStatsView
{
    public static string Render(SaDirectorySummary sas, IkeNodeCounters c, int nodes)
    {
        var sb = new StringBuilder();
        sb.Append('\n').Append("Global IKEv1 Statistics\n");
        Line(sb, "Active Tunnels:", sas.Active, 30);
        Line(sb, "Previous Tunnels:", sas.Previous, 30);
        Line(sb, "In Octets:", c.InOctets, 30);
        Line(sb, "In Packets:", c.InPackets, 30);
        Line(sb, "In Drop Packets:", c.InDropPackets, 30);
        Line(sb, "Out Octets:", c.OutOctets, 30);
        Line(sb, "Out Packets:", c.OutPackets, 30);
        Line(sb, "Out Drop Packets:", c.OutDropPackets, 30);
        Line(sb, "Initiator Tunnels:", c.InitiatorTunnels, 30);
        Line(sb, "Initiator Fails:", c.InitiatorFails, 30);
        Line(sb, "Responder Fails:", c.ResponderFails, 30);
        // The ASA counts an SA refused for want of room as a system capacity failure.
        Line(sb, "System Capacity Fails:", c.RefusedPeerLimit + c.RefusedNodeLimit + c.Evicted, 30);
        Line(sb, "Auth Fails:", c.AuthFails, 30);
        Line(sb, "No Sa Fails:", c.NoSa, 30);
        sb.Append('\n').Append("IKEV1 Call Admission Statistics\n");
        Line(sb, "Max In-Negotiation SAs:", c.MaxHalfOpen, 45);
        Line(sb, "In-Negotiation SAs:", c.HalfOpen, 45);
        Line(sb, "In-Negotiation SAs Highwater:", c.HalfOpenHighWater, 45);
        Line(sb, "In-Negotiation SAs Rejected:", c.RefusedNodeLimit, 45);
        sb.Append('\n').Append(CultureInfo.InvariantCulture, $"Half-open MM1 refusals ({nodes} node{(nodes == 1 ? "" : "s")})\n");
        Line(sb, "No Pre-shared Key:", c.RefusedNoKey, 45);
        Line(sb, $"Peer In-Negotiation Limit ({c.MaxHalfOpenPerPeer}):", c.RefusedPeerLimit, 45);
        Line(sb, "In-Negotiation Limit:", c.RefusedNodeLimit, 45);
        Line(sb, "Given Way (oldest of busiest peer):", c.Evicted, 45);
        Line(sb, "Timed Out Unreported:", c.Expired, 45);
        Line(sb, "Malformed:", c.Malformed, 45);
        Line(sb, "Queue Full:", c.QueueFull, 45);
        Line(sb, "Waited Too Long (overload):", c.Shed, 45);
        Line(sb, "Receive Buffer Full (UDP 500/4500):", c.ReceiveBufferFull, 45);
        return sb.ToString();
    }

    /// <summary>"  Name:" then the value right-aligned so that it ends at <paramref name="width"/> (two-space indent included).</summary>
    private static void Line(StringBuilder sb, string name, long value, int width)
    {
        var number = value.ToString(CultureInfo.InvariantCulture);
        var pad = Math.Max(1, width - 2 - name.Length - number.Length);
        sb.Append("  ").Append(name).Append(' ', pad).Append(number).Append('\n');
    }
}
