using static IkeActors.Grains.Tests.PeerPump;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;
using IkeActors.Config;
using IkeActors.Config.Lookup;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;
using IkeActors.Protocol;
using IkeActors.Testing;
using Microsoft.Extensions.DependencyInjection;
using A = IkeActors.Grains.Telemetry.NegotiationTelemetry.Attributes;

namespace IkeActors.Grains.Tests;

/// <summary>
/// The responder's traces and metrics of the seed's tunnel, from a two-silo cluster through the
/// in-memory exporters: one trace per negotiation, MM1…QM3 in order with their attributes, a
/// failed negotiation with its reason, counters, and no secret anywhere.
/// </summary>
[Collection(nameof(TelemetryCollection))]
public class TelemetryTests(TelemetryFixture fixture, ITestOutputHelper log)
{
    private const string PreSharedKey = "cisco";

    [Fact]
    public async Task A_negotiation_is_one_trace_with_main_mode_quick_mode_and_every_message_in_order()
    {
        // Each test's peer is a fresh engine, whose first Quick Mode carries INITIAL-CONTACT: the SAs earlier tests left
        // with 10.0.0.1 would go during this negotiation (RFC 2407 §4.6.3.3). They go first, so the gauges count this one.
        await ClearPeerSas();
        var started = TelemetryCapture.Read("ikev1.negotiations.started", (A.Exchange, "main_mode"), (A.Role, "responder")).Sum;
        var startedQm = TelemetryCapture.Read("ikev1.negotiations.started", (A.Exchange, "quick_mode"), (A.Role, "responder")).Sum;
        var completed = TelemetryCapture.Read("ikev1.negotiations.completed", (A.Exchange, "main_mode"), (A.Role, "responder")).Sum;
        var completedQm = TelemetryCapture.Read("ikev1.negotiations.completed", (A.Exchange, "quick_mode"), (A.Role, "responder")).Sum;
        var activeIke = TelemetryCapture.Read("ikev1.ike_sa.active", (A.Role, "responder")).Sum;
        var activeIpsec = TelemetryCapture.Read("ikev1.ipsec_sa.active", (A.Role, "responder")).Sum;
        var latencies = TelemetryCapture.Read("ikev1.negotiation.duration", (A.Role, "responder")).Count;

        using var left = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), Left));
        var (traceId, cookie, lo) = await NegotiateFromPeer(left, "192.168.2.10", "test.negotiation");
        var pair = Assert.Single(lo.OfType<InstallIpsecSa>()).Pair;
        var secrets = SecretsOf(pair);

        var spans = OurSpans(cookie);
        foreach (var s in spans.OrderBy(s => s.StartTimeUtc))
            log.WriteLine($"{s.OperationName} [{s.Status}] {string.Join(" ", s.TagObjects.Select(t => $"{t.Key}={t.Value}"))}");
        // One trace: the caller's, carried to the grain's silo by Orleans activity propagation.
        Assert.Equal([traceId], spans.Select(s => s.TraceId).Distinct());

        AssertResponderNegotiation(spans, pair, cookie);

        // Metrics of the responder: one more of each.
        Assert.Equal(started + 1, TelemetryCapture.Read("ikev1.negotiations.started", (A.Exchange, "main_mode"), (A.Role, "responder")).Sum);
        Assert.Equal(startedQm + 1, TelemetryCapture.Read("ikev1.negotiations.started", (A.Exchange, "quick_mode"), (A.Role, "responder")).Sum);
        Assert.Equal(completed + 1, TelemetryCapture.Read("ikev1.negotiations.completed", (A.Exchange, "main_mode"), (A.Role, "responder")).Sum);
        Assert.Equal(completedQm + 1, TelemetryCapture.Read("ikev1.negotiations.completed", (A.Exchange, "quick_mode"), (A.Role, "responder")).Sum);
        Assert.Equal(activeIke + 1, TelemetryCapture.Read("ikev1.ike_sa.active", (A.Role, "responder")).Sum);
        Assert.Equal(activeIpsec + 1, TelemetryCapture.Read("ikev1.ipsec_sa.active", (A.Role, "responder")).Sum);
        Assert.Equal(latencies + 1, TelemetryCapture.Read("ikev1.negotiation.duration", (A.Role, "responder")).Count);

        AssertNoSecrets(secrets);
    }

    [Fact]
    public async Task A_negotiation_without_a_common_ISAKMP_policy_is_an_error_span_with_NoProposalChosen()
    {
        var failed = TelemetryCapture.Read("ikev1.negotiations.failed", (A.Exchange, "main_mode"), (A.FailureReason, "NoProposalChosen")).Sum;
        var started = TelemetryCapture.Read("ikev1.negotiations.started", (A.Exchange, "main_mode"), (A.Role, "responder")).Sum;
        var completed = TelemetryCapture.Read("ikev1.negotiations.completed", (A.Exchange, "main_mode"), (A.Role, "responder")).Sum;
        var activeIke = TelemetryCapture.Read("ikev1.ike_sa.active", (A.Role, "responder")).Sum;

        // The initiator offers only AES-256 / SHA-256 / group 14: the responder has 3DES / SHA / group 2.
        var text = File.ReadAllText(RepoPaths.SiteToSite("asa1-initiator.cfg"))
            .Replace(" encryption 3des\n", " encryption aes-256\n", StringComparison.Ordinal)
            .Replace(" hash sha\n", " hash sha256\n", StringComparison.Ordinal)
            .Replace(" group 2\n", " group 14\n", StringComparison.Ordinal);
        using var left = new NegotiationEngine(new GatewayContext(Valid(text), Left));
        var (traceId, cookie, lo) = await NegotiateFromPeer(left, "192.168.2.10", "test.failed-negotiation");
        Assert.Empty(lo.OfType<InstallIpsecSa>());

        var spans = OurSpans(cookie);
        Assert.Equal([traceId], spans.Select(s => s.TraceId).Distinct());
        var mm = Assert.Single(spans, s => s.OperationName == NegotiationTelemetry.MainModeSpan);
        Assert.Equal(ActivityStatusCode.Error, mm.Status);
        Assert.Equal("NoProposalChosen", mm.GetTagItem(A.FailureReason));
        Assert.Equal("no ISAKMP policy matches the peer's proposal", mm.GetTagItem(A.FailureDetail));
        Assert.Equal("responder", mm.GetTagItem(A.Role));
        var mm1 = Assert.Single(spans, s => s.OperationName == "MM1");
        Assert.Equal(ActivityStatusCode.Error, mm1.Status);
        Assert.Equal("NoProposalChosen", mm1.GetTagItem(A.FailureReason));
        Assert.DoesNotContain(spans, s => s.OperationName is "MM2" or NegotiationTelemetry.QuickModeSpan);
        // The NO-PROPOSAL-CHOSEN notify went out as an Informational exchange of the same trace.
        Assert.Contains(spans, s => s.OperationName == NegotiationTelemetry.InformationalSpan && (string?)s.GetTagItem(A.Direction) == "out");

        Assert.Equal(failed + 1, TelemetryCapture.Read("ikev1.negotiations.failed", (A.Exchange, "main_mode"), (A.FailureReason, "NoProposalChosen")).Sum);
        Assert.Equal(started + 1, TelemetryCapture.Read("ikev1.negotiations.started", (A.Exchange, "main_mode"), (A.Role, "responder")).Sum);
        Assert.Equal(completed, TelemetryCapture.Read("ikev1.negotiations.completed", (A.Exchange, "main_mode"), (A.Role, "responder")).Sum);
        Assert.Equal(activeIke, TelemetryCapture.Read("ikev1.ike_sa.active", (A.Role, "responder")).Sum);
        AssertNoSecrets([PreSharedKey]);
    }

    [Theory]
    // The initiator proposes 3DES/MD5 for phase 2; the responder's transform set is AES/SHA.
    [InlineData("transform-set TRANSFORM esp-aes esp-sha-hmac", "transform-set TRANSFORM esp-3des esp-md5-hmac", "192.168.2.10", "TransformSetMismatch")]
    // The initiator's ACL protects 192.168.9.0/24: the responder has no crypto map entry for those proxy IDs (INVALID-ID-INFORMATION).
    [InlineData("access-list VPN extended permit icmp 192.168.1.0 255.255.255.0 192.168.2.0 255.255.255.0",
        "access-list VPN extended permit icmp 192.168.1.0 255.255.255.0 192.168.9.0 255.255.255.0", "192.168.9.10", "ProxyIdMismatch")]
    public async Task A_failed_Quick_Mode_is_an_error_quick_mode_span_with_its_reason_after_a_completed_main_mode(string find, string replace, string destination, string reason)
    {
        var failed = TelemetryCapture.Read("ikev1.negotiations.failed", (A.Exchange, "quick_mode"), (A.FailureReason, reason)).Sum;
        var activeIpsec = TelemetryCapture.Read("ikev1.ipsec_sa.active", (A.Role, "responder")).Sum;

        var original = File.ReadAllText(RepoPaths.SiteToSite("asa1-initiator.cfg"));
        Assert.Contains(find, original);
        var text = original.Replace(find, replace, StringComparison.Ordinal);
        using var left = new NegotiationEngine(new GatewayContext(Valid(text), Left));
        var (traceId, cookie, lo) = await NegotiateFromPeer(left, destination, "test.quick-mode-failure");
        Assert.Empty(lo.OfType<InstallIpsecSa>());

        var spans = OurSpans(cookie);
        Assert.Equal([traceId], spans.Select(s => s.TraceId).Distinct());
        var mm = Assert.Single(spans, s => s.OperationName == NegotiationTelemetry.MainModeSpan);
        Assert.Equal(ActivityStatusCode.Ok, mm.Status);
        var qm = Assert.Single(spans, s => s.OperationName == NegotiationTelemetry.QuickModeSpan);
        Assert.Equal(ActivityStatusCode.Error, qm.Status);
        Assert.Equal(reason, qm.GetTagItem(A.FailureReason));
        Assert.Equal(mm.SpanId, qm.ParentSpanId);
        var qm1 = Assert.Single(spans, s => s.OperationName == "QM1");
        Assert.Equal(qm.SpanId, qm1.ParentSpanId);
        Assert.Equal(reason, qm1.GetTagItem(A.FailureReason));
        Assert.DoesNotContain(spans, s => s.OperationName is "QM2" or "QM3");

        Assert.Equal(failed + 1, TelemetryCapture.Read("ikev1.negotiations.failed", (A.Exchange, "quick_mode"), (A.FailureReason, reason)).Sum);
        Assert.Equal(activeIpsec, TelemetryCapture.Read("ikev1.ipsec_sa.active", (A.Role, "responder")).Sum);
        AssertNoSecrets([PreSharedKey]);
    }

    [Fact]
    public async Task An_initiating_IKE_SA_grain_traces_MM1_to_QM3_with_the_even_messages_in_and_QM3_out()
    {
        var started = TelemetryCapture.Read("ikev1.negotiations.started", (A.Exchange, "main_mode"), (A.Role, "initiator")).Sum;
        // The grain initiates (the responder ASA's configuration, traffic 192.168.2.10 -> 192.168.1.10);
        // the test's engine answers with the other ASA's.
        using var peer = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), Left));
        var po = new NegotiationOutput();
        var cookie = (ulong)Random.Shared.NextInt64(1, long.MaxValue);
        var grain = fixture.Cluster.Client.GetGrain<IIkeSaGrain>(IIkeSaGrain.KeyFor(Left.Address.ToString(), cookie));
        ActivityTraceId traceId;
        using (var root = TelemetryCapture.TestSource.StartActivity("test.initiator"))
        {
            traceId = root!.TraceId;
            var result = await grain.StartInitiator(new AcquireRequest("192.168.2.10", "192.168.1.10", 1), 127);
            var toPeer = result.Send.ToList();
            for (var round = 0; round < 20 && toPeer.Count > 0; round++)
            {
                var next = new List<Datagram>();
                foreach (var d in toPeer)
                {
                    var seen = po.Actions.Count;
                    peer.Receive(d.Bytes, Right, po);
                    foreach (var reply in po.Actions.Skip(seen).OfType<SendDatagram>())
                        next.AddRange((await grain.Receive(new Datagram(reply.Datagram, Left.Address.ToString(), 500), 127)).Send);
                }
                toPeer = next;
            }
        }
        Assert.Equal("MM_ACTIVE", await grain.GetState());
        var pair = Assert.Single(po.OfType<InstallIpsecSa>()).Pair;

        var spans = OurSpans(cookie);
        Assert.Equal([traceId], spans.Select(s => s.TraceId).Distinct());
        var mm = Assert.Single(spans, s => s.OperationName == NegotiationTelemetry.MainModeSpan);
        var qm = Assert.Single(spans, s => s.OperationName == NegotiationTelemetry.QuickModeSpan);
        Assert.Equal("initiator", mm.GetTagItem(A.Role));
        Assert.Equal(ActivityStatusCode.Ok, qm.Status);
        var messages = spans.Where(s => s.GetTagItem(A.Message) is not null).OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(["MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3"], messages.Select(s => s.OperationName));
        Assert.Equal(["out", "in", "out", "in", "out", "in", "out", "in", "out"], messages.Select(s => (string?)s.GetTagItem(A.Direction)));
        Assert.All(messages.Skip(6), s => Assert.Equal(qm.SpanId, s.ParentSpanId));
        // The initiator's inbound SPI is the peer's outbound.
        Assert.Equal(pair.Outbound.Spi.ToString("x8"), qm.GetTagItem(A.InboundSpi));
        Assert.Equal(started + 1, TelemetryCapture.Read("ikev1.negotiations.started", (A.Exchange, "main_mode"), (A.Role, "initiator")).Sum);
        AssertNoSecrets(SecretsOf(pair));
    }

    [Fact]
    public async Task A_reactivated_IKE_SA_continues_its_trace_with_new_spans_that_link_to_the_waking_call()
    {
        using var left = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), Left));
        var lo = new NegotiationOutput();
        ActivityTraceId first;
        IIkeSaGrain grain;
        ulong cookie;
        using (var root = TelemetryCapture.TestSource.StartActivity("test.first"))
        {
            first = root!.TraceId;
            left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);
            (grain, cookie) = (await PeerPump.RunAsync(fixture.Cluster.Client, left, lo, 0, 127)).GrainAndCookie;
        }
        var activation = await grain.GetActivationId();
        await grain.Deactivate();
        await Task.Delay(200);

        ActivityTraceId second;
        using (var root = TelemetryCapture.TestSource.StartActivity("test.second"))
        {
            second = root!.TraceId;
            var before = lo.Actions.Count;
            left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 6, 40000, 80), lo);
            await PeerPump.RunAsync(fixture.Cluster.Client, left, lo, before, 127);
        }
        Assert.NotEqual(activation, await grain.GetActivationId());
        var pairs = lo.OfType<InstallIpsecSa>().ToList();
        Assert.Equal(2, pairs.Count);

        var spans = OurSpans(cookie);
        // Every span of the IKE SA, before and after the reactivation, is in the first negotiation's trace.
        Assert.Equal([first], spans.Select(s => s.TraceId).Distinct());
        var quickModes = spans.Where(s => s.OperationName == NegotiationTelemetry.QuickModeSpan).ToList();
        Assert.Equal(2, quickModes.Count);
        var resumed = Assert.Single(quickModes, s => (string?)s.GetTagItem(A.MessageId) == pairs[1].Pair.MessageId.ToString("x8"));
        Assert.Equal(true, resumed.GetTagItem(A.Reactivated));
        Assert.Equal(ActivityStatusCode.Ok, resumed.Status);
        // ...and it links to the call that woke the grain (the second trace).
        Assert.Contains(resumed.Links, l => l.Context.TraceId == second);
        Assert.Equal(["QM1", "QM2", "QM3"], spans.Where(s => s.ParentSpanId == resumed.SpanId).OrderBy(s => s.StartTimeUtc).Select(s => s.OperationName));
        AssertNoSecrets([.. SecretsOf(pairs[0].Pair), .. SecretsOf(pairs[1].Pair)]);
    }

    [Fact]
    public async Task With_the_front_end_on_silo_A_and_the_IKE_SA_grain_on_silo_B_a_negotiation_is_one_trace_rooted_at_the_MM1_call()
    {
        var (siloA, siloB) = (fixture.Cluster.Silos[0], fixture.Cluster.Silos[1]);
        // The front-end's code path on silo A: that silo's grain factory calls IIkeSaGrain.Receive per datagram and,
        // like UdpFrontEnd, starts no span of its own (no ambient activity in this test either).
        var frontEnd = siloA.ServiceProvider.GetRequiredService<IGrainFactory>();
        Activity.Current = null;
        using var left = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), Left));
        var lo = new NegotiationOutput();
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);
        var run = await PeerPump.RunAsync(frontEnd, left, lo, 0, 127);
        var pair = Assert.Single(lo.OfType<InstallIpsecSa>()).Pair;

        // The IKE SA grain ran on silo B.
        var host = await run.Grain.GetSilo();
        Assert.True(siloB.Names(host), $"IKE SA grain on {host}, silo B is {siloB.SiloAddress}");
        Assert.False(siloA.Names(host));

        var spans = OurSpans(run.Cookie);
        var traceId = Assert.Single(spans.Select(s => s.TraceId).Distinct());
        var trace = TelemetryCapture.Spans.Snapshot().Where(s => s.TraceId == traceId).ToList();
        foreach (var s in trace.OrderBy(s => s.StartTimeUtc))
            log.WriteLine($"{s.Source.Name} {s.Kind} {s.OperationName} {s.SpanId} <- {s.ParentSpanId}");
        var (mm, _) = AssertResponderNegotiation(spans, pair, run.Cookie);

        // Where the trace starts: the front-end's call that carried MM1, an Orleans client span on silo A; its server
        // side on silo B is the parent of ikev1.main_mode; every later span hangs under main mode (checked above).
        var root = Assert.Single(trace, s => s.ParentSpanId == default);
        Assert.Equal(ActivityKind.Client, root.Kind);
        Assert.EndsWith("Receive", root.OperationName, StringComparison.Ordinal);
        var server = Assert.Single(trace, s => s.SpanId == mm.ParentSpanId);
        Assert.Equal(ActivityKind.Server, server.Kind);
        Assert.Equal(root.SpanId, server.ParentSpanId);
        // Every span of the trace is connected to the root (no orphan parent IDs).
        var ids = trace.Select(s => s.SpanId).ToHashSet();
        Assert.All(trace.Where(s => s != root), s => Assert.Contains(s.ParentSpanId, ids));
        AssertNoSecrets(SecretsOf(pair));
    }

    [Fact]
    public void The_secret_scan_finds_what_it_looks_for()
    {
        // The scan must be able to fail: a span carrying the key is found.
        using var span = TelemetryCapture.TestSource.StartActivity("test.planted");
        span!.SetTag("planted", "pre-shared-key " + PreSharedKey);
        span.AddEvent(new ActivityEvent("e", tags: new ActivityTagsCollection { ["k"] = Convert.ToHexString([1, 2, 3, 0xab]) }));
        span.Stop();
        Assert.NotEmpty(Leaks([span], [PreSharedKey]));
        Assert.NotEmpty(Leaks([span], SecretsOf([1, 2, 3, 0xab])));
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>
    /// The responder's spans of one successful negotiation of the seed's tunnel: main mode and quick mode (Ok, quick
    /// mode under main mode), MM1…QM3 in order under their phase span, and the attributes NegotiationTelemetry.Attributes names.
    /// </summary>
    private static (Activity MainMode, Activity QuickMode) AssertResponderNegotiation(List<Activity> spans, IpsecSaPair pair, ulong cookie)
    {
        var mm = Assert.Single(spans, s => s.OperationName == NegotiationTelemetry.MainModeSpan);
        var qm = Assert.Single(spans, s => s.OperationName == NegotiationTelemetry.QuickModeSpan);
        Assert.Equal(ActivityStatusCode.Ok, mm.Status);
        Assert.Equal(ActivityStatusCode.Ok, qm.Status);
        Assert.Equal(mm.SpanId, qm.ParentSpanId);

        var messages = spans.Where(s => s.GetTagItem(A.Message) is not null).OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(["MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3"], messages.Select(s => s.OperationName));
        Assert.Equal(["in", "out", "in", "out", "in", "out", "in", "out", "in"], messages.Select(s => (string?)s.GetTagItem(A.Direction)));
        Assert.All(messages.Take(6), s => Assert.Equal(mm.SpanId, s.ParentSpanId));
        Assert.All(messages.Skip(6), s => Assert.Equal(qm.SpanId, s.ParentSpanId));

        // Identity on every span of the SA.
        var responderCookie = (string?)mm.GetTagItem(A.ResponderCookie);
        Assert.Matches("^[0-9a-f]{16}$", responderCookie);
        Assert.NotEqual("0000000000000000", responderCookie);
        foreach (var s in spans)
        {
            Assert.Equal("10.0.0.1", s.GetTagItem(A.Peer));
            Assert.Equal(cookie.ToString("x16"), s.GetTagItem(A.InitiatorCookie));
            Assert.Equal("responder", s.GetTagItem(A.Role));
        }
        // The chosen phase 1 proposal (policy 10: 3des, sha, group 2, 86400 s) once MM1 was answered.
        foreach (var s in messages.Skip(1).Append(mm))
        {
            // The tunnel group is known from MM3 on (the responder looks it up by the peer's address).
            if (s.OperationName is not "MM2") Assert.Equal("10.0.0.1", s.GetTagItem(A.TunnelGroup));
            Assert.Equal(OakleyEncryption.TripleDesCbc.ToString(), s.GetTagItem(A.P1Encryption));
            Assert.Equal(OakleyHash.Sha.ToString(), s.GetTagItem(A.P1Hash));
            Assert.Equal(((IkeActors.Protocol.OakleyGroup)2).ToString(), s.GetTagItem(A.P1Group));
            Assert.Equal(OakleyAuthMethod.PreSharedKey.ToString(), s.GetTagItem(A.P1Authentication));
            Assert.Equal(86400, s.GetTagItem(A.P1Lifetime));
        }
        Assert.Equal(false, mm.GetTagItem(A.NatDetected));
        Assert.Equal(responderCookie, messages[5].GetTagItem(A.ResponderCookie));
        // Quick Mode: message ID, SPIs (the responder's inbound is the initiator's outbound), the chosen transform.
        foreach (var s in messages.Skip(6).Append(qm))
            Assert.Equal(pair.MessageId.ToString("x8"), s.GetTagItem(A.MessageId));
        foreach (var s in new[] { qm, messages[7], messages[8] })
        {
            Assert.Equal(pair.Outbound.Spi.ToString("x8"), s.GetTagItem(A.InboundSpi));
            Assert.Equal(pair.Inbound.Spi.ToString("x8"), s.GetTagItem(A.OutboundSpi));
            Assert.Equal(pair.Transform.Cipher.ToString(), s.GetTagItem(A.P2Encryption));
            Assert.Equal(pair.Transform.Integrity.ToString(), s.GetTagItem(A.P2Integrity));
            Assert.Equal(3600, s.GetTagItem(A.P2Lifetime));
        }
        Assert.Equal(pair.CryptoMap, qm.GetTagItem(A.CryptoMap));
        return (mm, qm);
    }

    /// <summary>The spans of the negotiation source for one IKE SA (by initiator cookie).</summary>
    private static List<Activity> OurSpans(ulong cookie) =>
        TelemetryCapture.Spans.Snapshot()
            .Where(s => s.Source.Name == NegotiationTelemetry.Name && (string?)s.GetTagItem(A.InitiatorCookie) == cookie.ToString("x16"))
            .ToList();

    /// <summary>Every key byte string of an installed pair, as hex (both cases) and base64.</summary>
    private static List<string> SecretsOf(IpsecSaPair pair) =>
        [.. SecretsOf(pair.Inbound.EncryptionKey), .. SecretsOf(pair.Inbound.IntegrityKey), .. SecretsOf(pair.Outbound.EncryptionKey), .. SecretsOf(pair.Outbound.IntegrityKey)];

    private static List<string> SecretsOf(byte[] key)
    {
        Assert.Contains(key, b => b != 0); // not zeroed yet: the scan would look for nothing
        var hex = Convert.ToHexString(key);
        return [hex, hex.ToLowerInvariant(), Convert.ToBase64String(key)];
    }

    private static void AssertNoSecrets(IReadOnlyCollection<string> secrets)
    {
        var all = TelemetryCapture.Spans.Snapshot().Where(s => s.OperationName != "test.planted").ToList();
        Assert.NotEmpty(all);
        var leaks = Leaks(all, [PreSharedKey, .. secrets]);
        Assert.True(leaks.Count == 0, "secrets in telemetry:\n" + string.Join("\n", leaks));
    }

    /// <summary>Every text of every span: names, status, attributes, events and their attributes, links, baggage.</summary>
    private static List<string> Leaks(IEnumerable<Activity> spans, IEnumerable<string> secrets)
    {
        var leaks = new List<string>();
        var secretList = secrets.ToList();
        foreach (var s in spans)
        {
            var texts = new List<string> { s.OperationName, s.DisplayName, s.StatusDescription ?? "", s.TraceStateString ?? "" };
            texts.AddRange(s.TagObjects.Select(t => $"{t.Key}={Text(t.Value)}"));
            texts.AddRange(s.Baggage.Select(b => $"{b.Key}={b.Value}"));
            foreach (var e in s.Events)
            {
                texts.Add(e.Name);
                texts.AddRange(e.Tags.Select(t => $"{t.Key}={Text(t.Value)}"));
            }
            foreach (var l in s.Links) texts.AddRange(l.Tags?.Select(t => $"{t.Key}={Text(t.Value)}") ?? []);
            foreach (var text in texts)
                foreach (var secret in secretList)
                    if (text.Contains(secret, StringComparison.Ordinal)) leaks.Add($"{s.OperationName}: {text}");
        }
        return leaks;
    }

    private static string Text(object? value) => value switch
    {
        null => "",
        byte[] bytes => Convert.ToHexString(bytes) + " " + Convert.ToBase64String(bytes),
        System.Collections.IEnumerable e and not string => string.Join(",", e.Cast<object?>().Select(Text)),
        _ => value.ToString() ?? "",
    };

    /// <summary>
    /// The peer engine (10.0.0.1) sees ICMP from 192.168.1.10 to <paramref name="destination"/> under a test root
    /// span and talks to the cluster until both are quiet: the root's trace ID, the IKE SA's cookie, the peer's output.
    /// </summary>
    private async Task<(ActivityTraceId TraceId, ulong Cookie, NegotiationOutput PeerOutput)> NegotiateFromPeer(
        NegotiationEngine left, string destination, string rootName)
    {
        var lo = new NegotiationOutput();
        using var root = TelemetryCapture.TestSource.StartActivity(rootName);
        Assert.NotNull(root);
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse(destination), 1), lo);
        var (_, cookie) = (await PeerPump.RunAsync(fixture.Cluster.Client, left, lo, 0, 127)).GrainAndCookie;
        return (root.TraceId, cookie, lo);
    }

    /// <summary>`clear crypto isakmp sa` for every IKE SA of the fixture with the peer (10.0.0.1).</summary>
    private async Task ClearPeerSas()
    {
        var keys = await SaDirectory.List(fixture.Cluster.Client);
        foreach (var key in keys.Where(k => k.StartsWith(Left.Address + "/", StringComparison.Ordinal)))
            await fixture.Cluster.Client.GetGrain<IIkeSaAdmin>(key).Clear();
    }

    private static IkeActors.Config.Model.AsaConfig Valid(string text)
    {
        var loaded = AsaConfigLoader.Load(text);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        return loaded.Config;
    }
}
