using System.Globalization;
using System.Net;
using System.Text;
using IkeActors.Config.Show;

namespace IkeActors.Negotiation.Show;

/// <summary>
/// `show crypto isakmp sa` and `show crypto ipsec sa` in the ASA's format (the seed's "Tunnel
/// Verification" section and the real ASA output in tests/data/asa-show). Counters come from the data plane;
/// until one is attached they are zero.
/// </summary>
public static class ShowCommands
{
    /// <summary>ESP packet counters of one SA pair, as the data plane reports them.</summary>
    /// <summary>A data plane's counters of one SA pair; <paramref name="ReplayBitmap"/> is the inbound anti-replay window (RFC 4303 §3.4.3, bit 0 = highest sequence received).</summary>
    public sealed record EspCounters(long Encaps, long Decaps, long SendErrors = 0, long ReceiveErrors = 0, long KilobytesIn = 0, long KilobytesOut = 0, ulong ReplayBitmap = 0,
        long BytesIn = 0, long BytesOut = 0, long PreFragSuccesses = 0, long PreFragFailures = 0, long FragmentsCreated = 0, long PmtusSent = 0);

    public static string CryptoIsakmpSa(IEnumerable<IkeSa> sas)
    {
        var list = sas.Where(s => s.State != MainModeState.MM_DELETED).ToList();
        var sb = new StringBuilder(IsakmpHeader(list.Count));
        for (var i = 0; i < list.Count; i++) sb.Append(IsakmpEntry(i + 1, list[i]));
        if (list.Count == 0) sb.Append("There are no IKEv1 SAs\n");
        return sb.ToString();
    }

    /// <summary>The counts that open `show crypto isakmp sa` (a cluster adds up its nodes' SAs).</summary>
    public static string IsakmpHeader(int count) =>
        "IKEv1 SAs:\n\n"
        + string.Create(CultureInfo.InvariantCulture, $"   Active SA: {count}\n")
        + "    Rekey SA: 0 (A tunnel will report 1 Active and 1 Rekey SA during rekey)\n"
        + string.Create(CultureInfo.InvariantCulture, $"Total IKE SA: {count}\n\n");

    /// <summary>One numbered SA of `show crypto isakmp sa`.</summary>
    public static string IsakmpEntry(int number, IkeSa sa) =>
        AppendIsakmpEntry(new StringBuilder(128), number, sa.Peer.Address.ToString(), sa.Role == IkeRole.Initiator, sa.ShowState, remoteAccess: IsRemoteAccess(sa)).ToString();

    /// <summary>The same entry from what a directory knows of an SA (peer address, role, state name).</summary>
    public static string IsakmpEntry(int number, string peer, bool initiator, string state) =>
        AppendIsakmpEntry(new StringBuilder(128), number, peer, initiator, state).ToString();

    /// <summary>The same entry appended to <paramref name="text"/> (100,000 of them in a hub's listing: no string each).</summary>
    /// <param name="remoteAccess">A remote-access client's SA: the ASA says Type user.</param>
    public static StringBuilder AppendIsakmpEntry(StringBuilder text, int number, ReadOnlySpan<char> peer, bool initiator, string state, bool remoteAccess = false) =>
        text.Append(CultureInfo.InvariantCulture, $"{number,-3} IKE Peer: ").Append(peer)
            .Append(remoteAccess ? "\n    Type    : user            Role    : " : "\n    Type    : L2L             Role    : ").Append(initiator ? "initiator" : "responder")
            .Append("\n    Rekey   : no              State   : ").Append(state).Append('\n');

