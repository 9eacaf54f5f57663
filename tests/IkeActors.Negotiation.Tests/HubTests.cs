using IkeActors.Negotiation.Tests.Support;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// A hub on a dynamic crypto map (samples/Hub) answering the seed's initiator, which it has no
/// crypto map entry or tunnel-group for: the peer lands on DefaultL2LGroup (its key) and the dynamic
/// map's entry (its transform set, PFS and lifetime). Debug lines as the ASA prints a dynamic-map
/// match: the static check passes the dynamic entry by ("Static Crypto Map Check by-passed: Crypto
/// map entry incomplete!", syslog 713224) and names the dynamic map ("IKE Remote Peer configured for
/// crypto map", 713066).
/// </summary>
public class HubTests
{
    private const string Spoke = "10.0.0.1";
    private const string Hub = "10.0.0.2";
    private static string HubConfig(string name) => File.ReadAllText(Path.Combine(Lab.RepoRoot, "samples", "Hub", name));

    [Fact]
    public void A_spoke_with_a_static_map_brings_up_a_tunnel_to_a_hub_on_a_dynamic_map()
    {
        using var lab = new Lab(Configs.Initiator, HubConfig("hub.cfg"));
        lab.AcquireAndRun();
        var (left, right) = LabAssert.TunnelUp(lab);
        Assert.Equal(("DYN", 10), (right.CryptoMap, right.Sequence));   // "Crypto map tag: DYN, seq num: 10"
        Assert.Equal(("MAP", 10), (left.CryptoMap, left.Sequence));
        Assert.Equal("192.168.2.0/255.255.255.0/1/0", right.Local.ToString());
        Assert.Equal("192.168.1.0/255.255.255.0/1/0", right.Remote.ToString());
        Assert.Equal(16, right.Inbound.EncryptionKey.Length);   // esp-aes: AES-128 (RFC 3602)
        // No lifetime on either map entry: the ASA default 28800 s (ASA command reference, crypto ipsec security-association lifetime).
        Assert.Equal(28800, right.LifetimeSeconds);

        var hub = lab.RightLines;
        LabAssert.Line(hub, $"[IKEv1]: Group = DefaultL2LGroup, IP = {Spoke}, Static Crypto Map check, checking map = MAP, seq = 65535...");
        LabAssert.Line(hub, $"[IKEv1]: Group = DefaultL2LGroup, IP = {Spoke}, Static Crypto Map Check by-passed: Crypto map entry incomplete!");
        LabAssert.Line(hub, $"[IKEv1]: Group = DefaultL2LGroup, IP = {Spoke}, IKE Remote Peer configured for crypto map: DYN");
        Assert.DoesNotContain(hub, l => l.Contains("is a successful match", StringComparison.Ordinal));
        Assert.Equal("DefaultL2LGroup", lab.Right.Sas.Single().TunnelGroup);
    }

    [Fact]
    public void The_modern_hub_gives_its_dynamic_entry_pfs_transform_set_and_lifetime_to_quick_mode()
    {
        var spoke = Configs.Initiator
            .Edit("crypto ipsec transform-set TRANSFORM esp-aes esp-sha-hmac", "crypto ipsec transform-set TRANSFORM esp-aes-256 esp-sha256-hmac")
            .Edit("crypto map MAP 10 set reverse-route", "crypto map MAP 10 set reverse-route\ncrypto map MAP 10 set pfs group14")
            .Edit(" encryption 3des", " encryption aes-256")
            .Edit(" hash sha\n", " hash sha256\n")
            .Edit(" group 2", " group 14");
        using var lab = new Lab(spoke, HubConfig("hub-modern.cfg"));
        lab.AcquireAndRun();
        var (left, right) = LabAssert.TunnelUp(lab);
        Assert.Equal(("DYN", 10), (right.CryptoMap, right.Sequence));
        Assert.Equal(32, right.Inbound.EncryptionKey.Length);   // esp-aes-256
        Assert.Equal(32, right.Inbound.IntegrityKey.Length);    // HMAC-SHA-256 (RFC 4868)
        Assert.Equal(14, (int?)right.Transform.PfsGroup);
        // The hub's dynamic entry sets 3600 s; the shorter lifetime wins on both sides (RFC 2407 §4.6.3.1).
        Assert.Equal(3600, right.LifetimeSeconds);
        Assert.Equal(3600, left.LifetimeSeconds);
    }

