using System.Globalization;
using IkeActors.Protocol;

namespace IkeActors.Explain;

/// <summary>
/// Assigns each recognised line of one stream to its side, exchange message and stage.
/// A stream is one gateway talking to one peer; when both ends print into the same stream
/// (the Cisco document prints the responder's lines with the initiator's addresses) both
/// roles are tracked at once and each line goes to the role the protocol allows.
/// The counting follows the conversation MM1…MM6, QM1…QM3 (RFC 2409 §5, §5.5), or AM1…AM3,
/// QM1…QM3 when phase 1 runs in Aggressive Mode (§5.4: the first message carries SA, KE,
/// nonce and ID at once): an IKE_DECODE line moves a role to the next message it sends or
/// receives; "constructing" lines after a received message start the reply; lines that only
/// one role prints, or only at one point, pin the role and the message. A remote-access
/// client's XAUTH and Mode Config (Transaction exchanges, HASH + ATTR) are steps of their own
/// between phase 1 and Quick Mode, named by what they carry (<see cref="LabelTransactions"/>).
/// </summary>
internal sealed class Tracker
{
    /// <summary>One negotiation's messages in order: phase 1 (Main Mode or Aggressive Mode), then Quick Mode.</summary>
    private sealed class Path(string[] messages)
    {
        public readonly string[] Messages = messages;
        /// <summary>The index of QM1: the messages before it are phase 1.</summary>
        public readonly int QuickMode = Array.IndexOf(messages, "QM1");
        public bool Aggressive => Messages[0] == "AM1";
        public int Length => Messages.Length;
        public Side SenderOf(int j) => IkeActors.Explain.Messages.SenderOf(Messages[j]);
        public int IndexOf(string? message) => message is null ? -1 : Array.IndexOf(Messages, message);
    }

    private static readonly Path MainMode = new(Messages.Conversation);
    private static readonly Path AggressiveMode = new(Messages.AggressiveConversation);

    private sealed class Role(Side side, Tracker owner)
    {
        public Side Side { get; } = side;
        public int Index = -1;
        public Stage Stage = Stage.None;
        public int LastSent = -1;
        public int LastReceived = -1;
        public int? PendingLateReceive;
        public bool P1Done, P2Done;
        /// <summary>Inside an Informational exchange (after its IKE_DECODE line): payload lines belong to it.</summary>
        public bool InInfo;
        /// <summary>Inside a Transaction exchange (after its IKE_DECODE line): the message, and sent or received.</summary>
        public string? Transaction;
        public Stage TransactionStage;

        private Path P => owner._path;

        public int NextOut()
        {
            var from = Math.Max(LastSent, LastReceived) + 1;
            for (var j = from; j < P.Length; j++) if (P.SenderOf(j) == Side) return j;
            return Side == Side.Initiator ? P.QuickMode : P.QuickMode + 1; // a new Quick Mode on the same IKE SA
        }

        public int NextIn()
        {
            var from = Math.Max(LastSent, LastReceived) + 1;
            for (var j = from; j < P.Length; j++) if (P.SenderOf(j) != Side) return j;
            return Side == Side.Initiator ? P.QuickMode + 1 : P.QuickMode;
        }

        /// <summary>A new phase 1 in another mode: nothing of the old conversation's count carries over.</summary>
        public void Reset()
        {
            Index = LastSent = LastReceived = -1;
            Stage = Stage.None;
            PendingLateReceive = null;
            P1Done = P2Done = InInfo = false;
            Transaction = null;
        }
    }

    private static readonly HashSet<string> InitiatorOnly = new(StringComparer.Ordinal)
    {
        "InitiatorNewPhase1", "InitiatorNewPhase2", "InitiatorRekeyingPhase1", "InitiatorRekeyingPhase2", "GeneratingKeysForInitiator",
        "InitiatorStartingQm", "InitiatorSending1stQmPacket", "InitiatorSending3rdQmPacket", "SecurityNegotiationCompleteL2LInitiator",
        "ResponderForcingRekeyDurationSeconds", "ResponderForcingRekeyDurationKbs", "ConstructingIpsecSaPayloadInitiator",
        "InitiatorSendingInitialContact", "PitcherKeyAcquire",
    };

