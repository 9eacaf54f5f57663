using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using IkeActors.Crypto;

namespace IkeActors.Interop.Tests;

/// <summary>
/// Proposals and the known-answer check: our gateway initiates with a second proposal set
/// (AES-256 / SHA-256 / group 14 in phase 1, esp-aes-256 esp-sha256-hmac with PFS group 14) against a
/// strongSwan responder running at log level `keys`. Traffic passes; then everything strongSwan logged
/// for this very run is recomputed by IkeActors.Crypto from the wire (tshark capture) and the PSK:
/// SKEYID, SKEYID_d/a/e, Ka, the phase-1 IV and both KEYMATs; and the ESP keys strongSwan logged are
/// proven to be the ones our gateway used (our ESP packets verify and decrypt with them).
/// </summary>
public sealed class ProposalsTests
{
    private const string Psk = "cisco";

    /// <summary>The seed's initiator with the stronger policy, transform set and PFS group 14.</summary>
    internal static string Aes256Sha256Group14Config() => InteropLab.LeftConfig(text =>
    {
        text = InteropLab.Replace(text, " encryption 3des\n hash sha\n group 2\n", " encryption aes-256\n hash sha256\n group 14\n");
        text = InteropLab.Replace(text, "crypto ipsec transform-set TRANSFORM esp-aes esp-sha-hmac\n", "crypto ipsec transform-set TRANSFORM esp-aes-256 esp-sha256-hmac\n");
        return InteropLab.Replace(text, "crypto map MAP 10 set transform-set TRANSFORM\n", "crypto map MAP 10 set transform-set TRANSFORM\ncrypto map MAP 10 set pfs group14\n");
    });

    [Fact]
    public void Our_initiator_negotiates_aes256_sha256_group14_with_pfs_and_strongswans_logged_keys_are_ours()
    {
        using var lab = new InteropLab();
        lab.StartStrongSwan("--role", "responder", "--ike", "aes256-sha256-modp2048", "--esp", "aes256-sha256-modp2048", "--log-level", "keys");
        var pcap = lab.StartCapture(lab.Left, "aes256.pcap");
        var gateway = lab.StartGateway(lab.Left, Aes256Sha256Group14Config(), "10.0.0.1:500", "--tun", "ike%d");

        var trigger = Tunnel.Ping(lab.Left, 1);
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        var pings = Tunnel.Ping(lab.Left, 20);
        Assert.True(pings.Received == 20, $"20 pings, {pings.Received} answered:\n{pings.Output}\n{gateway.Output}");
        lab.StopCapture(pcap);

        // strongSwan's view: the proposal it selected in both phases, and the SAs.
        var log = lab.StrongSwanLog;
        Assert.Contains("selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", log);
        Assert.Matches(@"selected proposal: ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ", log);
        var sas = lab.StrongSwan("list-sas");
        Assert.Contains("ESTABLISHED, IKEv1", sas);
        Assert.Contains("AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", sas);
        Assert.Contains("INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-256/HMAC_SHA2_256_128/MODP_2048", sas);

        // Ours: the transform, PFS group 14, and counters equal to the pings answered.
        var show = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
        Assert.Contains("transform: esp-aes-256 esp-sha256-hmac no compression", show);
        var (encaps, decaps) = Tunnel.Counters(show);
        var answered = trigger.Received + pings.Received;
        Assert.True(encaps == answered && decaps == answered, $"pings answered {answered}\n{show}");
        var sessions = InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "detail", "l2l");
        Assert.Matches(@"PFS Group\s+: 14", sessions);
        Assert.Matches(@"D/H Group\s+: 14", sessions);

        // SPIs: strongSwan's inbound is our outbound and the other way round.
        var established = Regex.Match(log, @"CHILD_SA gw\{\d+\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o");
        Assert.True(established.Success, "no CHILD_SA established line in charon.log");
        uint ourOutbound = Tunnel.Spi(show, "outbound"), ourInbound = Tunnel.Spi(show, "inbound");
        Assert.Equal(Convert.ToUInt32(established.Groups[1].Value, 16), ourOutbound);
        Assert.Equal(Convert.ToUInt32(established.Groups[2].Value, 16), ourInbound);

