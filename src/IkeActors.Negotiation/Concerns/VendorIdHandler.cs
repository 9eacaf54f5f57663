using System.Text;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// Vendor IDs of one IKE SA (RFC 2408 §3.16): the ones we send in each Main Mode message as the ASA does,
/// what the peer's say about it (NAT-T version, DPD, Cisco, IkeActors) and the ASA's lines for them.
/// <para>
/// Also carries the initiator's trace context to an IkeActors responder, so one negotiation is one trace
/// across two gateways' processes: IKEv1 has no field for it, so the initiator adds a private vendor ID to
/// MM5 when the peer's MM4 carried the IkeActors vendor ID, and the responder hands it to its host as a
/// <see cref="TraceContextReceived"/>. Real ASAs and strongSwan never send our ID, so they never receive this
/// payload. MM5 is encrypted and HASH_I does not cover vendor IDs (RFC 2409 §5), so authentication is
/// unchanged; no debug line is printed.
/// </para>
/// </summary>
internal sealed class VendorIdHandler(IkeSa sa)
{
    private static readonly byte[] FragmentationCapabilities = [0xc0, 0x00, 0x00, 0x00];
    private static readonly byte[] IosVersionAndCapabilities = [0x01, 0x00, 0x00, 0x20, 0x00, 0x00, 0x01];
    private static readonly byte[] AltigaVersion = [0x01, 0x00];

    /// <summary>W3C traceparent: "00-" + 32 hex + "-" + 16 hex + "-" + 2 hex.</summary>
    private const int TraceParentLength = 55;

    /// <summary>The host's trace context for this SA (W3C traceparent) to carry to an IkeActors responder; null: none.</summary>
    public string? TraceParent { get; set; }

    /// <summary>The peer's MM3/MM4 vendor IDs name an IkeActors gateway.</summary>
    public bool PeerIsIkeActors { get; private set; }

    /// <summary>The peer's MM3/MM4 vendor IDs name a Cisco (or IkeActors) gateway: it understands the IOS keepalive payload.</summary>
    public bool PeerIsCisco { get; set; }

    public static VendorIdPayload Vid(ReadOnlySpan<byte> bytes) => new() { VendorId = bytes.ToArray() };

    /// <summary>MM1: every NAT-T version we speak and fragmentation.</summary>
    public void AddMainMode1(List<IIsakmpPayload> payloads, NegotiationOutput output)
    {
        AsaDebug.ConstructingNatTraversalVid02Payload(output, sa.IpContext);
        AsaDebug.ConstructingNatTraversalVid03Payload(output, sa.IpContext);
        AsaDebug.ConstructingNatTraversalVidRfcPayload(output, sa.IpContext);
        AsaDebug.ConstructingFragmentationVidPayload(output, sa.IpContext);
        payloads.Add(Vid(VendorIds.NatTDraft02));
        payloads.Add(Vid(VendorIds.NatTDraft03));
        payloads.Add(Vid(VendorIds.NatTRfc3947));
        payloads.Add(Vid([.. VendorIds.Fragmentation, .. FragmentationCapabilities]));
    }

    /// <summary>MM2: the newest NAT-T version the peer offered (RFC 3947 §3.1), and fragmentation.</summary>
    public void AddMainMode2(List<KnownVendorId> peers, List<IIsakmpPayload> payloads, NegotiationOutput output)
    {
        if (peers.Contains(KnownVendorId.NatTRfc3947)) payloads.Add(Vid(VendorIds.NatTRfc3947));
        else if (peers.Contains(KnownVendorId.NatTDraft03)) payloads.Add(Vid(VendorIds.NatTDraft03));
        else if (peers.Contains(KnownVendorId.NatTDraft02N)) payloads.Add(Vid(VendorIds.NatTDraft02N));
        else if (peers.Contains(KnownVendorId.NatTDraft02)) payloads.Add(Vid(VendorIds.NatTDraft02));
        AsaDebug.ConstructingFragmentationVidPayload(output, sa.IpContext);
        payloads.Add(Vid([.. VendorIds.Fragmentation, .. FragmentationCapabilities]));
    }

    /// <summary>MM3/MM4: Cisco Unity, XAUTH, our own ID spoofing IOS (as the ASA does), Altiga.</summary>
    public void AddKeyExchange(List<IIsakmpPayload> payloads, NegotiationOutput output)
    {
        AsaDebug.ConstructingCiscoUnityVidPayload(output, sa.IpContext);
        AsaDebug.ConstructingXauthV6VidPayload(output, sa.IpContext);
        AsaDebug.SendIosVid(output, sa.IpContext);
        AsaDebug.ConstructingAsaSpoofingIosVid(output, sa.IpContext, 1, 0, 0, "20000001");
        AsaDebug.ConstructingVidPayload(output, sa.IpContext);
        AsaDebug.SendAltigaVid(output, sa.IpContext);
        payloads.Add(Vid(VendorIds.CiscoUnity));
        payloads.Add(Vid(VendorIds.Xauth));
        payloads.Add(Vid([.. VendorIds.IkeActors, .. IosVersionAndCapabilities]));
        payloads.Add(Vid([.. VendorIds.CiscoVpn3000, .. AltigaVersion]));
    }