    /// <summary>One numbered SA of `show crypto isakmp sa detail`: the entry plus cipher, hash, authentication and lifetimes.</summary>
    public static string IsakmpEntryDetail(int number, IkeSa sa, TimeSpan sincePhase1)
    {
        var text = IsakmpEntry(number, sa);
        if (sa.Transform is not { } t) return text;
        var encrypt = t.Encryption switch
        {
            IkeActors.Protocol.OakleyEncryption.AesCbc => t.KeyLengthBits == 128 ? "aes" : "aes-" + t.KeyLengthBits,
            IkeActors.Protocol.OakleyEncryption.TripleDesCbc => "3des",
            IkeActors.Protocol.OakleyEncryption.DesCbc => "des",
            var other => other.ToString(),
        };
        var hash = t.Hash switch
        {
            IkeActors.Protocol.OakleyHash.Md5 => "MD5",
            IkeActors.Protocol.OakleyHash.Sha => "SHA",
            IkeActors.Protocol.OakleyHash.Sha2_256 => "SHA256",
            IkeActors.Protocol.OakleyHash.Sha2_384 => "SHA384",
            IkeActors.Protocol.OakleyHash.Sha2_512 => "SHA512",
            var other => other.ToString(),
        };
        var remaining = Math.Max(0, t.LifetimeSeconds - (int)sincePhase1.TotalSeconds);
        return text
            + string.Create(CultureInfo.InvariantCulture, $"    Encrypt : {encrypt,-15} Hash    : {hash}\n")
            + string.Create(CultureInfo.InvariantCulture, $"    Auth    : {"preshared",-15} Lifetime: {t.LifetimeSeconds}\n")
            + string.Create(CultureInfo.InvariantCulture, $"    Lifetime Remaining: {remaining}\n");
    }


    public static string CryptoIpsecSa(IkeActors.Config.Model.AsaConfig config, IPAddress local, IEnumerable<IkeSa> sas,
        TimeSpan elapsed, Func<IpsecSaPair, EspCounters>? counters = null)
    {
        var sb = new StringBuilder();
        var pairs = sas.SelectMany(s => s.IpsecSas).ToList();
        if (pairs.Count == 0) return "There are no ipsec sas\n";
        foreach (var byInterface in pairs.GroupBy(q => q.Match.Map.Interface ?? "outside"))
        {
            sb.Append(CultureInfo.InvariantCulture, $"interface: {byInterface.Key}\n");
            foreach (var qm in byInterface)
            {
                var p = qm.Pair;
                var c = counters?.Invoke(p) ?? new EspCounters(0, 0);
                sb.Append(CultureInfo.InvariantCulture, $"    Crypto map tag: {p.CryptoMap}, seq num: {p.Sequence}, local addr: {local}\n\n");
                // A dynamic map entry without `match address` has no ACL line (any proxies).
                if (qm.Match.Ace is { } ace) sb.Append("      ").Append(RunningConfigWriter.FormatAccessListEntry(p.AccessList, ace)).Append('\n');
                sb.Append(CultureInfo.InvariantCulture, $"      local ident (addr/mask/prot/port): ({p.Local})\n");
                sb.Append(CultureInfo.InvariantCulture, $"      remote ident (addr/mask/prot/port): ({p.Remote})\n");
                sb.Append(CultureInfo.InvariantCulture, $"      current_peer: {p.Peer.Address}\n\n\n");
                sb.Append(CultureInfo.InvariantCulture, $"      #pkts encaps: {c.Encaps}, #pkts encrypt: {c.Encaps}, #pkts digest: {c.Encaps}\n");
                sb.Append(CultureInfo.InvariantCulture, $"      #pkts decaps: {c.Decaps}, #pkts decrypt: {c.Decaps}, #pkts verify: {c.Decaps}\n");
                sb.Append("      #pkts compressed: 0, #pkts decompressed: 0\n");
                sb.Append(CultureInfo.InvariantCulture, $"      #pkts not compressed: {c.Encaps}, #pkts comp failed: 0, #pkts decomp failed: 0\n");
                sb.Append(CultureInfo.InvariantCulture, $"      #pre-frag successes: {c.PreFragSuccesses}, #pre-frag failures: {c.PreFragFailures}, #fragments created: {c.FragmentsCreated}\n");
                sb.Append(CultureInfo.InvariantCulture, $"      #PMTUs sent: {c.PmtusSent}, #PMTUs rcvd: 0, #decapsulated frgs needing reassembly: 0\n");
                sb.Append("      #TFC rcvd: 0, #TFC sent: 0\n");
                sb.Append("      #Valid ICMP Errors rcvd: 0, #Invalid ICMP Errors rcvd: 0\n");
                sb.Append(CultureInfo.InvariantCulture, $"      #send errors: {c.SendErrors}, #recv errors: {c.ReceiveErrors}\n\n");
                // With NAT-T the ASA shows the UDP ports ESP travels between (RFC 3948); /0 for raw ESP.
                var (localPort, remotePort) = p.UdpEncapsulatedTo is { } natT ? (IkeSa.NatTPort, natT.Port) : (0, 0);
                sb.Append(CultureInfo.InvariantCulture, $"      local crypto endpt.: {local}/{localPort}, remote crypto endpt.: {p.Peer.Address}/{remotePort}\n");
                var (overhead, inner) = Overhead(p.Transform);
                var nameif = byInterface.Key;
                var mtu = config.MtuOf(nameif);
                sb.Append(CultureInfo.InvariantCulture, $"      path mtu {mtu}, ipsec overhead {overhead}({inner}), media mtu {mtu}\n");
                var df = config.DfBitOf(nameif) switch { IkeActors.Config.Model.DfBitSetting.ClearDf => "clear-df", IkeActors.Config.Model.DfBitSetting.SetDf => "set-df", _ => "copy-df" };
                sb.Append(CultureInfo.InvariantCulture, $"      PMTU time remaining (sec): 0, DF policy: {df}\n");
                sb.Append("      ICMP error validation: disabled, TFC packets: disabled\n");
                sb.Append(CultureInfo.InvariantCulture, $"      current outbound spi: {p.Outbound.Spi:X8}\n");
                sb.Append(CultureInfo.InvariantCulture, $"      current inbound spi : {p.Inbound.Spi:X8}\n\n");
                        AppendSa(sb, "inbound", p.Inbound.Spi, p, elapsed, c.KilobytesIn, c.ReplayBitmap);
                AppendSa(sb, "outbound", p.Outbound.Spi, p, elapsed, c.KilobytesOut, 1); // the ASA shows 0x00000000 0x00000001 outbound
                sb.Append('\n');
            }
        }
        return sb.ToString();
    }

