using System.Text;
using static IkeActors.Explain.Tests.Support.CatalogLines;

namespace IkeActors.Explain.Tests;

/// <summary>
/// A remote-access dial-in told message by message: Aggressive Mode (AM1…AM3), XAUTH (REQUEST, REPLY, SET, ACK) and
/// Mode Config (REQUEST, REPLY) each a step of its own, named by its exchange, before Quick Mode. Logs: our head-end's
/// and our client's (the engine dialling in, <see cref="RemoteAccessLogTests.HeadEndLog(string, (string, string, string)[])"/>),
/// and a head-end log written by hand from the catalog's exact templates in the scenario of Cisco document 113595
/// ("ASA IPsec and IKE Debugs (IKEv1 Aggressive Mode)": an ASA 8.3 EzVPN server 10.48.67.14, group EZ, user cisco given
/// 192.168.1.100 by its vpn-framed-ip-address, an IOS EzVPN client 10.48.66.23; tests/data/seed/asa-ezvpn-server-aggressive-mode.cfg).
/// The document's own debug output is not in the seed material (tests/data/seed/README.md), so it is not used here.
/// </summary>
public class AggressiveModeTrackingTests
{
    private static readonly string[] DialIn =
    [
        "AM1", "AM2", "AM3",
        Messages.XauthRequest, Messages.XauthReply, Messages.XauthSet, Messages.XauthAck,
        Messages.ModeCfgRequest, Messages.ModeCfgReply,
        "QM1", "QM2", "QM3",
    ];

    private static ExplainReport Explain(string log, string file = "headend.log") => Explainer.Explain([(file, log)], new ExplainOptions());

    /// <summary>The messages in the order the report first places a line in each.</summary>
    private static List<string> Steps(ExplainReport r) =>
        r.Lines.Where(l => l.ExchangeMessage is not null && l.ExchangeMessage != Messages.Informational).Select(l => l.ExchangeMessage!).Distinct().ToList();

    /// <summary>The IKE_DECODE lines, each with the message it is.</summary>
    private static List<(string Name, string? Message, Side Side)> Decodes(ExplainReport r) =>
        r.Lines.Where(l => l.Message?.Name is "IkeDecodeSending" or "IkeDecodeReceived").Select(l => (l.Message!.Name, l.ExchangeMessage, l.Side)).ToList();

    private static ExplainedLine Line(ExplainReport r, string name) => r.Lines.First(l => l.Message?.Name == name);