    /// <summary>What the peer's MM3/MM4 vendor IDs say about it.</summary>
    public void Note(List<KnownVendorId> vids)
    {
        if (vids.Contains(KnownVendorId.IkeActors)) PeerIsIkeActors = true;
        if (vids.Contains(KnownVendorId.IkeActors) || vids.Contains(KnownVendorId.CiscoUnity) || vids.Contains(KnownVendorId.CiscoVpn3000)) PeerIsCisco = true;
    }

    /// <summary>
    /// NAT-T IDs newest first (how the ASA reports them), then the rest in the order received. The DPD vendor ID is
    /// noted wherever in Phase 1 it comes (RFC 3706 §5.1): strongSwan sends it in MM1/MM2, an ASA in MM3 to MM6.
    /// </summary>
    public void Log(List<KnownVendorId> vids, NegotiationOutput output)
    {
        if (vids.Contains(KnownVendorId.Dpd)) sa.Dpd.PeerSupportsDpd = true;
        static int Rank(KnownVendorId v) => v switch
        {
            KnownVendorId.NatTRfc3947 => 0, KnownVendorId.NatTDraft03 => 1, KnownVendorId.NatTDraft02N => 2, KnownVendorId.NatTDraft02 => 3, _ => 4,
        };
        var ip = sa.IpContext;
        foreach (var v in vids.OrderBy(Rank))
        {
            AsaDebug.ProcessingVidPayload(output, ip);
            switch (v)
            {
                case KnownVendorId.NatTRfc3947: AsaDebug.ReceivedNatTraversalRfcVid(output, ip); break;
                case KnownVendorId.NatTDraft03: AsaDebug.ReceivedNatTraversalVer03Vid(output, ip); break;
                case KnownVendorId.NatTDraft02 or KnownVendorId.NatTDraft02N: AsaDebug.ReceivedNatTraversalVer02Vid(output, ip); break;
                case KnownVendorId.Fragmentation: AsaDebug.ReceivedFragmentationVid(output, ip); break;
                case KnownVendorId.Dpd: AsaDebug.ReceivedDpdVid(output, ip); break;
                case KnownVendorId.CiscoUnity: AsaDebug.ReceivedCiscoUnityClientVid(output, ip); break;
                case KnownVendorId.Xauth: AsaDebug.ReceivedXauthV6Vid(output, ip); break;
                case KnownVendorId.CiscoVpn3000: AsaDebug.ReceivedAltigaVid(output, ip); break;
            }
        }
    }

    /// <summary>MM5 (initiator): the trace-context vendor ID, only for a peer that is an IkeActors gateway.</summary>
    public void AddTraceContext(List<IIsakmpPayload> payloads)
    {
        if (sa.Role != IkeRole.Initiator || !PeerIsIkeActors || !IsTraceParent(TraceParent)) return;
        payloads.Add(Vid([.. VendorIds.IkeActorsTraceContext, .. Encoding.ASCII.GetBytes(TraceParent!)]));
    }

    /// <summary>MM5 (responder): a well-formed trace-context vendor ID becomes a trace event; anything else is ignored.</summary>
    public bool ReadTraceContext(ReadOnlySpan<byte> body, NegotiationOutput output)
    {
        if (!body.StartsWith(VendorIds.IkeActorsTraceContext)) return false;
        if (sa.Role != IkeRole.Responder) return true;
        var rest = body[VendorIds.IkeActorsTraceContext.Length..];
        if (rest.Length != TraceParentLength || rest.ContainsAnyExceptInRange((byte)0x20, (byte)0x7e)) return true;
        var text = Encoding.ASCII.GetString(rest);
        if (IsTraceParent(text)) output.Add(new TraceContextReceived(text));
        return true;
    }

    /// <summary>Version 00, lower-case hex ids that are not all zero (W3C Trace Context §3.2).</summary>
    public static bool IsTraceParent(string? value)
    {
        if (value is null || value.Length != TraceParentLength || !value.StartsWith("00-", StringComparison.Ordinal)
            || value[35] != '-' || value[52] != '-') return false;
        static bool Hex(ReadOnlySpan<char> s) => s.IndexOfAnyExcept("0123456789abcdef") < 0;
        var trace = value.AsSpan(3, 32);
        var span = value.AsSpan(36, 16);
        return Hex(trace) && Hex(span) && Hex(value.AsSpan(53, 2))
               && trace.IndexOfAnyExcept('0') >= 0 && span.IndexOfAnyExcept('0') >= 0;
    }
}
