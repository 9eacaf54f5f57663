using System.Diagnostics;
using System.Net;
using IkeActors.Config;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;
using IkeActors.Protocol;
using IkeActors.Testing;
using Microsoft.Extensions.Logging;
using A = IkeActors.Grains.Telemetry.NegotiationTelemetry.Attributes;

namespace IkeActors.Grains.Tests;

/// <summary>
/// Span shapes from the engine's typed events, with two IKE SAs in this process (each with its own
/// <see cref="IkeSaTelemetry"/>, fed as the grain feeds it) and each side's calls in a trace of its
/// own, as two gateways would be: the responder's Main Mode joining the initiator's trace from MM5
/// with its debug records, a failed MM5, and a repeated request.
/// </summary>
[Collection(nameof(TelemetryCollection))]
public class TelemetryEventTests
{
    private static readonly IPEndPoint Left = PeerPump.Left, Right = PeerPump.Right;

    [Fact]
    public void The_responders_main_mode_and_its_debug_records_join_the_initiators_trace_from_MM5()
    {
        var (initiator, responder) = Pair(ClusterFixture.Load("asa2-responder.cfg"));
        Pump(initiator, responder, initiator.Start());
        Assert.Equal(MainModeState.MM_ACTIVE, responder.Sa!.State);

        var theirs = initiator.Spans();
        var ours = responder.Spans();
        var initiatorMainMode = Assert.Single(theirs, s => s.OperationName == NegotiationTelemetry.MainModeSpan);
        var mm = Assert.Single(ours, s => s.OperationName == NegotiationTelemetry.MainModeSpan);
        Assert.Equal(initiatorMainMode.TraceId, initiator.Root.TraceId);
        // Every responder span is in the initiator's trace; its Main Mode is a child of the initiator's.
        Assert.All(ours, s => Assert.Equal(initiator.Root.TraceId, s.TraceId));
        Assert.Equal(initiatorMainMode.SpanId, mm.ParentSpanId);
        Assert.Equal(ActivityStatusCode.Ok, mm.Status);
        var messages = Messages(ours);
        Assert.Equal(["MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3"], messages.Select(s => s.OperationName));
        Assert.Equal(["in", "out", "in", "out", "in", "out", "in", "out", "in"], messages.Select(s => (string?)s.GetTagItem(A.Direction)));
        Assert.All(messages.Take(6), s => Assert.Equal(mm.SpanId, s.ParentSpanId));
        // Kept-aside spans keep their real times: MM1 ends before MM5 starts.
        Assert.True(messages[0].StartTimeUtc + messages[0].Duration <= messages[4].StartTimeUtc);

        // The records written before MM5 carry the initiator's trace and a span of the responder's.
        var spanIds = ours.Select(s => s.SpanId).ToHashSet();
        Assert.NotEmpty(responder.Records);
        Assert.All(responder.Records, r => Assert.Equal(initiator.Root.TraceId, r.Context.TraceId));
        Assert.All(responder.Records, r => Assert.Contains(r.Context.SpanId, spanIds));
        Assert.Contains(responder.Records, r => r.Context.SpanId == messages[0].SpanId);
    }

    [Fact]
    public void An_MM5_that_does_not_authenticate_fails_main_mode_in_the_trace_of_the_call_that_carried_MM1()
    {
        var failed = TelemetryCapture.Read("ikev1.negotiations.failed", (A.Exchange, "main_mode"), (A.Role, "responder"), (A.FailureReason, "AuthenticationFailed")).Sum;
        var text = File.ReadAllText(RepoPaths.SiteToSite("asa2-responder.cfg"));
        Assert.Contains(" pre-shared-key cisco\n", text);
        var config = AsaConfigLoader.Load(text.Replace(" pre-shared-key cisco\n", " pre-shared-key other\n", StringComparison.Ordinal));
        Assert.True(config.IsValid, string.Join("\n", config.Errors));
        var (initiator, responder) = Pair(config.Config);
        Pump(initiator, responder, initiator.Start());
        Assert.Equal(MainModeState.MM_DELETED, responder.Sa!.State);

        var ours = responder.Spans();
        // No trace context came: the spans are written under the call that carried MM1.
        Assert.All(ours, s => Assert.Equal(responder.Root.TraceId, s.TraceId));
        var mm = Assert.Single(ours, s => s.OperationName == NegotiationTelemetry.MainModeSpan);
        Assert.Equal(responder.Root.SpanId, mm.ParentSpanId);
        Assert.Equal(ActivityStatusCode.Error, mm.Status);
        Assert.Equal("AuthenticationFailed", mm.GetTagItem(A.FailureReason));
        var messages = Messages(ours);
        Assert.Equal(["MM1", "MM2", "MM3", "MM4", "MM5"], messages.Select(s => s.OperationName));
        Assert.Equal(["in", "out", "in", "out", "in"], messages.Select(s => (string?)s.GetTagItem(A.Direction)));
        Assert.All(messages, s => Assert.Equal(mm.SpanId, s.ParentSpanId));
        Assert.Equal(ActivityStatusCode.Error, messages[4].Status);
        Assert.Equal("AuthenticationFailed", messages[4].GetTagItem(A.FailureReason));
        Assert.All(messages.Take(4), s => Assert.Equal(ActivityStatusCode.Unset, s.Status));
        Assert.DoesNotContain(ours, s => s.OperationName == NegotiationTelemetry.QuickModeSpan);
        Assert.All(responder.Records, r => Assert.Equal(responder.Root.TraceId, r.Context.TraceId));
        Assert.Equal(failed + 1, TelemetryCapture.Read("ikev1.negotiations.failed", (A.Exchange, "main_mode"), (A.Role, "responder"), (A.FailureReason, "AuthenticationFailed")).Sum);
    }

