using IkeActors.Protocol;

namespace IkeActors.Negotiation;

// Typed events for tracing and metrics. The machines report what happened on the wire and why
// something was refused; a host maps them to spans and counters without reading datagrams.

/// <summary>The exchange a message belongs to (RFC 2408 §4.1, RFC 2409 §5).</summary>
public enum IkeExchange
{
    /// <summary>A datagram whose exchange is not known yet (it did not parse) or not supported.</summary>
    Isakmp,
    /// <summary>Identity Protection (RFC 2409 §5): MM1..MM6.</summary>
    MainMode,
    /// <summary>RFC 2409 §5.5: QM1..QM3.</summary>
    QuickMode,
    /// <summary>RFC 2409 §5.7: notifications and deletes.</summary>
    Informational,
    /// <summary>RFC 2409 §5.4: AM1..AM3.</summary>
    AggressiveMode,
    /// <summary>Exchange type 6 (draft-dukes-ike-mode-cfg-02): XAUTH and Mode Config.</summary>
    Transaction,
}

/// <summary>An exchange's message as the debug lines and the dashboard name it: MM1..MM6, QM1..QM3, or an Informational.</summary>
public readonly record struct ExchangeMessage(IkeExchange Exchange, int Number, uint MessageId)
{
    public static ExchangeMessage MainMode(int number) => new(IkeExchange.MainMode, number, 0);
    public static ExchangeMessage QuickMode(int number, uint messageId) => new(IkeExchange.QuickMode, number, messageId);
    public static ExchangeMessage Informational(uint messageId) => new(IkeExchange.Informational, 0, messageId);
    public static ExchangeMessage Aggressive(int number) => new(IkeExchange.AggressiveMode, number, 0);
    public static ExchangeMessage Transaction(uint messageId) => new(IkeExchange.Transaction, 0, messageId);

    /// <summary>"MM3", "QM2", "INFO".</summary>
    public string Label => Exchange switch
    {
        IkeExchange.MainMode => $"MM{Number}",
        IkeExchange.QuickMode => $"QM{Number}",
        IkeExchange.Informational => "INFO",
        IkeExchange.AggressiveMode => $"AM{Number}",
        IkeExchange.Transaction => "TRANS",
        _ => "ISAKMP",
    };

    public override string ToString() => Label;
}

/// <summary>A message of an exchange was sent for the first time (retransmissions are <see cref="SendDatagram.IsRetransmission"/>).</summary>
public sealed record MessageSent(ExchangeMessage Message) : NegotiationAction;

/// <summary>A datagram was taken as this message of an exchange (before its contents are checked; a check that fails says so next).</summary>
public sealed record MessageReceived(ExchangeMessage Message) : NegotiationAction;

/// <summary>Why a datagram was dropped without changing any state.</summary>
public enum DropReason
{
    /// <summary>Not a valid ISAKMP message (RFC 2408 §3: header, payload chain).</summary>
    Malformed,
    /// <summary>The cookies name no SA here (RFC 2408 §3.1).</summary>
    NoSa,
    /// <summary>The cookies are not this SA's.</summary>
    CookieMismatch,
    /// <summary>An exchange type this gateway does not run.</summary>
    ExchangeNotSupported,
    /// <summary>A message the exchange does not expect in its state.</summary>
    UnexpectedMessage,
    /// <summary>A Quick Mode before phase 1 completed (RFC 2409 §5.5).</summary>
    BeforePhase1,
    /// <summary>Too many Quick Modes in progress on one IKE SA (bounded resources).</summary>
    TooManyQuickModes,
    /// <summary>Did not decrypt to valid payloads (wrong keys or tampering).</summary>
    DecryptionFailed,
    /// <summary>A HASH that does not verify.</summary>
    HashMismatch,
    /// <summary>A DPD notify with a wrong SPI or sequence number size (RFC 3706 §5).</summary>
    MalformedDpdNotify,
    /// <summary>An R-U-THERE-ACK that answers no outstanding R-U-THERE (RFC 3706 §7).</summary>
    UnmatchedDpdAck,
    /// <summary>An MM1 (or AM1) from an address no pre-shared key is configured for (admission).</summary>
    NoPreSharedKey,
    /// <summary>An MM1 refused by the half-open limits (admission).</summary>
    HalfOpenLimit,
    /// <summary>An MM1 that collides with our own Phase 1 rekey, which wins.</summary>
    RekeyCollision,
    /// <summary>An AM1 while `crypto ikev1 am-disable` is configured.</summary>
    AggressiveModeDisabled,
}

