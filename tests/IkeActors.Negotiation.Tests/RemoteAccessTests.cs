using System.Net;
using System.Text;
using IkeActors.Negotiation.Tests.Support;
using IkeActors.Config.Model;
using IkeActors.Protocol;

namespace IkeActors.Negotiation.Tests;

/// <summary>
/// A remote-access client and a head-end, both our engine: Aggressive Mode naming group EZ, XAUTH against the head-end's
/// user check (draft-beaulieu-ike-xauth-02: REQUEST, REPLY, SET, ACK), Mode Config pulled by the client
/// (draft-dukes-ike-mode-cfg-02: REQUEST, REPLY) in Transaction exchanges, the client's Quick Mode held back until then.
/// The user database and pool here are a test double of <see cref="IRemoteAccessService"/> (the configuration-backed
/// one has its own tests); the values are the Cisco document 113595's (user cisco, 192.168.1.100/24, DNS 192.168.1.99).
/// </summary>
public class RemoteAccessTests
{
    private const string HeadEndConfig = """
        interface GigabitEthernet0/0
         nameif outside
         security-level 0
         ip address 10.0.0.2 255.255.255.0
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
        tunnel-group EZ type remote-access
        tunnel-group EZ ipsec-attributes
         ikev1 pre-shared-key cisco
        """;

    private const string ClientConfig = """
        interface GigabitEthernet0/0
         nameif outside
         security-level 0
         ip address 10.0.0.1 255.255.255.0
        crypto ipsec ikev1 transform-set TRA esp-aes esp-sha-hmac
        crypto ikev1 policy 10
         authentication pre-share
         encryption aes
         hash sha
         group 2
         lifetime 86400
        """;

    private sealed class TestDirectory(string password = "cisco") : IRemoteAccessService
    {
        public int Leases { get; private set; }
        public bool RequiresXauth(string tunnelGroup) => tunnelGroup == "EZ";

        public XauthVerdict Authenticate(string tunnelGroup, string user, ReadOnlySpan<byte> password, IPAddress source) =>
            user == "cisco" && password.SequenceEqual(Encoding.UTF8.GetBytes(this.password)) ? XauthVerdict.Accepted : XauthVerdict.Rejected;

        private readonly string password = password;

        /// <summary>One address, 192.168.1.100, in a range of its own ("TEST").</summary>
        public AddressPlan? PlanAddress(string tunnelGroup, string? user, string session, out string? refusal)
        {
            refusal = null;
            Leases++;
            var a = IkeActors.Config.Model.Ipv4.ToUInt32(IPAddress.Parse("192.168.1.100"));
            return new AddressPlan(session, tunnelGroup, user, [new AddressRange("TEST", a, a)], 3);
        }

        public ModeConfigLease Describe(string tunnelGroup, string? user, IPAddress address) =>
            new(address, IPAddress.Parse("255.255.255.0"))
            {
                DnsServers = [IPAddress.Parse("192.168.1.99")],
                DefaultDomain = "jyoungta-labdomain.cisco.com",
                SplitInclude = [(IPAddress.Parse("172.16.0.0"), IPAddress.Parse("255.255.0.0"))],
            };
    }

    private static (Lab Lab, TestDirectory Directory, IkeSa Client) Dial(string password = "cisco", string groupKey = "cisco", string userPassword = "cisco", string headEndKey = "cisco",
        string headEndExtra = "")
    {
        var lab = new Lab(ClientConfig, HeadEndConfig);
        var directory = new TestDirectory(userPassword);
        var headEnd = HeadEndConfig.Replace("ikev1 pre-shared-key cisco", "ikev1 pre-shared-key " + headEndKey) + "\n" + headEndExtra;
        lab.Right = new NegotiationEngine(new GatewayContext(Lab.Load(headEnd), Lab.RightAddress, new SeededEnvironment(7)) { RemoteAccess = directory });
        var client = IkeSa.StartRemoteAccessClient(lab.Left.Context,
            new RemoteAccessCredentials("EZ", new IkeActors.Config.Model.PreSharedKey(groupKey), "cisco", password), Lab.RightAddress, lab.LeftOutput, 0x1122334455667788);
        lab.Left.Adopt(client);
        lab.Run();
        return (lab, directory, client);
    }