    [Fact]
    public void A_repeated_request_is_a_duplicate_and_a_retransmission_on_main_mode_not_a_message_span()
    {
        var (initiator, responder) = Pair(ClusterFixture.Load("asa2-responder.cfg"));
        var mm2 = responder.Deliver(initiator.Start());
        var mm3 = initiator.Deliver(mm2);
        var mm4 = responder.Deliver(mm3);
        // RFC 2408 §5: MM3 again gets MM4 again.
        var mm4Again = responder.Deliver(mm3);
        Assert.Equal(mm4.Single(), mm4Again.Single());
        var mm5 = initiator.Deliver(mm4);
        // The initiator ignores the repeated MM4: no span, no event.
        Assert.Empty(initiator.Deliver(mm4Again));
        Pump(initiator, responder, mm5);
        Assert.Equal(MainModeState.MM_ACTIVE, responder.Sa!.State);

        var ours = responder.Spans();
        var mm = Assert.Single(ours, s => s.OperationName == NegotiationTelemetry.MainModeSpan);
        var duplicate = Assert.Single(mm.Events, e => e.Name == "duplicate");
        Assert.Equal("MM3", Tag(duplicate, A.Message));
        Assert.Equal("00000000", Tag(duplicate, A.MessageId));
        var retransmit = Assert.Single(mm.Events, e => e.Name == "retransmit");
        Assert.Equal("MM4", Tag(retransmit, A.Message));
        Assert.Equal(["MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3"], Messages(ours).Select(s => s.OperationName));
        var theirs = initiator.Spans();
        Assert.Equal(["MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3"], Messages(theirs).Select(s => s.OperationName));
        Assert.DoesNotContain(theirs.SelectMany(s => s.Events), e => e.Name is "duplicate" or "retransmit" or "drop");
    }

    [Fact]
    public void A_QM3_that_does_not_verify_is_a_drop_on_its_quick_mode_and_the_genuine_one_completes_it()
    {
        var dropped = TelemetryCapture.Read("ikev1.messages.dropped", (A.Exchange, "Quick Mode")).Sum;
        var (initiator, responder) = Pair(ClusterFixture.Load("asa2-responder.cfg"));
        var quickModeMessages = 0;
        var qm3 = Pump(initiator, responder, initiator.Start(),
            holdForResponder: d => IsakmpHeaderView.TryParse(d, out var h, out _) && h.ExchangeType == ExchangeType.QuickMode && ++quickModeMessages == 2);
        Assert.NotNull(qm3);
        // The first cipher block garbled (CBC, RFC 2409 Appendix B): it does not decrypt to a valid chain, or HASH(3) does not verify.
        var damaged = qm3.ToArray();
        damaged[IsakmpHeaderView.MinimumSize] ^= 0xff;
        Assert.Empty(responder.Deliver([damaged]));
        Assert.Empty(responder.Deliver([qm3]));

        var ours = responder.Spans();
        var qm = Assert.Single(ours, s => s.OperationName == NegotiationTelemetry.QuickModeSpan);
        Assert.Equal(ActivityStatusCode.Ok, qm.Status);
        var drop = Assert.Single(qm.Events, e => e.Name == "drop");
        Assert.Equal("Quick Mode", Tag(drop, A.Exchange));
        Assert.Equal(qm.GetTagItem(A.MessageId), Tag(drop, A.MessageId));
        Assert.Equal(["QM1", "QM2", "QM3"], Messages(ours).Skip(6).Select(s => s.OperationName));
        Assert.All(Messages(ours).Skip(6), s => Assert.Equal(qm.SpanId, s.ParentSpanId));
        Assert.Equal(dropped + 1, TelemetryCapture.Read("ikev1.messages.dropped", (A.Exchange, "Quick Mode")).Sum);
    }