    [Fact]
    public void Our_head_ends_dial_in_is_told_as_aggressive_mode_xauth_mode_config_then_quick_mode()
    {
        var (log, _) = RemoteAccessLogTests.HeadEndLog(RemoteAccessLogTests.HeadEnd, ("EZ", "cisco", "cisco"));
        var r = Explain(log);
        Assert.Equal(DialIn, Steps(r));
        var s = Assert.Single(r.Streams);
        Assert.Equal(Side.Responder, s.Role);
        // Every decode line: sent or received by the head-end, the message of its place in the exchange.
        Assert.Equal(
        [
            ("IkeDecodeReceived", "AM1"), ("IkeDecodeSending", "AM2"), ("IkeDecodeReceived", "AM3"),
            ("IkeDecodeSending", Messages.XauthRequest), ("IkeDecodeReceived", Messages.XauthReply),
            ("IkeDecodeSending", Messages.XauthSet), ("IkeDecodeReceived", Messages.XauthAck),
            ("IkeDecodeReceived", Messages.ModeCfgRequest), ("IkeDecodeSending", Messages.ModeCfgReply),
            ("IkeDecodeReceived", "QM1"), ("IkeDecodeSending", "QM2"), ("IkeDecodeReceived", "QM3"),
        ], Decodes(r).Select(d => (d.Name, d.Message)));
        Assert.All(Decodes(r), d => Assert.Equal(Side.Responder, d.Side));
        // Each IKE line has its step, and each step its exchange.
        Assert.All(r.Lines.Where(l => l.Record.IsIke), l => Assert.NotNull(l.ExchangeMessage));
        Assert.Equal(["Aggressive Mode", "XAUTH", "Mode Config", "Quick Mode"], r.Lines.Where(l => l.ExchangeMessage is not null).Select(l => l.Exchange).Distinct());

        Assert.Equal(("AM1", Stage.Process), (Line(r, "IdKeyIdReceived").ExchangeMessage, Line(r, "IdKeyIdReceived").Stage));
        Assert.Equal(("AM2", Stage.Construct), (Line(r, "GeneratingKeysForResponder").ExchangeMessage, Line(r, "GeneratingKeysForResponder").Stage));
        Assert.Equal(("AM3", "AM_ACTIVE"), (Line(r, "Phase1Completed").ExchangeMessage, Line(r, "Phase1Completed").State));
        // The XAUTH REQUEST's HASH is built before the decode line that sends it.
        Assert.Equal((Messages.XauthRequest, Stage.Construct), (Line(r, "ConstructingBlankHashPayload").ExchangeMessage, Line(r, "ConstructingBlankHashPayload").Stage));
        Assert.Equal(Messages.XauthReply, Line(r, "UserAuthenticated").ExchangeMessage);
        Assert.All(r.Lines.Where(l => l.Message?.Name is "ProcessingCfgRequestAttributes" or "ModeCfgReceivedRequest" or "AssignedPrivateAddress"),
            l => Assert.Equal((Messages.ModeCfgRequest, Stage.Process), (l.ExchangeMessage, l.Stage)));
        Assert.Equal("AM_ACTIVE", s.Phase1State);
        Assert.Equal("QM_ACTIVE", s.Phase2State);
        Assert.All(r.Lines.Where(l => Messages.IsTransaction(l.ExchangeMessage)), l => Assert.Equal(1, l.Phase));

        var text = TextReport.Render(r);
        var order = new[] { "== Aggressive Mode ==", "-- AM1 (initiator → responder; responder receives and processes it)", "== XAUTH ==",
            "-- XAUTH REQUEST (responder → initiator; responder builds and sends it)", "-- XAUTH REPLY (initiator → responder; responder receives and processes it)",
            "== Mode Config ==", "-- MODE_CFG REQUEST (initiator → responder", "-- MODE_CFG REPLY (responder → initiator", "== Quick Mode ==" };
        Assert.Equal(order.Select(o => text.IndexOf(o, StringComparison.Ordinal)).Order(), order.Select(o => text.IndexOf(o, StringComparison.Ordinal)));
        Assert.DoesNotContain(-1, order.Select(o => text.IndexOf(o, StringComparison.Ordinal)));
        var html = HtmlReport.Render(r);
        foreach (var m in DialIn) Assert.Contains($"<g class=\"msg\" id=\"msg-{m.Replace(' ', '-')}\" data-message=\"{m}\">", html);
    }

    [Fact]
    public void Our_clients_side_of_the_dial_in_is_the_same_story_from_the_initiator()
    {
        var client = new List<string>();
        RemoteAccessLogTests.HeadEndLog(RemoteAccessLogTests.HeadEnd, client, ("EZ", "cisco", "cisco"));
        var r = Explain(string.Join("\n", client) + "\n", "client.log");
        Assert.Equal(DialIn, Steps(r));
        Assert.Equal(Side.Initiator, Assert.Single(r.Streams).Role);
        Assert.Equal(
        [
            ("IkeDecodeSending", "AM1"), ("IkeDecodeReceived", "AM2"), ("IkeDecodeSending", "AM3"),
            ("IkeDecodeReceived", Messages.XauthRequest), ("IkeDecodeSending", Messages.XauthReply),
            ("IkeDecodeReceived", Messages.XauthSet), ("IkeDecodeSending", Messages.XauthAck),
            ("IkeDecodeSending", Messages.ModeCfgRequest), ("IkeDecodeReceived", Messages.ModeCfgReply),
            ("IkeDecodeSending", "QM1"), ("IkeDecodeReceived", "QM2"), ("IkeDecodeSending", "QM3"),
        ], Decodes(r).Select(d => (d.Name, d.Message)));
        Assert.Equal(("AM3", Stage.Construct), (Line(r, "ConstructingHashPayload").ExchangeMessage, Line(r, "ConstructingHashPayload").Stage));
    }