    private static void AppendSa(StringBuilder sb, string direction, uint spi, IpsecSaPair p, TimeSpan elapsed, long kilobytesUsed, ulong replayBitmap)
    {
        var remainingSeconds = Math.Max(0, p.LifetimeSeconds - (int)elapsed.TotalSeconds);
        var remainingKb = p.LifetimeKilobytes is { } kb ? Math.Max(0, kb - kilobytesUsed) : 0;
        sb.Append(CultureInfo.InvariantCulture, $"    {direction} esp sas:\n");
        sb.Append(CultureInfo.InvariantCulture, $"      spi: 0x{spi:X8} ({spi})\n");
        sb.Append("         SA State: active\n");
        sb.Append(CultureInfo.InvariantCulture, $"         transform: {p.Transform.AsaText} no compression\n");
        var mode = p.Transform.Mode switch
        {
            IkeActors.Protocol.EncapsulationMode.Transport => "Transport, ",
            IkeActors.Protocol.EncapsulationMode.UdpEncapsulatedTunnel or IkeActors.Protocol.EncapsulationMode.UdpEncapsulatedTunnelDraft => "Tunnel,  NAT-T-Encaps, ",
            IkeActors.Protocol.EncapsulationMode.UdpEncapsulatedTransport or IkeActors.Protocol.EncapsulationMode.UdpEncapsulatedTransportDraft => "Transport,  NAT-T-Encaps, ",
            _ => "Tunnel, ",
        };
        sb.Append(CultureInfo.InvariantCulture, $"         in use settings ={{L2L, {mode}IKEv1, }}\n");
        sb.Append(CultureInfo.InvariantCulture, $"         slot: 0, conn_id: {p.MessageId & 0x0fffffff}, crypto-map: {p.CryptoMap}\n");
        sb.Append(CultureInfo.InvariantCulture, $"         sa timing: remaining key lifetime (kB/sec): ({remainingKb}/{remainingSeconds})\n");
        sb.Append(CultureInfo.InvariantCulture, $"         IV size: {IvSize(p.Transform)} bytes\n");
        sb.Append("         replay detection support: Y\n");
        sb.Append("         Anti replay bitmap:\n");
        sb.Append(CultureInfo.InvariantCulture, $"          0x{(uint)(replayBitmap >> 32):X8} 0x{(uint)replayBitmap:X8}\n");
    }