    /// <summary>Lines only a remote-access head-end prints (the responder: clients start phase 1).</summary>
    private static readonly HashSet<string> HeadEndOnly = new(StringComparer.Ordinal)
    {
        "IdKeyIdReceived", "AggressiveModeDisabled", "UserAuthenticated", "UserAuthenticationRejected", "ProcessingCfgRequestAttributes",
        "ModeCfgReceivedRequest", "AssignedPrivateAddress", "CannotObtainAddress", "DelayQuickMode", "SecurityNegotiationCompleteUserResponder",
    };

    private static readonly HashSet<string> ResponderOnly = new(StringComparer.Ordinal)
    {
        "IkeSaProposalAcceptable", "ProcessingIkeSaPayload", "GeneratingKeysForResponder", "ResponderStartingQm", "ResponderSending2ndQmPacket",
        "SecurityNegotiationCompleteL2LResponder", "StaticCryptoMapChecking", "StaticCryptoMapMatch", "ConstructingIpsecSaPayloadResponder",
        "AllSaProposalsUnacceptable", "RejectingIpsecTunnelNoCryptoMap", "AllIpsecSaProposalsUnacceptable", "OverridingInitiatorRekeyDurationSeconds",
    };

    private readonly IReadOnlyList<ExplainedLine> _lines;
    private readonly IReadOnlyCollection<int> _p1Lifetimes;
    private readonly Role _i;
    private readonly Role _r;
    private Path _path = MainMode;
    /// <summary>Transaction exchange IKE_DECODE lines (by line index): the message each one is.</summary>
    private Dictionary<int, string> _transactions = new();
    /// <summary>The Transaction decode lines that open an exchange (the first line of their message ID).</summary>
    private readonly HashSet<int> _opening = new();
    /// <summary>For each line, the index of the next IKE_DECODE line at or after it (the count of lines when none).</summary>
    private int[] _nextDecode = [];
    private bool _mirrored;
    private Side _fixed;
    private Side _active;
    private int _sent, _received;

    public Tracker(IReadOnlyList<ExplainedLine> lines, IReadOnlyCollection<int> p1Lifetimes)
    {
        _lines = lines;
        _p1Lifetimes = p1Lifetimes;
        _i = new Role(Side.Initiator, this);
        _r = new Role(Side.Responder, this);
    }

    public bool BothEnds => _mirrored;
    public Side FixedRole => _fixed;

    public void Run()
    {
        var names = _lines.Where(l => l.Message is not null).Select(l => l.Message!.Name).ToHashSet(StringComparer.Ordinal);
        var hasI = names.Overlaps(InitiatorOnly);
        var hasR = names.Overlaps(ResponderOnly) || names.Overlaps(HeadEndOnly);
        _mirrored = hasI && hasR;
        if (!_mirrored)
        {
            _fixed = hasI ? Side.Initiator : hasR ? Side.Responder : Side.Unknown;
            if (_fixed == Side.Unknown)
            {
                var firstDecode = _lines.FirstOrDefault(l => l.Message?.Name is "IkeDecodeSending" or "IkeDecodeReceived");
                _fixed = firstDecode?.Message?.Name == "IkeDecodeReceived" ? Side.Responder : firstDecode is null ? Side.Unknown : Side.Initiator;
            }
        }
        _active = _fixed == Side.Unknown ? Side.Initiator : _fixed;
        _path = FirstPhase1Mode() ?? MainMode;
        _nextDecode = new int[_lines.Count + 1];
        _nextDecode[_lines.Count] = _lines.Count;
        for (var n = _lines.Count - 1; n >= 0; n--) _nextDecode[n] = IsDecode(_lines[n]) ? n : _nextDecode[n + 1];
        _transactions = LabelTransactions();

        for (var n = 0; n < _lines.Count; n++)
        {
            var line = _lines[n];
            if (line.Message is null)
            {
                if (line.Quality == MatchQuality.HexDump) Neutral(line);
                continue;
            }
            Assign(line, n);
            line.State = StateOf(line);
            var role = R(line.Side == Side.Unknown ? Side.Initiator : line.Side);
            if (line.ExchangeMessage is { } em && (em.StartsWith("MM", StringComparison.Ordinal) || em.StartsWith("AM", StringComparison.Ordinal)) && role.P1Done)
                line.State = em[..2] + "_ACTIVE";
            if (line.ExchangeMessage is { } eq && eq.StartsWith("QM", StringComparison.Ordinal) && role.P2Done) line.State = "QM_ACTIVE";
            line.Phase = line.ExchangeMessage switch
            {
                null => 0,
                Messages.Informational => role.P1Done ? 2 : 1,
                var em2 => em2.StartsWith("QM", StringComparison.Ordinal) ? 2 : 1, // MM, AM and the Transaction exchanges before Quick Mode
            };
            if (!_mirrored && _fixed == Side.Unknown) line.Side = Side.Unknown;
        }
    }