        KnownAnswers(CharonDumps.Parse(log), Capture.Read(pcap), ourOutbound, ourInbound);
    }

    [Fact]
    public void A_strongSwan_initiator_with_aes256_sha256_group14_and_pfs_is_answered_and_carried()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, Aes256Sha256Group14Config(), "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--ike", "aes256-sha256-modp2048", "--esp", "aes256-sha256-modp2048");
        lab.StrongSwan("wait-established", "30");
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));

        var pings = Tunnel.Ping(lab.Left, 20);
        Assert.True(pings.Received == 20, $"20 pings, {pings.Received} answered:\n{pings.Output}\n{gateway.Output}");
        Assert.Contains("INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-256/HMAC_SHA2_256_128/MODP_2048", lab.StrongSwan("list-sas"));
        var show = InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa");
        Assert.Contains("transform: esp-aes-256 esp-sha256-hmac no compression", show);
        Assert.Equal((20L, 20L), Tunnel.Counters(show));
        var sessions = InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "detail", "l2l");
        Assert.Matches(@"PFS Group\s+: 14", sessions);
        Assert.Matches(@"D/H Group\s+: 14", sessions);
        Assert.Matches(@"Role\s+: responder", InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa"));
    }

    /// <summary>
    /// Every value strongSwan logged for this run, recomputed by IkeActors.Crypto from the capture and the PSK.
    /// Assertion messages name the value, never print it.
    /// </summary>
    private static void KnownAnswers(CharonDumps charon, Capture wire, uint ourOutbound, uint ourInbound)
    {
        const IkeHashAlgorithm Hash = IkeHashAlgorithm.Sha2_256;
        // We initiated: MM1/MM3 are ours, MM2/MM4 strongSwan's (RFC 2409 §5: cookies, SA, KE, Ni/Nr in the clear).
        var mm = wire.Isakmp.Where(m => m.ExchangeType == 2 && !m.Encrypted).DistinctBy(m => Convert.ToHexString(m.Raw)).ToList();
        var mm1 = mm.First(m => m.FromInitiator);
        var mm3 = mm.Where(m => m.FromInitiator).ElementAt(1);
        var mm4 = mm.Where(m => !m.FromInitiator).ElementAt(1);
        byte[] ckyI = mm1.Raw[..8], ckyR = mm4.Raw[8..16];
        byte[] saiBody = mm1.Body(1), gxi = mm3.Body(4), gxr = mm4.Body(4), ni = mm3.Body(10), nr = mm4.Body(10);
        Assert.Equal(256, gxi.Length); // group 14: 2048-bit public values (RFC 3526 §3)
        Assert.Equal(256, gxr.Length);

        // charon's HASH_I prf input starts with g^xi | g^xr | CKY-I | CKY-R | SAi_b (RFC 2409 §5): its view of the wire is ours.
        byte[] hashIData = charon.Get("HASH_I data");
        Assert.True(hashIData.AsSpan().StartsWith([.. gxi, .. gxr, .. ckyI, .. ckyR, .. saiBody]), "charon's HASH_I input does not start with the captured g^xi|g^xr|cookies|SAi_b");

        byte[] gxy = charon.Get("shared Diffie Hellman secret");
        Assert.Equal(Phase1KeyStatus.Ok, Phase1Keys.TryDerivePreSharedKey(Hash, IkeEncryptionAlgorithm.AesCbc, 256,
            Encoding.ASCII.GetBytes(Psk), ni, nr, gxy, ckyI, ckyR, gxi, gxr, out Phase1Keys? keys));
        Assert.NotNull(keys);
        using (keys)
        {
            Same("SKEYID", charon.Get("SKEYID"), keys.Skeyid);
            Same("SKEYID_d", charon.Get("SKEYID_d"), keys.SkeyidD);
            Same("SKEYID_a", charon.Get("SKEYID_a"), keys.SkeyidA);
            Same("SKEYID_e", charon.Get("SKEYID_e"), keys.SkeyidE);
            Same("encryption key Ka", charon.Get("encryption key Ka"), keys.EncryptionKey);
            Same("initial IV", charon.Get("initial IV"), keys.Phase1Iv);

            // Quick Mode travels encrypted: decrypt QM1/QM2 with the derived keys (RFC 2409 appendix B IVs) for Ni_b/Nr_b.
            Assert.True(IsakmpCipher.TryCreate(keys, out IsakmpCipher? cipher));
            Assert.NotNull(cipher);
            using (cipher)
            {
                var mm56 = wire.Isakmp.Where(m => m.ExchangeType == 2 && m.Encrypted).DistinctBy(m => Convert.ToHexString(m.Raw)).Take(2).ToList();
                Assert.Equal(2, mm56.Count);
                foreach (var m in mm56) cipher.AcceptReceived(0, m.Body());
                var qm = wire.Isakmp.Where(m => m.ExchangeType == 32).DistinctBy(m => Convert.ToHexString(m.Raw)).ToList();
                Assert.True(qm.Count >= 2, $"{qm.Count} Quick Mode messages captured");
                uint mid = qm[0].MessageId;
                byte[] qmNi = Decrypted(cipher, qm[0]).Body(10), qmNr = Decrypted(cipher, qm[1]).Body(10);

                // With PFS the seed is g(qm)^xy | protocol | SPI | Ni_b | Nr_b (RFC 2409 §5.5); the SPI is the receiver's.
                byte[] pfs = charon.Get("DH secret");
                Assert.Equal(256, pfs.Length); // PFS group 14
                foreach (var (seedName, encName, integName, spi) in new[]
                         {
                             ("initiator SA seed", "encryption initiator key", "integrity initiator key", ourOutbound),
                             ("responder SA seed", "encryption responder key", "integrity responder key", ourInbound),
                         })
                {
                    byte[] spiBytes = [(byte)(spi >> 24), (byte)(spi >> 16), (byte)(spi >> 8), (byte)spi];
                    Same(seedName, charon.Get(seedName), [.. pfs, 3, .. spiBytes, .. qmNi, .. qmNr]);
                    byte[] enc = charon.Get(encName), integ = charon.Get(integName);
                    Assert.Equal(32, enc.Length);
                    Assert.Equal(32, integ.Length);
                    byte[] keymat = new byte[64];
                    IkeHashes.Keymat(Hash, keys.SkeyidD, pfs, 3, spiBytes, qmNi, qmNr, keymat);
                    Same(encName, enc, keymat.AsSpan(0, 32));
                    Same(integName, integ, keymat.AsSpan(32));
                    CryptographicOperations.ZeroMemory(keymat);
                }
                Assert.True(mid != 0);
            }
        }

        // The ESP keys strongSwan logged are the ones our gateway used: every ESP-in-UDP packet we sent verifies
        // (HMAC-SHA-256-128, RFC 4868 §2.3) and decrypts (AES-CBC, RFC 3602) with the initiator keys to an
        // ICMP echo request 192.168.1.1 -> 192.168.2.1; strongSwan's with the responder keys to the replies.
        CheckEsp(wire.EspFrom(true).ToList(), ourOutbound, charon.Get("encryption initiator key"), charon.Get("integrity initiator key"), "192.168.1.1", 8);
        CheckEsp(wire.EspFrom(false).ToList(), ourInbound, charon.Get("encryption responder key"), charon.Get("integrity responder key"), "192.168.2.1", 0);
    }

    private static Capture.Message Decrypted(IsakmpCipher cipher, Capture.Message m)
    {
        byte[] body = m.Body();
        byte[] plain = new byte[body.Length];
        Assert.True(cipher.TryDecrypt(m.MessageId, body, plain, out int n), "Quick Mode message does not decrypt");
        cipher.AcceptReceived(m.MessageId, body);
        return m with { Raw = [.. m.Raw[..28], .. plain.AsSpan(0, n)] };
    }

    private static void CheckEsp(List<byte[]> packets, uint spi, byte[] encKey, byte[] integKey, string source, byte icmpType)
    {
        Assert.True(packets.Count >= 20, $"{packets.Count} ESP packets from {source}'s side");
        using var aes = Aes.Create();
        aes.Key = encKey;
        foreach (var p in packets)
        {
            Assert.Equal(spi, (uint)(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]));
            var icv = HMACSHA256.HashData(integKey, p.AsSpan(0, p.Length - 16));
            Assert.True(CryptographicOperations.FixedTimeEquals(icv.AsSpan(0, 16), p.AsSpan(p.Length - 16)), "ESP ICV does not verify with strongSwan's logged key");
            byte[] plain = aes.DecryptCbc(p.AsSpan(24, p.Length - 24 - 16), p.AsSpan(8, 16), PaddingMode.None);
            Assert.Equal(4, plain[^1]); // RFC 4303 §2.6: next header 4 = IPv4 (tunnel mode)
            Assert.Equal(0x45, plain[0]);
            Assert.Equal(1, plain[9]); // ICMP
            Assert.Equal(source, new System.Net.IPAddress(plain.AsSpan(12, 4)).ToString());
            Assert.Equal(icmpType, plain[20]); // 8 echo request, 0 echo reply
        }
    }

    private static void Same(string what, ReadOnlySpan<byte> charon, ReadOnlySpan<byte> ours) =>
        Assert.True(charon.Length == ours.Length && CryptographicOperations.FixedTimeEquals(charon, ours),
            $"{what}: ours differs from strongSwan's ({ours.Length} vs {charon.Length} bytes)");
}