    // ------------------------------------------------------------------ helpers

    private static List<Activity> Messages(List<Activity> spans) =>
        spans.Where(s => s.GetTagItem(A.Message) is not null).OrderBy(s => s.StartTimeUtc).ToList();

    private static object? Tag(ActivityEvent e, string key) => e.Tags.FirstOrDefault(t => t.Key == key).Value;

    /// <summary>The seed's initiator (10.0.0.1, traffic 192.168.1.10 → 192.168.2.10) and a responder with <paramref name="responderConfig"/>.</summary>
    [Fact]
    public void A_remote_access_session_shows_aggressive_mode_and_each_transaction_message_with_what_it_settled()
    {
        TelemetryCapture.EnsureStarted();
        var headEndConfig = IkeActors.Config.AsaConfigLoader.Load("""
            interface GigabitEthernet0/1
             nameif outside
             security-level 0
             ip address 10.0.0.2 255.255.255.0
            crypto ipsec ikev1 transform-set TRA esp-aes esp-sha-hmac
            crypto dynamic-map DYN 10 set ikev1 transform-set TRA
            crypto map MAP 65535 ipsec-isakmp dynamic DYN
            crypto map MAP interface outside
            crypto ikev1 enable outside
            crypto ikev1 policy 10
             authentication pre-share
             encryption aes
             hash sha
             group 2
             lifetime 86400
            ip local pool P 192.168.100.10-192.168.100.20 mask 255.255.255.0
            username cisco password cisco
            tunnel-group EZ type remote-access
            tunnel-group EZ general-attributes
             address-pool P
            tunnel-group EZ ipsec-attributes
             ikev1 pre-shared-key ezkey
            """).Config;
        var clientConfig = IkeActors.Config.AsaConfigLoader.Load("""
            crypto ipsec ikev1 transform-set TRA esp-aes esp-sha-hmac
            crypto ikev1 policy 10
             authentication pre-share
             encryption aes
             hash sha
             group 2
             lifetime 86400
            """).Config;
        var client = new Side(new GatewayContext(clientConfig, Left), Right, "test.ra-client");
        var headEnd = new Side(new GatewayContext(headEndConfig, Right) { RemoteAccess = new LocalRemoteAccessService(headEndConfig) }, Left, "test.ra-head-end");
        Pump(client, headEnd, client.Dial(new RemoteAccessCredentials("EZ", new IkeActors.Config.Model.PreSharedKey("ezkey"), "cisco", "cisco")));
        Assert.Equal("cisco", headEnd.Sa!.User);

        var spans = headEnd.Spans();
        var am = Assert.Single(spans, s => s.OperationName == NegotiationTelemetry.AggressiveModeSpan);
        Assert.Equal(ActivityStatusCode.Ok, am.Status);
        Assert.Equal(["AM1", "AM2", "AM3"], Messages(spans).Where(s => s.OperationName.StartsWith("AM", StringComparison.Ordinal)).Select(s => s.OperationName));
        var transactions = spans.Where(s => s.OperationName == NegotiationTelemetry.TransactionSpan).OrderBy(s => s.StartTimeUtc).ToList();
        // XAUTH: REQUEST out, REPLY in, SET out, ACK in; Mode Config: REQUEST in, REPLY out.
        Assert.Equal(["out", "in", "out", "in", "in", "out"], transactions.Select(s => (string?)s.GetTagItem(A.Direction)));
        Assert.Contains(transactions.SelectMany(s => s.Events), e => e.Name == "xauth" && (bool?)e.Tags.FirstOrDefault(t => t.Key == "ikev1.xauth.accepted").Value == true);
        Assert.Contains(transactions.SelectMany(s => s.Events), e => e.Name == "mode_config" && (string?)e.Tags.FirstOrDefault(t => t.Key == "ikev1.assigned_address").Value == "192.168.100.10");
        // The password and the group key appear in no span or record.
        var text = string.Join("\n", spans.SelectMany(s => s.Tags.Select(t => t.Value ?? "").Concat(s.Events.SelectMany(e => e.Tags.Select(t => t.Value?.ToString() ?? "")))))
            + string.Join("\n", headEnd.Records.Select(r => r.Line));
        Assert.DoesNotContain("ezkey", text);
    }

