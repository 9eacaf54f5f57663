using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation.Tests.Support;
using IkeActors.Protocol;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// Aggressive Mode (RFC 2409 §5.4) between two engines: three phase-1 messages, the initiator's identity in the
/// clear naming the tunnel group (an address for a LAN-to-LAN peer, ID_KEY_ID for a remote-access group), AM3
/// encrypted, NAT-D in AM2 and AM3 (RFC 3947 §3.2), the float at AM3 (§4), and the refusals: a wrong key, AM
/// disabled, hostile first messages. Expected payload chains come from the RFC's message diagrams.
/// </summary>
public class AggressiveModeTests
{
    private const byte Sa = 1, Ke = 4, Id = 5, Hash = 8, Nonce = 10, NatD = 20;

    private static string Initiator(string extra = "") =>
        File.ReadAllText(Lab.SampleConfig("asa1-initiator.cfg")).Replace(": end", "crypto map MAP 10 set ikev1 phase1-mode aggressive group2\n" + extra + ": end");

    private static string Responder(Func<string, string>? change = null)
    {
        var text = File.ReadAllText(Lab.SampleConfig("asa2-responder.cfg"));
        return change is null ? text : change(text);
    }

    private static Lab NewLab(string? left = null, string? right = null) => new(left ?? Initiator(), right ?? Responder());

    private static List<(bool Left, byte[] Bytes, bool NatT, IPEndPoint To)> Wire(Lab lab)
    {
        var all = new List<(bool, byte[], bool, IPEndPoint)>();
        all.AddRange(lab.LeftOutput.OfType<SendDatagram>().Select(s => (true, s.Datagram, s.NatT, s.To)));
        all.AddRange(lab.RightOutput.OfType<SendDatagram>().Select(s => (false, s.Datagram, s.NatT, s.To)));
        return all;
    }

    private static (ExchangeType Exchange, bool Encrypted, List<byte> Payloads) Parse(byte[] datagram)
    {
        Assert.True(IsakmpMessage.TryParse(datagram, out var m, out _));
        var types = new List<byte>();
        if (!m.IsEncrypted)
            foreach (var p in m.Payloads) types.Add(p.Type);
        return (m.Header.ExchangeType, m.IsEncrypted, types);
    }

    [Fact]
    public void Three_messages_bring_up_phase_1_and_Quick_Mode_follows()
    {
        using var lab = NewLab();
        lab.AcquireAndRun();
        Assert.True(lab.Right.Sas.SingleOrDefault()?.State == MainModeState.MM_ACTIVE, "LEFT\n" + string.Join("\n", lab.LeftLines) + "\nRIGHT\n" + string.Join("\n", lab.RightLines));
        LabAssert.TunnelUp(lab);
        var left = lab.Left.Sas.Single();
        var right = lab.Right.Sas.Single();
        Assert.Equal("AM_ACTIVE", left.ShowState);
        Assert.Equal("AM_ACTIVE", right.ShowState);
        Assert.True(left.Aggressive && right.Aggressive);
        Assert.Equal("10.0.0.1", right.TunnelGroup);

        var aggressive = lab.LeftOutput.OfType<SendDatagram>().Select(s => s.Datagram).Concat(lab.RightOutput.OfType<SendDatagram>().Select(s => s.Datagram))
            .Where(d => Parse(d).Exchange == ExchangeType.Aggressive).ToList();
        Assert.Equal(3, aggressive.Count);
        var am1 = Parse(lab.LeftOutput.OfType<SendDatagram>().First().Datagram);
        // RFC 2409 §5.4: HDR, SA, KE, Ni, IDii (then vendor IDs), in the clear.
        Assert.Equal(ExchangeType.Aggressive, am1.Exchange);
        Assert.False(am1.Encrypted);
        Assert.Equal([Sa, Ke, Nonce, Id], am1.Payloads.Take(4));
        Assert.DoesNotContain(Hash, am1.Payloads);
        // AM2: SA, KE, Nr, IDir, HASH_R in the clear, NAT-D twice (RFC 3947 §3.2).
        var am2 = Parse(lab.RightOutput.OfType<SendDatagram>().First().Datagram);
        Assert.False(am2.Encrypted);
        Assert.Equal([Sa, Ke, Nonce, Id, Hash], am2.Payloads.Take(5));
        Assert.Equal(2, am2.Payloads.Count(t => t == NatD));
        // AM3: HDR*, HASH_I (encrypted).
        var am3 = lab.LeftOutput.OfType<SendDatagram>().Select(s => s.Datagram).Where(d => Parse(d).Exchange == ExchangeType.Aggressive).ElementAt(1);
        Assert.True(Parse(am3).Encrypted);

        Assert.Contains(lab.LeftLines, l => l.EndsWith("PHASE 1 COMPLETED"));
        Assert.Contains(lab.RightLines, l => l.EndsWith("PHASE 1 COMPLETED"));
        Assert.Contains(lab.RightLines, l => l.Contains("ID_IPV4_ADDR ID received 10.0.0.1"));
        Assert.Contains(lab.RightLines, l => l.EndsWith("Connection landed on tunnel_group 10.0.0.1"));
        Assert.Contains(lab.RightLines, l => l.Contains("IKE_DECODE RECEIVED Message (msgid=0) with payloads : HDR + SA (1) + KE (4) + NONCE (10) + ID (5)"));
    }