/// <summary>
/// The hex dumps charon writes at log level `keys` ("NAME => N bytes @ 0x..." then "  OFFSET: XX XX ..." rows).
/// </summary>
internal sealed class CharonDumps
{
    private readonly List<(string Name, byte[] Bytes)> _dumps;

    private CharonDumps(List<(string, byte[])> dumps) => _dumps = dumps;

    public static CharonDumps Parse(string log)
    {
        var head = new Regex(@"\] <[^>]*> (.+?) => (\d+) bytes @ 0x[0-9a-f]+$");
        var row = new Regex(@"\] <[^>]*>\s+\d+: ((?:[0-9A-F]{2} )+)");
        var dumps = new List<(string, byte[])>();
        string? name = null;
        int length = 0;
        var hex = new StringBuilder();
        void Flush()
        {
            if (name is not null && hex.Length >= 2 * length) dumps.Add((name, Convert.FromHexString(hex.ToString(0, 2 * length))));
            name = null;
        }
        foreach (var line in log.Split('\n'))
        {
            var m = head.Match(line.TrimEnd('\r'));
            if (m.Success)
            {
                Flush();
                name = m.Groups[1].Value;
                length = int.Parse(m.Groups[2].Value);
                hex.Clear();
                continue;
            }
            var r = row.Match(line);
            if (r.Success && name is not null && hex.Length < 2 * length) hex.Append(r.Groups[1].Value.Replace(" ", ""));
        }
        Flush();
        return new CharonDumps(dumps);
    }