    [Fact]
    public void A_refused_password_is_asked_again_then_the_head_end_sets_the_failure_status()
    {
        var (log, _) = RemoteAccessLogTests.HeadEndLog(RemoteAccessLogTests.HeadEnd, ("EZ", "cisco", "wrong"));
        var r = Explain(log);
        Assert.Equal(
        [
            "AM1", "AM2", "AM3",
            Messages.XauthRequest, Messages.XauthReply, Messages.XauthRequest, Messages.XauthReply, Messages.XauthRequest, Messages.XauthReply,
            Messages.XauthSet, Messages.XauthAck,
        ], Decodes(r).Select(d => d.Message));
        var d = Assert.Single(r.Diagnoses, d => d.Id == "xauth-failed");
        Assert.Equal((Messages.XauthReply, "XAUTH"), (d.Evidence[0].ExchangeMessage, d.Evidence[0].Exchange));
        Assert.Contains("* XAUTH user authentication failed [xauth-failed] at XAUTH REPLY (responder)", TextReport.Render(r));
    }

    private const string Client = "10.48.66.23", Group = "EZ";

    private static string Decode(string name, string msgid, string payloads, int length) =>
        L(name, Client, null, ("msgid", msgid), ("payloads", payloads), ("length", length));

    private static string G(string name, params (string, object)[] holes) => L(name, Client, Group, holes);

    /// <summary>The Aggressive Mode of the 113595 scenario on its head-end (the group named in AM1, the answer, the client's HASH).</summary>
    private static string[] AggressiveMode() =>
    [
        Decode("IkeDecodeReceived", "0", "HDR + SA (1) + KE (4) + NONCE (10) + ID (5) + VENDOR (13) + VENDOR (13) + VENDOR (13) + VENDOR (13) + VENDOR (13) + VENDOR (13) + NONE (0)", 688),
        L("ProcessingSaPayload", Client),
        L("OakleyProposalAcceptable", Client),
        L("ProcessingKePayload", Client),
        L("ProcessingIsaKePayload", Client),
        L("ProcessingNoncePayload", Client),
        L("ProcessingIdPayload", Client),
        L("IdKeyIdReceived", Client, null, ("keyId", Group)),
        L("ProcessingVidPayload", Client),
        L("ReceivedXauthV6Vid", Client),
        L("ProcessingVidPayload", Client),
        L("ReceivedDpdVid", Client),
        L("ProcessingVidPayload", Client),
        L("ReceivedCiscoUnityClientVid", Client),
        L("ConnectionLandedOnTunnelGroup", Client, null, ("tunnelGroup", Group)),
        G("ProcessingIkeSaPayload"),
        L("IkeSaProposalAcceptable", Client, null, ("proposal", 1), ("transform", 1), ("policy", 10)),
        G("ConstructingIsakmpSaPayload"),
        L("ConstructingKePayload", Client),
        L("ConstructingNoncePayload", Client),
        G("GeneratingKeysForResponder"),
        G("ConstructingIdPayload"),
        G("ConstructingHashPayload"),
        G("ComputingHashForIsakmp"),
        L("ConstructingCiscoUnityVidPayload", Client),
        L("ConstructingXauthV6VidPayload", Client),
        G("ConstructingDpdVidPayload"),
        Decode("IkeDecodeSending", "0", "HDR + SA (1) + KE (4) + NONCE (10) + ID (5) + HASH (8) + VENDOR (13) + VENDOR (13) + VENDOR (13) + VENDOR (13) + NONE (0)", 428),
        // AM3: HASH_I and INITIAL-CONTACT (a phase 1 message, not an Informational one).
        Decode("IkeDecodeReceived", "0", "HDR + HASH (8) + NOTIFY (11) + NONE (0)", 84),
        G("ProcessingHashPayload"),
        G("ComputingHashForIsakmp"),
        G("ProcessingNotifyPayload"),
        G("NatDetectionNoNat"),
    ];

    private static string[] PhaseOneCompleted() => [G("Phase1Completed"), L("KeepAliveTypeDpd", Client), G("StartingP1RekeyTimer", ("seconds", 64800))];