    private Role R(Side s) => s == Side.Responder ? _r : _i;

    private IEnumerable<Side> Sides() => _mirrored ? [Side.Initiator, Side.Responder] : [_fixed == Side.Unknown ? Side.Initiator : _fixed];

    private void Assign(ExplainedLine line, int n)
    {
        var m = line.Message!;
        if (_transactions.TryGetValue(n, out var transaction)) { TransactionDecode(line, transaction); return; }
        switch (m.Name)
        {
            case "IkeDecodeSending": Send(line, resend: false); return;
            case "IkeDecodeResending": Send(line, resend: true); return;
            case "IkeDecodeReceived": Receive(line); return;
        }
        if (InTransaction(line, n)) return;
        if (Knowledge.IsInformational(m))
        {
            line.Side = _active;
            line.ExchangeMessage = Messages.Informational;
            line.Stage = m.Name.StartsWith("Sending", StringComparison.Ordinal) || m.Name.StartsWith("Constructing", StringComparison.Ordinal) ? Stage.Construct : Stage.Process;
            return;
        }
        var hints = Knowledge.HintsOf(m);
        var activeRole = R(_mirrored ? _active : Sides().First());
        if (activeRole.InInfo && hints.All(h => h.AnySide && h.Message == Hint.AnyMessage))
        {
            line.Side = activeRole.Side;
            line.ExchangeMessage = Messages.Informational;
            line.Stage = hints.Count > 0 ? hints[0].Stage : Stage.Process;
            return;
        }
        if (hints.Count == 0) { Neutral(line); After(line); return; }

        Side? forced = null;
        if (m.Name is "Phase1Completed" or "KeepAliveTypeDpd" or "KeepAliveTypeNone" or "StartingP1RekeyTimer") forced = P1TimerSide(n);
        if (InitiatorOnly.Contains(m.Name)) forced = Side.Initiator;
        if (ResponderOnly.Contains(m.Name) || HeadEndOnly.Contains(m.Name)) forced = Side.Responder;

        (Side side, int index, Stage stage, int kind, int score)? best = null;
        foreach (var h in hints)
        {
            foreach (var s in Sides())
            {
                if (!h.AnySide && h.Side != s) continue;
                if (forced is { } f && f != s && _mirrored) continue;
                var c = Evaluate(R(s), h);
                if (c is null) continue;
                var score = c.Value.score * 2 + (s == _active ? 0 : 1);
                if (best is null || score < best.Value.score) best = (s, c.Value.index, h.Stage, c.Value.kind, score);
            }
        }
        if (best is null) { Neutral(line); line.Notes.Add("not where the protocol expects it"); After(line); return; }
        var (side, index, stage, kind, _) = best.Value;
        var role = R(side);
        role.InInfo = false;
        role.Transaction = null;
        if (kind == 1) // implicit receive: the message arrived without its IKE_DECODE line (cut log, lower debug level)
        {
            role.LastReceived = Math.Max(role.LastReceived, index);
            if (_mirrored && index == _received && _received < _sent) { _received++; role.PendingLateReceive = index; }
            if (index >= _path.QuickMode && role.P2Done && stage != Stage.After) role.P2Done = false;
        }
        role.Index = index;
        role.Stage = stage == Stage.After ? (role.Stage == Stage.Process ? Stage.Process : Stage.After) : stage;
        _active = side;
        line.Side = side;
        line.ExchangeMessage = _path.Messages[index];
        line.Stage = stage;
        After(line);
    }