    [Fact]
    public void A_hub_whose_dynamic_entry_sets_pfs_refuses_a_spoke_without_pfs()
    {
        // hub-modern's dynamic entry requires PFS group 14; the spoke offers no PFS: no proposal chosen (ASA behaviour with `set pfs`).
        var spoke = Configs.Initiator
            .Edit("crypto ipsec transform-set TRANSFORM esp-aes esp-sha-hmac", "crypto ipsec transform-set TRANSFORM esp-aes-256 esp-sha256-hmac")
            .Edit(" encryption 3des", " encryption aes-256")
            .Edit(" hash sha\n", " hash sha256\n")
            .Edit(" group 2", " group 14");
        using var lab = new Lab(spoke, HubConfig("hub-modern.cfg"));
        lab.AcquireAndRun();
        Assert.Equal(MainModeState.MM_ACTIVE, Assert.Single(lab.Right.Sas).State);
        LabAssert.NoInstall(lab);
    }

    [Fact]
    public void Proxies_outside_the_dynamic_entrys_acl_are_refused_with_the_ASA_lines_and_no_SA()
    {
        var hub = HubConfig("hub.cfg")
            .Edit("crypto dynamic-map DYN 10 set ikev1 transform-set ESP-AES-SHA",
                "access-list SPOKES extended permit ip 192.168.2.0 255.255.255.0 172.16.0.0 255.240.0.0\n"
                + "crypto dynamic-map DYN 10 match address SPOKES\ncrypto dynamic-map DYN 10 set ikev1 transform-set ESP-AES-SHA");
        using var lab = new Lab(Configs.Initiator, hub);
        lab.AcquireAndRun();

        var right = lab.RightLines;
        Assert.Contains(right, l => l.EndsWith("PHASE 1 COMPLETED", StringComparison.Ordinal));
        LabAssert.Line(right, $"[IKEv1]: Group = DefaultL2LGroup, IP = {Spoke}, Static Crypto Map Check by-passed: Crypto map entry incomplete!");
        LabAssert.Line(right, $"[IKEv1]: Group = DefaultL2LGroup, IP = {Spoke}, Rejecting IPSec tunnel: no matching crypto map entry for remote proxy 192.168.1.0/255.255.255.0/1/0 local proxy 192.168.2.0/255.255.255.0/1/0 on interface outside");
        Assert.DoesNotContain(right, l => l.Contains("IKE Remote Peer configured for crypto map", StringComparison.Ordinal));
        Assert.Equal(FailureReason.ProxyIdMismatch, Assert.Single(lab.RightOutput.OfType<NegotiationFailed>()).Reason);
        LabAssert.Line(lab.LeftLines, $"[IKEv1]: Group = {Hub}, IP = {Hub}, Received non-routine Notify message: Invalid ID info (18)");
        LabAssert.NoInstall(lab);
        Assert.Empty(lab.Right.Sas.Single().IpsecSas);
    }

    [Fact]
    public void A_listed_peer_whose_static_entry_misses_is_not_let_in_by_the_dynamic_map()
    {
        // The hub also has a static entry for the spoke with an ACL that misses its proxies: the ASA
        // does not fall through to the dynamic map for a peer found in a previous entry.
        var hub = HubConfig("hub.cfg")
            .Edit("crypto map MAP 65535 ipsec-isakmp dynamic DYN",
                "access-list OTHER extended permit ip 192.168.2.0 255.255.255.0 10.99.0.0 255.255.0.0\n"
                + "crypto map MAP 10 match address OTHER\ncrypto map MAP 10 set peer 10.0.0.1\ncrypto map MAP 10 set ikev1 transform-set ESP-AES-SHA\n"
                + "crypto map MAP 65535 ipsec-isakmp dynamic DYN");
        using var lab = new Lab(Configs.Initiator, hub);
        lab.AcquireAndRun();
        var right = lab.RightLines;
        LabAssert.Line(right, $"[IKEv1]: Group = DefaultL2LGroup, IP = {Spoke}, Skipping dynamic map DYN sequence 10: cannot match peerless map when peer found in previous map entry.");
        Assert.Contains(right, l => l.Contains("Rejecting IPSec tunnel: no matching crypto map entry", StringComparison.Ordinal));
        LabAssert.NoInstall(lab);
    }