    /// <summary>The head-end's XAUTH REQUEST and the client's REPLY, accepted.</summary>
    private static string[] XauthRequestAndReply() =>
    [
        G("ConstructingBlankHashPayload"),
        G("ConstructingQmHashPayload"),
        Decode("IkeDecodeSending", "e8a1816d", "HDR + HASH (8) + ATTR (14) + NONE (0)", 72),
        Decode("IkeDecodeReceived", "e8a1816d", "HDR + HASH (8) + ATTR (14) + NONE (0)", 85),
        G("ProcessingHashPayload"),
        G("UserAuthenticated", ("user", "cisco")),
    ];

    private static string[] Transactions(bool delayedQuickMode) =>
    [
        .. XauthRequestAndReply(),
        G("ConstructingBlankHashPayload"),
        G("ConstructingQmHashPayload"),
        Decode("IkeDecodeSending", "143c0c43", "HDR + HASH (8) + ATTR (14) + NONE (0)", 64),
        Decode("IkeDecodeReceived", "143c0c43", "HDR + HASH (8) + ATTR (14) + NONE (0)", 64),
        G("ProcessingHashPayload"),
        Decode("IkeDecodeReceived", "b7ba3b52", "HDR + HASH (8) + ATTR (14) + NONE (0)", 182),
        G("ProcessingHashPayload"),
        G("ProcessingCfgRequestAttributes"),
        G("ModeCfgReceivedRequest", ("what", "IPV4 address")),
        G("ModeCfgReceivedRequest", ("what", "IPV4 net mask")),
        G("ModeCfgReceivedRequest", ("what", "DNS server address")),
        G("ModeCfgReceivedRequest", ("what", "Default Domain Name")),
        G("AssignedPrivateAddress", ("address", "192.168.1.100")),
        .. delayedQuickMode ? [G("DelayQuickMode")] : Array.Empty<string>(),
        G("ConstructingBlankHashPayload"),
        G("ConstructingQmHashPayload"),
        Decode("IkeDecodeSending", "b7ba3b52", "HDR + HASH (8) + ATTR (14) + NONE (0)", 176),
    ];

    private static string[] QuickMode() =>
    [
        Decode("IkeDecodeReceived", "c45c7b30", "HDR + HASH (8) + SA (1) + NONCE (10) + ID (5) + ID (5) + NONE (0)", 1022),
        G("ProcessingHashPayload"),
        G("ProcessingSaPayload"),
        G("ProcessingNoncePayload"),
        G("ProcessingIdPayload"),
        G("IdIpv4AddrReceived", ("address", "192.168.1.100")),
        G("ReceivedRemoteIpProxySubnet", ("address", "192.168.1.100"), ("mask", "255.255.255.255"), ("protocol", 0), ("port", 0)),
        G("ProcessingIdPayload"),
        G("IdIpv4AddrSubnetReceived", ("address", "0.0.0.0"), ("mask", "0.0.0.0")),
        G("ReceivedLocalIpProxySubnet", ("address", "0.0.0.0"), ("mask", "0.0.0.0"), ("protocol", 0), ("port", 0)),
        G("RemotePeerConfiguredForCryptoMap", ("cryptoMap", "DYN")),
        G("ProcessingIpsecSaPayload"),
        G("IpsecSaProposalAcceptable", ("proposal", 1), ("transform", 1), ("sequence", 10)),
        G("IkeGotSpiFromKeyEngine", ("spi", "2b2a3a0a")),
        G("OakleyConstructingQuickMode"),
        G("ConstructingBlankHashPayload"),
        G("ConstructingIpsecSaPayloadResponder"),
        G("ConstructingIpsecNoncePayloadResponder"),
        G("ConstructingProxyId"),
        G("TransmittingProxyId"),
        G("ConstructingQmHashPayload"),
        G("ResponderSending2ndQmPacket", ("msgid", "c45c7b30")),
        Decode("IkeDecodeSending", "c45c7b30", "HDR + HASH (8) + SA (1) + NONCE (10) + ID (5) + ID (5) + NONE (0)", 184),
        Decode("IkeDecodeReceived", "c45c7b30", "HDR + HASH (8) + NONE (0)", 48),
        G("ProcessingHashPayload"),
        G("LoadingAllIpsecSas"),
        G("GeneratingQuickModeKey"),
        G("SecurityNegotiationCompleteUserResponder", ("user", "cisco"), ("inboundSpi", "2b2a3a0a"), ("outboundSpi", "0f3c0b4d")),
        G("IkeGotKeyAddMsg", ("spi", "2b2a3a0a")),
        G("StartingP2RekeyTimer", ("seconds", 24480)),
        G("Phase2Completed", ("msgid", "c45c7b30")),
    ];