    private static int IvSize(IpsecTransform t) => t.Cipher == IkeActors.Protocol.EspTransformId.Aes ? 16 : 8;

    /// <summary>ESP overhead as the ASA prints it: outer IP + ESP header + IV + max padding/trailer + ICV (RFC 4303 §2).</summary>
    private static (int Total, int Esp) Overhead(IpsecTransform t)
    {
        var icv = t.Integrity switch
        {
            IkeActors.Protocol.IpsecAuthAlgorithm.HmacSha2_256 => 16,
            IkeActors.Protocol.IpsecAuthAlgorithm.HmacSha2_384 => 24,
            IkeActors.Protocol.IpsecAuthAlgorithm.HmacSha2_512 => 32,
            0 => 0,
            _ => 12,
        };
        var iv = IvSize(t);
        var esp = 8 + iv + iv + 2 + icv;   // header, IV, padding to a block, pad length + next header, ICV
        return (20 + esp, esp);
    }

    /// <summary>
    /// One session of `show vpn-sessiondb detail l2l` (format of tests/data/asa-show):
    /// the IKE SA and its IPsec SAs. Byte and packet counts come from the data plane (0 until one reports).
    /// </summary>
    /// <summary>This SA's block of `show vpn-sessiondb l2l`: the connection lines of the detailed view, without its IKE/IPSec sections.</summary>
    public static string VpnSessionSummary(int index, IkeSa sa, DateTime phase1Utc, DateTime nowUtc, Func<IpsecSaPair, EspCounters>? counters = null)
    {
        var sb = new StringBuilder();
        AppendSessionHeader(sb, index, sa, phase1Utc, nowUtc, ActivePairs(sa), counters);
        return sb.Append('\n').ToString();
    }

    /// <param name="carrier">In a cluster with a data plane, the node that carries the peer's traffic (docs/cluster.md): a line of ours after the filter name.</param>
    public static string VpnSessionDetail(int index, IkeSa sa, DateTime phase1Utc, TimeSpan sincePhase2, DateTime nowUtc, Func<IpsecSaPair, EspCounters>? counters = null, string? carrier = null)
    {
        var t = sa.Transform;
        var pairs = ActivePairs(sa);
        var duration = nowUtc - phase1Utc;
        var sb = new StringBuilder();
        AppendSessionHeader(sb, index, sa, phase1Utc, nowUtc, pairs, counters);
        sb.Append(" Filter Name  :\n  \n");
        if (carrier is not null) sb.Append(CultureInfo.InvariantCulture, $" Carrier      : {carrier}\n  \n");
        sb.Append(CultureInfo.InvariantCulture, $" IKE Sessions: 1 IPSec Sessions: {pairs.Count}\n  \n");
        if (t is not null)
        {
            var left = Math.Max(0, t.LifetimeSeconds - (int)duration.TotalSeconds);
            // After the NAT-T float (RFC 3947 §4) IKE runs between the 4500 ports.
            var (srcPort, dstPort) = sa.NatTPeer is { } natT ? (IkeSa.NatTPort, natT.Port) : (NegotiationEngine.IsakmpPort, sa.Peer.Port);
            sb.Append(" IKE:\n");
            sb.Append(CultureInfo.InvariantCulture, $"   Session ID   : 1\n");
            sb.Append(CultureInfo.InvariantCulture, $"   UDP Src Port : {srcPort,-22} UDP Dst Port : {dstPort}\n");
            sb.Append(CultureInfo.InvariantCulture, $"   IKE Neg Mode : {"Main",-22} Auth Mode    : preSharedKeys\n");
            sb.Append(CultureInfo.InvariantCulture, $"   Encryption   : {IkeCipherName(t),-22} Hashing      : {HashName(t.Hash)}\n");
            sb.Append(CultureInfo.InvariantCulture, $"   Rekey Int (T): {t.LifetimeSeconds + " Seconds",-22} Rekey Left(T): {left} Seconds\n");
            sb.Append(CultureInfo.InvariantCulture, $"   D/H Group    : {(int)t.Group}\n  \n");
        }
        var id = 2;
        foreach (var p in pairs)
        {
            var left = Math.Max(0, p.LifetimeSeconds - (int)sincePhase2.TotalSeconds);
            var c = counters?.Invoke(p) ?? new EspCounters(0, 0);
            sb.Append(" IPSec:\n");
            sb.Append(CultureInfo.InvariantCulture, $"   Session ID   : {id++}\n");
            sb.Append(CultureInfo.InvariantCulture, $"   Local Addr   : {Ident(p.Local)}\n");
            sb.Append(CultureInfo.InvariantCulture, $"   Remote Addr  : {Ident(p.Remote)}\n");
            sb.Append(CultureInfo.InvariantCulture, $"   Encryption   : {EspCipherName(p.Transform),-22} Hashing      : {EspHashName(p.Transform)}\n");
            sb.Append(CultureInfo.InvariantCulture, $"   Encapsulation: {(p.Transform.Mode == IkeActors.Protocol.EncapsulationMode.Transport ? "Transport" : "Tunnel"),-22} PFS Group    : {(p.Transform.PfsGroup is { } g ? ((int)g).ToString(CultureInfo.InvariantCulture) : "none")}\n");
            sb.Append(CultureInfo.InvariantCulture, $"   Rekey Int (T): {p.LifetimeSeconds + " Seconds",-22} Rekey Left(T): {left} Seconds\n");
            sb.Append(CultureInfo.InvariantCulture, $"   Bytes Tx     : {c.BytesOut,-22} Bytes Rx     : {c.BytesIn}\n");
            sb.Append(CultureInfo.InvariantCulture, $"   Pkts Tx      : {c.Encaps,-22} Pkts Rx      : {c.Decaps}\n  \n");
        }
        return sb.ToString();
    }