    /// <summary>(index, kind 0 = where the role is, 1 = implicit receive, 2 = start of building, score); null: not here, or not in this mode.</summary>
    private (int index, int kind, int score)? Evaluate(Role r, Hint h)
    {
        var q = _path.QuickMode;
        if (h.Message is not null && _path.IndexOf(h.Message) < 0) return null;
        switch (h.Stage)
        {
            case Stage.Construct:
            {
                var j = h.Message == Hint.AnyMessage ? (r.Stage == Stage.Construct ? r.Index : r.NextOut()) : _path.IndexOf(h.Message);
                if (j < 0 || _path.SenderOf(j) != r.Side) return null;
                if (r.Index == j && r.Stage == Stage.Construct) return (j, 0, 0);
                if (j == r.NextOut() && (j == 0 ? r.Index == -1 || r.P2Done || r.LastSent == 0 : r.LastReceived == j - 1 || (j == q && (r.P1Done || r.P2Done))))
                    return (j, 2, 0);
                if (!_mirrored && (j > r.Index || (j >= q && r.P2Done))) return (j, 2, 2);
                return null;
            }
            case Stage.Process:
            {
                var j = _path.IndexOf(h.Message);
                if (h.Message == Hint.AnyMessage)
                {
                    if (r.Index >= 0 && r.Stage is Stage.Process or Stage.Receive) return (r.Index, 0, 0);
                    j = _mirrored ? (_received < _sent ? _received : -1) : r.NextIn();
                }
                if (j < 0) return null;
                if (r.Index == j && r.Stage is Stage.Process or Stage.Receive) return (j, 0, 0);
                if (_path.SenderOf(j) == r.Side) return null;
                if (_mirrored)
                {
                    if (j == _received && _received < _sent) return (j, 1, 1);
                    return null;
                }
                if (j == r.NextIn() || j > r.Index) return (j, 1, 2);
                return null;
            }
            default:
            {
                var j = _path.IndexOf(h.Message);
                if (j < 0) return null;
                if (r.Index == j && r.Stage != Stage.Construct) return (j, 0, 0);
                if (!_mirrored && j > r.Index) return (j, 0, 2);
                return null;
            }
        }
    }

    /// <summary>
    /// A line of a Transaction exchange: built into the message the next decode line sends as one (its HASH is
    /// "constructing blank hash payload" / "constructing qm hash payload", as in Quick Mode), or read and acted on after
    /// the one last sent or received (the verdict on the user, the attributes asked for, the address given, a Quick
    /// Mode held back meanwhile). Lines that name their own place (PHASE 1 COMPLETED, Quick Mode) go there instead.
    /// </summary>
    private bool InTransaction(ExplainedLine line, int n)
    {
        var m = line.Message!;
        if (Knowledge.IsInformational(m)) return false;
        var hints = Knowledge.HintsOf(m);
        var next = _nextDecode[n];
        var builds = !Knowledge.IsTransaction(m) && hints.Count > 0 && hints.All(h => h.Stage == Stage.Construct);
        if ((builds || (IsPushedAddress(m) && _opening.Contains(next)))
            && next < _lines.Count && _transactions.TryGetValue(next, out var outgoing) && _lines[next].Message!.Name != "IkeDecodeReceived")
        {
            var side = _mirrored ? Messages.SenderOf(outgoing) : Sides().First();
            var builder = R(side);
            builder.InInfo = false;
            builder.Transaction = outgoing;
            builder.TransactionStage = Stage.Construct;
            _active = side;
            line.Side = side;
            line.ExchangeMessage = outgoing;
            line.Stage = Stage.Construct;
            return true;
        }
        var r = R(_mirrored ? _active : Sides().First());
        if (r.Transaction is not { } current || !(Knowledge.IsTransaction(m) || hints.All(h => h.AnySide && h.Message == Hint.AnyMessage))) return false;
        line.Side = r.Side;
        line.ExchangeMessage = current;
        line.Stage = hints.Count > 0 && hints[0].Stage == Stage.Construct ? Stage.Construct : r.TransactionStage;
        return true;
    }

    /// <summary>A Transaction exchange's decode line: the role is in that exchange until another decode line.</summary>
    private void TransactionDecode(ExplainedLine line, string message)
    {
        var sent = line.Message!.Name != "IkeDecodeReceived";
        var sender = Messages.SenderOf(message);
        var side = _mirrored ? (sent ? sender : Messages.Other(sender)) : Sides().First();
        var r = R(side);
        r.InInfo = false;
        r.Transaction = message;
        r.TransactionStage = sent ? Stage.After : Stage.Process;
        _active = side;
        line.Side = side;
        line.ExchangeMessage = message;
        line.Stage = sent ? Stage.Send : Stage.Receive;
        if (line.Message.Name == "IkeDecodeResending") line.Notes.Add("retransmission of " + message);
    }

    /// <summary>
    /// The address line printed before the decode line that opens an exchange: the head-end pushes the client's
    /// configuration in a Mode Config SET (draft-dukes-ike-mode-cfg-02 §3.2, `client configuration address initiate`).
    /// </summary>
    private static bool IsPushedAddress(DebugMessageInfo m) => m.Name is "AssignedPrivateAddress" or "CannotObtainAddress";

