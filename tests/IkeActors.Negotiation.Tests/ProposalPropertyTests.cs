using System.Text.RegularExpressions;
using CsCheck;
using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// Random ISAKMP policy sets and transform sets on both gateways: phase 1 succeeds exactly when the
/// policy sets intersect, phase 2 exactly when the transform sets do, the choice is the ASA's, and
/// both sides derive the same keys.
/// </summary>
public class ProposalPropertyTests
{
    public sealed record Policy(string Encryption, string Hash, int Group)
    {
        /// <summary>DES-CBC is decrypt-only in IkeActors.Crypto, so a DES policy is never offered or accepted.</summary>
        public bool Usable => Encryption != "des";

        public override string ToString() => $"{Encryption}/{Hash}/{Group}";
    }

    public sealed record TransformSet(string Encryption, string Integrity)
    {
        public override string ToString() => $"{Encryption} {Integrity}";
    }

    public sealed record Case(Policy[] Left, Policy[] Right, TransformSet[] LeftSets, TransformSet[] RightSets, int Seed)
    {
        public override string ToString() =>
            $"left [{string.Join(", ", Left.AsEnumerable())}] right [{string.Join(", ", Right.AsEnumerable())}] " +
            $"sets left [{string.Join(", ", LeftSets.AsEnumerable())}] right [{string.Join(", ", RightSets.AsEnumerable())}] seed {Seed}";
    }

    private static readonly string[] Encryptions = ["des", "3des", "aes", "aes-192", "aes-256"];
    private static readonly string[] Hashes = ["md5", "sha", "sha256", "sha384", "sha512"];
    // DH is the cost of each case: mostly the cheap groups (2, 14), sometimes 1 and 5.
    private static readonly int[] Groups = [2, 2, 2, 14, 14, 1, 5];
    private static readonly string[] EspEncryptions = ["esp-des", "esp-3des", "esp-aes", "esp-aes-192", "esp-aes-256"];
    private static readonly string[] EspIntegrities = ["esp-md5-hmac", "esp-sha-hmac"];

    private static readonly Gen<Policy> PolicyGen =
        Gen.Select(Gen.Int[0, Encryptions.Length - 1], Gen.Int[0, Hashes.Length - 1], Gen.Int[0, Groups.Length - 1],
            (e, h, g) => new Policy(Encryptions[e], Hashes[h], Groups[g]));

    private static readonly Gen<TransformSet> SetGen =
        Gen.Select(Gen.Int[0, EspEncryptions.Length - 1], Gen.Int[0, EspIntegrities.Length - 1],
            (e, i) => new TransformSet(EspEncryptions[e], EspIntegrities[i]));

    /// <summary>The right side shares one of the left's entries half of the time, at a random place.</summary>
    private static Gen<(T[] Left, T[] Right)> Pair<T>(Gen<T> item) =>
        Gen.Select(item.Array[1, 3], item.Array[1, 3], Gen.Bool, Gen.Int[0, 2], Gen.Int[0, 3], (left, right, share, which, where) =>
        {
            left = left.Distinct().ToArray();
            var r = right.Distinct().ToList();
            if (share) r.Insert(where % (r.Count + 1), left[which % left.Length]);
            return (left, r.Distinct().ToArray());
        });

    private static readonly Gen<Case> CaseGen =
        Gen.Select(Pair(PolicyGen), Pair(SetGen), Gen.Int[1, 100000], (p, t, seed) =>
        {
            // The initiator needs one policy it can offer (a DES-only initiator has nothing to send).
            var left = p.Left.Any(x => x.Usable) ? p.Left : [p.Left[0] with { Encryption = "3des" }, .. p.Left.Skip(1)];
            return new Case(left, p.Right, t.Left, t.Right, seed);
        });

    private static string Configure(string sample, Policy[] policies, TransformSet[] sets)
    {
        var block = string.Concat(policies.Select((p, i) =>
            $"crypto isakmp policy {10 * (i + 1)}\n authentication pre-share\n encryption {p.Encryption}\n hash {p.Hash}\n group {p.Group}\n lifetime 86400\n"));
        var text = Regex.Replace(sample, @"crypto isakmp policy 10\n( [^\n]*\n)+", block);
        Assert.Contains("crypto isakmp policy 10\n", text);
        var setLines = string.Concat(sets.Select((s, i) => $"crypto ipsec transform-set TS{i + 1} {s.Encryption} {s.Integrity}\n"));
        return text
            .Edit("crypto ipsec transform-set TRANSFORM esp-aes esp-sha-hmac\n", setLines)
            .Edit("crypto map MAP 10 set transform-set TRANSFORM", "crypto map MAP 10 set transform-set " + string.Join(' ', sets.Select((_, i) => $"TS{i + 1}")));
    }

    // Wire values, RFC 2409 Appendix A and RFC 3602 §5 (AES = 7 with a key length).
    private static (int Encryption, int KeyLength) Oakley(string e) => e switch
    {
        "des" => (1, 0), "3des" => (5, 0), "aes" => (7, 128), "aes-192" => (7, 192), _ => (7, 256),
    };

    private static int OakleyHash(string h) => h switch { "md5" => 1, "sha" => 2, "sha256" => 4, "sha384" => 5, _ => 6 };