    [Fact]
    public void The_initiator_rekeys_phase_1_in_Aggressive_Mode_as_its_entry_says_and_the_IPsec_SAs_survive()
    {
        using var lab = NewLab();
        lab.AcquireAndRun();
        var (leftPair, _) = LabAssert.TunnelUp(lab);
        var old = lab.Left.Sas.Single();
        var before = lab.LeftLines.Count;
        lab.FireTimers(left: true, TimerKind.Phase1Rekey);
        lab.Run();
        var fresh = Assert.Single(lab.Left.Sas);
        Assert.NotEqual(old.InitiatorCookie, fresh.InitiatorCookie);
        Assert.Equal(MainModeState.MM_DELETED, old.State);
        // The rekey is an Aggressive Mode too (the entry's `set ikev1 phase1-mode aggressive`), on both ends.
        Assert.True(fresh.Aggressive && lab.Right.Sas.Single().Aggressive);
        Assert.Equal("AM_ACTIVE", lab.Right.Sas.Single().ShowState);
        var rekeyLines = lab.LeftLines.Skip(before).ToList();
        Assert.Contains(rekeyLines, l => l.Contains("IKE Initiator: Rekeying Phase 1"));
        Assert.DoesNotContain(rekeyLines, l => l.Contains("New Phase 1"));
        var sent = lab.LeftOutput.OfType<SendDatagram>().Select(d => Parse(d.Datagram).Exchange).ToList();
        Assert.DoesNotContain(ExchangeType.IdentityProtection, sent);
        Assert.Equal(leftPair.Inbound.Spi, Assert.Single(fresh.IpsecSas).InboundSpi);
        Assert.Empty(lab.LeftOutput.OfType<IpsecSaDeleted>());
    }

    [Fact]
    public void Every_transform_offered_in_AM1_shares_the_configured_group()
    {
        var left = Initiator().Replace("crypto isakmp policy 10", "crypto isakmp policy 5\n authentication pre-share\n encryption aes-256\n hash sha\n group 14\n lifetime 86400\ncrypto isakmp policy 10");
        using var lab = NewLab(left);
        lab.AcquireAndRun();
        var am1 = lab.LeftOutput.OfType<SendDatagram>().First().Datagram;
        Assert.True(IsakmpMessage.TryParse(am1, out var m, out _));
        var groups = new List<OakleyGroup>();
        foreach (var p in m.Payloads)
        {
            if (p.Type != Sa) continue;
            Assert.True(SaPayloadView.TryParse(p.Raw, out var view, out _));
            foreach (var proposal in view.Proposals)
                foreach (var t in proposal.Transforms) groups.Add(Phase1Transform.FromTransform(t)!.Group);
        }
        Assert.Equal([OakleyGroup.Modp1024], groups); // the group 14 policy is left out: KE is group 2's
        LabAssert.TunnelUp(lab);
    }