    private static List<(bool Left, ConfigMessageType? Type)> Transactions(Lab lab) =>
        lab.LeftOutput.OfType<SendDatagram>().Select(s => (true, s.Datagram)).Concat(lab.RightOutput.OfType<SendDatagram>().Select(s => (false, s.Datagram)))
            .Where(d => IsakmpMessage.TryParse(d.Datagram, out var m, out _) && m.Header.ExchangeType == ExchangeType.Transaction)
            .Select(d => (d.Item1, (ConfigMessageType?)null)).ToList();

    [Fact]
    public void The_client_is_authenticated_and_configured_with_the_pool_address()
    {
        var (lab, directory, client) = Dial();
        using var _ = lab;
        var headEnd = lab.Right.Sas.Single();
        Assert.Equal(MainModeState.MM_ACTIVE, client.State);
        Assert.Equal("AM_ACTIVE", headEnd.ShowState);
        Assert.Equal("cisco", headEnd.User);
        Assert.Equal(IPAddress.Parse("192.168.1.100"), headEnd.ModeConfig!.Address);
        Assert.Equal(IPAddress.Parse("192.168.1.100"), client.ModeConfig!.Address);
        Assert.Equal(IPAddress.Parse("255.255.255.0"), client.ModeConfig.Netmask);
        Assert.Equal([IPAddress.Parse("192.168.1.99")], client.ModeConfig.DnsServers);
        Assert.Equal("jyoungta-labdomain.cisco.com", client.ModeConfig.DefaultDomain);
        Assert.Equal([(IPAddress.Parse("172.16.0.0"), IPAddress.Parse("255.255.0.0"))], client.ModeConfig.SplitInclude);
        Assert.Equal(1, directory.Leases);

        // Four XAUTH messages (REQUEST, REPLY, SET, ACK) and two of Mode Config (REQUEST, REPLY): six Transaction exchanges' messages.
        Assert.Equal(6, Transactions(lab).Count);
        Assert.Contains(lab.RightLines, l => l.EndsWith("Group = EZ, Username = cisco, IP = 10.0.0.1, User (cisco) authenticated."));
        Assert.Contains(lab.RightLines, l => l.EndsWith("MODE_CFG: Received request for IPV4 address!"));
        Assert.Contains(lab.RightLines, l => l.EndsWith("Assigned private IP address 192.168.1.100 to remote user"));
        Assert.Contains(lab.RightLines, l => l.Contains("IKE_DECODE SENDING Message (msgid=") && l.Contains("with payloads : HDR + HASH (8) + ATTR (14) + NONE (0)"));
        Assert.Single(lab.RightOutput.OfType<XauthCompleted>(), x => x.User == "cisco" && x.Accepted);
        Assert.Single(lab.LeftOutput.OfType<ModeConfigCompleted>(), m => m.Address.Equals(IPAddress.Parse("192.168.1.100")));

        // Then the client's Quick Mode from its address to the split network; the head-end's dynamic map takes it.
        var clientPair = Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>()).Pair;
        var headEndPair = Assert.Single(lab.RightOutput.OfType<InstallIpsecSa>()).Pair;
        LabAssert.KeysMirror(clientPair, headEndPair);
        Assert.Equal(IkeActors.Config.Lookup.ProxyId.Host(IPAddress.Parse("192.168.1.100")), headEndPair.Remote);
        Assert.Equal(IkeActors.Config.Lookup.ProxyId.Subnet("172.16.0.0/16"), headEndPair.Local);
        Assert.Contains(lab.RightLines, l => l.EndsWith("IKE Remote Peer configured for crypto map: DYN"));
    }

    [Fact]
    public void A_client_that_claims_another_address_is_refused_its_Quick_Mode()
    {
        var (lab, _, client) = Dial();
        using var _ = lab;
        var installed = lab.RightOutput.OfType<InstallIpsecSa>().Count();
        var map = new IkeActors.Config.Model.CryptoMap("ezvpn");
        var entry = new IkeActors.Config.Model.CryptoMapEntry(1) { TransformSets = new[] { "TRA" }.ToValueList() };
        client.StartQuickMode(new IkeActors.Config.Lookup.CryptoMapMatch(map, entry, null, null,
            IkeActors.Config.Lookup.ProxyId.Host(IPAddress.Parse("192.168.1.200")), IkeActors.Config.Lookup.ProxyId.Subnet("0.0.0.0/0")), lab.LeftOutput);
        lab.Run();
        Assert.Equal(installed, lab.RightOutput.OfType<InstallIpsecSa>().Count());
        Assert.Contains(lab.RightLines, l => l.Contains("Rejecting IPSec tunnel: no matching crypto map entry for remote proxy 192.168.1.200/255.255.255.255"));
    }

    [Fact]
    public void A_client_that_asks_no_address_but_starts_Quick_Mode_is_held_a_few_times_then_its_session_ends()
    {
        var lab = new Lab(ClientConfig, HeadEndConfig);
        using var __ = lab;
        lab.Right = new NegotiationEngine(new GatewayContext(Lab.Load(HeadEndConfig), Lab.RightAddress, new SeededEnvironment(7)) { RemoteAccess = new TestDirectory() });
        // The client's XAUTH REPLY and ACK go through; its Mode Config REQUEST never reaches the head-end.
        var fromClient = 0;
        lab.Tamper = (fromLeft, index, bytes) =>
            fromLeft && IsakmpMessage.TryParse(bytes, out var m, out _) && m.Header.ExchangeType == ExchangeType.Transaction && ++fromClient > 2 ? null : bytes;
        var client = IkeSa.StartRemoteAccessClient(lab.Left.Context,
            new RemoteAccessCredentials("EZ", new IkeActors.Config.Model.PreSharedKey("cisco"), "cisco", "cisco"), Lab.RightAddress, lab.LeftOutput, 0x1122334455667788);
        lab.Left.Adopt(client);
        lab.Run();
        var headEnd = lab.Right.Sas.Single();
        Assert.Equal("cisco", headEnd.User);
        Assert.Null(headEnd.ModeConfig);

        var map = new IkeActors.Config.Model.CryptoMap("ezvpn");
        var entry = new IkeActors.Config.Model.CryptoMapEntry(1) { TransformSets = new[] { "TRA" }.ToValueList() };
        client.StartQuickMode(new IkeActors.Config.Lookup.CryptoMapMatch(map, entry, null, null,
            IkeActors.Config.Lookup.ProxyId.Host(IPAddress.Parse("10.0.0.1")), IkeActors.Config.Lookup.ProxyId.Subnet("172.16.0.0/16")), lab.LeftOutput);
        lab.Run();
        Assert.Single(lab.Right.Sas); // the first is held, as any while XAUTH or Mode Config may still come
        for (var i = 0; i < 6 && lab.Right.Sas.Count > 0; i++)
        {
            lab.FireTimers(left: true, TimerKind.Retransmit);
            lab.Run();
        }
        Assert.Empty(lab.Right.Sas);
        Assert.Equal(RemoteAccessSession.MaxQuickModesWithoutModeConfig, lab.RightLines.Count(l => l.EndsWith("Delay Quick Mode processing, Cert/Trans Exch/RM DSID in progress")));
        Assert.Contains(lab.RightOutput.OfType<NegotiationFailed>(), f => f.Reason == FailureReason.NoAddress && f.Detail.Contains("without asking Mode Config"));
        Assert.Contains(lab.RightLines, l => l.EndsWith("Cannot obtain an IP address for remote peer"));
        Assert.Empty(lab.RightOutput.OfType<InstallIpsecSa>());
        Assert.Empty(lab.RightOutput.OfType<AddressLeaseRequested>());
    }

    [Fact]
    public void Neither_the_password_nor_the_group_key_appears_in_any_line_or_action()
    {
        var (lab, _, client) = Dial(password: "Xa-7f3!pw", groupKey: "Gk-91c?key", userPassword: "Xa-7f3!pw", headEndKey: "Gk-91c?key");
        using var __ = lab;
        Assert.Equal("cisco", lab.Right.Sas.Single().User);
        var everything = string.Join("\n", lab.LeftLines.Concat(lab.RightLines)
            .Concat(lab.LeftOutput.Actions.Concat(lab.RightOutput.Actions).Select(a => a.ToString()))
            .Append(client.Summary.ToString()));
        Assert.DoesNotContain("Xa-7f3!pw", everything);
        Assert.DoesNotContain("Gk-91c?key", everything);
    }

    [Fact]
    public void Ending_the_session_gives_the_address_back()
    {
        var (lab, _, _) = Dial();
        using var __ = lab;
        Assert.Equal(1, lab.Right.Context.AddressBook.LeasedCount);
        lab.Right.Sas.Single().Delete(lab.RightOutput);
        var released = Assert.Single(lab.RightOutput.OfType<AddressLeaseReleased>()).Release;
        Assert.Equal(("1122334455667788", "cisco"), (released.Session, released.User));
        Assert.Equal(["TEST"], released.Pools);
    }

    [Fact]
    public void A_wrong_password_is_asked_again_three_times_then_the_SA_goes_without_an_address()
    {
        var (lab, directory, client) = Dial(password: "wrong");
        using var _ = lab;
        Assert.Equal(3, lab.RightOutput.OfType<XauthCompleted>().Count(x => !x.Accepted));
        Assert.Empty(lab.Right.Sas);
        Assert.Equal(MainModeState.MM_DELETED, client.State);
        Assert.Equal(0, directory.Leases);
        Assert.Null(client.ModeConfig);
        Assert.Contains(lab.RightLines, l => l.Contains("Remote peer has failed user authentication"));
        Assert.Contains(lab.LeftOutput.OfType<NegotiationFailed>(), f => f.Reason == FailureReason.AuthenticationFailed);
    }

    [Fact]
    public void A_wrong_group_key_fails_in_aggressive_mode_before_any_user_is_asked()
    {
        var (lab, directory, client) = Dial(groupKey: "not-the-group-key");
        using var _ = lab;
        Assert.Equal(MainModeState.MM_DELETED, client.State);
        Assert.Empty(Transactions(lab));
        Assert.Equal(0, directory.Leases);
    }

    [Fact]
    public void A_transaction_message_with_a_bad_hash_changes_nothing()
    {
        using var lab = new Lab(ClientConfig, HeadEndConfig);
        var directory = new TestDirectory();
        lab.Right = new NegotiationEngine(new GatewayContext(Lab.Load(HeadEndConfig), Lab.RightAddress, new SeededEnvironment(7)) { RemoteAccess = directory });
        // Flip one byte of the client's XAUTH REPLY ciphertext: it no longer decrypts to a message whose HASH verifies.
        var spoiled = false;
        lab.Tamper = (fromLeft, n, bytes) =>
        {
            if (fromLeft && !spoiled && IsakmpMessage.TryParse(bytes, out var m, out _) && m.Header.ExchangeType == ExchangeType.Transaction)
            {
                spoiled = true;
                var copy = bytes.ToArray();
                copy[^5] ^= 0x40;
                return copy;
            }
            return bytes;
        };
        var client = IkeSa.StartRemoteAccessClient(lab.Left.Context,
            new RemoteAccessCredentials("EZ", new IkeActors.Config.Model.PreSharedKey("cisco"), "cisco", "cisco"), Lab.RightAddress, lab.LeftOutput, 0x1122334455667788);
        lab.Left.Adopt(client);
        lab.Run();
        Assert.True(spoiled);
        var headEnd = lab.Right.Sas.Single();
        Assert.Null(headEnd.User);
        Assert.Contains(lab.RightOutput.OfType<MessageDropped>(), d => d.Exchange == IkeExchange.Transaction && d.Reason is DropReason.HashMismatch or DropReason.DecryptionFailed or DropReason.Malformed);
        // The head-end's retransmission asks again and the untouched answer authenticates.
        lab.FireTimers(left: false, TimerKind.Retransmit);
        lab.Run();
        Assert.Equal("cisco", headEnd.User);
        Assert.Equal(IPAddress.Parse("192.168.1.100"), client.ModeConfig?.Address);
    }

    [Fact]
    public void A_head_end_restored_from_its_snapshot_in_the_middle_of_XAUTH_finishes_it()
    {
        using var lab = new Lab(ClientConfig, HeadEndConfig);
        var directory = new TestDirectory();
        lab.Right = new NegotiationEngine(new GatewayContext(Lab.Load(HeadEndConfig), Lab.RightAddress, new SeededEnvironment(7)) { RemoteAccess = directory });
        // The client's first XAUTH REPLY is lost: the head-end waits with its REQUEST outstanding.
        var dropped = false;
        lab.Tamper = (fromLeft, n, bytes) =>
        {
            if (fromLeft && !dropped && IsakmpMessage.TryParse(bytes, out var m, out _) && m.Header.ExchangeType == ExchangeType.Transaction)
            {
                dropped = true;
                return null;
            }
            return bytes;
        };
        var client = IkeSa.StartRemoteAccessClient(lab.Left.Context,
            new RemoteAccessCredentials("EZ", new PreSharedKey("cisco"), "cisco", "cisco"), Lab.RightAddress, lab.LeftOutput, 0x1122334455667788);
        lab.Left.Adopt(client);
        lab.Run();
        var snapshot = lab.Right.Sas.Single().Snapshot();
        Assert.NotNull(snapshot.RemoteAccess);
        Assert.True(snapshot.RemoteAccess!.Pending);
        Assert.NotEqual(0u, snapshot.RemoteAccess.PendingMessageId);

        // Another process takes the SA over from the JSON the hosts store, and re-arms the REQUEST's retransmission.
        var json = IkeSaSnapshotJson.Serialize(snapshot);
        lab.Right.Dispose();
        lab.Right = new NegotiationEngine(new GatewayContext(Lab.Load(HeadEndConfig), Lab.RightAddress, new SeededEnvironment(99)) { RemoteAccess = directory });
        var restored = lab.Right.Restore(IkeSaSnapshotJson.Deserialize(json)!, lab.RightOutput);
        restored.ResumeTimers(lab.RightOutput);
        lab.FireTimers(left: false, TimerKind.Retransmit);
        lab.Run();
        Assert.Equal("cisco", restored.User);
        Assert.Equal(IPAddress.Parse("192.168.1.100"), client.ModeConfig?.Address);
        Assert.Single(lab.RightOutput.OfType<InstallIpsecSa>());
    }

    [Fact]
    public void A_head_end_that_initiates_Mode_Config_pushes_the_address_in_a_SET_the_client_acknowledges()
    {
        // draft-dukes-ike-mode-cfg-02 §3.2: SET from the head-end, ACK from the client; the ASA's
        // `crypto map MAP client configuration address initiate`.
        var (lab, _, client) = Dial(headEndExtra: "crypto map MAP client configuration address initiate\n");
        using var _ = lab;
        var headEnd = lab.Right.Sas.Single();
        Assert.Equal(IPAddress.Parse("192.168.1.100"), client.ModeConfig!.Address);
        Assert.Equal([IPAddress.Parse("192.168.1.99")], client.ModeConfig.DnsServers);
        Assert.Equal(IPAddress.Parse("192.168.1.100"), headEnd.ModeConfig!.Address);
        // XAUTH's four, then the head-end's SET and the client's ACK; our client also pulls (REQUEST, REPLY), as Cisco
        // clients do, and takes the first answer only: one Quick Mode each way.
        Assert.Equal(8, Transactions(lab).Count);
        Assert.Single(lab.LeftOutput.OfType<ModeConfigCompleted>());
        Assert.Single(lab.LeftOutput.OfType<InstallIpsecSa>());
        Assert.Single(lab.RightOutput.OfType<InstallIpsecSa>());
        Assert.Single(lab.RightOutput.OfType<AddressLeaseRequested>());
        Assert.Equal(1, lab.Right.Context.AddressBook.LeasedCount);
    }

    // ------------------------------------------------------------------ a host that leases later (the cluster's grains)

    /// <summary>
    /// The head-end as a host that answers <see cref="AddressLeaseRequested"/> when it chooses (as an SA grain does after
    /// asking the pool grains), the client our engine; datagrams shuttled by hand.
    /// </summary>
    private sealed class LaterHeadEnd : IDisposable
    {
        private readonly GatewayContext _context;
        private int _leftSeen, _rightSeen;

        public LaterHeadEnd()
        {
            Lab = new Lab(ClientConfig, HeadEndConfig);
            _context = new GatewayContext(Lab.Load(HeadEndConfig), Lab.RightAddress, new SeededEnvironment(7)) { RemoteAccess = new TestDirectory() };
            Client = IkeSa.StartRemoteAccessClient(Lab.Left.Context,
                new RemoteAccessCredentials("EZ", new IkeActors.Config.Model.PreSharedKey("cisco"), "cisco", "cisco"), Lab.RightAddress, Lab.LeftOutput, 0x1122334455667788);
            Lab.Left.Adopt(Client);
            Pump();
        }

        public Lab Lab { get; }
        public IkeSa Client { get; }
        public IkeSa HeadEnd { get; private set; } = null!;
        public NegotiationOutput Output { get; } = new();
        public IEnumerable<AddressLeaseRequested> Asked => Output.OfType<AddressLeaseRequested>();

        public void Pump()
        {
            for (var moved = true; moved;)
            {
                moved = false;
                foreach (var send in Lab.LeftOutput.Actions.Skip(_leftSeen).OfType<SendDatagram>().ToList())
                {
                    var from = send.NatT ? new IPEndPoint(Lab.LeftAddress.Address, Lab.NatTPort) : Lab.LeftAddress;
                    if (HeadEnd is null) HeadEnd = IkeSa.AcceptFirstMessage(_context, from, send.Datagram, Output)!;
                    else HeadEnd.Receive(send.Datagram, Output, from, send.NatT);
                    moved = true;
                }
                _leftSeen = Lab.LeftOutput.Actions.Count;
                foreach (var send in Output.Actions.Skip(_rightSeen).OfType<SendDatagram>().ToList())
                {
                    Lab.Left.Receive(send.Datagram, send.NatT ? new IPEndPoint(Lab.RightAddress.Address, Lab.NatTPort) : Lab.RightAddress, Lab.LeftOutput, send.NatT);
                    moved = true;
                }
                _rightSeen = Output.Actions.Count;
            }
        }

        public void Dispose() => Lab.Dispose();
    }

    private static readonly IPAddress Given = IPAddress.Parse("192.168.1.100");

    [Fact]
    public void The_Mode_Config_reply_waits_for_the_hosts_lease_and_a_retransmitted_request_does_not_ask_twice()
    {
        using var later = new LaterHeadEnd();
        var asked = Assert.Single(later.Asked);
        Assert.Equal((later.HeadEnd.InitiatorCookie, "cisco", "EZ"), (asked.Sa, asked.Plan.User, asked.Plan.TunnelGroup));
        Assert.Null(later.Client.ModeConfig);
        Assert.Empty(later.Output.OfType<ModeConfigCompleted>());
        Assert.Empty(later.Output.OfType<InstallIpsecSa>()); // Quick Mode is held back meanwhile

        later.Lab.FireTimers(left: true, TimerKind.Retransmit); // the client asks again
        later.Pump();
        Assert.Single(later.Asked);
        Assert.Single(later.Output.OfType<MessageDropped>(), d => d.Exchange == IkeExchange.Transaction && d.Detail.Contains("being leased"));
        Assert.Null(later.Client.ModeConfig);

        later.HeadEnd.AddressLeaseDecided(new AddressLeaseResult(Given, "TEST", null), later.Output);
        later.Pump();
        Assert.Equal(Given, later.Client.ModeConfig!.Address);
        Assert.Equal(Given, later.HeadEnd.ModeConfig!.Address);
        Assert.Contains(later.Output.DebugLines, l => l.EndsWith("Assigned private IP address 192.168.1.100 to remote user"));
        Assert.Single(later.Output.OfType<InstallIpsecSa>());

        // An answer nobody asked for changes nothing.
        var count = later.Output.Actions.Count;
        later.HeadEnd.AddressLeaseDecided(new AddressLeaseResult(IPAddress.Parse("192.168.1.101"), "TEST", null), later.Output);
        Assert.Equal(count, later.Output.Actions.Count);
        Assert.Equal(Given, later.HeadEnd.ModeConfig!.Address);
    }

    [Fact]
    public void A_refused_lease_ends_the_session_with_the_ASAs_line_and_holds_nothing()
    {
        using var later = new LaterHeadEnd();
        later.HeadEnd.AddressLeaseDecided(AddressLeaseResult.Refused("no free address in the group's pools"), later.Output);
        later.Pump();
        Assert.Equal(MainModeState.MM_DELETED, later.HeadEnd.State);
        Assert.Contains(later.Output.DebugLines, l => l.EndsWith("Cannot obtain an IP address for remote peer"));
        Assert.Contains(later.Output.OfType<NegotiationFailed>(), f => f.Reason == FailureReason.NoAddress);
        Assert.Empty(later.Output.OfType<AddressLeaseReleased>()); // the refusal held nothing
        Assert.Equal(MainModeState.MM_DELETED, later.Client.State); // the head-end's DELETE reached the client
    }

    [Fact]
    public void An_unreachable_ledger_leaves_the_session_and_the_clients_retransmission_asks_again()
    {
        using var later = new LaterHeadEnd();
        later.HeadEnd.AddressLeaseDecided(AddressLeaseResult.Unavailable("pool grain unreachable"), later.Output);
        later.Pump();
        Assert.Equal(MainModeState.MM_ACTIVE, later.HeadEnd.State);
        Assert.Single(later.Asked);
        later.Lab.FireTimers(left: true, TimerKind.Retransmit);
        later.Pump();
        Assert.Equal(2, later.Asked.Count());
        later.HeadEnd.AddressLeaseDecided(new AddressLeaseResult(Given, "TEST", null), later.Output);
        later.Pump();
        Assert.Equal(Given, later.Client.ModeConfig!.Address);
    }

    [Fact]
    public void A_session_that_ends_while_its_lease_is_asked_gives_back_whatever_the_lease_got()
    {
        using var later = new LaterHeadEnd();
        later.HeadEnd.Delete(later.Output);
        var first = Assert.Single(later.Output.OfType<AddressLeaseReleased>()).Release;
        Assert.Equal(["TEST"], first.Pools); // the ranges it asked of
        later.HeadEnd.AddressLeaseDecided(new AddressLeaseResult(Given, "TEST", null), later.Output);
        Assert.Equal(2, later.Output.OfType<AddressLeaseReleased>().Count()); // what the late lease got goes back at once
        var last = later.Output.OfType<AddressLeaseReleased>().Last().Release;
        Assert.Equal("1122334455667788", last.Session);
        Assert.Equal(["TEST"], last.Pools);
        Assert.Null(later.HeadEnd.ModeConfig);
    }
}
