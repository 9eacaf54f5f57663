namespace IkeActors.Interop.Tests;

/// <summary>
/// Failed negotiations against strongSwan (wrong pre-shared key in either role, phase-1
/// and phase-2 proposal mismatches). Each side logs what its documentation says it logs, our gateway
/// stays up, and after strongSwan is restarted with the right settings the same gateway process brings
/// the tunnel up and pings pass. strongSwan retransmits at 1, 1.5, 2 s (InteropLab) so failures are quick.
/// </summary>
public sealed class FailureTests
{
    private const string Seed = "3des-sha1-modp1024";

    [Fact]
    public void Wrong_psk_with_our_initiator_fails_on_strongswans_decryption_then_a_correct_retry_succeeds()
    {
        using var lab = new InteropLab();
        lab.StartStrongSwan("--role", "responder", "--ike", Seed, "--esp", "aes128-sha1", "--psk", "not-cisco");
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        Tunnel.Ping(lab.Left, 1);

        // strongSwan cannot parse our MM5 (encrypted with a key derived from the other PSK) and answers with an
        // encrypted PAYLOAD-MALFORMED notify (RFC 2408 §3.14.1) that we in turn cannot read; we retransmit MM5.
        var log = StrongSwanLogWith(lab, "decryption failed?");
        Assert.Contains("invalid ID_V1 payload length, decryption failed?", log);
        Assert.Contains("message parsing failed", log);
        Assert.Contains("N(PLD_MAL)", log);
        gateway.WaitFor("P1 Retransmit msg dispatched to MM FSM", TimeSpan.FromSeconds(20));
        Assert.Contains("[IKEv1]: IP = 10.0.0.2, Information Exchange processing failed", gateway.Output);
        Assert.DoesNotContain("PHASE 1 COMPLETED", gateway.Output);

        // Our half-open phase 1 would retransmit MM5 until its limit (about a minute); the operator clears it as on an ASA.
        InteropLab.Operator(lab.Left, "clear", "crypto", "isakmp", "sa", "10.0.0.2");
        RetryWithTheRightSettings(lab, gateway, "responder", "--esp", "aes128-sha1");
    }

    [Fact]
    public void Wrong_psk_with_strongswan_initiating_fails_on_our_decryption_then_a_correct_retry_succeeds()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--ike", Seed, "--esp", "aes128-sha1", "--psk", "not-cisco");

        // Our responder cannot decrypt MM5 (RFC 2409 §5: the key comes from SKEYID, i.e. from the PSK): the ASA's lines.
        gateway.WaitFor("probably due to mismatched pre-shared key", TimeSpan.FromSeconds(20));
        Assert.Contains("[IKEv1]: IP = 10.0.0.2, Received encrypted Oakley Main Mode packet with invalid payloads, MessID = 0", gateway.Output);
        Assert.Contains("[IKEv1]: IP = 10.0.0.2, ERROR, had problems decrypting packet, probably due to mismatched pre-shared key. Aborting", gateway.Output);
        // strongSwan hears nothing back and gives up after its retransmits.
        var log = StrongSwanLogWith(lab, "establishing IKE_SA failed, peer not responding");
        Assert.Contains("giving up after 2 retransmits", log);
        Assert.DoesNotContain("PHASE 1 COMPLETED", gateway.Output);