    private static (Side Initiator, Side Responder) Pair(IkeActors.Config.Model.AsaConfig responderConfig)
    {
        TelemetryCapture.EnsureStarted();
        return (new Side(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), Left), Right, "test.initiator-gateway"),
            new Side(new GatewayContext(responderConfig, Right), Left, "test.responder-gateway"));
    }

    /// <summary>
    /// Delivers datagrams back and forth until neither side has more to say, or until the first datagram for the
    /// responder that <paramref name="holdForResponder"/> holds back (returned).
    /// </summary>
    private static byte[]? Pump(Side initiator, Side responder, List<byte[]> fromInitiator, Func<byte[], bool>? holdForResponder = null)
    {
        var toResponder = true;
        var batch = fromInitiator;
        for (var round = 0; round < 20 && batch.Count > 0; round++, toResponder = !toResponder)
        {
            var next = new List<byte[]>();
            foreach (var d in batch)
            {
                if (toResponder && holdForResponder?.Invoke(d) == true) return d;
                next.AddRange((toResponder ? responder : initiator).Deliver([d]));
            }
            batch = next;
        }
        return null;
    }

    /// <summary>One gateway's IKE SA, fed to its telemetry as the IKE SA grain does, every call under this gateway's own root span.</summary>
    private sealed class Side(GatewayContext gateway, IPEndPoint peer, string rootName)
    {
        private readonly RecordingLogger _log = new();
        private readonly IkeSaTelemetry _telemetry = new();

        public Activity Root { get; } = Detached(rootName);
        public IkeSa? Sa { get; private set; }
        public List<(string Line, ActivityContext Context)> Records => _log.Records;

        public List<byte[]> Start()
        {
            var match = gateway.Lookup.MatchOutbound(new IkeActors.Config.Lookup.Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), gateway.OutsideInterface);
            Assert.NotNull(match);
            return Under(output => Sa = IkeSa.StartInitiator(gateway, match, peer, output));
        }

        /// <summary>Our remote-access client dialling the head-end (Aggressive Mode, XAUTH, Mode Config).</summary>
        public List<byte[]> Dial(RemoteAccessCredentials credentials) =>
            Under(output => Sa = IkeSa.StartRemoteAccessClient(gateway, credentials, peer, output, 0x5151515151515151));

        public List<byte[]> Deliver(List<byte[]> datagrams) => Under(output =>
        {
            var datagram = Assert.Single(datagrams);
            _telemetry.Received(datagram, peer);
            if (Sa is null) Sa = IkeSa.AcceptFirstMessage(gateway, peer, datagram, output);
            else
            {
                Sa.TraceParent = _telemetry.TraceParent; // carried to an IkeActors responder in MM5
                Sa.Receive(datagram, output, peer, natT: false);
            }
        });

        /// <summary>This SA's spans (both sides share the initiator cookie; the role tells them apart).</summary>
        public List<Activity> Spans() => TelemetryCapture.Spans.Snapshot()
            .Where(s => s.Source.Name == NegotiationTelemetry.Name
                        && (string?)s.GetTagItem(A.InitiatorCookie) == Sa!.InitiatorCookie.ToString("x16")
                        && (string?)s.GetTagItem(A.Role) == (Sa.Role == IkeRole.Initiator ? "initiator" : "responder"))
            .ToList();

        private List<byte[]> Under(Action<NegotiationOutput> step)
        {
            _telemetry.Export ??= new DebugLogExport(_log);
            var previous = Activity.Current;
            Activity.Current = Root;
            try
            {
                var output = new NegotiationOutput(DebugLogExport.DefaultLevel);
                step(output);
                // As a host does: an address lease asked in the step is answered within it (the process's address book).
                AddressLeasing.CarryOut(gateway.AddressBook, output, _ => Sa);
                _telemetry.Step(Sa, output);
                return output.OfType<SendDatagram>().Select(s => s.Datagram).ToList();
            }
            finally { Activity.Current = previous; }
        }

        private static Activity Detached(string name)
        {
            var previous = Activity.Current;
            Activity.Current = null;
            var root = TelemetryCapture.TestSource.StartActivity(name)!;
            Activity.Current = previous;
            return root;
        }
    }

    /// <summary>Each record with the span that was current when it was written.</summary>
    private sealed class RecordingLogger : ILogger
    {
        public List<(string Line, ActivityContext Context)> Records { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Records.Add((formatter(state, exception), Activity.Current?.Context ?? default));
    }
}
