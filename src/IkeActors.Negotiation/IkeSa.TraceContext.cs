using System.Text;
using IkeActors.Protocol;

namespace IkeActors.Negotiation;

/// <summary>
/// Carrying the initiator's trace context to the responder, so one negotiation is one trace across
/// two gateways' processes. IKEv1 has no field for it: the initiator adds a private vendor ID
/// (RFC 2408 §3.16) to MM5 when the peer's MM4 carried the IkeActors vendor ID, and the responder
/// hands the context to its host as a <see cref="TraceContextReceived"/>. Real ASAs and
/// strongSwan never send our ID, so they never receive this payload. MM5 is encrypted and HASH_I
/// does not cover vendor IDs (RFC 2409 §5), so authentication is unchanged; no debug line is printed.
/// </summary>
public sealed partial class IkeSa
{
    /// <summary>W3C traceparent: "00-" + 32 hex + "-" + 16 hex + "-" + 2 hex.</summary>
    private const int TraceParentLength = 55;

    /// <summary>The host's trace context for this SA (W3C traceparent) to carry to an IkeActors responder; null: none.</summary>
    public string? TraceParent { get; set; }

    private bool _peerSentIkeActorsVid;

    /// <summary>The peer's MM3/MM4 vendor IDs name a Cisco (or IkeActors) gateway: it understands the IOS keepalive payload.</summary>
    private bool _peerIsCisco;

    private void NotePeerVendorIds(List<KnownVendorId> vids)
    {
        if (vids.Contains(KnownVendorId.IkeActors)) _peerSentIkeActorsVid = true;
        if (vids.Contains(KnownVendorId.IkeActors) || vids.Contains(KnownVendorId.CiscoUnity) || vids.Contains(KnownVendorId.CiscoVpn3000)) _peerIsCisco = true;
    }

    /// <summary>MM5 (initiator): the trace-context vendor ID, only for a peer that is an IkeActors gateway.</summary>
    private void AddTraceContext(List<IIsakmpPayload> payloads)
    {
        if (Role != IkeRole.Initiator || !_peerSentIkeActorsVid || !IsTraceParent(TraceParent)) return;
        payloads.Add(Vid([.. VendorIds.IkeActorsTraceContext, .. Encoding.ASCII.GetBytes(TraceParent!)]));
    }

    /// <summary>MM5 (responder): a well-formed trace-context vendor ID becomes a trace event; anything else is ignored.</summary>
    private bool ReadTraceContext(ReadOnlySpan<byte> body, NegotiationOutput output)
    {
        if (!body.StartsWith(VendorIds.IkeActorsTraceContext)) return false;
        if (Role != IkeRole.Responder) return true;
        var rest = body[VendorIds.IkeActorsTraceContext.Length..];
        if (rest.Length != TraceParentLength || rest.ContainsAnyExceptInRange((byte)0x20, (byte)0x7e)) return true;
        var text = Encoding.ASCII.GetString(rest);
        if (IsTraceParent(text)) output.Add(new TraceContextReceived(text));
        return true;
    }

    /// <summary>Version 00, lower-case hex ids that are not all zero (W3C Trace Context §3.2).</summary>
    internal static bool IsTraceParent(string? value)
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
