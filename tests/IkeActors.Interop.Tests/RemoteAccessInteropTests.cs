using IkeActors.Testing;
using System.Text.RegularExpressions;

namespace IkeActors.Interop.Tests;

/// <summary>
/// Remote access with real clients against `ikeactors run --tun` in `ike-left` (10.0.0.1, inside 192.168.1.1): strongSwan
/// 5.9.8 as an IKEv1 XAUTH client in `ike-right` (Aggressive Mode naming group EZ as ID_KEY_ID, the group key, XAUTH
/// with xauth-generic, a virtual IP pulled by Mode Config, the unity plugin narrowing its CHILD_SA to the split network)
/// gets the pool's first address and pings the head-end's inside address through the tunnel. The dynamic map has no
/// `set reverse-route`: a client's pool address is routed into the tunnel all the same, as the ASA adds a route for it.
/// </summary>
public sealed class RemoteAccessInteropTests
{
    internal const string HeadEnd = """
        interface GigabitEthernet0/0
         nameif inside
         security-level 100
         ip address 192.168.1.1 255.255.255.0
        interface GigabitEthernet0/1
         nameif outside
         security-level 0
         ip address 10.0.0.1 255.255.255.0
        crypto ipsec ikev1 transform-set TRA esp-aes esp-sha-hmac
        crypto dynamic-map DYN 10 set ikev1 transform-set TRA
        crypto map MAP 65000 ipsec-isakmp dynamic DYN
        crypto map MAP interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption aes
         hash sha
         group 2
         lifetime 86400
        ip local pool EZPOOL 192.168.100.10-192.168.100.20 mask 255.255.255.0
        access-list SPLIT standard permit 192.168.1.0 255.255.255.0
        username cisco password cisco
        group-policy EZ internal
        group-policy EZ attributes
         dns-server value 192.168.1.53
         vpn-tunnel-protocol ikev1
         split-tunnel-policy tunnelspecified
         split-tunnel-network-list value SPLIT
         default-domain value lab.example
        tunnel-group EZ type remote-access
        tunnel-group EZ general-attributes
         address-pool EZPOOL
         default-group-policy EZ
        tunnel-group EZ ipsec-attributes
         ikev1 pre-shared-key ezkey

        """;

    private static void WaitEstablished(InteropLab lab, InteropLab.Gateway gateway)
    {
        try { lab.StrongSwan("wait-established", "30"); }
        catch (Exception e) { throw new Xunit.Sdk.XunitException($"{e.Message}\n--- ours\n{gateway.Output}\n--- charon\n{lab.StrongSwanLog}"); }
    }

