namespace IkeActors.Negotiation;

/// <summary>
/// Main Mode states as the ASA names them in `show crypto isakmp sa` (MM_WAIT_MSGn, MM_ACTIVE),
/// grouped under the exchange phases its debugs talk about (MM_SA_SETUP: messages 1-2,
/// MM_KEY_EXCH: 3-4, MM_KEY_AUTH: 5-6). RFC 2409 §5 Identity Protection exchange.
/// </summary>
public enum MainModeState
{
    MM_NO_STATE,
    MM_SA_SETUP,
    MM_WAIT_MSG2,
    MM_WAIT_MSG3,
    MM_KEY_EXCH,
    MM_WAIT_MSG4,
    MM_WAIT_MSG5,
    MM_KEY_AUTH,
    MM_WAIT_MSG6,
    MM_ACTIVE,
    MM_DELETED,
    /// <summary>Aggressive Mode initiator: AM1 sent (RFC 2409 §5.4); established it is MM_ACTIVE, shown as AM_ACTIVE.</summary>
    AM_WAIT_MSG2,
    /// <summary>Aggressive Mode responder: AM2 sent, waiting for the initiator's HASH_I.</summary>
    AM_WAIT_MSG3,
}

public enum MainModeTrigger
{
    /// <summary>The data plane asked for an SA: send MM1.</summary>
    Acquire,
    ReceivedMm1,
    ReceivedMm2,
    ReceivedMm3,
    ReceivedMm4,
    ReceivedMm5,
    ReceivedMm6,
    /// <summary>The retransmission timer fired: resend the last message.</summary>
    Retransmit,
    /// <summary>The exchange failed (no proposal, authentication, retransmissions exhausted).</summary>
    Fail,
    /// <summary>Delete requested locally or by the peer (RFC 2408 §3.15).</summary>
    Delete,
    /// <summary>An acquire on an entry set to Aggressive Mode (or a remote-access client dialling in): send AM1.</summary>
    AcquireAggressive,
    ReceivedAm1,
    ReceivedAm2,
    ReceivedAm3,
}

/// <summary>Quick Mode states (RFC 2409 §5.5): one machine per message ID.</summary>
public enum QuickModeState
{
    QM_IDLE,
    QM_WAIT_MSG2,
    QM_WAIT_MSG3,
    QM_ACTIVE,
    QM_DELETED,
}

public enum QuickModeTrigger
{
    Start,
    ReceivedQm1,
    ReceivedQm2,
    ReceivedQm3,
    Retransmit,
    Fail,
    Delete,
}

public enum IkeRole { Initiator, Responder }

/// <summary>The NAT-Traversal version negotiated with vendor IDs in MM1/MM2 (RFC 3947 §3.1 and its drafts).</summary>
public enum NatTraversalVersion
{
    None,
    /// <summary>draft-ietf-ipsec-nat-t-ike-02: NAT-D payload 130, encapsulation modes 61443/61444.</summary>
    Draft02,
    /// <summary>draft-ietf-ipsec-nat-t-ike-03: as draft 02.</summary>
    Draft03,
    /// <summary>RFC 3947: NAT-D payload 20, encapsulation modes 3/4.</summary>
    Rfc3947,
}