    /// <summary>A remote-access session: XAUTH authenticated a user or Mode Config gave an address (head-end side).</summary>
    public static bool IsRemoteAccess(IkeSa sa) => sa.User is not null || sa.ModeConfig is not null;

    /// <summary>
    /// One session of `show vpn-sessiondb remote` (<paramref name="detailed"/>: `detail remote`), in the ASA 9.x layout of an
    /// IPsec remote-access session: user, assigned and public address, protocol, ciphers, bytes, group policy and tunnel
    /// group, login time and duration; the detailed view adds packets and the IKEv1 and IPsec sections.
    /// </summary>
    public static string VpnSessionRemote(int index, IkeSa sa, DateTime phase1Utc, DateTime nowUtc, bool detailed,
        Func<IpsecSaPair, EspCounters>? counters = null)
    {
        var t = sa.Transform;
        var pairs = ActivePairs(sa);
        var duration = nowUtc - phase1Utc;
        var (tx, rx, ptx, prx) = (0L, 0L, 0L, 0L);
        foreach (var p in pairs)
            if (counters?.Invoke(p) is { } c) { tx += c.BytesOut; rx += c.BytesIn; ptx += c.Encaps; prx += c.Decaps; }
        var ike = t is null ? "" : $"IKEv1: (1){IkeCipherName(t)}";
        var esp = pairs.Count == 0 ? "" : $"  IPsec: ({pairs.Count}){EspCipherName(pairs[0].Transform)}";
        var ikeHash = t is null ? "" : $"IKEv1: (1){HashName(t.Hash)}";
        var espHash = pairs.Count == 0 ? "" : $"  IPsec: ({pairs.Count}){EspHashName(pairs[0].Transform)}";
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Username     : {sa.User ?? "(none)",-22} Index        : {index}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Assigned IP  : {sa.ModeConfig?.Address.ToString() ?? "0.0.0.0",-22} Public IP    : {sa.Peer.Address}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Protocol     : {(sa.NatTPeer is null ? "IKEv1 IPsec" : "IKEv1 IPsecOverNatT")}\n");
        sb.Append("License      : Other VPN\n");
        sb.Append(CultureInfo.InvariantCulture, $"Encryption   : {ike}{esp}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Hashing      : {ikeHash}{espHash}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Bytes Tx     : {tx,-22} Bytes Rx     : {rx}\n");
        if (detailed)
        {
            sb.Append(CultureInfo.InvariantCulture, $"Pkts Tx      : {ptx,-22} Pkts Rx      : {prx}\n");
            sb.Append(CultureInfo.InvariantCulture, $"Pkts Tx Drop : {0,-22} Pkts Rx Drop : {0}\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"Group Policy : {sa.ModeConfig?.GroupPolicy ?? "DfltGrpPolicy",-22} Tunnel Group : {sa.TunnelGroup}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Login Time   : {phase1Utc:HH:mm:ss} UTC {phase1Utc:ddd MMM d yyyy}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Duration     : {(int)duration.TotalHours}h:{duration.Minutes:00}m:{duration.Seconds:00}s\n");
        sb.Append("Inactivity   : 0h:00m:00s\n");
        sb.Append(CultureInfo.InvariantCulture, $"VLAN Mapping : {"N/A",-22} VLAN         : none\n");
        sb.Append(CultureInfo.InvariantCulture, $"Audt Sess ID : {sa.InitiatorCookie:x16}{sa.ResponderCookie >> 32:x8}\n");
        sb.Append("Security Grp : none\n\n");
        if (!detailed || t is null) return sb.ToString();
        var left = Math.Max(0, t.LifetimeSeconds - (int)duration.TotalSeconds);
        var (srcPort, dstPort) = sa.NatTPeer is { } natT ? (IkeSa.NatTPort, natT.Port) : (NegotiationEngine.IsakmpPort, sa.Peer.Port);
        sb.Append(CultureInfo.InvariantCulture, $"IKEv1 Tunnels: 1\nIPsec Tunnels: {pairs.Count}\n\n");
        sb.Append("IKEv1:\n");
        sb.Append("  Tunnel ID    : 1.1\n");
        sb.Append(CultureInfo.InvariantCulture, $"  UDP Src Port : {srcPort,-22} UDP Dst Port : {dstPort}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  IKE Neg Mode : {(sa.Aggressive ? "Aggressive" : "Main"),-22} Auth Mode    : {(sa.User is null ? "preSharedKeys" : "preSharedKeysXauth")}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  Encryption   : {IkeCipherName(t),-22} Hashing      : {HashName(t.Hash)}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  Rekey Int (T): {t.LifetimeSeconds + " Seconds",-22} Rekey Left(T): {left} Seconds\n");
        sb.Append(CultureInfo.InvariantCulture, $"  D/H Group    : {(int)t.Group}\n");
        sb.Append("  Filter Name  :\n\n");
        var id = 2;
        foreach (var p in pairs)
        {
            var c = counters?.Invoke(p) ?? new EspCounters(0, 0);
            sb.Append("IPsec:\n");
            sb.Append(CultureInfo.InvariantCulture, $"  Tunnel ID    : 1.{id++}\n");
            sb.Append(CultureInfo.InvariantCulture, $"  Local Addr   : {Ident(p.Local)}/{p.Local.Protocol}/{p.Local.Port}\n");
            sb.Append(CultureInfo.InvariantCulture, $"  Remote Addr  : {Ident(p.Remote)}/{p.Remote.Protocol}/{p.Remote.Port}\n");
            sb.Append(CultureInfo.InvariantCulture, $"  Encryption   : {EspCipherName(p.Transform),-22} Hashing      : {EspHashName(p.Transform)}\n");
            sb.Append(CultureInfo.InvariantCulture, $"  Encapsulation: {(p.Transform.Mode == IkeActors.Protocol.EncapsulationMode.Transport ? "Transport" : "Tunnel")}\n");
            sb.Append(CultureInfo.InvariantCulture, $"  Rekey Int (T): {p.LifetimeSeconds + " Seconds"}\n");
            sb.Append(CultureInfo.InvariantCulture, $"  Bytes Tx     : {c.BytesOut,-22} Bytes Rx     : {c.BytesIn}\n");
            sb.Append(CultureInfo.InvariantCulture, $"  Pkts Tx      : {c.Encaps,-22} Pkts Rx      : {c.Decaps}\n\n");
        }
        return sb.ToString();
    }

    private static List<IpsecSaPair> ActivePairs(IkeSa sa) =>
        sa.IpsecSas.Select(s => s.Pair).ToList();

    /// <summary>The connection lines both session views start with; bytes are the session's, over its IPsec SAs.</summary>
    private static void AppendSessionHeader(StringBuilder sb, int index, IkeSa sa, DateTime phase1Utc, DateTime nowUtc, List<IpsecSaPair> pairs,
        Func<IpsecSaPair, EspCounters>? counters)
    {
        var t = sa.Transform;
        var duration = nowUtc - phase1Utc;
        var (tx, rx) = (0L, 0L);
        foreach (var p in pairs)
            if (counters?.Invoke(p) is { } c) { tx += c.BytesOut; rx += c.BytesIn; }
        sb.Append(CultureInfo.InvariantCulture, $" Connection   : {sa.Peer.Address}\n");
        sb.Append(CultureInfo.InvariantCulture, $" Index        : {index,-22} IP Addr      : {sa.Peer.Address}\n");
        sb.Append(CultureInfo.InvariantCulture, $" Protocol     : {"IPSecLAN2LAN",-22} Encryption   : {(pairs.Count > 0 ? EspCipherName(pairs[0].Transform) : t is null ? "" : IkeCipherName(t))}\n");
        sb.Append(CultureInfo.InvariantCulture, $" Bytes Tx     : {tx,-22} Bytes Rx     : {rx}\n");
        sb.Append(CultureInfo.InvariantCulture, $" Login Time   : {phase1Utc:HH:mm:ss} UTC {phase1Utc:ddd MMM d yyyy}\n");
        sb.Append(CultureInfo.InvariantCulture, $" Duration     : {(int)duration.TotalHours}:{duration.Minutes:00}:{duration.Seconds:00}\n");
    }

    private static string Ident(IkeActors.Config.Lookup.ProxyId p) =>
        p.Prefix is { } prefix ? $"{prefix.Address}/{prefix.MaskAddress}" : p.ToString();

    private static string IkeCipherName(Phase1Transform t) => t.Encryption switch
    {
        IkeActors.Protocol.OakleyEncryption.AesCbc => "AES" + t.KeyLengthBits,
        IkeActors.Protocol.OakleyEncryption.TripleDesCbc => "3DES",
        IkeActors.Protocol.OakleyEncryption.DesCbc => "DES",
        var other => other.ToString(),
    };

    private static string HashName(IkeActors.Protocol.OakleyHash h) => h switch
    {
        IkeActors.Protocol.OakleyHash.Md5 => "MD5",
        IkeActors.Protocol.OakleyHash.Sha => "SHA1",
        IkeActors.Protocol.OakleyHash.Sha2_256 => "SHA256",
        IkeActors.Protocol.OakleyHash.Sha2_384 => "SHA384",
        IkeActors.Protocol.OakleyHash.Sha2_512 => "SHA512",
        var other => other.ToString(),
    };

    private static string EspCipherName(IpsecTransform t) => t.Cipher switch
    {
        IkeActors.Protocol.EspTransformId.Aes => "AES" + t.KeyLengthBits,
        IkeActors.Protocol.EspTransformId.AesGcm16 => "AES-GCM-" + t.KeyLengthBits,
        IkeActors.Protocol.EspTransformId.TripleDes => "3DES",
        IkeActors.Protocol.EspTransformId.Des => "DES",
        IkeActors.Protocol.EspTransformId.Null => "NULL",
        var other => other.ToString(),
    };

    private static string EspHashName(IpsecTransform t) => t.Integrity switch
    {
        IkeActors.Protocol.IpsecAuthAlgorithm.HmacMd5 => "MD5",
        IkeActors.Protocol.IpsecAuthAlgorithm.HmacSha => "SHA1",
        IkeActors.Protocol.IpsecAuthAlgorithm.HmacSha2_256 => "SHA256",
        IkeActors.Protocol.IpsecAuthAlgorithm.HmacSha2_384 => "SHA384",
        IkeActors.Protocol.IpsecAuthAlgorithm.HmacSha2_512 => "SHA512",
        _ => "none",
    };
}
