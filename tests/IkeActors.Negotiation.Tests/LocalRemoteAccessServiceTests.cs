using System.Net;
using System.Text;
using IkeActors.Negotiation.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// The configuration-backed remote-access service: the Cisco document 113595's EzVPN server (tests/data/seed, its
/// indentation restored) gives user cisco its framed address 192.168.1.100/24 and group policy EZ's DNS and domain;
/// pools hand out each address once and take it back; `vpn-simultaneous-logins` and the failure throttle hold.
/// Expected values are the document's configuration, not this service's output.
/// </summary>
public class LocalRemoteAccessServiceTests
{
    /// <summary>A lease as an in-process host carries it out: the service's plan, the book's lease, the service's attributes.</summary>
    private sealed class Leases(LocalRemoteAccessService service)
    {
        public LocalAddressBook Book { get; } = new();

        public ModeConfigLease? Lease(string group, string? user, string session, out string? refusal)
        {
            if (service.PlanAddress(group, user, session, out refusal) is not { } plan) return null;
            var result = AddressLeasing.Lease(Book, plan);
            refusal = result.Refusal;
            return result.Address is { } a ? service.Describe(group, user, a) : null;
        }

        public void Release(string session, string? user, params string[] pools) => AddressLeasing.Release(Book, new AddressRelease(session, user, pools));
    }

    private static readonly string SeedServer = Path.Combine(Lab.RepoRoot, "tests", "data", "seed", "asa-ezvpn-server-aggressive-mode.indented.cfg");
    private static readonly IPAddress Client = IPAddress.Parse("10.48.66.23");

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void The_documents_user_gets_its_framed_address_and_the_group_policys_attributes()
    {
        var service = new LocalRemoteAccessService(Lab.Load(SeedServer));
        Assert.True(service.RequiresXauth("EZ")); // remote-access groups default to XAUTH
        Assert.Equal(XauthVerdict.Accepted, service.Authenticate("EZ", "cisco", Utf8("cisco"), Client));
        var leases = new Leases(service);
        var lease = leases.Lease("EZ", "cisco", "s1", out var refusal);
        Assert.Null(refusal);
        Assert.Equal(IPAddress.Parse("192.168.1.100"), lease!.Address);
        Assert.Equal(IPAddress.Parse("255.255.255.0"), lease.Netmask);
        Assert.Equal([IPAddress.Parse("192.168.1.99")], lease.DnsServers);
        Assert.Equal("jyoungta-labdomain.cisco.com", lease.DefaultDomain);
        Assert.True(lease.SavePassword);                 // password-storage enable
        Assert.Empty(lease.SplitInclude);                // split-tunnel-policy tunnelall
        Assert.Equal("EZ", lease.GroupPolicy);
        // The framed address is the user's: a second session of the same user gets none (and logins default to 3).
        Assert.Null(leases.Lease("EZ", "cisco", "s2", out refusal));
        Assert.Equal("the user's vpn-framed-ip-address is in use", refusal);
        leases.Release("s1", "cisco", "framed 192.168.1.100");
        Assert.Equal(IPAddress.Parse("192.168.1.100"), leases.Lease("EZ", "cisco", "s2", out _)!.Address);
    }

    [Theory]
    [InlineData("cisco", "Cisco")]
    [InlineData("cisco", "")]
    [InlineData("nobody", "cisco")]
    [InlineData("cisco", "cisco\u0000")]
    public void A_wrong_password_or_an_unknown_user_is_rejected(string user, string password) =>
        Assert.Equal(XauthVerdict.Rejected, new LocalRemoteAccessService(Lab.Load(SeedServer)).Authenticate("EZ", user, Utf8(password), Client));

    private const string PoolConfig = """
        interface GigabitEthernet0/0
         nameif outside
         security-level 0
         ip address 203.0.113.1 255.255.255.0
        ip local pool CLIENTS 10.10.0.1-10.10.0.3 mask 255.255.255.0
        access-list SPLIT standard permit 172.16.0.0 255.255.0.0
        access-list SPLIT standard permit host 192.168.50.5
        username alice password alice-pw
        username bob password bob-pw
        username bob attributes
         vpn-simultaneous-logins 1
        group-policy RA internal
        group-policy RA attributes
         dns-server value 10.10.0.53 10.10.0.54
         vpn-simultaneous-logins 10
         split-tunnel-policy tunnelspecified
         split-tunnel-network-list value SPLIT
         banner value Authorised users only
         banner value Second line
        tunnel-group RA type remote-access
        tunnel-group RA general-attributes
         address-pool CLIENTS
         default-group-policy RA
        tunnel-group RA ipsec-attributes
         ikev1 pre-shared-key ra-group-key
        """;