    /// <summary>The first dump of that name (charon logs each key once per SA).</summary>
    public byte[] Get(string name)
    {
        var found = _dumps.FirstOrDefault(d => d.Name == name);
        Assert.True(found.Bytes is not null, $"charon.log has no \"{name}\" dump");
        return found.Bytes;
    }
}

/// <summary>ISAKMP and ESP-in-UDP from a pcap of the lab's veth, split by tshark (our initiator is 10.0.0.1).</summary>
internal sealed class Capture
{
    public required List<Message> Isakmp { get; init; }
    public required List<(bool FromInitiator, byte[] Packet)> Esp { get; init; }
    public IEnumerable<byte[]> EspFrom(bool initiator) => Esp.Where(e => e.FromInitiator == initiator).Select(e => e.Packet);

    public sealed record Message(bool FromInitiator, byte[] Raw)
    {
        public byte ExchangeType => Raw[18];
        public bool Encrypted => (Raw[19] & 1) != 0;
        public uint MessageId => (uint)(Raw[20] << 24 | Raw[21] << 16 | Raw[22] << 8 | Raw[23]);
        public byte[] Body() => Raw[28..];

        /// <summary>The body of the first payload of a type (RFC 2408 §3.2 generic headers), in a clear message.</summary>
        public byte[] Body(byte type)
        {
            byte next = Raw[16];
            int offset = 28;
            while (next != 0 && offset + 4 <= Raw.Length)
            {
                int length = Raw[offset + 2] << 8 | Raw[offset + 3];
                Assert.True(length >= 4 && offset + length <= Raw.Length, "bad payload length in a captured message");
                if (next == type) return Raw[(offset + 4)..(offset + length)];
                next = Raw[offset];
                offset += length;
            }
            Assert.Fail($"no payload of type {type} in a captured message");
            return [];
        }
    }

    public static Capture Read(string pcap)
    {
        var isakmp = new List<Message>();
        var esp = new List<(bool, byte[])>();
        foreach (var f in TwoGatewaysTests.Tshark(pcap, "ip.src", "udp.srcport", "udp.dstport", "udp.payload"))
        {
            if (f.Length < 4 || f[3].Length == 0) continue;
            byte[] payload = Convert.FromHexString(f[3].Replace(":", ""));
            bool fromInitiator = f[0] == "10.0.0.1";
            bool natT = f[1] == "4500" || f[2] == "4500";
            if (natT && payload.Length == 1) continue; // NAT keepalive (RFC 3948 §2.3)
            if (natT && payload.Length >= 4 && payload[0] == 0 && payload[1] == 0 && payload[2] == 0 && payload[3] == 0)
                isakmp.Add(new Message(fromInitiator, payload[4..])); // non-ESP marker (RFC 3948 §2.2)
            else if (natT)
                esp.Add((fromInitiator, payload));
            else if (payload.Length >= 28)
                isakmp.Add(new Message(fromInitiator, payload));
        }
        return new Capture { Isakmp = isakmp, Esp = esp };
    }
}