    [Fact]
    public void Strongswan_dials_in_with_xauth_gets_the_first_pool_address_and_pings_the_inside()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, HeadEnd, "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--aggressive", "yes", "--local-id", "keyid:EZ", "--psk", "ezkey",
            "--xauth", "cisco", "--xauth-password", "cisco", "--remote-ts", "192.168.1.0/24",
            "--ike", "aes128-sha1-modp1024", "--esp", "aes128-sha1");
        WaitEstablished(lab, gateway);
        var sas = lab.StrongSwan("list-sas");
        // charon's virtual IP is the pool's first address, its CHILD_SA from there to the split network.
        Assert.Matches(@"\[192\.168\.100\.10\]", sas);
        Assert.Matches(@"local\s+192\.168\.100\.10/32", sas);
        Assert.Matches(@"remote\s+192\.168\.1\.0/24", sas);
        var log = lab.StrongSwanLog;
        Assert.Contains("XAuth authentication of 'cisco' (myself) successful", log);
        Assert.Matches(@"installing new virtual IP 192\.168\.100\.10", log);
        // charon's CHILD_SA is up once it sent QM3; ours once QM3 arrived (RFC 2409 §5.5): wait for our side too.
        InteropLab.Eventually(() => InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "detail", "remote").Contains("IPsec Tunnels: 1"),
            TimeSpan.FromSeconds(10), () => gateway.Output);

        var (_, ping) = InteropLab.Exec(lab.Right, "ping", "-n", "-c", "5", "-i", "0.2", "-W", "3", "-I", "192.168.100.10", "192.168.1.1");
        Assert.True(Regex.IsMatch(ping, @"5 packets transmitted, 5 received"), ping + "\n" + gateway.Output);

        Assert.Contains("User (cisco) authenticated.", gateway.Output);
        Assert.Contains("Assigned private IP address 192.168.100.10 to remote user", gateway.Output);
        Assert.DoesNotContain("ezkey", gateway.Output);
        var isakmp = InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa");
        Assert.Contains("State   : AM_ACTIVE", isakmp);
    }

    /// <summary>
    /// Mode Config pushed (`crypto map MAP client configuration address initiate`): charon with `pull = no` asks nothing
    /// and waits for the head-end's SET (draft-dukes-ike-mode-cfg-02 §3.2), acknowledges it, installs the address and pings.
    /// </summary>
    [Fact]
    public void Strongswan_waiting_for_a_pushed_mode_config_gets_its_address_from_the_head_ends_SET()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, HeadEnd + "crypto map MAP client configuration address initiate\n", "10.0.0.1:500", "--tun", "ike%d");
        lab.StartStrongSwan("--role", "initiator", "--aggressive", "yes", "--local-id", "keyid:EZ", "--psk", "ezkey",
            "--xauth", "cisco", "--xauth-password", "cisco", "--modecfg", "push", "--remote-ts", "192.168.1.0/24",
            "--ike", "aes128-sha1-modp1024", "--esp", "aes128-sha1");
        WaitEstablished(lab, gateway);
        var log = lab.StrongSwanLog;
        // charon's own account: a SET received, an ACK sent, the address installed (it sent no Mode Config REQUEST).
        Assert.Matches(@"parsed TRANSACTION \w+ \d+ \[ HASH CPS\(ADDR", log);
        Assert.Matches(@"generating TRANSACTION \w+ \d+ \[ HASH CPA\(ADDR", log);
        Assert.DoesNotMatch(@"generating TRANSACTION \w+ \d+ \[ HASH CPRQ\(ADDR", log);
        Assert.Matches(@"installing new virtual IP 192\.168\.100\.10", log);
        InteropLab.Eventually(() => InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "detail", "remote").Contains("IPsec Tunnels: 1"),
            TimeSpan.FromSeconds(10), () => gateway.Output);
        var (_, ping) = InteropLab.Exec(lab.Right, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "3", "-I", "192.168.100.10", "192.168.1.1");
        Assert.True(Regex.IsMatch(ping, @"3 packets transmitted, 3 received"), ping + "\n" + gateway.Output);
        Assert.Contains("Assigned private IP address 192.168.100.10 to remote user", gateway.Output);
    }

    [Fact]
    public void Vpnc_connects_gets_the_first_pool_address_routes_the_split_network_only_and_pings_through()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, HeadEnd, "10.0.0.1:500", "--tun", "ike%d");
        lab.StartVpnc("--gateway", "10.0.0.1", "--group", "EZ", "--secret", "ezkey", "--user", "cisco", "--password", "cisco");
        try { lab.Vpnc("wait-connected", "30"); }
        catch (Exception e) { throw new Xunit.Sdk.XunitException($"{e.Message}\n--- ours\n{gateway.Output}\n--- vpnc\n{lab.VpncLog}"); }
        // The head-end installs the pair on QM3 (RFC 2409 §5.5): once the session lists its IPsec tunnel, traffic passes.
        InteropLab.Eventually(() => InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "detail", "remote").Contains("IPsec Tunnels: 1"),
            TimeSpan.FromSeconds(10), () => gateway.Output);
        var given = lab.Vpnc("status");
        Assert.Contains("INTERNAL_IP4_ADDRESS=192.168.100.10", given);
        Assert.Contains("INTERNAL_IP4_NETMASK=255.255.255.0", given);
        Assert.Contains("INTERNAL_IP4_DNS=192.168.1.53", given);
        Assert.Contains("CISCO_DEF_DOMAIN=lab.example", given);
        Assert.Contains("CISCO_SPLIT_INC=1", given);
        Assert.Contains("CISCO_SPLIT_INC_0_ADDR=192.168.1.0", given);
        Assert.Contains("CISCO_SPLIT_INC_0_MASKLEN=24", given);

        // Its routing table: the split network through its TUN device, nothing else (no default route into the tunnel).
        var (_, routes) = InteropLab.Exec(lab.Right, "ip", "route", "show");
        Assert.Matches(@"192\.168\.1\.0/24 dev vpnc0", routes);
        Assert.DoesNotMatch(@"default[^\n]*vpnc0", routes);

        var (_, ping) = InteropLab.Exec(lab.Right, "ping", "-n", "-c", "5", "-i", "0.2", "-W", "3", "192.168.1.1");
        Assert.True(Regex.IsMatch(ping, @"5 packets transmitted, 5 received"), ping + "\n" + gateway.Output);
        Assert.Contains("User (cisco) authenticated.", gateway.Output);
        Assert.Contains("Assigned private IP address 192.168.100.10 to remote user", gateway.Output);

        // The session as the ASA lists it: user, addresses, protocol, groups; the detail says Aggressive Mode with XAUTH.
        var sessions = InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "remote");
        Assert.StartsWith("Session Type: IPsec\n", sessions);
        Assert.Contains("Username     : cisco                  Index        : 1\n", sessions);
        Assert.Contains("Assigned IP  : 192.168.100.10         Public IP    : 10.0.0.2\n", sessions);
        Assert.Contains("Protocol     : IKEv1 IPsec\n", sessions);
        Assert.Contains("Encryption   : IKEv1: (1)AES", sessions);
        Assert.Contains("Group Policy : EZ                     Tunnel Group : EZ\n", sessions);
        var detail = InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "detail", "remote");
        Assert.Contains("IKE Neg Mode : Aggressive             Auth Mode    : preSharedKeysXauth\n", detail);
        Assert.Contains("Remote Addr  : 192.168.100.10/255.255.255.255/0/0\n", detail);
        Assert.Matches(@"Pkts Tx      : [1-9]\d*\s+Pkts Rx      : [1-9]", detail);
        Assert.Contains("no active sessions", InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "l2l"));

        // vpnc-disconnect: SIGTERM, vpnc deletes its SAs, the head-end has no SA and no session left.
        lab.Vpnc("stop");
        InteropLab.Eventually(() => InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa").Contains("There are no IKEv1 SAs"),
            TimeSpan.FromSeconds(15), () => InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa") + gateway.Output);
        Assert.Equal("INFO: There are presently no active sessions of the type specified\n", InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "remote"));

        // The address went back to the pool: dialling in again gets the first address again.
        lab.StartVpnc("--gateway", "10.0.0.1", "--group", "EZ", "--secret", "ezkey", "--user", "cisco", "--password", "cisco");
        lab.Vpnc("wait-connected", "30");
        Assert.Contains("INTERNAL_IP4_ADDRESS=192.168.100.10", lab.Vpnc("status"));
    }

    [Fact]
    public void A_wrong_xauth_password_is_asked_three_times_then_refused_and_nothing_is_left()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, HeadEnd, "10.0.0.1:500", "--tun", "ike%d");
        lab.StartVpnc("--gateway", "10.0.0.1", "--group", "EZ", "--secret", "ezkey", "--user", "cisco", "--password", "not-cisco", "--expect-failure", "yes");
        // vpnc's side: the head-end refused the credentials.
        Assert.Matches(new Regex("authentication unsuccessful|Authentication failed|xauth", RegexOptions.IgnoreCase), lab.VpncLog);
        // Ours: the ASA's refusal line, no session, no SA, the password in no line.
        Assert.Contains("Remote peer has failed user authentication", gateway.Output);
        Assert.DoesNotContain("not-cisco", gateway.Output);
        Assert.DoesNotContain("Assigned private IP address", gateway.Output);
        InteropLab.Eventually(() => InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa").Contains("There are no IKEv1 SAs"),
            TimeSpan.FromSeconds(15), () => InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa") + gateway.Output);
        Assert.Contains("no active sessions", InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "remote"));
    }

    [Fact]
    public void An_unknown_group_gets_no_answer_and_a_wrong_group_key_fails_on_the_client()
    {
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, HeadEnd, "10.0.0.1:500", "--tun", "ike%d");
        // A group the head-end does not have (and DefaultRAGroup has no key): AM1 is not answered.
        lab.StartVpnc("--gateway", "10.0.0.1", "--group", "NOPE", "--secret", "ezkey", "--user", "cisco", "--password", "cisco", "--expect-failure", "yes");
        Assert.Contains("ID_KEY_ID ID received--NOPE", gateway.Output);
        Assert.Contains("Can't find a valid tunnel group, aborting...!", gateway.Output);
        Assert.Contains("There are no IKEv1 SAs", InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa"));

        // The right group with the wrong key: our AM2's HASH_R does not verify on the client (RFC 2409 §5.4), it stops there.
        lab.StartVpnc("--gateway", "10.0.0.1", "--group", "EZ", "--secret", "not-the-key", "--user", "cisco", "--password", "cisco", "--expect-failure", "yes");
        Assert.Matches(new Regex("hash comparison failed|AUTHENTICATION_FAILED|authentication", RegexOptions.IgnoreCase), lab.VpncLog);
        Assert.DoesNotContain("User (cisco) authenticated.", gateway.Output);
        Assert.DoesNotContain("not-the-key", gateway.Output);
        // Our half waits for an AM3 that never comes (in the front-end's lane, not listed before it is up) and goes when its
        // retransmissions run out, as the ASA's does: nothing established, no session.
        Assert.DoesNotContain("AM_ACTIVE", InteropLab.Operator(lab.Left, "show", "crypto", "isakmp", "sa"));
        Assert.Contains("no active sessions", InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "remote"));
    }

    [Fact]
    public void An_exhausted_pool_refuses_the_next_client_until_DPD_frees_the_address_of_a_vanished_one()
    {
        using var lab = new InteropLab();
        var onePool = HeadEnd.Replace("ip local pool EZPOOL 192.168.100.10-192.168.100.20", "ip local pool EZPOOL 192.168.100.10-192.168.100.10");
        var gateway = lab.StartGateway(lab.Left, onePool, "10.0.0.1:500", "--tun", "ike%d");
        lab.StartVpnc("--gateway", "10.0.0.1", "--group", "EZ", "--secret", "ezkey", "--user", "cisco", "--password", "cisco");
        lab.Vpnc("wait-connected", "30");
        Assert.Contains("INTERNAL_IP4_ADDRESS=192.168.100.10", lab.Vpnc("status"));
        // The client vanishes without a word: its address stays leased while the head-end still believes in it. The next
        // client dials from another address (10.0.0.3: the same address's INITIAL-CONTACT would end the old session).
        lab.Vpnc("kill");
        var (_, iface) = InteropLab.Exec(lab.Right, "sh", "-c", "ip -o -4 addr show | awk '/ 10[.]0[.]0[.]2[/]/ { print $2 }'");
        InteropLab.Exec(lab.Right, "ip", "addr", "add", "10.0.0.3/24", "dev", iface.Trim());
        lab.StartVpnc("--gateway", "10.0.0.1", "--group", "EZ", "--secret", "ezkey", "--user", "cisco", "--password", "cisco", "--local-addr", "10.0.0.3", "--expect-failure", "yes");
        Assert.Contains("Cannot obtain an IP address for remote peer", gateway.Output);
        // DPD declares the vanished client dead (threshold 10 s, 2 s retries): its address is free again.
        InteropLab.Eventually(() => InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "remote").Contains("no active sessions"),
            TimeSpan.FromSeconds(40), () => InteropLab.Operator(lab.Left, "show", "vpn-sessiondb", "remote") + gateway.Output);
        lab.StartVpnc("--gateway", "10.0.0.1", "--group", "EZ", "--secret", "ezkey", "--user", "cisco", "--password", "cisco", "--local-addr", "10.0.0.3");
        lab.Vpnc("wait-connected", "30");
        Assert.Contains("INTERNAL_IP4_ADDRESS=192.168.100.10", lab.Vpnc("status"));
    }

    /// <summary>
    /// Why `config check` warns about Aggressive Mode with a group key: ike-scan (as an attacker who knows only the group
    /// name) gets our AM2, whose HASH_R is a function of the key, and psk-crack finds the key offline from a word list.
    /// With `crypto ikev1 am-disable` ike-scan gets no answer at all.
    /// </summary>
    [Fact]
    public void Ike_scan_recovers_a_weak_group_key_from_aggressive_mode_and_am_disable_stops_it()
    {
        RequiredProgram.Check("ike-scan", "ike-scan");
        using var lab = new InteropLab();
        var gateway = lab.StartGateway(lab.Left, HeadEnd, "10.0.0.1:500", "--tun", "ike%d");
        var psk = lab.WriteFile("ez.psk", "");
        var dictionary = lab.WriteFile("words.txt", "password\ncisco\nletmein\nezkey\nsecret\n");
        // AES-128 (7/128), SHA-1 (2), pre-shared key (1), group 2: the head-end's policy; the group name as ID_KEY_ID (11).
        var (_, scan) = InteropLab.Exec(lab.Right, "ike-scan", "-A", "-M", "--id=EZ", "--idtype=11", "--trans=7/128,2,1,2", "--dhgroup=2",
            "--pskcrack=" + psk, "10.0.0.1");
        Assert.Contains("Aggressive Mode Handshake returned", scan);
        var (_, crack, crackErrors) = ProcessRunner.Run("psk-crack", ["-d", dictionary, psk]);
        Assert.Matches(@"key ""ezkey"" matches", crack + crackErrors);
        Assert.Contains("Group = EZ", gateway.Output);

        // The same probe against a head-end with Aggressive Mode disabled: no answer, nothing to crack.
        using var closed = new InteropLab();
        var refusing = closed.StartGateway(closed.Left, HeadEnd + "crypto ikev1 am-disable\n", "10.0.0.1:500", "--tun", "ike%d");
        var (_, nothing) = InteropLab.Exec(closed.Right, "ike-scan", "-A", "-M", "--id=EZ", "--idtype=11", "--trans=7/128,2,1,2", "--dhgroup=2", "10.0.0.1");
        Assert.DoesNotContain("Aggressive Mode Handshake returned", nothing);
        Assert.Matches(@"0 returned handshake", nothing);
        Assert.Contains("Aggressive Mode is disabled", refusing.Output);
    }
}