        RetryWithTheRightSettings(lab, gateway, "initiator", "--esp", "aes128-sha1");
    }

    [Fact]
    public void Phase1_proposal_mismatch_is_refused_by_us_with_no_proposal_chosen_then_a_correct_retry_succeeds()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--ike", "aes256-sha256-modp2048", "--esp", "aes128-sha1");

        // Our policy 10 is 3DES/SHA/group 2: nothing in MM1 matches, we answer with NO-PROPOSAL-CHOSEN (RFC 2408 §3.14.1).
        gateway.WaitFor("All SA proposals found unacceptable", TimeSpan.FromSeconds(20));
        gateway.WaitFor("total length : 56", TimeSpan.FromSeconds(5));
        Assert.Contains("[IKEv1 DEBUG]: IP = 10.0.0.2, All SA proposals found unacceptable", gateway.Output);
        Assert.Contains("[IKEv1]: IP = 10.0.0.2, Error processing payload: Payload ID: 1", gateway.Output);
        Assert.Contains("[IKEv1]: IP = 10.0.0.2, IKE_DECODE SENDING Message (msgid=0) with payloads : HDR + NOTIFY (11) + NONE (0) total length : 56", gateway.Output);
        var log = StrongSwanLogWith(lab, "received NO_PROPOSAL_CHOSEN error notify");
        Assert.Contains("parsed INFORMATIONAL_V1 request 0 [ N(NO_PROP) ]", log);

        RetryWithTheRightSettings(lab, gateway, "initiator", "--esp", "aes128-sha1");
    }

    [Fact]
    public void Phase2_proposal_mismatch_is_refused_by_strongswan_with_no_proposal_chosen_then_a_correct_retry_succeeds()
    {
        using var lab = new InteropLab();
        lab.StartStrongSwan("--role", "responder", "--ike", Seed, "--esp", "aes256-sha256");
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        Tunnel.Ping(lab.Left, 1);

        // Phase 1 completes; our QM1 offers esp-aes esp-sha-hmac, strongSwan wants AES-256/SHA-256 and sends an
        // encrypted, authenticated NO-PROPOSAL-CHOSEN (RFC 2409 §5.7) that we decrypt and report.
        gateway.WaitFor("Received non-routine Notify message: No proposal chosen (14)", TimeSpan.FromSeconds(20));
        Assert.Contains("[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, PHASE 1 COMPLETED", gateway.Output);
        Assert.Contains("[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, Received non-routine Notify message: No proposal chosen (14)", gateway.Output);
        Assert.DoesNotContain("PHASE 2 COMPLETED", gateway.Output);
        var log = StrongSwanLogWith(lab, "no matching proposal found, sending NO_PROPOSAL_CHOSEN");
        Assert.Matches(@"generating INFORMATIONAL_V1 request \d+ \[ HASH N\(NO_PROP\) \]", log);

        RetryWithTheRightSettings(lab, gateway, "responder", "--esp", "aes128-sha1");
    }

    [Fact]
    public void Phase1_proposal_mismatch_with_us_initiating_is_refused_by_strongswan_then_a_correct_retry_succeeds()
    {
        using var lab = new InteropLab();
        lab.StartStrongSwan("--role", "responder", "--ike", "aes256-sha256-modp2048", "--esp", "aes128-sha1");
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        Tunnel.Ping(lab.Left, 1);

        // Our MM1 offers 3DES/SHA/group 2 only: strongSwan answers with an unencrypted NO-PROPOSAL-CHOSEN
        // (RFC 2408 §3.14.1), which before any keys is all there is to read.
        gateway.WaitFor("Received non-routine Notify message: No proposal chosen (14)", TimeSpan.FromSeconds(20));
        Assert.Contains("Received non-routine Notify message: No proposal chosen (14)", gateway.Output);
        Assert.DoesNotContain("PHASE 1 COMPLETED", gateway.Output);
        var log = StrongSwanLogWith(lab, "N(NO_PROP)");
        Assert.Contains("no proposal found", log);

        RetryWithTheRightSettings(lab, gateway, "responder", "--esp", "aes128-sha1");
    }

    [Fact]
    public void Phase2_proposal_mismatch_from_a_strongswan_initiator_is_refused_by_us_then_a_correct_retry_succeeds()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--ike", Seed, "--esp", "aes256-sha256");

        // Phase 1 completes; strongSwan's QM1 offers AES-256/SHA-256, our transform set is esp-aes esp-sha-hmac:
        // we refuse it and say so in an encrypted NO-PROPOSAL-CHOSEN (RFC 2408 §3.14.1, RFC 2409 §5.7).
        gateway.WaitFor("All IPSec SA proposals found unacceptable!", TimeSpan.FromSeconds(20));
        Assert.Contains("[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, PHASE 1 COMPLETED", gateway.Output);
        Assert.Contains("[IKEv1]: Group = 10.0.0.2, IP = 10.0.0.2, All IPSec SA proposals found unacceptable!", gateway.Output);
        Assert.DoesNotContain("PHASE 2 COMPLETED", gateway.Output);
        StrongSwanLogWith(lab, "received NO_PROPOSAL_CHOSEN error notify");

        RetryWithTheRightSettings(lab, gateway, "initiator", "--esp", "aes128-sha1");
    }

    /// <summary>strongSwan's log once it holds a line (its default level 2: no key material).</summary>
    private static string StrongSwanLogWith(InteropLab lab, string text)
    {
        var log = "";
        InteropLab.Eventually(() => (log = lab.StrongSwanLog).Contains(text, StringComparison.Ordinal), TimeSpan.FromSeconds(20), () => $"\"{text}\" in charon.log");
        return log;
    }

    /// <summary>
    /// strongSwan restarted with the seed's settings (its stop deletes whatever SA it had); the same gateway
    /// process then brings the tunnel up (on a ping when strongSwan only responds) and five pings pass.
    /// </summary>
    private static void RetryWithTheRightSettings(InteropLab lab, InteropLab.Gateway gateway, string role, params string[] esp)
    {
        lab.StrongSwan("stop");
        lab.StartStrongSwan(["--role", role, "--ike", Seed, .. esp]);
        if (role == "initiator")
        {
            lab.StrongSwan("wait-established", "30");
        }
        else
        {
            // The first ping after the restart is the acquire (it may time out while both phases run).
            InteropLab.Eventually(() => Tunnel.Ping(lab.Left, 1).Received == 1, TimeSpan.FromSeconds(60), () => gateway.Output);
        }
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        var pings = Tunnel.Ping(lab.Left, 5);
        Assert.True(pings.Received == 5, $"5 pings after the retry, {pings.Received} answered:\n{pings.Output}\n{gateway.Output}");
        Assert.Contains("ESTABLISHED, IKEv1", lab.StrongSwan("list-sas"));
        Assert.Matches(@"#pkts encaps: [1-9]", InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa"));
    }
}
