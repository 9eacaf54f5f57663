using System.Text.RegularExpressions;

namespace IkeActors.Interop.Tests;

/// <summary>
/// Aggressive Mode (RFC 2409 §5.4) against strongSwan 5.9.8 (`aggressive = yes`; charon refuses AM with a pre-shared key
/// unless `i_dont_care_about_security_and_use_aggressive_mode_psk`), both roles: three phase-1 messages in charon's log,
/// our SA shown AM_ACTIVE, pings through the pair; a key ID naming a remote-access group selects that group's key; and
/// `crypto ikev1 am-disable` leaves strongSwan's AM1 unanswered.
/// </summary>
public sealed class AggressiveModeInteropTests
{
    private static string AggressiveInitiator(string config) =>
        InteropLab.Replace(config, "crypto map MAP 10 set reverse-route\n", "crypto map MAP 10 set reverse-route\ncrypto map MAP 10 set ikev1 phase1-mode aggressive group2\n");

    /// <summary>strongSwan's CHILD_SA up within 30 s, or a failure that carries both sides' logs.</summary>
    private static void WaitEstablished(InteropLab lab, InteropLab.Gateway gateway)
    {
        try { lab.StrongSwan("wait-established", "30"); }
        catch (Exception e) { throw new Xunit.Sdk.XunitException($"{e.Message}\n--- ours\n{gateway.Output}\n--- charon\n{lab.StrongSwanLog}"); }
    }

    [Fact]
    public void Strongswan_initiates_aggressive_mode_and_traffic_passes_through_our_responder()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, InteropLab.LeftConfig(), "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--aggressive", "yes", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        WaitEstablished(lab, gateway);
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        var pings = Tunnel.Ping(lab.Left, 10);
        Assert.True(pings.Received == 10, pings.Output + gateway.Output);

        // charon's own account: it sent AM1, got AM2, sent AM3 (RFC 2409 §5.4's three messages).
        var log = lab.StrongSwanLog;
        Assert.Matches(@"generating AGGRESSIVE request 0 \[ SA KE No ID", log);
        Assert.Matches(@"parsed AGGRESSIVE response 0 \[ SA KE No ID HASH", log);
        Assert.Matches(@"generating AGGRESSIVE request 0 \[ HASH", log);
        Assert.Contains("ESTABLISHED, IKEv1", lab.StrongSwan("list-sas"));
        Assert.Contains("IKE_DECODE RECEIVED Message (msgid=0) with payloads : HDR + SA (1) + KE (4) + NONCE (10) + ID (5)", gateway.Output);
        Assert.Contains("Connection landed on tunnel_group 10.0.0.2", gateway.Output);
        var show = InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa");
        Assert.Contains("State   : AM_ACTIVE", show);
        var (encaps, decaps) = Tunnel.Counters(InteropLab.Operator(lab.Left, "show", "crypto", "ipsec", "sa"));
        Assert.True(encaps == 10 && decaps == 10, $"encaps {encaps}, decaps {decaps}");
    }

    [Fact]
    public void Our_initiator_runs_aggressive_mode_to_strongswan_on_a_ping()
    {
        using var lab = new InteropLab();
        lab.StartStrongSwan("--role", "responder", "--aggressive", "yes", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        var gateway = lab.StartGateway(lab.Left, AggressiveInitiator(InteropLab.LeftConfig()), "10.0.0.1:500", "--tun", "ike%d");
        Tunnel.Ping(lab.Left, 1);
        gateway.WaitFor("PHASE 2 COMPLETED", TimeSpan.FromSeconds(30));
        var pings = Tunnel.Ping(lab.Left, 10);
        Assert.True(pings.Received == 10, pings.Output + gateway.Output);

        var log = lab.StrongSwanLog;
        Assert.Matches(@"parsed AGGRESSIVE request 0 \[ SA KE No ID", log);
        Assert.Matches(@"generating AGGRESSIVE response 0 \[ SA KE No ID", log);
        // Our AM3 is encrypted and carries HASH_I and NAT-D; charon verified it (or the IKE SA would not be up).
        Assert.Matches(@"parsed AGGRESSIVE request 0 \[ HASH", log);
        Assert.Matches(@"IKE_SA gw\[\d+\] established between 10\.0\.0\.2\[10\.0\.0\.2\]\.\.\.10\.0\.0\.1\[10\.0\.0\.1\]", log);
        Assert.Contains("State   : AM_ACTIVE", InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa"));
    }

    [Fact]
    public void A_key_id_selects_the_remote_access_group_and_its_key()
    {
        using var lab = new InteropLab();
        // The peer's address has an L2L group whose key strongSwan does not know; only group EZ's key authenticates.
        var config = InteropLab.Replace(InteropLab.LeftConfig(), " pre-shared-key cisco\n",
            " pre-shared-key not-this-one\ntunnel-group EZ type remote-access\ntunnel-group EZ ipsec-attributes\n ikev1 pre-shared-key ez-group-key\n");
        var gateway = lab.StartGateway(lab.Left, config, "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--aggressive", "yes", "--local-id", "keyid:EZ", "--psk", "ez-group-key",
            "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        // Phase 1 with the group's key (a remote-access group then asks XAUTH, which this strongSwan is not configured for:
        // RemoteAccessInteropTests has the whole dial-in).
        gateway.WaitFor("PHASE 1 COMPLETED", TimeSpan.FromSeconds(30));
        Assert.Contains("ID_KEY_ID ID received--EZ", gateway.Output);
        Assert.Contains("Group = EZ, IP = 10.0.0.2, PHASE 1 COMPLETED", gateway.Output);
    }

    [Fact]
    public void Am_disable_leaves_strongswans_aggressive_mode_unanswered()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, InteropLab.Replace(InteropLab.LeftConfig(), ": end", "crypto ikev1 am-disable\n: end"), "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--aggressive", "yes", "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1");
        gateway.WaitFor("Aggressive Mode is disabled", TimeSpan.FromSeconds(30));
        Thread.Sleep(2000);
        Assert.DoesNotContain("ESTABLISHED", lab.StrongSwan("list-sas"));
        Assert.DoesNotMatch(new Regex("IKE_DECODE SENDING"), gateway.Output);
        Assert.Contains("There are no IKEv1 SAs", InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa"));
    }
}