    [Fact]
    public void Behind_a_NAT_the_initiator_floats_at_AM3()
    {
        using var lab = NewLab();
        lab.SourceSeen = (fromLeft, send) => fromLeft
            ? new IPEndPoint(Lab.LeftAddress.Address, send.NatT ? 34500 : 31500)
            : new IPEndPoint(Lab.RightAddress.Address, send.NatT ? Lab.NatTPort : 500);
        lab.AcquireAndRun();
        var (l, r) = LabAssert.TunnelUp(lab);
        Assert.True(l.IsUdpEncapsulated && r.IsUdpEncapsulated);
        var leftSends = lab.LeftOutput.OfType<SendDatagram>().ToList();
        Assert.False(leftSends[0].NatT); // AM1 on 500
        Assert.True(leftSends[1].NatT);  // AM3 on 4500 (RFC 3947 §4)
        Assert.Equal(new IPEndPoint(Lab.RightAddress.Address, 4500), leftSends[1].To);
        Assert.Contains(lab.RightLines, l => l.EndsWith("Automatic NAT Detection Status: Remote end IS behind a NAT device This end is NOT behind a NAT device"));
        Assert.Contains(lab.LeftLines, l => l.EndsWith("Automatic NAT Detection Status: Remote end is NOT behind a NAT device This end IS behind a NAT device"));
        // The responder answers where the authenticated AM3 came from.
        Assert.Equal(new IPEndPoint(Lab.LeftAddress.Address, 34500), lab.Right.Sas.Single().NatTPeer);
    }

    [Fact]
    public void A_wrong_key_fails_at_AM2_on_the_initiator_and_nothing_is_installed()
    {
        using var lab = NewLab(right: Responder(t => t.Replace("pre-shared-key cisco", "pre-shared-key other")));
        lab.AcquireAndRun();
        Assert.DoesNotContain(lab.LeftOutput.OfType<InstallIpsecSa>(), _ => true);
        Assert.DoesNotContain(lab.RightOutput.OfType<InstallIpsecSa>(), _ => true);
        var failed = lab.LeftOutput.OfType<NegotiationFailed>().Single();
        Assert.Equal(FailureReason.AuthenticationFailed, failed.Reason);
        Assert.Empty(lab.Left.Sas);
        // The responder sent AM2 and waits (its SA times out by retransmission).
        Assert.Equal(MainModeState.AM_WAIT_MSG3, lab.Right.Sas.Single().State);
    }

    [Fact]
    public void Am_disable_leaves_AM1_unanswered_and_keeps_no_state()
    {
        using var lab = NewLab(right: Responder(t => t.Replace(": end", "crypto ikev1 am-disable\n: end")));
        lab.AcquireAndRun();
        Assert.Empty(lab.RightOutput.OfType<SendDatagram>());
        Assert.Empty(lab.Right.Sas);
        Assert.Contains(lab.RightLines, l => l.Contains("Aggressive Mode"));
        Assert.Equal(DropReason.AggressiveModeDisabled, lab.RightOutput.OfType<MessageDropped>().Single().Reason);
    }

    [Fact]
    public void A_key_id_names_a_remote_access_group_whatever_the_address()
    {
        // The initiator names itself "EZ" (`crypto isakmp identity key-id EZ`); the responder has no tunnel group for its
        // address, only the remote-access group EZ with its key.
        var left = Initiator("crypto isakmp identity key-id EZ\n").Replace("pre-shared-key cisco", "pre-shared-key groupkey");
        // The address's own L2L group has another key: only the group the key ID names can authenticate.
        var right = Responder(t => t.Replace(" pre-shared-key cisco",
            " pre-shared-key not-this-one\ntunnel-group EZ type remote-access\ntunnel-group EZ ipsec-attributes\n ikev1 pre-shared-key groupkey"));
        Assert.Contains("tunnel-group EZ type remote-access", right);
        using var lab = NewLab(left, right);
        lab.AcquireAndRun();
        var sa = lab.Right.Sas.Single();
        Assert.Equal("EZ", sa.TunnelGroup);
        Assert.Equal(MainModeState.MM_ACTIVE, sa.State);
        Assert.Contains(lab.RightLines, l => l.Contains("ID_KEY_ID ID received--EZ"));
        Assert.Contains(lab.RightLines, l => l.EndsWith("Group = EZ, IP = 10.0.0.1, PHASE 1 COMPLETED"));
    }