    private static string Log(params string[][] parts) => string.Join("\n", parts.SelectMany(p => p)) + "\n";

    [Fact]
    public void The_113595_scenario_by_hand_is_told_in_the_same_steps()
    {
        var r = Explain(Log(AggressiveMode(), PhaseOneCompleted(), Transactions(delayedQuickMode: false), QuickMode()), "113595-by-hand.log");
        Assert.Equal(DialIn, Steps(r));
        Assert.All(r.Lines, l => Assert.True(l.Recognised, l.Record.Text));
        Assert.All(r.Lines, l => Assert.NotNull(l.ExchangeMessage));
        Assert.Equal(Side.Responder, Assert.Single(r.Streams).Role);
        var am3 = r.Lines.Where(l => l.Message?.Name is "IkeDecodeReceived").ElementAt(1); // HASH + NOTIFY: AM3, not Informational
        Assert.Equal(("AM3", Stage.Receive), (am3.ExchangeMessage, am3.Stage));
        Assert.Equal("AM3", Line(r, "ProcessingNotifyPayload").ExchangeMessage);
        Assert.Empty(r.Diagnoses);
        Assert.Contains("No failure found: phase 1 and phase 2 completed.", TextReport.Render(r));
    }

    [Fact]
    public void Phase_1_completed_after_mode_config_and_a_quick_mode_held_back_keep_their_places()
    {
        // A head-end that calls phase 1 complete once the client is configured (after Mode Config), and holds back the
        // client's early Quick Mode meanwhile (715021).
        var r = Explain(Log(AggressiveMode(), Transactions(delayedQuickMode: true), PhaseOneCompleted(), QuickMode()));
        Assert.Equal(DialIn, Steps(r));
        Assert.Equal((Messages.ModeCfgRequest, "Mode Config"), (Line(r, "DelayQuickMode").ExchangeMessage, Line(r, "DelayQuickMode").Exchange));
        Assert.Equal(("AM3", Stage.After, "AM_ACTIVE"), (Line(r, "Phase1Completed").ExchangeMessage, Line(r, "Phase1Completed").Stage, Line(r, "Phase1Completed").State));
        var lines = r.Lines.ToList();
        var completed = lines.IndexOf(Line(r, "Phase1Completed"));
        Assert.Equal(Messages.ModeCfgReply, lines[..completed].Last(l => l.Message?.Name == "ConstructingQmHashPayload").ExchangeMessage);
        Assert.Equal("QM1", r.Lines.First(l => l.Message?.Name == "ProcessingSaPayload" && l.ExchangeMessage != "AM1").ExchangeMessage);
    }

    [Fact]
    public void A_pushed_mode_config_is_the_head_ends_SET_and_the_clients_ACK()
    {
        // `crypto map MAP client configuration address initiate`: after XAUTH the head-end sends the address in a Mode
        // Config SET (draft-dukes-ike-mode-cfg-02 §3.2) instead of waiting for the client's REQUEST.
        string[] push =
        [
            .. XauthRequestAndReply(),
            Decode("IkeDecodeSending", "143c0c43", "HDR + HASH (8) + ATTR (14) + NONE (0)", 64),
            Decode("IkeDecodeReceived", "143c0c43", "HDR + HASH (8) + ATTR (14) + NONE (0)", 64),
            G("ProcessingHashPayload"),
            G("AssignedPrivateAddress", ("address", "192.168.1.100")),
            G("ConstructingBlankHashPayload"),
            G("ConstructingQmHashPayload"),
            Decode("IkeDecodeSending", "5a3c1e07", "HDR + HASH (8) + ATTR (14) + NONE (0)", 92),
            Decode("IkeDecodeReceived", "5a3c1e07", "HDR + HASH (8) + ATTR (14) + NONE (0)", 60),
            G("ProcessingHashPayload"),
        ];
        var r = Explain(Log(AggressiveMode(), PhaseOneCompleted(), push, QuickMode()));
        Assert.Equal(["AM1", "AM2", "AM3", Messages.XauthRequest, Messages.XauthReply, Messages.XauthSet, Messages.XauthAck,
            Messages.ModeCfgSet, Messages.ModeCfgAck, "QM1", "QM2", "QM3"], Steps(r));
        Assert.Equal((Messages.ModeCfgSet, Stage.Construct, "Mode Config"),
            (Line(r, "AssignedPrivateAddress").ExchangeMessage, Line(r, "AssignedPrivateAddress").Stage, Line(r, "AssignedPrivateAddress").Exchange));
    }

