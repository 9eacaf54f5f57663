using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// IKE SA snapshots (an SA grain persists its state after every completed exchange and
/// continues on another silo): snapshot, JSON round trip (plain data), restore into a new engine,
/// and the SA goes on as if nothing happened.
/// </summary>
public class SnapshotTests
{
    private static readonly string LeftConfig = Lab.SampleConfig("asa1-initiator.cfg");
    private static readonly string RightConfig = Lab.SampleConfig("asa2-responder.cfg");

    /// <summary>tcp 192.168.1.10:40000 -> 192.168.2.10:80: the ACL's tcp line, so a second Quick Mode.</summary>
    private static readonly Packet Web = new(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 6, 40000, 80);

    private const byte QuickModeExchange = 32; // RFC 2408 §3.1 exchange type, header octet 18

    /// <summary>Through the JSON form the hosts store and hand over (<see cref="IkeSaSnapshotJson"/>).</summary>
    private static IkeSaSnapshot RoundTrip(IkeSaSnapshot snapshot) =>
        IkeSaSnapshotJson.Deserialize(IkeSaSnapshotJson.Serialize(snapshot))!;

    /// <summary>
    /// The generated serializer writes what System.Text.Json's reflection serializer wrote before it (snapshots stored
    /// by an earlier version, in Redis, still restore) and reads that back; text that is no snapshot is a JsonException.
    /// </summary>
    [Fact]
    public void The_generated_json_is_the_reflection_serializers_json()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        lab.AcquireAndRun();
        foreach (var sa in lab.Left.Sas.Concat(lab.Right.Sas))
        {
            var snapshot = sa.Snapshot();
            var generated = IkeSaSnapshotJson.Serialize(snapshot);
            var reflection = JsonSerializer.SerializeToUtf8Bytes(snapshot);
            Assert.Equal(System.Text.Encoding.UTF8.GetString(reflection), System.Text.Encoding.UTF8.GetString(generated));
            Assert.Equal(generated, IkeSaSnapshotJson.Serialize(IkeSaSnapshotJson.Deserialize(reflection)!));
            Assert.Single(snapshot.QuickModes);
        }
        Assert.Throws<JsonException>(() => IkeSaSnapshotJson.Deserialize("{\"Version\": \"one\"}"u8));
        Assert.Null(IkeSaSnapshotJson.Deserialize("null"u8));
    }

    /// <summary>Replaces one side with a new engine (new process: fresh randomness) that restores the snapshot.</summary>
    private static IkeSa Failover(Lab lab, bool left, IkeSaSnapshot snapshot, int seed = 4242)
    {
        var old = left ? lab.Left : lab.Right;
        var engine = new NegotiationEngine(new GatewayContext(Lab.Load(left ? LeftConfig : RightConfig),
            left ? Lab.LeftAddress : Lab.RightAddress, new SeededEnvironment(seed)));
        if (left) lab.Left = engine; else lab.Right = engine;
        old.Dispose();
        return engine.Restore(RoundTrip(snapshot), left ? lab.LeftOutput : lab.RightOutput);
    }

    private static void AssertPairsMatch(IpsecSaPair a, IpsecSaPair b)
    {
        Assert.Equal(a.Inbound.Spi, b.Outbound.Spi);
        Assert.Equal(a.Outbound.Spi, b.Inbound.Spi);
        Assert.Equal(a.Inbound.EncryptionKey, b.Outbound.EncryptionKey);
        Assert.Equal(a.Inbound.IntegrityKey, b.Outbound.IntegrityKey);
        Assert.Equal(a.Outbound.EncryptionKey, b.Inbound.EncryptionKey);
        Assert.Equal(a.Outbound.IntegrityKey, b.Inbound.IntegrityKey);
        Assert.Equal(a.MessageId, b.MessageId);
    }

    /// <summary>Debug lines with SPIs, message IDs and other hex numbers masked (they come from each run's randomness).</summary>
    private static List<string> Masked(IEnumerable<string> lines) =>
        lines.Select(l => Regex.Replace(l, @"\b(0x)?[0-9A-Fa-f]{8}\b", "<hex>")).ToList();

    /// <summary>The debug lines a gateway printed from action <paramref name="start"/> on.</summary>
    private static List<string> LinesFrom(NegotiationOutput output, int start) =>
        output.Actions.Skip(start).OfType<DebugEvent>().Select(d => d.ConsoleLine).ToList();

    [Fact]
    public void A_responder_restored_from_json_answers_a_second_quick_mode_as_before()
    {
        // Control: the same two Quick Modes without a failover.
        using var control = new Lab(LeftConfig, RightConfig);
        control.AcquireAndRun();
        var controlStart = control.RightOutput.Actions.Count;
        Assert.True(control.Left.Acquire(Web, control.LeftOutput));
        control.Run();
        var expectedLines = Masked(LinesFrom(control.RightOutput, controlStart));

        using var lab = new Lab(LeftConfig, RightConfig);
        lab.AcquireAndRun();
        var original = Assert.Single(lab.Right.Sas);
        var snapshot = original.Snapshot();
        Assert.Equal(MainModeState.MM_ACTIVE, snapshot.State);
        Assert.Single(snapshot.QuickModes);

        var restored = Failover(lab, left: false, snapshot);
        Assert.Equal(MainModeState.MM_ACTIVE, restored.State);
        Assert.Equal(original.InitiatorCookie, restored.InitiatorCookie);
        Assert.Equal(original.ResponderCookie, restored.ResponderCookie);
        Assert.Empty(restored.QuickModes);
        Assert.Equal(IpsecSaState.Installed, Assert.Single(restored.IpsecSas).State);
        var start = lab.RightOutput.Actions.Count;

        Assert.True(lab.Left.Acquire(Web, lab.LeftOutput));
        lab.Run();

        var leftPairs = lab.LeftOutput.OfType<InstallIpsecSa>().Select(i => i.Pair).ToList();
        Assert.Equal(2, leftPairs.Count);
        var rightPair = Assert.Single(lab.RightOutput.Actions.Skip(start).OfType<InstallIpsecSa>()).Pair;
        AssertPairsMatch(leftPairs[1], rightPair);
        Assert.Equal(6, rightPair.Local.Protocol);          // the tcp line of the ACL
        Assert.Equal(2, restored.IpsecSas.Count);
        Assert.Empty(lab.RightOutput.Actions.Skip(start).OfType<NegotiationFailed>());
        Assert.DoesNotContain(lab.RightOutput.Actions.Skip(start), a => a is MessageDropped);
        // The restored responder prints what the one that never moved printed.
        var lines = Masked(LinesFrom(lab.RightOutput, start));
        Assert.Contains(lines, l => l.Contains("PHASE 2 COMPLETED", StringComparison.Ordinal));
        Assert.Equal(expectedLines, lines);
    }

    [Fact]
    public void An_initiator_restored_from_json_negotiates_and_its_delete_is_accepted()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        lab.AcquireAndRun();
        var snapshot = Assert.Single(lab.Left.Sas).Snapshot();
        Assert.Equal(IkeRole.Initiator, snapshot.Role);
        Assert.True(snapshot.InitialContactSent);

        var restored = Failover(lab, left: true, snapshot);
        var rightStart = lab.RightOutput.Actions.Count;
        var leftStart = lab.LeftOutput.Actions.Count;
        Assert.True(lab.Left.Acquire(Web, lab.LeftOutput));
        lab.Run();
        var leftPair = Assert.Single(lab.LeftOutput.Actions.Skip(leftStart).OfType<InstallIpsecSa>()).Pair;
        var rightPair = Assert.Single(lab.RightOutput.Actions.Skip(rightStart).OfType<InstallIpsecSa>()).Pair;
        AssertPairsMatch(leftPair, rightPair);
        // INITIAL-CONTACT went with the first Quick Mode only, before the failover.
        Assert.Empty(lab.RightOutput.Actions.Skip(rightStart).OfType<InitialContactReceived>());

        // The restored initiator deletes everything; the responder accepts the encrypted DELETEs.
        rightStart = lab.RightOutput.Actions.Count;
        var restoredPair = restored.IpsecSas.Single(q => q.MessageId == snapshot.QuickModes[0].MessageId).Pair;
        Assert.Contains(restoredPair.Inbound.EncryptionKey, b => b != 0);
        restored.Delete(lab.LeftOutput);
        // The keys the restore copied out of the snapshot are zeroed with the SA.
        Assert.All(restoredPair.Inbound.EncryptionKey, b => Assert.Equal(0, b));
        Assert.All(restoredPair.Outbound.IntegrityKey, b => Assert.Equal(0, b));
        lab.Run();
        var rightActions = lab.RightOutput.Actions.Skip(rightStart).ToList();
        Assert.Single(rightActions.OfType<IkeSaDeleted>());
        Assert.Equal(2, rightActions.OfType<IpsecSaDeleted>().Count());
        Assert.Empty(lab.Right.Sas);
        Assert.DoesNotContain(LinesFrom(lab.RightOutput, rightStart), l => l.Contains("processing failed", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void A_duplicate_of_the_last_request_gets_the_identical_last_answer_after_a_restore()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        lab.AcquireAndRun();
        var leftSent = lab.LeftOutput.OfType<SendDatagram>().Select(s => s.Datagram).ToList();
        var rightSent = lab.RightOutput.OfType<SendDatagram>().Select(s => s.Datagram).ToList();
        // MM1 MM3 MM5 QM1 QM3 from the left; MM2 MM4 MM6 QM2 from the right.
        Assert.Equal(5, leftSent.Count);
        Assert.Equal(4, rightSent.Count);

        Failover(lab, left: false, Assert.Single(lab.Right.Sas).Snapshot());
        var start = lab.RightOutput.Actions.Count;
        lab.Right.Receive(leftSent[2], Lab.LeftAddress, lab.RightOutput);   // MM5 again: MM6 lost
        var resent = Assert.Single(lab.RightOutput.Actions.Skip(start).OfType<SendDatagram>());
        Assert.True(resent.IsRetransmission);
        Assert.Equal(rightSent[2], resent.Datagram);

        start = lab.RightOutput.Actions.Count;
        lab.Right.Receive(leftSent[3], Lab.LeftAddress, lab.RightOutput);   // QM1 again: QM2 lost
        resent = Assert.Single(lab.RightOutput.Actions.Skip(start).OfType<SendDatagram>());
        Assert.Equal(rightSent[3], resent.Datagram);
        Assert.Empty(lab.RightOutput.Actions.Skip(start).OfType<InstallIpsecSa>());
    }

    [Fact]
    public void An_initiator_in_the_middle_of_a_phase_2_rekey_is_restored_and_finishes_it_make_before_break()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        lab.AcquireAndRun();
        var oldPair = Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>()).Pair;
        byte[]? qm2 = null;
        lab.Tamper = (fromLeft, _, bytes) =>
        {
            if (!fromLeft && bytes[18] == QuickModeExchange && qm2 is null) { qm2 = bytes; return null; }
            return bytes;
        };
        lab.FireTimers(left: true, TimerKind.Phase2Rekey);
        lab.Run();
        Assert.NotNull(qm2);
        var sa = Assert.Single(lab.Left.Sas);
        var snapshot = sa.Snapshot();
        var oldSnapshot = snapshot.QuickModes.Single(q => q.MessageId == oldPair.MessageId);
        var rekeySnapshot = snapshot.QuickModes.Single(q => q.MessageId != oldPair.MessageId);
        Assert.Equal((rekeySnapshot.MessageId, oldPair.MessageId), (oldSnapshot.RekeyedBy, rekeySnapshot.RekeyOf));
        Assert.Equal(QuickModeState.QM_WAIT_MSG2, rekeySnapshot.State);

        var restored = Failover(lab, left: true, snapshot);
        Assert.Contains(restored.QuickModes, q => q.RekeyOf == oldPair.MessageId);
        lab.Tamper = null;
        var start = lab.LeftOutput.Actions.Count;
        lab.Left.Receive(qm2!, Lab.RightAddress, lab.LeftOutput);
        lab.Run();
        var after = lab.LeftOutput.Actions.Skip(start).ToList();
        var installed = after.FindIndex(a => a is InstallIpsecSa i && i.Pair.MessageId == rekeySnapshot.MessageId);
        var deleted = after.FindIndex(a => a is IpsecSaDeleted d && d.InboundSpi == oldPair.Inbound.Spi && d.Reason == "rekeyed");
        Assert.True(installed >= 0 && deleted > installed, $"install at {installed}, delete at {deleted}");
        AssertPairsMatch(((InstallIpsecSa)after[installed]).Pair, lab.RightOutput.OfType<InstallIpsecSa>().Last().Pair);
        Assert.Single(restored.IpsecSas);
        Assert.Single(Assert.Single(lab.Right.Sas).IpsecSas);
    }

    [Fact]
    public void A_responder_waiting_for_qm3_is_restored_and_completes_the_quick_mode()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        var leftQuickModes = 0;
        byte[]? qm3 = null;
        lab.Tamper = (fromLeft, _, bytes) =>
        {
            if (fromLeft && bytes[18] == QuickModeExchange && ++leftQuickModes == 2) { qm3 = bytes; return null; }
            return bytes;
        };
        lab.AcquireAndRun();
        Assert.NotNull(qm3);
        var qm = Assert.Single(Assert.Single(lab.Right.Sas).QuickModes);
        Assert.Empty(Assert.Single(lab.Right.Sas).IpsecSas);
        Assert.Equal(QuickModeState.QM_WAIT_MSG3, qm.State);
        var snapshot = Assert.Single(lab.Right.Sas).Snapshot();
        var qmSnapshot = Assert.Single(snapshot.QuickModes);
        Assert.Null(qmSnapshot.Inbound);
        Assert.Contains(snapshot.Keys!.Phase2Ivs, iv => iv.MessageId == qm.MessageId);

        var restored = Failover(lab, left: false, snapshot);
        // The restored responder keeps retransmitting QM2.
        Assert.Contains(lab.RightOutput.Actions.OfType<ArmTimer>(), t => t.Key == new TimerKey(TimerKind.Retransmit, qm.MessageId));
        var start = lab.RightOutput.Actions.Count;
        lab.Right.Receive(qm3!, Lab.LeftAddress, lab.RightOutput);
        var rightPair = Assert.Single(lab.RightOutput.Actions.Skip(start).OfType<InstallIpsecSa>()).Pair;
        AssertPairsMatch(Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>()).Pair, rightPair);
        Assert.Empty(restored.QuickModes);
        Assert.Equal(IpsecSaState.Installed, Assert.Single(restored.IpsecSas).State);
    }

    [Fact]
    public void A_responder_waiting_for_mm5_is_restored_and_the_tunnel_comes_up()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        byte[]? mm5 = null;
        var leftSends = 0;
        lab.Tamper = (fromLeft, _, bytes) =>
        {
            if (fromLeft && ++leftSends == 3) { mm5 = bytes; return null; }
            return bytes;
        };
        lab.AcquireAndRun();
        lab.Tamper = null;
        var sa = Assert.Single(lab.Right.Sas);
        Assert.Equal(MainModeState.MM_WAIT_MSG5, sa.State);
        var snapshot = sa.Snapshot();
        Assert.NotNull(snapshot.Keys);
        Assert.NotNull(snapshot.PendingPeerNatMatches);

        Failover(lab, left: false, snapshot);
        lab.Right.Receive(mm5!, Lab.LeftAddress, lab.RightOutput);
        lab.Run();
        AssertPairsMatch(Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>()).Pair, Assert.Single(lab.RightOutput.OfType<InstallIpsecSa>()).Pair);
        Assert.Equal(MainModeState.MM_ACTIVE, Assert.Single(lab.Right.Sas).State);
    }

    [Fact]
    public void An_initiator_waiting_for_mm2_keeps_its_acquires_across_a_restore()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        byte[]? mm2 = null;
        lab.Tamper = (fromLeft, _, bytes) =>
        {
            if (!fromLeft && mm2 is null) { mm2 = bytes; return null; }
            return bytes;
        };
        lab.AcquireAndRun();
        lab.Tamper = null;
        Assert.True(lab.Left.Acquire(Web, lab.LeftOutput));   // queued: Main Mode is not done
        var sa = Assert.Single(lab.Left.Sas);
        Assert.Equal(MainModeState.MM_WAIT_MSG2, sa.State);
        var snapshot = sa.Snapshot();
        Assert.Null(snapshot.Keys);
        Assert.Equal(0ul, snapshot.ResponderCookie);
        Assert.Equal(1, snapshot.InitialAcquire!.Local.Protocol);   // the seed's ICMP
        Assert.Equal(6, Assert.Single(snapshot.PendingAcquires).Local.Protocol);

        // A null byte[] (LastReceived) stays null in the stored form (the generated fast path wrote "").
        Assert.Equal(System.Text.Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(snapshot)), System.Text.Encoding.UTF8.GetString(IkeSaSnapshotJson.Serialize(snapshot)));
        Failover(lab, left: true, snapshot);
        Assert.Contains(lab.LeftOutput.Actions.OfType<ArmTimer>(), t => t.Key == new TimerKey(TimerKind.Retransmit, 0));
        lab.Left.Receive(mm2!, Lab.RightAddress, lab.LeftOutput);
        lab.Run();
        var left = lab.LeftOutput.OfType<InstallIpsecSa>().Select(i => i.Pair).OrderBy(p => p.MessageId).ToList();
        var right = lab.RightOutput.OfType<InstallIpsecSa>().Select(i => i.Pair).OrderBy(p => p.MessageId).ToList();
        Assert.Equal(2, left.Count);
        Assert.Equal(2, right.Count);
        AssertPairsMatch(left[0], right[0]);
        AssertPairsMatch(left[1], right[1]);
        Assert.Equal([1, 6], left.Select(p => p.Local.Protocol).Order());
        Assert.Single(lab.RightOutput.OfType<InitialContactReceived>());
    }

    [Fact]
    public void An_initiator_waiting_for_mm6_is_restored_and_starts_its_quick_mode()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        byte[]? mm6 = null;
        var rightSends = 0;
        lab.Tamper = (fromLeft, _, bytes) =>
        {
            if (!fromLeft && ++rightSends == 3) { mm6 = bytes; return null; }
            return bytes;
        };
        lab.AcquireAndRun();
        lab.Tamper = null;
        var sa = Assert.Single(lab.Left.Sas);
        Assert.Equal(MainModeState.MM_WAIT_MSG6, sa.State);
        var snapshot = sa.Snapshot();
        Assert.NotNull(snapshot.InitialAcquire);

        Failover(lab, left: true, snapshot);
        lab.Left.Receive(mm6!, Lab.RightAddress, lab.LeftOutput);
        lab.Run();
        AssertPairsMatch(Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>()).Pair, Assert.Single(lab.RightOutput.OfType<InstallIpsecSa>()).Pair);
        Assert.Equal(MainModeState.MM_ACTIVE, Assert.Single(lab.Left.Sas).State);
    }

    private static string WithPfs(string path) =>
        File.ReadAllText(path).Replace("crypto map MAP interface outside", "crypto map MAP 10 set pfs group2\ncrypto map MAP interface outside");

    [Fact]
    public void Quick_modes_with_pfs_are_kept_when_active_and_left_out_while_a_private_key_waits()
    {
        var leftConfig = WithPfs(LeftConfig);
        var rightConfig = WithPfs(RightConfig);
        using var lab = new Lab(leftConfig, rightConfig);
        var leftQuickModes = 0;
        lab.Tamper = (fromLeft, _, bytes) => fromLeft && bytes[18] == QuickModeExchange && ++leftQuickModes == 4 ? null : bytes; // second QM3 lost
        lab.AcquireAndRun();
        var first = Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>()).Pair;
        Assert.NotNull(first.Transform.PfsGroup);
        Assert.True(lab.Left.Acquire(Web, lab.LeftOutput));
        lab.Run();
        var right = Assert.Single(lab.Right.Sas);
        Assert.Contains(right.QuickModes, q => q.State == QuickModeState.QM_WAIT_MSG3);
        var waiting = right.QuickModes.Single(q => q.State == QuickModeState.QM_WAIT_MSG3).MessageId;

        var snapshot = right.Snapshot();
        var kept = Assert.Single(snapshot.QuickModes);
        Assert.Equal(first.MessageId, kept.MessageId);
        Assert.NotNull(kept.Transform!.PfsGroup);
        Assert.DoesNotContain(snapshot.Keys!.Phase2Ivs, iv => iv.MessageId == waiting);

        // The active PFS Quick Mode survives the JSON round trip and a new PFS Quick Mode completes.
        var old = lab.Right;
        lab.Right = new NegotiationEngine(new GatewayContext(Lab.Load(rightConfig), Lab.RightAddress, new SeededEnvironment(5)));
        old.Dispose();
        var restored = lab.Right.Restore(RoundTrip(snapshot), lab.RightOutput);
        Assert.Empty(restored.QuickModes);
        Assert.Equal(first.Transform, Assert.Single(restored.IpsecSas).Pair.Transform);
        var start = lab.RightOutput.Actions.Count;
        var leftStart = lab.LeftOutput.Actions.Count;
        // The restored side starts it: tcp traffic its own pairs do not cover (the left holds the pair whose QM3 was lost).
        Assert.True(lab.Right.Acquire(new Packet(IPAddress.Parse("192.168.2.11"), IPAddress.Parse("192.168.1.11"), 6, 80, 40001), lab.RightOutput));
        lab.Run();
        AssertPairsMatch(Assert.Single(lab.LeftOutput.Actions.Skip(leftStart).OfType<InstallIpsecSa>()).Pair,
            Assert.Single(lab.RightOutput.Actions.Skip(start).OfType<InstallIpsecSa>()).Pair);
    }

    [Fact]
    public void An_initiator_between_mm3_and_mm4_holds_a_dh_private_key_and_is_not_snapshotted()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        var rightSends = 0;
        lab.Tamper = (fromLeft, _, bytes) => !fromLeft && ++rightSends == 2 ? null : bytes; // MM4 lost
        lab.AcquireAndRun();
        var sa = Assert.Single(lab.Left.Sas);
        Assert.Equal(MainModeState.MM_WAIT_MSG4, sa.State);
        Assert.False(sa.CanSnapshot);
        Assert.Throws<InvalidOperationException>(() => sa.Snapshot());
        Assert.Empty(lab.Left.Snapshot());
        Assert.Single(lab.Right.Snapshot()); // the responder in MM_WAIT_MSG5 can be
    }

    [Fact]
    public void A_snapshot_never_holds_the_pre_shared_key_and_prints_no_secret()
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        lab.AcquireAndRun();
        foreach (var snapshot in lab.Left.Snapshot().Concat(lab.Right.Snapshot()))
        {
            var json = JsonSerializer.Serialize(snapshot);
            Assert.DoesNotContain("cisco", json, StringComparison.OrdinalIgnoreCase);
            // Byte arrays are base64 in JSON: look inside every one of them too.
            var psk = "cisco"u8.ToArray();
            foreach (var bytes in ByteArrays(JsonNode.Parse(json)!))
                Assert.True(bytes.AsSpan().IndexOf(psk) < 0, "a byte array of the snapshot contains the pre-shared key");
            // By design it does hold the derived keys (documented on IkeSaSnapshot).
            Assert.NotEmpty(snapshot.Keys!.SkeyidD);
            Assert.NotNull(Assert.Single(snapshot.QuickModes).Inbound);

            var text = snapshot.ToString() + snapshot.Keys + snapshot.QuickModes[0] + snapshot.QuickModes[0].Inbound;
            foreach (var secret in new[] { snapshot.Keys.SkeyidA, snapshot.Keys.EncryptionKey, snapshot.QuickModes[0].Inbound!.EncryptionKey })
            {
                Assert.DoesNotContain(Convert.ToHexString(secret), text, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain(Convert.ToBase64String(secret), text, StringComparison.Ordinal);
            }

            snapshot.ClearSecrets();
            Assert.All(snapshot.Keys.EncryptionKey, b => Assert.Equal(0, b));
            Assert.All(snapshot.QuickModes[0].Outbound!.IntegrityKey, b => Assert.Equal(0, b));
        }
    }

    private static IEnumerable<byte[]> ByteArrays(JsonNode node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, v) in o) if (v is not null) foreach (var b in ByteArrays(v)) yield return b;
                break;
            case JsonArray a:
                foreach (var v in a) if (v is not null) foreach (var b in ByteArrays(v)) yield return b;
                break;
            case JsonValue v when v.TryGetValue<string>(out var s):
                var buffer = new byte[s.Length];
                if (Convert.TryFromBase64String(s, buffer, out var n)) yield return buffer[..n];
                yield return Encoding.UTF8.GetBytes(s);
                break;
        }
    }

    public static TheoryData<string, string, string> Tampered => new()
    {
        { "Version", "2", "version 2" },
        { "State", "42", "unknown Main Mode state 42" },
        { "State", "5", "MM_WAIT_MSG4 is not a state a Responder SA" },
        { "Role", "7", "unknown role 7" },
        { "PeerAddress", "\"not-an-address\"", "peer address" },
        { "LocalAddress", "\"10.9.9.9\"", "belongs to gateway address 10.9.9.9" },
        { "InitiatorCookie", "0", "initiator cookie is zero" },
        { "SaiBody", "null", "SAi_b is missing" },
        { "Transform", "null", "phase-1 transform is missing" },
        { "Gxi", "\"AAECAwQFBgcICQ==\"", "g^xi/g^xr are 10/128 bytes" },
        { "Ni", "\"AAE=\"", "nonce lengths" },
        { "Keys", "null", "phase-1 keys are missing" },
        { "Keys.EncryptionKey", "\"AAECAwQFBgcICQoLDA0O\"", "keys do not fit" },
        { "Keys.SkeyidA", "\"AAECAwQFBgcICQoLDA0ODxAREg==\"", "keys do not fit" },
        { "Keys.Skeyid", "null", "key material is incomplete" },
        { "Keys.Phase1Iv", "\"AAECAwQFBgcICQoLDA0ODw==\"", "IV state does not fit the cipher (8-byte blocks" },
        { "LastSent", "\"AQID\"", "last sent datagram is not an ISAKMP message" },
        { "Retransmits", "99", "retransmit count 99" },
        { "QuickModes", "null", "Quick Mode list is missing" },
        { "QuickModes.0.MessageId", "0", "message ID 0" },
        { "QuickModes.0.State", "1", "QM_WAIT_MSG2 is not a state a Responder Quick Mode" },
        { "QuickModes.0.CryptoMap", "\"NOPE\"", "crypto map 'NOPE' is not in the configuration" },
        { "QuickModes.0.Sequence", "99", "has no entry 99" },
        { "QuickModes.0.Inbound", "null", "inbound keys missing" },
        { "QuickModes.0.Inbound.EncryptionKey", "\"AAEC\"", "inbound keys are 3/20 bytes, esp-aes esp-sha-hmac needs 16/20" },
        { "QuickModes.0.Outbound.Spi", "1234", "outbound key SPI" },
        { "QuickModes.0.Transform", "null", "transform missing" },
    };

    [Theory]
    [MemberData(nameof(Tampered))]
    public void A_tampered_snapshot_is_refused_with_a_clear_error(string path, string valueJson, string expected)
    {
        using var lab = new Lab(LeftConfig, RightConfig);
        lab.AcquireAndRun();
        var node = JsonNode.Parse(JsonSerializer.Serialize(Assert.Single(lab.Right.Sas).Snapshot()))!;
        var parts = path.Split('.');
        var parent = parts[..^1].Aggregate(node, (n, p) => int.TryParse(p, out var i) ? n[i]! : n[p]!);
        parent.AsObject()[parts[^1]] = JsonNode.Parse(valueJson);
        var tampered = node.Deserialize<IkeSaSnapshot>()!;

        using var engine = new NegotiationEngine(new GatewayContext(Lab.Load(RightConfig), Lab.RightAddress, new SeededEnvironment(9)));
        var e = Assert.Throws<IkeSaSnapshotException>(() => engine.Restore(tampered, new NegotiationOutput()));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Empty(engine.Sas);
    }

    [Fact]
    public void The_untampered_snapshot_restores_on_the_same_engine_setup()
    {
        // The control for the tampered cases: the same path without a change succeeds.
        using var lab = new Lab(LeftConfig, RightConfig);
        lab.AcquireAndRun();
        var snapshot = RoundTrip(Assert.Single(lab.Right.Sas).Snapshot());
        using var engine = new NegotiationEngine(new GatewayContext(Lab.Load(RightConfig), Lab.RightAddress, new SeededEnvironment(9)));
        var sa = engine.Restore(snapshot, new NegotiationOutput());
        Assert.Same(sa, Assert.Single(engine.Sas));
        Assert.Throws<InvalidOperationException>(() => engine.Adopt(IkeSa.Restore(engine.Context, snapshot)));
    }
}