    [Fact]
    public void The_spoke_authenticates_with_DefaultL2LGroups_key_and_fails_when_it_differs()
    {
        var hub = HubConfig("hub.cfg").Edit(" ikev1 pre-shared-key cisco", " ikev1 pre-shared-key not-the-spokes-key");
        using var lab = new Lab(Configs.Initiator, hub);
        lab.AcquireAndRun();
        LabAssert.NoInstall(lab);
        Assert.DoesNotContain(lab.RightLines, l => l.EndsWith("PHASE 1 COMPLETED", StringComparison.Ordinal));
        // A tunnel-group of the spoke's own, with the right key, wins over DefaultL2LGroup.
        var own = hub + "\ntunnel-group 10.0.0.1 type ipsec-l2l\ntunnel-group 10.0.0.1 ipsec-attributes\n ikev1 pre-shared-key cisco\n";
        using var lab2 = new Lab(Configs.Initiator, own);
        lab2.AcquireAndRun();
        LabAssert.TunnelUp(lab2);
        LabAssert.Line(lab2.RightLines, $"[IKEv1]: Group = {Spoke}, IP = {Spoke}, IKE Remote Peer configured for crypto map: DYN");
    }

    [Fact]
    public void The_hub_leaves_rekeying_to_the_spoke_because_a_dynamic_map_never_initiates()
    {
        using var lab = new Lab(Configs.Initiator, HubConfig("hub.cfg"));
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        lab.FireTimers(left: false, TimerKind.Phase1Rekey);
        Assert.Empty(lab.RightOutput.OfType<Phase1RekeyDue>());
        Assert.Contains(new RekeyDue(RekeyPhase.Phase1, 0, RekeyDecision.LeftToInitiator), lab.RightOutput.OfType<RekeyDue>());
        // The spoke (static map) does rekey, and the hub answers on the dynamic map again.
        lab.FireTimers(left: true, TimerKind.Phase1Rekey);
        Assert.Single(lab.LeftOutput.OfType<Phase1RekeyDue>());
    }

    [Fact]
    public void A_hub_restored_from_a_json_snapshot_keeps_its_dynamic_map_sa_and_answers_a_second_quick_mode()
    {
        using var lab = new Lab(Configs.Initiator, HubConfig("hub.cfg"));
        lab.AcquireAndRun();
        LabAssert.TunnelUp(lab);
        var snapshot = System.Text.Json.JsonSerializer.Deserialize<IkeSaSnapshot>(
            System.Text.Json.JsonSerializer.Serialize(Assert.Single(lab.Right.Sas).Snapshot()))!;
        var engine = new NegotiationEngine(new GatewayContext(Lab.Load(HubConfig("hub.cfg")), Lab.RightAddress, new SeededEnvironment(4242)));
        lab.Right.Dispose();
        lab.Right = engine;
        var restored = engine.Restore(snapshot, lab.RightOutput);
        var installed = Assert.Single(restored.IpsecSas);
        Assert.Equal(("DYN", 10), (installed.Match.Tag, installed.Match.Entry.Sequence));
        Assert.Null(installed.Match.AccessList);

        // tcp 192.168.1.10 -> 192.168.2.10:80: the spoke's tcp ACL line, a second Quick Mode on the restored hub.
        var start = lab.RightOutput.Actions.Count;
        Assert.True(lab.Left.Acquire(new IkeActors.Config.Lookup.Packet(System.Net.IPAddress.Parse("192.168.1.10"), System.Net.IPAddress.Parse("192.168.2.10"), 6, 40000, 80), lab.LeftOutput));
        lab.Run();
        var pair = Assert.Single(lab.RightOutput.Actions.Skip(start).OfType<InstallIpsecSa>()).Pair;
        Assert.Equal(("DYN", 10, 6), (pair.CryptoMap, pair.Sequence, pair.Local.Protocol));
    }
}