    private enum TransactionKind { Unknown, Xauth, ModeConfig }

    /// <summary>One Transaction exchange (one message ID): who started it, what it carried.</summary>
    private sealed class TransactionExchange(bool startedHere)
    {
        /// <summary>Its first decode line is a SENDING of this log's end.</summary>
        public readonly bool StartedHere = startedHere;
        public TransactionKind Kind;
        public bool Authenticated, Rejected, Set;
        public readonly List<int> Lines = new();
    }

    /// <summary>XAUTH tries a head-end gives a client before it sends XAUTH-STATUS FAIL (the ASA's default, and ours).</summary>
    private const int XauthAttempts = 3;

    /// <summary>
    /// Names the stream's Transaction exchange decode lines (HASH + ATTR, a message ID of their own) before the lines
    /// are placed: a decode line alone does not say what its ATTR payload carries, the lines after it do. An exchange
    /// is XAUTH when a verdict on the user follows one of its messages ("User (u) authenticated", 713052 / 713167),
    /// Mode Config when attributes or an address do ("MODE_CFG: Received request for …" 715053, 713228, 713132).
    /// Without such a line, what the protocol allows: XAUTH is the head-end's (draft-beaulieu-ike-xauth-02 §4.1),
    /// so an exchange the client starts is Mode Config's pull; the head-end's first is its XAUTH REQUEST, the one after
    /// a REPLY it did not refuse (or refused the last time) its SET with XAUTH-STATUS; after that, Mode Config's push (SET).
    /// An exchange's first message is its REQUEST or SET, the answer with the same message ID its REPLY or ACK. An
    /// address assigned just before the head-end opens an exchange is for that one: its Mode Config SET (a push).
    /// </summary>
    private Dictionary<int, string> LabelTransactions()
    {
        var exchanges = new List<TransactionExchange>();
        var byId = new Dictionary<string, TransactionExchange>(StringComparer.OrdinalIgnoreCase);
        static string Id(ExplainedLine decode) => decode.Values["msgid"].TrimStart('0');
        TransactionExchange? current = null;
        var pushed = false; // an address assigned for the exchange the next decode line opens
        _opening.Clear();
        for (var n = 0; n < _lines.Count; n++)
        {
            var l = _lines[n];
            if (IsDecode(l))
            {
                current = null;
                if (!IsTransactionDecode(l)) { pushed = false; continue; }
                if (!byId.TryGetValue(Id(l), out current))
                {
                    current = new TransactionExchange(l.Message!.Name != "IkeDecodeReceived");
                    if (pushed && current.StartedHere) current.Kind = TransactionKind.ModeConfig;
                    byId[Id(l)] = current;
                    exchanges.Add(current);
                    _opening.Add(n);
                }
                current.Lines.Add(n);
                pushed = false;
            }
            else if (l.Message is { } pm && IsPushedAddress(pm) && _nextDecode[n] is var next && next < _lines.Count
                && IsTransactionDecode(_lines[next]) && _lines[next].Message!.Name != "IkeDecodeReceived" && !byId.ContainsKey(Id(_lines[next])))
                pushed = true;
            else if (current is not null && l.Message is { } m)
            {
                if (Knowledge.ModeConfigLines.Contains(m.Name)) { if (current.Kind == TransactionKind.Unknown) current.Kind = TransactionKind.ModeConfig; }
                else if (Knowledge.XauthLines.Contains(m.Name))
                {
                    if (current.Kind == TransactionKind.Unknown) current.Kind = TransactionKind.Xauth;
                    current.Authenticated |= m.Name == "UserAuthenticated";
                    current.Rejected |= m.Name == "UserAuthenticationRejected";
                }
            }
        }

        var labels = new Dictionary<int, string>();
        TransactionExchange? lastXauth = null;
        var rejections = 0;
        var modeConfig = false;
        foreach (var x in exchanges)
        {
            // With one end's log: the head-end is the responder (remote-access clients start phase 1).
            bool? byHeadEnd = _mirrored || _fixed == Side.Unknown ? null : (_fixed == Side.Responder) == x.StartedHere;
            if (x.Kind == TransactionKind.Unknown)
                x.Kind = byHeadEnd == false || modeConfig || lastXauth is { Set: true } ? TransactionKind.ModeConfig : TransactionKind.Xauth;
            if (x.Kind == TransactionKind.Xauth)
            {
                // A refused REPLY is asked again until the tries run out; one accepted (or whose verdict this end does not
                // print: a client's log) is answered with the status.
                x.Set = lastXauth is { Set: false } && (!lastXauth.Rejected || rejections >= XauthAttempts);
                if (x.Rejected) rejections++;
                lastXauth = x;
            }
            else
            {
                x.Set = byHeadEnd == true;
                modeConfig = true;
            }
            var (first, second) = (x.Kind, x.Set) switch
            {
                (TransactionKind.Xauth, false) => (Messages.XauthRequest, Messages.XauthReply),
                (TransactionKind.Xauth, true) => (Messages.XauthSet, Messages.XauthAck),
                (_, false) => (Messages.ModeCfgRequest, Messages.ModeCfgReply),
                _ => (Messages.ModeCfgSet, Messages.ModeCfgAck),
            };
            // The answer: in one end's log the first decode line in the other direction; in a log of both ends the
            // second SENDING (each message is sent by one end and received by the other).
            var answered = false;
            bool? lastSent = null;
            var sendings = 0;
            foreach (var n in x.Lines)
            {
                var name = _lines[n].Message!.Name;
                var sent = name != "IkeDecodeReceived";
                if (_mirrored) { if (name == "IkeDecodeSending" && ++sendings > 1) answered = true; }
                else if (lastSent is { } before && before != sent) answered = true;
                lastSent = sent;
                labels[n] = answered ? second : first;
            }
        }
        return labels;
    }

