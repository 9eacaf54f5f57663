using IkeActors.Protocol;

namespace IkeActors.Explain;

/// <summary>Which end of the negotiation printed a line.</summary>
public enum Side { Unknown, Initiator, Responder }

/// <summary>What the line is doing with its message.</summary>
public enum Stage
{
    /// <summary>Not attached to a message (unknown line, text).</summary>
    None,
    /// <summary>Building the message before it is sent ("constructing … payload").</summary>
    Construct,
    /// <summary>The IKE_DECODE SENDING / RESENDING line itself.</summary>
    Send,
    /// <summary>The IKE_DECODE RECEIVED line itself.</summary>
    Receive,
    /// <summary>Reading the received message ("processing … payload", policy and crypto map checks).</summary>
    Process,
    /// <summary>After the message was sent: completion, timers, NAT status.</summary>
    After,
}

/// <summary>How well a line matched the debug catalog.</summary>
public enum MatchQuality
{
    /// <summary>Not a catalog line (unknown tag, prose, garbage).</summary>
    None,
    /// <summary>The whole template matched.</summary>
    Exact,
    /// <summary>The line stops early (cut when pasted) but what is there matches.</summary>
    Cut,
    /// <summary>Close to one template but with characters changed or missing.</summary>
    Garbled,
    /// <summary>A hex dump that follows a DECODE header.</summary>
    HexDump,
}

/// <summary>
/// The messages of the IKEv1 exchanges the ASA runs: Main Mode or Aggressive Mode (phase 1), for a remote-access client
/// XAUTH and Mode Config in Transaction exchanges, then Quick Mode.
/// </summary>
public static class Messages
{
    /// <summary>Main Mode then Quick Mode, in the order they are sent (a LAN-to-LAN tunnel).</summary>
    public static readonly string[] Conversation = ["MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3"];

    /// <summary>
    /// Aggressive Mode then Quick Mode (RFC 2409 §5.4): AM1 carries SA, KE, nonce and the initiator's ID (a remote-access
    /// client's group name), AM2 the responder's answer with its HASH, AM3 only the initiator's HASH.
    /// </summary>
    public static readonly string[] AggressiveConversation = ["AM1", "AM2", "AM3", "QM1", "QM2", "QM3"];

    public const string Informational = "Informational";

    // Transaction exchange messages (exchange type 6), named by the ISAKMP_CFG message type they carry: XAUTH
    // (draft-beaulieu-ike-xauth-02 §4: the head-end's REQUEST, the client's REPLY, the head-end's SET with
    // XAUTH-STATUS, the client's ACK) and Mode Config (draft-dukes-ike-mode-cfg-02 §3.2: the client pulls with
    // REQUEST / REPLY; a head-end pushes with SET / ACK).
    public const string XauthRequest = "XAUTH REQUEST", XauthReply = "XAUTH REPLY", XauthSet = "XAUTH SET", XauthAck = "XAUTH ACK";
    public const string ModeCfgRequest = "MODE_CFG REQUEST", ModeCfgReply = "MODE_CFG REPLY", ModeCfgSet = "MODE_CFG SET", ModeCfgAck = "MODE_CFG ACK";

    /// <summary>
    /// Every message of a negotiation in the order it can occur (the ladder's order): phase 1 in either mode, the
    /// Transaction exchanges of a remote-access client, Quick Mode.
    /// </summary>
    public static readonly string[] Ladder =
    [
        "MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "AM1", "AM2", "AM3",
        XauthRequest, XauthReply, XauthSet, XauthAck, ModeCfgRequest, ModeCfgReply, ModeCfgSet, ModeCfgAck,
        "QM1", "QM2", "QM3",
    ];

    /// <summary>MM1, MM3, MM5, QM1, QM3 come from the initiator (RFC 2409 §5, §5.5): an index of <see cref="Conversation"/>.</summary>
    public static Side SenderOf(int index) => index % 2 == 0 ? Side.Initiator : Side.Responder;

    /// <summary>
    /// Who sends a message: in Main Mode and Quick Mode the odd ones come from the initiator, in Aggressive Mode AM1
    /// and AM3; in the Transaction exchanges the head-end (the responder: remote-access clients start phase 1) sends
    /// the XAUTH REQUEST and SET and the Mode Config REPLY (or SET), the client the rest.
    /// </summary>
    public static Side SenderOf(string message) => message switch
    {
        "AM1" or "AM3" => Side.Initiator,
        "AM2" => Side.Responder,
        XauthRequest or XauthSet or ModeCfgReply or ModeCfgSet => Side.Responder,
        XauthReply or XauthAck or ModeCfgRequest or ModeCfgAck => Side.Initiator,
        _ when Array.IndexOf(Conversation, message) is var j and >= 0 => SenderOf(j),
        _ => Side.Unknown,
    };

    public static Side Other(Side s) => s == Side.Initiator ? Side.Responder : s == Side.Responder ? Side.Initiator : Side.Unknown;

    public static bool IsTransaction(string? message) => message is not null && (message.StartsWith("XAUTH ", StringComparison.Ordinal) || message.StartsWith("MODE_CFG ", StringComparison.Ordinal));

    public static string ExchangeOf(string? message) => message switch
    {
        null => "",
        Informational => "Informational",
        _ when message.StartsWith("MM", StringComparison.Ordinal) => "Main Mode",
        _ when message.StartsWith("AM", StringComparison.Ordinal) => "Aggressive Mode",
        _ when message.StartsWith("QM", StringComparison.Ordinal) => "Quick Mode",
        _ when message.StartsWith("XAUTH ", StringComparison.Ordinal) => "XAUTH",
        _ when message.StartsWith("MODE_CFG ", StringComparison.Ordinal) => "Mode Config",
        _ => "",
    };
}

