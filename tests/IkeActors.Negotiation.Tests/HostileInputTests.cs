using System.Buffers.Binary;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// Tampered, random, truncated and misaddressed datagrams at every step. None throws; none installs
/// an SA with keys the peer does not have; garbage is dropped and the real message still completes
/// the negotiation.
/// </summary>
public class HostileInputTests
{
    public static TheoryData<string> Steps => new() { "MM1", "MM2", "MM3", "MM4", "MM5", "MM6", "QM1", "QM2", "QM3" };

    public static TheoryData<string, string> EncryptedSteps
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var step in new[] { "MM5", "MM6", "QM1", "QM2", "QM3" })
                foreach (var where in new[] { "first", "middle", "last" })
                    data.Add(step, where);
            return data;
        }
    }

    /// <summary>Lets retransmission timers fire on both sides until the negotiation settles.</summary>
    private static void Settle(Lab lab)
    {
        for (var i = 0; i < 6; i++)
        {
            lab.FireTimers(left: true, TimerKind.Retransmit);
            lab.Run();
            lab.FireTimers(left: false, TimerKind.Retransmit);
            lab.Run();
        }
    }

    [Theory]
    [MemberData(nameof(EncryptedSteps))]
    public void A_tampered_encrypted_message_is_dropped_or_fails_never_wrong_keys(string step, string where)
    {
        var classifier = new StepClassifier();
        var tampered = 0;
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.Tamper = (fromLeft, _, d) =>
        {
            if (tampered > 0 || classifier.Classify(fromLeft, d) != step) return d;
            tampered++;
            var copy = d.ToArray();
            // The body after the 28-byte header is CBC ciphertext (RFC 2408 §3.1 E flag, RFC 2409 Appendix B).
            var offset = where switch { "first" => 28, "middle" => 28 + (d.Length - 28) / 2, _ => d.Length - 1 };
            copy[offset] ^= 0x5a;
            return copy;
        };
        lab.AcquireAndRun();
        Settle(lab);
        Assert.Equal(1, tampered);

        var leftInstalls = lab.LeftOutput.OfType<InstallIpsecSa>().ToList();
        var rightInstalls = lab.RightOutput.OfType<InstallIpsecSa>().ToList();
        Assert.True(leftInstalls.Count <= 1 && rightInstalls.Count <= 1);
        if (leftInstalls.Count == 1 && rightInstalls.Count == 1)
        {
            LabAssert.TunnelUp(lab);
        }
        else if (leftInstalls.Count == 1)
        {
            // The one case IKEv1 cannot catch: the CBC padding of QM2 is not covered by HASH(2) (RFC 2409
            // §5.5), so a change confined to it is accepted, and the initiator's IV for QM3 (the last
            // QM2 block it received, RFC 2409 Appendix B) is no longer the responder's. The initiator
            // holds correct keys; the responder never hears a QM3 it can read and gives up on the exchange.
            Assert.Equal(("QM2", "last"), (step, where));
            var failed = Assert.Single(lab.RightOutput.OfType<NegotiationFailed>());
            Assert.Equal((IkeExchange.QuickMode, FailureReason.RetransmissionsExhausted), (failed.Exchange, failed.Reason));
            Assert.Empty(rightInstalls);
        }
        else
        {
            // Otherwise no side holds an IPsec SA the other does not have.
            LabAssert.NoInstall(lab);
            Assert.NotEmpty(lab.LeftOutput.OfType<NegotiationFailed>().Concat(lab.RightOutput.OfType<NegotiationFailed>()));
        }

        // A change in the first cipher block garbles the first payload header: the message does not parse.
        if (where != "first") return;
        switch (step)
        {
            case "MM5":
                // The ASA's reading of an MM5 that does not decrypt: the keys differ (RFC 2409 §5), abort.
                LabAssert.Line(lab.RightLines, "[IKEv1]: IP = 10.0.0.1, Received encrypted Oakley Main Mode packet with invalid payloads, MessID = 0");
                LabAssert.Line(lab.RightLines, "[IKEv1]: IP = 10.0.0.1, ERROR, had problems decrypting packet, probably due to mismatched pre-shared key. Aborting");
                Assert.Equal(FailureReason.AuthenticationFailed, Assert.Single(lab.RightOutput.OfType<NegotiationFailed>()).Reason);
                LabAssert.Line(lab.LeftLines, "[IKEv1]: IP = 10.0.0.2, IKE session establishment timed out [MM_WAIT_MSG6], aborting!");
                Assert.Empty(lab.Left.Sas);
                Assert.Empty(lab.Right.Sas);
                break;
            case "MM6":
                LabAssert.Line(lab.LeftLines, "[IKEv1]: IP = 10.0.0.2, Received encrypted Oakley Main Mode packet with invalid payloads, MessID = 0");
                LabAssert.Line(lab.LeftLines, "[IKEv1]: IP = 10.0.0.2, ERROR, had problems decrypting packet, probably due to mismatched pre-shared key. Aborting");
                Assert.Equal(FailureReason.AuthenticationFailed, Assert.Single(lab.LeftOutput.OfType<NegotiationFailed>()).Reason);
                Assert.Empty(lab.Left.Sas);
                Assert.DoesNotContain(lab.LeftLines, l => l.EndsWith("PHASE 1 COMPLETED"));
                break;
            default:
                // Quick Mode: the datagram is dropped before anything changes (the IV included, RFC 2409
                // Appendix B), and the retransmission that follows completes the exchange.
                LabAssert.TunnelUp(lab);
                Assert.DoesNotContain(lab.LeftLines.Concat(lab.RightLines), l => l.Contains("QM FSM error") || l.Contains("non-routine Notify"));
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Steps))]
    public void Garbage_truncations_and_wrong_cookies_before_each_message_are_dropped_and_the_tunnel_still_comes_up(string step)
    {
        var classifier = new StepClassifier();
        var random = new Random(step.GetHashCode(StringComparison.Ordinal) & 0x7fff);
        var injected = 0;
        Lab? labRef = null;
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        labRef = lab;
        lab.Tamper = (fromLeft, _, d) =>
        {
            if (classifier.Classify(fromLeft, d) != step || injected > 0) return d;
            foreach (var junk in Garbage(step, d, random))
            {
                injected++;
                if (fromLeft) lab.Right.Receive(junk, Lab.LeftAddress, lab.RightOutput);
                else lab.Left.Receive(junk, Lab.RightAddress, lab.LeftOutput);
            }
            return d;
        };
        lab.AcquireAndRun();
        Settle(lab);

        Assert.True(injected > 50);
        LabAssert.TunnelUp(lab);
        foreach (var lines in new[] { lab.LeftLines, lab.RightLines })
        {
            Assert.Single(lines, l => l.EndsWith("PHASE 1 COMPLETED"));
            Assert.Single(lines, l => l.Contains("PHASE 2 COMPLETED"));
        }
    }

    /// <summary>
    /// Random datagrams of several sizes, the real header over a random body, every truncation of the
    /// real message, and the real message with a changed cookie where the receiver knows both cookies.
    /// (A changed cookie on MM1 is a new, valid MM1, and MM2 fixes the responder cookie, RFC 2408 §2.5.3;
    /// the real header over a random MM5/MM6 body is the tampering case above.)
    /// </summary>
    private static IEnumerable<byte[]> Garbage(string step, byte[] real, Random random)
    {
        foreach (var length in new[] { 0, 1, 8, 27, 28, 29, 64, real.Length, 1500 })
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            yield return bytes;
        }
        if (step is not ("MM5" or "MM6"))
        {
            for (var i = 0; i < 4; i++)
            {
                var bytes = real.ToArray();
                random.NextBytes(bytes.AsSpan(28));
                yield return bytes;
            }
        }
        for (var n = 0; n < real.Length; n++) yield return real[..n];
        {
            var bytes = real.ToArray();
            bytes[3] ^= 0x01;
            if (step == "MM1") bytes[15] = 0x01;
            yield return bytes;
        }
        if (step is not ("MM1" or "MM2"))
        {
            var bytes = real.ToArray();
            bytes[12] ^= 0x01;
            yield return bytes;
        }
    }

    [Fact]
    public void Replays_of_every_message_and_garbage_after_the_tunnel_is_up_change_nothing()
    {
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.AcquireAndRun();
        var (left, right) = LabAssert.TunnelUp(lab);
        var leftSpi = left.Inbound.Spi;
        var leftKey = left.Inbound.EncryptionKey.ToArray();
        var random = new Random(42);

        // Everything each side ever sent, replayed to the other (RFC 2408 §5 anti-replay is the
        // exchange state: nothing old may start anything new), then random and truncated datagrams.
        var fromLeft = lab.LeftOutput.OfType<SendDatagram>().Select(s => s.Datagram).ToList();
        var fromRight = lab.RightOutput.OfType<SendDatagram>().Select(s => s.Datagram).ToList();
        foreach (var d in fromLeft) lab.Right.Receive(d, Lab.LeftAddress, lab.RightOutput);
        foreach (var d in fromRight) lab.Left.Receive(d, Lab.RightAddress, lab.LeftOutput);
        foreach (var d in fromLeft.Concat(fromRight))
        {
            for (var n = 0; n < d.Length; n += 7)
            {
                lab.Right.Receive(d[..n], Lab.LeftAddress, lab.RightOutput);
                lab.Left.Receive(d[..n], Lab.RightAddress, lab.LeftOutput);
            }
            var junk = d.ToArray();
            random.NextBytes(junk.AsSpan(28));
            lab.Right.Receive(junk, Lab.LeftAddress, lab.RightOutput);
            lab.Left.Receive(junk, Lab.RightAddress, lab.LeftOutput);
        }
        lab.Run();

        var (left2, right2) = LabAssert.TunnelUp(lab);
        Assert.Same(left, left2);
        Assert.Equal(leftSpi, left2.Inbound.Spi);
        Assert.Equal(leftKey, left2.Inbound.EncryptionKey);
        Assert.Single(lab.Left.Sas.Single().IpsecSas);
        Assert.Single(lab.Right.Sas.Single().IpsecSas);
        Assert.Empty(lab.Left.Sas.Single().QuickModes);
        Assert.Empty(lab.Right.Sas.Single().QuickModes);
        foreach (var lines in new[] { lab.LeftLines, lab.RightLines })
        {
            Assert.Single(lines, l => l.EndsWith("PHASE 1 COMPLETED"));
            Assert.Single(lines, l => l.Contains("PHASE 2 COMPLETED"));
        }
    }

    [Fact]
    public void A_message_no_receive_trigger_permits_is_dropped_as_unexpected_and_changes_nothing()
    {
        // QM1 is held back: Phase 1 is up on the responder, and the datagram still decrypts under the IV of its message ID (RFC 2409 Appendix B).
        byte[]? qm1 = null;
        var classifier = new StepClassifier();
        using var lab = new Lab(Configs.Initiator, Configs.Responder);
        lab.Tamper = (fromLeft, _, d) =>
        {
            if (classifier.Classify(fromLeft, d) != "QM1") return d;
            qm1 ??= d;
            return null;
        };
        lab.AcquireAndRun();
        Assert.NotNull(qm1);
        var sa = lab.Right.Sas.Single();
        var messageId = BinaryPrimitives.ReadUInt32BigEndian(qm1.AsSpan(20));

        // A responder's exchange that has not taken QM1: its machine permits neither ReceivedQm2 nor ReceivedQm3.
        using var qm = new QuickModeExchange(sa, messageId, IkeRole.Responder);
        var output = new NegotiationOutput();
        qm.Receive(qm1, output);
        qm.TimerFired(new TimerKey(TimerKind.Retransmit, messageId), output);

        var dropped = Assert.IsType<MessageDropped>(Assert.Single(output.Actions));
        Assert.Equal(DropReason.UnexpectedMessage, dropped.Reason);
        Assert.Equal(QuickModeState.QM_IDLE, qm.State);
        Assert.Equal(0u, qm.InboundSpi);
        Assert.Empty(output.DebugLines);
        Assert.Empty(sa.QuickModes);
        Assert.Empty(sa.IpsecSas);
    }
}