    // RFC 2407 §4.4.4 (ESP_DES 2, ESP_3DES 3), RFC 3602 (ESP_AES 12); key bytes of each cipher.
    private static (int TransformId, int KeyLength, int KeyBytes) Esp(string e) => e switch
    {
        "esp-des" => (2, 0, 8), "esp-3des" => (3, 0, 24), "esp-aes" => (12, 128, 16), "esp-aes-192" => (12, 192, 24), _ => (12, 256, 32),
    };

    // RFC 2407 §4.5 Authentication Algorithm: HMAC-MD5 1 (RFC 2403, 16-byte key), HMAC-SHA 2 (RFC 2404, 20).
    private static (int Id, int KeyBytes) Integrity(string i) => i == "esp-md5-hmac" ? (1, 16) : (2, 20);

    [Fact]
    public void Negotiation_succeeds_exactly_when_the_sets_intersect_and_both_sides_derive_the_same_keys()
    {
        var outcomes = new int[3];
        CaseGen.Sample(c =>
        {
            using var lab = new Lab(Configure(Configs.Initiator, c.Left, c.LeftSets), Configure(Configs.Responder, c.Right, c.RightSets), c.Seed);
            lab.AcquireAndRun();

            // ASA selection: the initiator's transforms in its priority order, the first one the responder has.
            var phase1 = c.Left.Where(p => p.Usable).FirstOrDefault(p => c.Right.Where(r => r.Usable).Contains(p));
            var phase2 = c.LeftSets.FirstOrDefault(s => c.RightSets.Contains(s));

            if (phase1 is null)
            {
                Interlocked.Increment(ref outcomes[0]);
                LabAssert.Line(lab.RightLines, "[IKEv1 DEBUG]: IP = 10.0.0.1, All SA proposals found unacceptable");
                LabAssert.Line(lab.LeftLines, "[IKEv1]: IP = 10.0.0.2, Received non-routine Notify message: No proposal chosen (14)");
                Assert.Empty(lab.Left.Sas);
                Assert.Empty(lab.Right.Sas);
                LabAssert.NoInstall(lab);
                return;
            }

            var left = Assert.Single(lab.Left.Sas);
            var right = Assert.Single(lab.Right.Sas);
            Assert.Equal(MainModeState.MM_ACTIVE, left.State);
            Assert.Equal(MainModeState.MM_ACTIVE, right.State);
            var priority = 10 * (Array.IndexOf(c.Right, phase1) + 1);
            LabAssert.Line(lab.RightLines, $"[IKEv1 DEBUG]: IP = 10.0.0.1, IKE SA Proposal # 1, Transform # {c.Left.Where(p => p.Usable).ToList().IndexOf(phase1) + 1} acceptable Matches global IKE entry # {priority}");
            foreach (var sa in new[] { left, right })
            {
                var t = sa.Transform!;
                Assert.Equal(Oakley(phase1.Encryption), ((int)t.Encryption, t.KeyLengthBits));
                Assert.Equal(OakleyHash(phase1.Hash), (int)t.Hash);
                Assert.Equal(phase1.Group, (int)t.Group);
            }

            if (phase2 is null)
            {
                Interlocked.Increment(ref outcomes[1]);
                LabAssert.Line(lab.RightLines, "[IKEv1]: Group = 10.0.0.1, IP = 10.0.0.1, All IPSec SA proposals found unacceptable!");
                Assert.Equal(FailureReason.NoProposalChosen, Assert.Single(lab.LeftOutput.OfType<NegotiationFailed>()).Reason);
                Assert.Equal(FailureReason.TransformSetMismatch, Assert.Single(lab.RightOutput.OfType<NegotiationFailed>()).Reason);
                LabAssert.NoInstall(lab);
                return;
            }

            Interlocked.Increment(ref outcomes[2]);
            var (l, r) = LabAssert.TunnelUp(lab);
            var esp = Esp(phase2.Encryption);
            var integrity = Integrity(phase2.Integrity);
            Assert.Equal((esp.TransformId, esp.KeyLength, integrity.Id), ((int)l.Transform.Cipher, l.Transform.KeyLengthBits, (int)l.Transform.Integrity));
            Assert.Equal(esp.KeyBytes, l.Inbound.EncryptionKey.Length);
            Assert.Equal(integrity.KeyBytes, l.Inbound.IntegrityKey.Length);
            // The ASA proposes each transform set as its own proposal (numbered from 1), one transform each.
            LabAssert.Line(lab.RightLines, $"[IKEv1 DEBUG]: Group = 10.0.0.1, IP = 10.0.0.1, IPSec SA Proposal # {Array.IndexOf(c.LeftSets, phase2) + 1}, Transform # 1 acceptable Matches global IPSec SA entry # 10");
            Assert.NotEqual(l.Inbound.EncryptionKey, l.Outbound.EncryptionKey);
        }, iter: 100, threads: 1, print: c => c.ToString());

        // The generator reaches all three outcomes (measured over 600 cases: 58 % / 13 % / 29 %; 100 cases miss one with p < 2e-6).
        Assert.All(outcomes, n => Assert.True(n > 0, $"outcomes {string.Join('/', outcomes)}"));
    }
}
