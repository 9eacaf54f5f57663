using System.Globalization;
using System.Net;
using System.Text;
using IkeActors.Config.Model;

namespace IkeActors.LoadGenerator;

/// <summary>
/// The ASA initiator configuration the options describe: one crypto map entry towards the target with the
/// proposals, the proxy IDs' ACL, PFS and lifetimes, and the target's tunnel-group with the PSK. Every peer shares it.
/// </summary>
public sealed record InitiatorConfigText
{
    public required IPAddress Target { get; init; }
    public required string PreSharedKey { get; init; }
    public required IkeProposal Ike { get; init; }
    public required EspProposal Esp { get; init; }
    public int? PfsGroup { get; init; }
    public required Ipv4Prefix LocalTs { get; init; }
    public required Ipv4Prefix RemoteTs { get; init; }
    public int IkeLifetimeSeconds { get; init; } = 86400;
    public int EspLifetimeSeconds { get; init; } = 28800;
    /// <summary>DPD threshold in seconds (`isakmp keepalive threshold N retry 2`); 0 = `isakmp keepalive disable`.</summary>
    public int DpdSeconds { get; init; }

    /// <summary>The CLI text (it holds the PSK: parse it, never print it).</summary>
    public string Render()
    {
        var i = CultureInfo.InvariantCulture;
        var t = Target.ToString();
        var s = new StringBuilder();
        s.AppendLine("hostname bench");
        s.AppendLine("interface GigabitEthernet0/0");
        s.AppendLine(" nameif outside");
        s.AppendLine(" security-level 0");
        s.AppendLine(string.Create(i, $"access-list BENCH extended permit ip {LocalTs.ToAddressMask()} {RemoteTs.ToAddressMask()}"));
        s.AppendLine(string.Create(i, $"crypto ipsec ikev1 transform-set BENCH {Esp.Encryption} {Esp.Integrity}"));
        s.AppendLine("crypto map BENCH 10 match address BENCH");
        s.AppendLine(string.Create(i, $"crypto map BENCH 10 set peer {t}"));
        s.AppendLine("crypto map BENCH 10 set ikev1 transform-set BENCH");
        if (PfsGroup is { } g) s.AppendLine(string.Create(i, $"crypto map BENCH 10 set pfs group{g}"));
        s.AppendLine(string.Create(i, $"crypto map BENCH 10 set security-association lifetime seconds {EspLifetimeSeconds}"));
        s.AppendLine("crypto map BENCH interface outside");
        s.AppendLine("crypto ikev1 enable outside");
        s.AppendLine("crypto ikev1 policy 10");
        s.AppendLine(" authentication pre-share");
        s.AppendLine(" encryption " + Ike.Encryption);
        s.AppendLine(" hash " + Ike.Hash);
        s.AppendLine(string.Create(i, $" group {Ike.Group}"));
        s.AppendLine(string.Create(i, $" lifetime {IkeLifetimeSeconds}"));
        s.AppendLine(string.Create(i, $"tunnel-group {t} type ipsec-l2l"));
        s.AppendLine(string.Create(i, $"tunnel-group {t} ipsec-attributes"));
        s.AppendLine(" ikev1 pre-shared-key " + PreSharedKey);
        s.AppendLine(DpdSeconds > 0 ? string.Create(i, $" isakmp keepalive threshold {DpdSeconds} retry 2") : " isakmp keepalive disable");
        return s.ToString();
    }
}