    /// <summary>
    /// "PHASE 1 COMPLETED", the keep-alive type and "Starting P1 rekey timer" come as a group
    /// from either end; the timer tells which: the initiator rekeys at 95 % of the phase 1
    /// lifetime, the responder at 75 % (schemas/debug-ikev1.isakmp, StartingP1RekeyTimer).
    /// </summary>
    private Side? P1TimerSide(int n)
    {
        for (var k = n; k < Math.Min(_lines.Count, n + 5); k++)
        {
            var l = _lines[k];
            if (l.Message?.Name != "StartingP1RekeyTimer") continue;
            if (!l.Values.TryGetValue("seconds", out var v) || !int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) return null;
            foreach (var life in _p1Lifetimes)
            {
                if (seconds == life * 95L / 100) return Side.Initiator;
                if (seconds == life * 75L / 100) return Side.Responder;
            }
            return null;
        }
        return null;
    }

    private void Neutral(ExplainedLine line)
    {
        var side = _mirrored ? _active : (_fixed == Side.Unknown ? Side.Initiator : _fixed);
        var r = R(side);
        line.Side = side;
        if (r.Transaction is { } transaction)
        {
            line.ExchangeMessage = transaction;
            line.Stage = r.TransactionStage;
        }
        else if (r.Index >= 0)
        {
            line.ExchangeMessage = _path.Messages[r.Index];
            line.Stage = r.Stage switch { Stage.Send => Stage.After, Stage.Receive => Stage.Process, var s => s };
        }
    }

    private void After(ExplainedLine line)
    {
        var r = R(line.Side == Side.Unknown ? Side.Initiator : line.Side);
        switch (line.Message?.Name)
        {
            case "Phase1Completed": r.P1Done = true; break;
            case "Phase2Completed": r.P2Done = true; break;
        }
    }

    /// <summary>Which message indexes of the conversation a decode line's payload list allows (null: unknown).</summary>
    private int[]? Shape(ExplainedLine line)
    {
        if (!line.Values.TryGetValue("payloads", out var p) || !line.Values.TryGetValue("msgid", out var id)) return null;
        var phase1 = id.Trim('0').Length == 0;
        var q = _path.QuickMode;
        if (phase1 && _path.Aggressive)
        {
            // RFC 2409 §5.4: AM1 and AM2 carry the SA; AM3 only HASH_I (and NAT-D).
            if (p.Contains("SA (1)", StringComparison.Ordinal)) return [0, 1];
            if (p.Contains("HASH (8)", StringComparison.Ordinal)) return [2];
            return null;
        }
        if (phase1)
        {
            if (p.Contains("SA (1)", StringComparison.Ordinal)) return [0, 1];
            if (p.Contains("KE (4)", StringComparison.Ordinal)) return [2, 3];
            if (p.Contains("ID (5)", StringComparison.Ordinal) || p.Contains("HASH (8)", StringComparison.Ordinal)) return [4, 5];
            return null;
        }
        if (p.Contains("SA (1)", StringComparison.Ordinal)) return [q, q + 1];
        if (p.Contains("NOTIFY", StringComparison.Ordinal) || p.Contains("DELETE", StringComparison.Ordinal)) return [];
        if (p.Contains("HASH (8)", StringComparison.Ordinal)) return [q + 2];
        return null;
    }