    [Fact]
    public void A_lost_AM3_is_sent_again_when_AM2_comes_again()
    {
        using var lab = NewLab();
        var droppedAm3 = false;
        lab.Tamper = (fromLeft, n, bytes) =>
        {
            if (fromLeft && !droppedAm3 && IsakmpMessage.TryParse(bytes, out var m, out _) && m.Header.ExchangeType == ExchangeType.Aggressive && m.IsEncrypted)
            {
                droppedAm3 = true;
                return null;
            }
            return bytes;
        };
        lab.AcquireAndRun();
        Assert.True(droppedAm3);
        Assert.Equal(MainModeState.AM_WAIT_MSG3, lab.Right.Sas.Single().State);
        lab.FireTimers(left: false, TimerKind.Retransmit); // the responder resends AM2
        lab.Run();
        Assert.Contains(lab.LeftLines, l => l.EndsWith("Duplicate Phase 1 packet detected. Retransmitting last packet."));
        Assert.Equal(MainModeState.MM_ACTIVE, lab.Right.Sas.Single().State);
        // QM1 reached the responder before it was up (dropped, RFC 2409 §5.5): the initiator's retransmission brings it.
        lab.FireTimers(left: true, TimerKind.Retransmit);
        lab.Run();
        LabAssert.TunnelUp(lab);
    }

    [Fact]
    public void A_repeated_AM1_gets_the_same_AM2_and_no_second_SA()
    {
        using var lab = NewLab();
        lab.Duplicate = (fromLeft, bytes) => fromLeft && IsakmpMessage.TryParse(bytes, out var m, out _) && m.Header.ExchangeType == ExchangeType.Aggressive && !m.IsEncrypted;
        lab.AcquireAndRun();
        Assert.Single(lab.Right.Sas);
        var am2s = lab.RightOutput.OfType<SendDatagram>().Where(s => Parse(s.Datagram).Exchange == ExchangeType.Aggressive).ToList();
        Assert.True(2 == am2s.Count, string.Join("\n", lab.RightLines));
        Assert.Equal(am2s[0].Datagram, am2s[1].Datagram);
        LabAssert.TunnelUp(lab);
    }

    public static TheoryData<string, Func<byte[], byte[]>> HostileFirstMessages => new()
    {
        { "no ID payload", am1 => Without(am1, Id) },
        { "no KE payload", am1 => Without(am1, Ke) },
        { "no nonce", am1 => Without(am1, Nonce) },
        { "KE one byte short", am1 => Resize(am1, Ke, -1) },
        { "truncated", am1 => am1[..(am1.Length / 2)] },
        { "random body", am1 => [.. am1[..28], .. Enumerable.Range(0, 200).Select(i => (byte)(i * 37))] },
    };

    [Theory]
    [MemberData(nameof(HostileFirstMessages))]
    public void A_hostile_AM1_leaves_no_SA_and_throws_nothing(string what, Func<byte[], byte[]> spoil)
    {
        using var source = NewLab();
        source.Left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), source.LeftOutput);
        var am1 = source.LeftOutput.OfType<SendDatagram>().First().Datagram;

        using var lab = NewLab();
        var output = new NegotiationOutput();
        lab.Right.Receive(spoil(am1), Lab.LeftAddress, output, natT: false);
        Assert.Empty(lab.Right.Sas);
        Assert.DoesNotContain(output.Actions, a => a is SendDatagram s && Parse(s.Datagram).Exchange == ExchangeType.Aggressive);
        Assert.True(what.Length > 0);
    }

    /// <summary>The message with payload <paramref name="type"/> taken out of the chain (lengths and next-payload fixed).</summary>
    private static byte[] Without(byte[] datagram, byte type) => Rebuild(datagram, (t, body) => t == type ? null : body);

    private static byte[] Resize(byte[] datagram, byte type, int delta) =>
        Rebuild(datagram, (t, body) => t == type ? body[..(body.Length + delta)] : body);

    private static byte[] Rebuild(byte[] datagram, Func<byte, byte[], byte[]?> change)
    {
        Assert.True(IsakmpMessage.TryParse(datagram, out var m, out _));
        var kept = new List<(byte Type, byte[] Body)>();
        foreach (var p in m.Payloads)
            if (change(p.Type, p.Body.ToArray()) is { } body) kept.Add((p.Type, body));
        var bytes = new List<byte>(datagram[..28]);
        bytes[16] = kept.Count > 0 ? kept[0].Type : (byte)0;
        for (var i = 0; i < kept.Count; i++)
        {
            var next = i + 1 < kept.Count ? kept[i + 1].Type : (byte)0;
            var length = kept[i].Body.Length + 4;
            bytes.AddRange([next, 0, (byte)(length >> 8), (byte)length]);
            bytes.AddRange(kept[i].Body);
        }
        var total = bytes.Count;
        bytes[24] = (byte)(total >> 24); bytes[25] = (byte)(total >> 16); bytes[26] = (byte)(total >> 8); bytes[27] = (byte)total;
        return bytes.ToArray();
    }
}