    [Fact]
    public void A_pool_gives_each_address_once_then_refuses_and_takes_addresses_back()
    {
        var leases = new Leases(new LocalRemoteAccessService(Lab.Load(PoolConfig)));
        var given = Enumerable.Range(1, 3).Select(i => leases.Lease("RA", null, "a" + i, out _)!.Address).ToList();
        Assert.Equal(["10.10.0.1", "10.10.0.2", "10.10.0.3"], given.Select(a => a.ToString()));
        Assert.Null(leases.Lease("RA", null, "a4", out var refusal)); // exhausted
        Assert.Contains("no free address", refusal);
        leases.Release("a2", null, "CLIENTS");
        leases.Release("a2", null, "CLIENTS"); // idempotent
        Assert.Equal(IPAddress.Parse("10.10.0.2"), leases.Lease("RA", null, "a4", out _)!.Address);
        Assert.Equal(3, leases.Book.LeasedCount);
        // The same session asking again keeps its address (a retransmitted request).
        Assert.Equal(IPAddress.Parse("10.10.0.1"), leases.Lease("RA", null, "a1", out _)!.Address);
    }

    [Fact]
    public void The_group_policy_sends_its_split_networks_dns_and_banner()
    {
        var lease = new Leases(new LocalRemoteAccessService(Lab.Load(PoolConfig))).Lease("RA", "alice", "s", out _)!;
        Assert.Equal(IPAddress.Parse("255.255.255.0"), lease.Netmask);
        Assert.Equal([(IPAddress.Parse("172.16.0.0"), IPAddress.Parse("255.255.0.0")), (IPAddress.Parse("192.168.50.5"), IPAddress.Parse("255.255.255.255"))], lease.SplitInclude);
        Assert.Equal(["10.10.0.53", "10.10.0.54"], lease.DnsServers.Select(d => d.ToString()));
        Assert.Equal("Authorised users only\nSecond line", lease.Banner);
        Assert.False(lease.SavePassword);
    }

    [Fact]
    public void Vpn_simultaneous_logins_refuses_a_second_session_of_the_user()
    {
        var leases = new Leases(new LocalRemoteAccessService(Lab.Load(PoolConfig)));
        Assert.NotNull(leases.Lease("RA", "bob", "b1", out _));
        Assert.Null(leases.Lease("RA", "bob", "b2", out var refusal));
        Assert.Contains("vpn-simultaneous-logins 1", refusal);
        Assert.Equal(1, leases.Book.LeasedCount); // the refused session holds nothing
        leases.Release("b1", "bob", "CLIENTS");
        Assert.NotNull(leases.Lease("RA", "bob", "b2", out _));
    }

    [Fact]
    public void Failures_are_throttled_per_user_and_per_source_for_a_minute()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-05T08:00:00Z"));
        var service = new LocalRemoteAccessService(Lab.Load(PoolConfig), clock);
        var attacker = IPAddress.Parse("198.51.100.9");
        for (var i = 0; i < LocalRemoteAccessService.MaxFailures; i++)
            Assert.Equal(XauthVerdict.Rejected, service.Authenticate("RA", "alice", Utf8("guess" + i), attacker));
        // Now even the right password from that source, or for that user from anywhere, is refused unchecked.
        Assert.Equal(XauthVerdict.Throttled, service.Authenticate("RA", "alice", Utf8("alice-pw"), attacker));
        Assert.Equal(XauthVerdict.Throttled, service.Authenticate("RA", "alice", Utf8("alice-pw"), IPAddress.Parse("198.51.100.10")));
        Assert.Equal(XauthVerdict.Throttled, service.Authenticate("RA", "bob", Utf8("bob-pw"), attacker));
        // Another user from another source is not affected.
        Assert.Equal(XauthVerdict.Accepted, service.Authenticate("RA", "bob", Utf8("bob-pw"), IPAddress.Parse("198.51.100.10")));
        clock.Advance(LocalRemoteAccessService.FailureWindow + TimeSpan.FromSeconds(1));
        Assert.Equal(XauthVerdict.Accepted, service.Authenticate("RA", "alice", Utf8("alice-pw"), attacker));
    }
}