    /// <summary>
    /// The mode a phase 1 decode line opens (RFC 2409 §5.4: only Aggressive Mode sends KE with the SA in the first
    /// message pair); null: not the first message pair of a phase 1.
    /// </summary>
    private static Path? Phase1Mode(ExplainedLine line)
    {
        if (!line.Values.TryGetValue("payloads", out var p) || !line.Values.TryGetValue("msgid", out var id) || id.Trim('0').Length != 0) return null;
        if (!p.Contains("SA (1)", StringComparison.Ordinal)) return null;
        return p.Contains("KE (4)", StringComparison.Ordinal) ? AggressiveMode : MainMode;
    }

    /// <summary>The mode of the stream's first phase 1 (its decode lines, or the lines only Aggressive Mode prints).</summary>
    private Path? FirstPhase1Mode()
    {
        foreach (var l in _lines)
        {
            if (IsDecode(l) && Phase1Mode(l) is { } mode) return mode;
            if (l.Message?.Name is "IdKeyIdReceived" or "AggressiveModeDisabled") return AggressiveMode;
        }
        return null;
    }

    /// <summary>A decode line opening a phase 1 in the other mode switches the conversation (the count starts again).</summary>
    private void SwitchMode(ExplainedLine line)
    {
        if (Phase1Mode(line) is not { } mode || mode == _path) return;
        _path = mode;
        _i.Reset();
        _r.Reset();
        _sent = _received = 0;
    }

    private static bool IsDecode(ExplainedLine line) => line.Message?.Name is "IkeDecodeSending" or "IkeDecodeResending" or "IkeDecodeReceived";

    /// <summary>A Transaction exchange message (exchange type 6): HASH and ATTR, with a message ID of its own.</summary>
    private static bool IsTransactionDecode(ExplainedLine line) =>
        IsDecode(line) && line.Values.TryGetValue("payloads", out var p) && p.Contains("ATTR (14)", StringComparison.Ordinal)
        && line.Values.TryGetValue("msgid", out var id) && id.Trim('0').Length != 0;

    private static bool IsInformationalDecode(ExplainedLine line)
    {
        if (!line.Values.TryGetValue("payloads", out var p)) return false;
        var hasSa = p.Contains("SA (1)", StringComparison.Ordinal) || p.Contains("KE (4)", StringComparison.Ordinal) || p.Contains("ID (5)", StringComparison.Ordinal) || p.Contains("NONCE", StringComparison.Ordinal);
        // AM3 is HASH_I, often with a NOTIFY (INITIAL-CONTACT): a phase 1 message (ID 0) with a HASH is no notification.
        var phase1Hash = line.Values.TryGetValue("msgid", out var id) && id.Trim('0').Length == 0 && p.Contains("HASH (8)", StringComparison.Ordinal);
        return !hasSa && !phase1Hash && (p.Contains("NOTIFY", StringComparison.Ordinal) || p.Contains("DELETE", StringComparison.Ordinal));
    }

    private void Send(ExplainedLine line, bool resend)
    {
        if (IsInformationalDecode(line))
        {
            line.Side = _mirrored ? _active : Sides().First();
            line.ExchangeMessage = Messages.Informational;
            line.Stage = Stage.Send;
            R(line.Side).InInfo = true;
            return;
        }
        if (!resend) SwitchMode(line);
        var q = _path.QuickMode;
        Role r;
        int j;
        if (resend)
        {
            r = _mirrored ? R(_sent > 0 ? _path.SenderOf(Math.Min(_sent, _path.Length) - 1) : Side.Initiator) : R(Sides().First());
            j = Math.Max(0, r.LastSent);
            line.Notes.Add("retransmission of " + _path.Messages[j]);
        }
        else if (_mirrored)
        {
            j = _sent < _path.Length ? _sent : q;
            j = Correct(line, j, _path.SenderOf(j), sending: true);
            r = R(_path.SenderOf(j));
            _sent = j + 1;
            if (_received > _sent) _received = _sent - 1;
        }
        else
        {
            r = R(Sides().First());
            j = Correct(line, r.NextOut(), r.Side, sending: true);
        }
        r.InInfo = false;
        r.Transaction = null;
        if (j >= q && r.P2Done) { r.P2Done = false; }
        if (j <= 1 && r.P1Done) { r.P1Done = false; r.P2Done = false; } // a new phase 1
        r.Index = j; r.Stage = Stage.Send; r.LastSent = j;
        if (j < q && j < r.LastReceived) r.LastReceived = j - 1; // a new phase 1
        _active = r.Side;
        line.Side = r.Side;
        line.ExchangeMessage = _path.Messages[j];
        line.Stage = Stage.Send;
    }

