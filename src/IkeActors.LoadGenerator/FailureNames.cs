using IkeActors.Negotiation;

namespace IkeActors.LoadGenerator;

/// <summary>The reason a tunnel failed, as the report counts it: a notify the responder sent, or what went wrong here.</summary>
public static class FailureNames
{
    public const string Timeout = "timeout";

    public static string Of(NegotiationFailed failed)
    {
        const string peerSent = "peer sent ";
        if (failed.Detail.StartsWith(peerSent, StringComparison.Ordinal))
            // RFC 2408 §3.14.1 names for the notifies the engine maps; the ASA's wording of the others.
            return "notify " + failed.Reason switch
            {
                FailureReason.NoProposalChosen => "NO_PROPOSAL_CHOSEN",
                FailureReason.ProxyIdMismatch => "INVALID_ID_INFORMATION",
                _ => failed.Detail[peerSent.Length..],
            };
        return failed.Reason switch
        {
            FailureReason.RetransmissionsExhausted => "retransmissions exhausted",
            FailureReason.AuthenticationFailed => "authentication failed",
            FailureReason.NoProposalChosen => "no proposal chosen",
            FailureReason.ProxyIdMismatch => "proxy ID mismatch",
            FailureReason.TransformSetMismatch => "transform set mismatch",
            FailureReason.MalformedMessage => "malformed message",
            FailureReason.NoTunnelGroup => "no tunnel-group",
            FailureReason.InvalidKeyExchange => "invalid key exchange",
            FailureReason.DeadPeer => "dead peer",
            _ => failed.Reason.ToString(),
        };
    }
}
