using System.Globalization;
using IkeActors.Protocol;

namespace IkeActors.Explain;

/// <summary>
/// Assigns each recognised line of one stream to its side, exchange message and stage.
/// A stream is one gateway talking to one peer; when both ends print into the same stream
/// (the Cisco document prints the responder's lines with the initiator's addresses) both
/// roles are tracked at once and each line goes to the role the protocol allows.
/// The counting follows the conversation MM1…MM6, QM1…QM3 (RFC 2409 §5, §5.5): an
/// IKE_DECODE line moves a role to the next message it sends or receives; "constructing"
/// lines after a received message start the reply; lines that only one role prints, or
/// only at one point, pin the role and the message.
/// </summary>
internal sealed class Tracker
{
    private sealed class Role(Side side)
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

        public int NextOut()
        {
            var from = Math.Max(LastSent, LastReceived) + 1;
            for (var j = from; j < Messages.Conversation.Length; j++) if (Messages.SenderOf(j) == Side) return j;
            return Side == Side.Initiator ? 6 : 7; // a new Quick Mode on the same IKE SA
        }

        public int NextIn()
        {
            var from = Math.Max(LastSent, LastReceived) + 1;
            for (var j = from; j < Messages.Conversation.Length; j++) if (Messages.SenderOf(j) != Side) return j;
            return Side == Side.Initiator ? 7 : 6;
        }
    }

    private static readonly HashSet<string> InitiatorOnly = new(StringComparer.Ordinal)
    {
        "InitiatorNewPhase1", "InitiatorNewPhase2", "InitiatorRekeyingPhase1", "InitiatorRekeyingPhase2", "GeneratingKeysForInitiator",
        "InitiatorStartingQm", "InitiatorSending1stQmPacket", "InitiatorSending3rdQmPacket", "SecurityNegotiationCompleteL2LInitiator",
        "ResponderForcingRekeyDurationSeconds", "ResponderForcingRekeyDurationKbs", "ConstructingIpsecSaPayloadInitiator",
        "InitiatorSendingInitialContact", "PitcherKeyAcquire",
    };

    private static readonly HashSet<string> ResponderOnly = new(StringComparer.Ordinal)
    {
        "IkeSaProposalAcceptable", "ProcessingIkeSaPayload", "GeneratingKeysForResponder", "ResponderStartingQm", "ResponderSending2ndQmPacket",
        "SecurityNegotiationCompleteL2LResponder", "StaticCryptoMapChecking", "StaticCryptoMapMatch", "ConstructingIpsecSaPayloadResponder",
        "AllSaProposalsUnacceptable", "RejectingIpsecTunnelNoCryptoMap", "AllIpsecSaProposalsUnacceptable", "OverridingInitiatorRekeyDurationSeconds",
    };

    private readonly IReadOnlyList<ExplainedLine> _lines;
    private readonly IReadOnlyCollection<int> _p1Lifetimes;
    private readonly Role _i = new(Side.Initiator);
    private readonly Role _r = new(Side.Responder);
    private bool _mirrored;
    private Side _fixed;
    private Side _active;
    private int _sent, _received;

    public Tracker(IReadOnlyList<ExplainedLine> lines, IReadOnlyCollection<int> p1Lifetimes)
    {
        _lines = lines;
        _p1Lifetimes = p1Lifetimes;
    }

    public bool BothEnds => _mirrored;
    public Side FixedRole => _fixed;

    public void Run()
    {
        var names = _lines.Where(l => l.Message is not null).Select(l => l.Message!.Name).ToHashSet(StringComparer.Ordinal);
        var hasI = names.Overlaps(InitiatorOnly);
        var hasR = names.Overlaps(ResponderOnly);
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
            if (line.ExchangeMessage is { } em && em.StartsWith("MM", StringComparison.Ordinal) && role.P1Done) line.State = "MM_ACTIVE";
            if (line.ExchangeMessage is { } eq && eq.StartsWith("QM", StringComparison.Ordinal) && role.P2Done) line.State = "QM_ACTIVE";
            line.Phase = line.ExchangeMessage switch
            {
                null => 0,
                Messages.Informational => role.P1Done ? 2 : 1,
                var em2 => em2.StartsWith("MM", StringComparison.Ordinal) ? 1 : 2,
            };
            if (!_mirrored && _fixed == Side.Unknown) line.Side = Side.Unknown;
        }
    }

    private Role R(Side s) => s == Side.Responder ? _r : _i;

    private IEnumerable<Side> Sides() => _mirrored ? [Side.Initiator, Side.Responder] : [_fixed == Side.Unknown ? Side.Initiator : _fixed];

    private void Assign(ExplainedLine line, int n)
    {
        var m = line.Message!;
        switch (m.Name)
        {
            case "IkeDecodeSending": Send(line, resend: false); return;
            case "IkeDecodeResending": Send(line, resend: true); return;
            case "IkeDecodeReceived": Receive(line); return;
        }
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
        if (ResponderOnly.Contains(m.Name)) forced = Side.Responder;

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
        if (kind == 1) // implicit receive: the message arrived without its IKE_DECODE line (cut log, lower debug level)
        {
            role.LastReceived = Math.Max(role.LastReceived, index);
            if (_mirrored && index == _received && _received < _sent) { _received++; role.PendingLateReceive = index; }
            if (index >= 6 && role.P2Done && stage != Stage.After) role.P2Done = false;
        }
        role.Index = index;
        role.Stage = stage == Stage.After ? (role.Stage == Stage.Process ? Stage.Process : Stage.After) : stage;
        _active = side;
        line.Side = side;
        line.ExchangeMessage = Messages.Conversation[index];
        line.Stage = stage;
        After(line);
    }

    /// <summary>(index, kind 0 = where the role is, 1 = implicit receive, 2 = start of building, score).</summary>
    private (int index, int kind, int score)? Evaluate(Role r, Hint h)
    {
        switch (h.Stage)
        {
            case Stage.Construct:
            {
                var j = h.Message == Hint.AnyMessage ? (r.Stage == Stage.Construct ? r.Index : r.NextOut()) : h.Message;
                if (j < 0 || Messages.SenderOf(j) != r.Side) return null;
                if (r.Index == j && r.Stage == Stage.Construct) return (j, 0, 0);
                if (j == r.NextOut() && (j == 0 ? r.Index == -1 || r.P2Done || r.LastSent == 0 : r.LastReceived == j - 1 || (j == 6 && (r.P1Done || r.P2Done))))
                    return (j, 2, 0);
                if (!_mirrored && (j > r.Index || (j >= 6 && r.P2Done))) return (j, 2, 2);
                return null;
            }
            case Stage.Process:
            {
                var j = h.Message;
                if (j == Hint.AnyMessage)
                {
                    if (r.Index >= 0 && r.Stage is Stage.Process or Stage.Receive) return (r.Index, 0, 0);
                    j = _mirrored ? (_received < _sent ? _received : -1) : r.NextIn();
                }
                if (j < 0) return null;
                if (r.Index == j && r.Stage is Stage.Process or Stage.Receive) return (j, 0, 0);
                if (Messages.SenderOf(j) == r.Side) return null;
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
                var j = h.Message;
                if (r.Index == j && r.Stage != Stage.Construct) return (j, 0, 0);
                if (!_mirrored && j > r.Index) return (j, 0, 2);
                return null;
            }
        }
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
        if (r.Index >= 0)
        {
            line.ExchangeMessage = Messages.Conversation[r.Index];
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

    /// <summary>Which Main Mode / Quick Mode indexes a decode line's payload list allows (null: unknown).</summary>
    private static int[]? Shape(ExplainedLine line)
    {
        if (!line.Values.TryGetValue("payloads", out var p) || !line.Values.TryGetValue("msgid", out var id)) return null;
        var mainMode = id.Trim('0').Length == 0;
        if (mainMode)
        {
            if (p.Contains("SA (1)", StringComparison.Ordinal)) return [0, 1];
            if (p.Contains("KE (4)", StringComparison.Ordinal)) return [2, 3];
            if (p.Contains("ID (5)", StringComparison.Ordinal) || p.Contains("HASH (8)", StringComparison.Ordinal)) return [4, 5];
            return null;
        }
        if (p.Contains("SA (1)", StringComparison.Ordinal)) return [6, 7];
        if (p.Contains("NOTIFY", StringComparison.Ordinal) || p.Contains("DELETE", StringComparison.Ordinal)) return [];
        if (p.Contains("HASH (8)", StringComparison.Ordinal)) return [8];
        return null;
    }

    private static bool IsInformationalDecode(ExplainedLine line)
    {
        if (!line.Values.TryGetValue("payloads", out var p)) return false;
        var hasSa = p.Contains("SA (1)", StringComparison.Ordinal) || p.Contains("KE (4)", StringComparison.Ordinal) || p.Contains("ID (5)", StringComparison.Ordinal) || p.Contains("NONCE", StringComparison.Ordinal);
        return !hasSa && (p.Contains("NOTIFY", StringComparison.Ordinal) || p.Contains("DELETE", StringComparison.Ordinal));
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
        Role r;
        int j;
        if (resend)
        {
            r = _mirrored ? R(_sent > 0 ? Messages.SenderOf(_sent - 1) : Side.Initiator) : R(Sides().First());
            j = Math.Max(0, r.LastSent);
            line.Notes.Add("retransmission of " + Messages.Conversation[j]);
        }
        else if (_mirrored)
        {
            j = _sent < Messages.Conversation.Length ? _sent : 6;
            j = Correct(line, j, Messages.SenderOf(j), sending: true);
            r = R(Messages.SenderOf(j));
            _sent = j + 1;
            if (_received > _sent) _received = _sent - 1;
        }
        else
        {
            r = R(Sides().First());
            j = Correct(line, r.NextOut(), r.Side, sending: true);
        }
        r.InInfo = false;
        if (j >= 6 && r.P2Done) { r.P2Done = false; }
        if (j <= 1 && r.P1Done) { r.P1Done = false; r.P2Done = false; } // a new Main Mode
        r.Index = j; r.Stage = Stage.Send; r.LastSent = j;
        if (j < 6 && j < r.LastReceived) r.LastReceived = j - 1; // a new Main Mode
        _active = r.Side;
        line.Side = r.Side;
        line.ExchangeMessage = Messages.Conversation[j];
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
        Role r;
        int j;
        if (_mirrored)
        {
            var late = new[] { _i, _r }.FirstOrDefault(x => x.PendingLateReceive is { } p && p == _received - 1 && _received == _sent);
            if (late is not null)
            {
                r = late; j = late.PendingLateReceive!.Value; late.PendingLateReceive = null;
                line.Notes.Add("printed after the lines that process it");
                line.Side = r.Side; line.ExchangeMessage = Messages.Conversation[j]; line.Stage = Stage.Receive;
                _active = r.Side;
                return;
            }
            if (_received < _sent) j = _received;
            else { j = _sent < Messages.Conversation.Length ? _sent : 6; _sent = j + 1; }
            r = R(Messages.Other(Messages.SenderOf(j)));
            _received = j + 1;
        }
        else
        {
            r = R(Sides().First());
            j = Correct(line, r.NextIn(), Messages.Other(r.Side), sending: false);
        }
        r.PendingLateReceive = null;
        r.InInfo = false;
        if (j >= 6 && r.P2Done) r.P2Done = false;
        if (j <= 1 && r.P1Done) { r.P1Done = false; r.P2Done = false; }
        r.Index = j; r.Stage = Stage.Receive; r.LastReceived = j;
        _active = r.Side;
        line.Side = r.Side;
        line.ExchangeMessage = Messages.Conversation[j];
        line.Stage = Stage.Receive;
    }

    /// <summary>When the payload list says otherwise (a new Main Mode, a new Quick Mode), it wins over the count.</summary>
    private static int Correct(ExplainedLine line, int counted, Side sender, bool sending)
    {
        var shape = Shape(line);
        if (shape is null || shape.Length == 0 || shape.Contains(counted)) return counted;
        foreach (var j in shape) if (Messages.SenderOf(j) == sender) return j;
        return counted;
    }

    /// <summary>The ASA's state name for where the line leaves its side.</summary>
    internal static string? StateOf(ExplainedLine l)
    {
        if (l.ExchangeMessage is null || l.Side == Side.Unknown && l.ExchangeMessage == Messages.Informational) return null;
        var name = l.Message?.Name;
        if (name == "Phase1Completed") return "MM_ACTIVE";
        if (name == "Phase2Completed") return "QM_ACTIVE";
        var j = Array.IndexOf(Messages.Conversation, l.ExchangeMessage);
        if (j < 0) return null;
        var mm = j < 6;
        var prefix = mm ? "MM" : "QM";
        var k = mm ? j + 1 : j - 5; // message number within its exchange
        var sentByMe = Messages.SenderOf(j) == l.Side || l.Side == Side.Unknown;
        if (sentByMe)
        {
            if (l.Stage is Stage.Send or Stage.After)
                return (mm && k == 6) || (!mm && k == 3) ? (mm ? "MM_ACTIVE" : "QM_ACTIVE") : $"{prefix}_WAIT_MSG{k + 1}";
            return k == 1 ? $"{prefix}_NO_STATE" : $"{prefix}_WAIT_MSG{k - 1}";
        }
        return k == 1 ? $"{prefix}_NO_STATE" : $"{prefix}_WAIT_MSG{k}";
    }
}