    [Fact]
    public void A_main_mode_log_is_still_told_in_main_mode_and_a_new_phase_1_in_the_other_mode_starts_the_count_again()
    {
        var (am, _) = RemoteAccessLogTests.HeadEndLog(RemoteAccessLogTests.HeadEnd, ("EZ", "cisco", "cisco"));
        // The same client address later in Main Mode (its lines as the hand-written Main Mode of the other tests).
        var mm = string.Join("\n", new[]
        {
            L("IkeDecodeReceived", "10.0.0.10", null, ("msgid", "0"), ("payloads", "HDR + SA (1) + VENDOR (13) + NONE (0)"), ("length", 168)),
            L("ProcessingSaPayload", "10.0.0.10"),
            L("IkeDecodeSending", "10.0.0.10", null, ("msgid", "0"), ("payloads", "HDR + SA (1) + VENDOR (13) + NONE (0)"), ("length", 128)),
            L("IkeDecodeReceived", "10.0.0.10", null, ("msgid", "0"), ("payloads", "HDR + KE (4) + NONCE (10) + NONE (0)"), ("length", 256)),
        }) + "\n";
        var r = Explain(am + mm);
        Assert.Equal(DialIn, Steps(r).Take(DialIn.Length));
        Assert.Equal(["MM1", "MM1", "MM2", "MM3"], r.Lines.Skip(r.Lines.Count - 4).Select(l => l.ExchangeMessage));
        Assert.Equal("MM_NO_STATE", r.Lines[^4].State);
    }

    /// <summary>Hostile input: an Aggressive Mode dial-in cut, shuffled and thinned out explains without an exception.</summary>
    [Fact]
    public void Cut_shuffled_and_thinned_dial_in_logs_explain_without_an_exception()
    {
        var (ours, _) = RemoteAccessLogTests.HeadEndLog(RemoteAccessLogTests.HeadEnd, ("EZ", "cisco", "cisco"), ("EZ", "alice", "alice-pw"));
        var hand = Log(AggressiveMode(), Transactions(delayedQuickMode: true), PhaseOneCompleted(), QuickMode());
        var random = new Random(113595);
        foreach (var source in new[] { ours, hand })
        {
            var lines = source.Split('\n');
            for (var round = 0; round < 40; round++)
            {
                var mutated = round switch
                {
                    < 10 => lines.Select(l => l.Length == 0 ? l : l[..random.Next(l.Length + 1)]).ToArray(),      // every line cut somewhere
                    < 20 => lines.OrderBy(_ => random.Next()).ToArray(),                                           // any order
                    < 30 => lines.Where(_ => random.Next(3) > 0).ToArray(),                                        // a third dropped
                    _ => Enumerable.Reverse(lines).Select(l => random.Next(4) == 0 && l.Length > 10 ? l[(l.Length / 2)..] : l).ToArray(),
                };
                var text = string.Join("\n", mutated);
                var r = Explain(text);
                Assert.NotNull(TextReport.Render(r));
                Assert.NotNull(JsonReport.Render(r));
                Assert.NotNull(HtmlReport.Render(r));
            }
        }
        // Decode lines of Transaction exchanges alone, in every direction and order, with nothing to tell them apart.
        var sb = new StringBuilder();
        foreach (var id in new[] { "1", "2", "1", "3", "2", "3", "3" })
            sb.Append(L(random.Next(2) == 0 ? "IkeDecodeSending" : "IkeDecodeReceived", "10.0.0.9", null, ("msgid", id), ("payloads", "HDR + HASH (8) + ATTR (14) + NONE (0)"), ("length", 60))).Append('\n');
        var only = Explain(sb.ToString());
        Assert.All(only.Lines, l => Assert.True(Messages.IsTransaction(l.ExchangeMessage), l.ExchangeMessage));
    }
}