/// <summary>A datagram dropped: nothing changed. <paramref name="Detail"/> is for an operator; never key material.</summary>
public sealed record MessageDropped(IkeExchange Exchange, uint MessageId, DropReason Reason, string Detail) : NegotiationAction;

public enum RekeyPhase { Phase1 = 1, Phase2 = 2 }

/// <summary>What became of a rekey point.</summary>
public enum RekeyDecision
{
    /// <summary>This side rekeys (<see cref="RekeyStarted"/> follows, or the host starts the new Main Mode).</summary>
    Rekeying,
    /// <summary>A Phase 2 pair the peer initiated: its initiator rekeys it.</summary>
    LeftToInitiator,
    /// <summary>No crypto map entry is in use on the IKE SA: nothing to rekey.</summary>
    NothingToProtect,
    /// <summary>Another IKE SA with the peer is coming up or up: the peer rekeys already.</summary>
    AnotherSaExists,
}

/// <summary>A rekey point was reached (Phase 1: the IKE SA, MessageId 0; Phase 2: the pair's Quick Mode).</summary>
public sealed record RekeyDue(RekeyPhase Phase, uint MessageId, RekeyDecision Decision) : NegotiationAction;

/// <summary>A Phase 2 rekey started: Quick Mode <paramref name="MessageId"/> replaces the pair of <paramref name="Replaces"/>.</summary>
public sealed record Phase2RekeyStarted(uint MessageId, uint Replaces) : NegotiationAction;

/// <summary>A Phase 1 rekey moved <paramref name="Count"/> IPsec SA pairs from IKE SA <paramref name="From"/> to <paramref name="To"/> (initiator cookies).</summary>
public sealed record IpsecSasMoved(ulong From, ulong To, int Count) : NegotiationAction;

/// <summary>A Phase 1 rekey collision was settled: the rekey of the end that initiated the replaced SA wins.</summary>
public sealed record RekeyCollisionSettled(bool OursWins) : NegotiationAction;

/// <summary>An R-U-THERE went out (RFC 3706 §5); <paramref name="Retransmission"/> 0 for the first of a round.</summary>
public sealed record DpdProbeSent(uint Sequence, int Retransmission) : NegotiationAction;

/// <summary>An R-U-THERE-ACK answered an outstanding R-U-THERE (RFC 3706 §7).</summary>
public sealed record DpdAckReceived(uint Sequence) : NegotiationAction;

/// <summary>The peer's authenticated DELETE (RFC 2408 §3.15): of the IKE SA (<see cref="ProtocolId.Isakmp"/>, SPI 0) or of an ESP SPI.</summary>
public sealed record DeleteReceived(ProtocolId Protocol, uint MessageId, uint Spi) : NegotiationAction;

/// <summary>XAUTH ended for <paramref name="User"/> (printable form; never the password): accepted or refused.</summary>
public sealed record XauthCompleted(string User, bool Accepted) : NegotiationAction;

/// <summary>Mode Config gave (head-end) or got (client) <paramref name="Address"/>: the client's inside address, its remote proxy ID.</summary>
public sealed record ModeConfigCompleted(System.Net.IPAddress Address, string? User) : NegotiationAction;

/// <summary>The responder received the initiator's trace context (W3C traceparent) in MM5's private vendor ID.</summary>
public sealed record TraceContextReceived(string TraceParent) : NegotiationAction;