    private void Receive(ExplainedLine line)
    {
        if (IsInformationalDecode(line))
        {
            line.Side = _mirrored ? _active : Sides().First();
            line.ExchangeMessage = Messages.Informational;
            line.Stage = Stage.Receive;
            R(line.Side).InInfo = true;
            return;
        }
        // In a log of both ends the other end's SENDING of this message came first and switched the mode already.
        if (!_mirrored || _received >= _sent) SwitchMode(line);
        var q = _path.QuickMode;
        Role r;
        int j;
        if (_mirrored)
        {
            var late = new[] { _i, _r }.FirstOrDefault(x => x.PendingLateReceive is { } p && p == _received - 1 && _received == _sent);
            if (late is not null)
            {
                r = late; j = late.PendingLateReceive!.Value; late.PendingLateReceive = null;
                line.Notes.Add("printed after the lines that process it");
                line.Side = r.Side; line.ExchangeMessage = _path.Messages[j]; line.Stage = Stage.Receive;
                _active = r.Side;
                return;
            }
            if (_received < _sent) j = Math.Min(_received, _path.Length - 1);
            else { j = _sent < _path.Length ? _sent : q; _sent = j + 1; }
            r = R(Messages.Other(_path.SenderOf(j)));
            _received = j + 1;
        }
        else
        {
            r = R(Sides().First());
            j = Correct(line, r.NextIn(), Messages.Other(r.Side), sending: false);
        }
        r.PendingLateReceive = null;
        r.InInfo = false;
        r.Transaction = null;
        if (j >= q && r.P2Done) r.P2Done = false;
        if (j <= 1 && r.P1Done) { r.P1Done = false; r.P2Done = false; }
        r.Index = j; r.Stage = Stage.Receive; r.LastReceived = j;
        _active = r.Side;
        line.Side = r.Side;
        line.ExchangeMessage = _path.Messages[j];
        line.Stage = Stage.Receive;
    }

    /// <summary>When the payload list says otherwise (a new phase 1, a new Quick Mode), it wins over the count.</summary>
    private int Correct(ExplainedLine line, int counted, Side sender, bool sending)
    {
        var shape = Shape(line);
        if (shape is null || shape.Length == 0 || shape.Contains(counted)) return counted;
        foreach (var j in shape) if (j < _path.Length && _path.SenderOf(j) == sender) return j;
        return counted;
    }

    /// <summary>The ASA's state name for where the line leaves its side (AM_… as MM_… for Aggressive Mode's three messages).</summary>
    internal static string? StateOf(ExplainedLine l)
    {
        if (l.ExchangeMessage is null || l.Side == Side.Unknown && l.ExchangeMessage == Messages.Informational) return null;
        var name = l.Message?.Name;
        var aggressive = l.ExchangeMessage.StartsWith("AM", StringComparison.Ordinal);
        if (name == "Phase1Completed") return aggressive ? "AM_ACTIVE" : "MM_ACTIVE";
        if (name == "Phase2Completed") return "QM_ACTIVE";
        var path = aggressive ? AggressiveMode : MainMode;
        var j = path.IndexOf(l.ExchangeMessage);
        if (j < 0) return null;
        var p1 = j < path.QuickMode;
        var prefix = p1 ? l.ExchangeMessage[..2] : "QM";
        var k = p1 ? j + 1 : j - path.QuickMode + 1; // message number within its exchange
        var last = p1 ? path.QuickMode : 3;
        var sentByMe = path.SenderOf(j) == l.Side || l.Side == Side.Unknown;
        if (sentByMe)
        {
            if (l.Stage is Stage.Send or Stage.After)
                return k == last ? prefix + "_ACTIVE" : $"{prefix}_WAIT_MSG{k + 1}";
            return k == 1 ? $"{prefix}_NO_STATE" : $"{prefix}_WAIT_MSG{k - 1}";
        }
        return k == 1 ? $"{prefix}_NO_STATE" : $"{prefix}_WAIT_MSG{k}";
    }
}