/// <summary>One debug record read from a log: a tagged line (with continuations joined) or a line of other text.</summary>
public sealed class LogRecord
{
    public required string File { get; init; }
    /// <summary>1-based line number of the record's first physical line.</summary>
    public required int Line { get; init; }
    /// <summary>The record as read (tag and context included, timestamp removed, continuations joined with a space).</summary>
    public required string Text { get; set; }
    /// <summary>"[IKEv1 DEBUG]: " etc., "%ASA-7-715046: " for syslog, null for untagged text.</summary>
    public string? Tag { get; init; }
    /// <summary>Syslog id when the line came in the syslog form.</summary>
    public int? SyslogId { get; init; }
    public string? Timestamp { get; init; }
    /// <summary>The gateway named in a syslog header, when the log has one.</summary>
    public string? Host { get; init; }
    /// <summary>The part after the tag (context + message text).</summary>
    public string Body { get; set; } = "";
    /// <summary>Physical lines joined into this record after the first.</summary>
    public int JoinedLines { get; set; }
    /// <summary>Untagged lines that belong to the record ("Local subnet: …" after "Transmitting Proxy Id:").</summary>
    public List<string> Details { get; } = new();
    /// <summary>An arrow marker such as "=====MM1=====>" that the log itself carries (the Cisco document does).</summary>
    public string? Marker { get; init; }

    public bool IsIke => Tag is not null && (Tag.StartsWith("[IKEv1", StringComparison.Ordinal) || SyslogId is >= 713000 and < 716000);
}

/// <summary>A record with its meaning: the catalog message, the exchange step, the configuration behind it.</summary>
public sealed class ExplainedLine
{
    public required LogRecord Record { get; init; }
    public DebugMessageInfo? Message { get; set; }
    public MatchQuality Quality { get; set; }
    public Dictionary<string, string> Values { get; } = new(StringComparer.Ordinal);
    public string? Peer { get; set; }
    public string? Group { get; set; }
    /// <summary>Stream the line belongs to (one gateway talking to one peer).</summary>
    public int Stream { get; set; } = -1;
    public Side Side { get; set; }
    /// <summary>MM1…MM6 or AM1…AM3, the Transaction messages (XAUTH REQUEST…, MODE_CFG REQUEST…), QM1…QM3, Informational or null.</summary>
    public string? ExchangeMessage { get; set; }
    public Stage Stage { get; set; }
    /// <summary>
    /// 1 while its side negotiates phase 1 (Main Mode or Aggressive Mode) and a remote-access client's XAUTH and Mode
    /// Config (a head-end holds Quick Mode back until they are done), 2 after (Quick Mode); Informational lines count
    /// for the phase their side is in.
    /// </summary>
    public int Phase { get; set; }
    /// <summary>MM_WAIT_MSG2, AM_ACTIVE, QM_WAIT_MSG3… as the ASA names its states (none for Transaction exchange lines).</summary>
    public string? State { get; set; }
    public string? Description { get; set; }
    public List<ConfigReference> Config { get; } = new();
    public List<string> Notes { get; } = new();

    public string Exchange => Messages.ExchangeOf(ExchangeMessage);
    public bool Recognised => Message is not null || Quality == MatchQuality.HexDump;
}

/// <summary>A configuration line behind a debug line.</summary>
public sealed record ConfigReference(string File, int Line, string Text, string Why)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Text}" : $"{File}: {Text}";
}

/// <summary>A failure recognised in the log.</summary>
public sealed class Diagnosis
{
    public required DiagnosisRule Rule { get; init; }
    public required IReadOnlyList<ExplainedLine> Evidence { get; init; }
    public List<ConfigReference> Config { get; } = new();
    public string Id => Rule.Id;
    public string Title => Rule.Title;
    public string Cause => Rule.Cause;
    public IReadOnlyList<string> Checks => Rule.Checks;
}

/// <summary>One stream: one gateway's conversation with one peer.</summary>
public sealed class ExplainedStream
{
    public required int Id { get; init; }
    public required string File { get; init; }
    /// <summary>The gateway named in the syslog header, when lines carry one.</summary>
    public string? Host { get; init; }
    public string? Peer { get; init; }
    /// <summary>True when both ends print into this stream (the Cisco document shows both with the same peer address).</summary>
    public bool BothEnds { get; set; }
    public Side Role { get; set; }
    /// <summary>The last phase 1 / phase 2 state of each side seen in the stream.</summary>
    public Dictionary<Side, (string? Phase1, string? Phase2)> States { get; } = new();
    public string? Phase1State => States.Values.Select(v => v.Phase1).LastOrDefault(v => v is not null);
    public string? Phase2State => States.Values.Select(v => v.Phase2).LastOrDefault(v => v is not null);
}

/// <summary>The whole explanation of one or more logs.</summary>
public sealed class ExplainReport
{
    public required IReadOnlyList<string> Files { get; init; }
    public required IReadOnlyList<ExplainedLine> Lines { get; init; }
    public required IReadOnlyList<ExplainedStream> Streams { get; init; }
    public required IReadOnlyList<Diagnosis> Diagnoses { get; init; }
    public IReadOnlyList<string> ConfigFiles { get; init; } = [];
    /// <summary>The two peers' addresses as far as the logs (or configurations) tell.</summary>
    public string? InitiatorAddress { get; init; }
    public string? ResponderAddress { get; init; }
    public List<string> Problems { get; } = new();

    public int Recognised => Lines.Count(l => l.Recognised);
    public int Unrecognised => Lines.Count(l => !l.Recognised);
    public string? FailurePoint => Diagnoses.FirstOrDefault()?.Evidence.FirstOrDefault()?.ExchangeMessage;
}
