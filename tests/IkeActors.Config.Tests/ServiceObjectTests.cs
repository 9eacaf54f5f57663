using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Config.Model;
using IkeActors.Config.Show;

namespace IkeActors.Config.Tests;

/// <summary>`object service`, `object-group service|protocol|icmp-type` and their use in access-lists.</summary>
public class ServiceObjectTests
{
    private const string Config = """
        object network LAN
         subnet 10.1.0.0 255.255.0.0
        object network REMOTE
         subnet 10.2.0.0 255.255.0.0
        object service RDP
         service tcp destination eq 3389
         description Remote desktop
        object service NTP-FROM-123
         service udp source eq ntp destination eq ntp
        object-group service WEB tcp
         port-object eq www
         port-object range 8000 8080
        object-group service MIXED
         service-object tcp destination eq https
         service-object udp eq domain
         service-object icmp echo
         service-object object RDP
         service-object tcp-udp destination eq 5060
        object-group service MORE
         group-object MIXED
         service-object esp
        object-group protocol TCP-UDP
         protocol-object tcp
         protocol-object udp
        object-group icmp-type PINGS
         icmp-object echo
         icmp-object echo-reply
        access-list VPN extended permit tcp object LAN object REMOTE object-group WEB
        access-list VPN extended permit object-group MORE object LAN object REMOTE
        access-list VPN extended permit object NTP-FROM-123 object LAN object REMOTE
        access-list VPN extended permit object-group TCP-UDP object LAN object REMOTE eq 9999
        access-list VPN extended permit icmp object LAN object REMOTE object-group PINGS
        crypto ipsec ikev1 transform-set T esp-aes esp-sha-hmac
        crypto map M 10 match address VPN
        crypto map M 10 set peer 192.0.2.1
        crypto map M 10 set ikev1 transform-set T
        crypto map M interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
        tunnel-group 192.0.2.1 type ipsec-l2l
        tunnel-group 192.0.2.1 ipsec-attributes
         ikev1 pre-shared-key k
        """;

    private static readonly Parsing.ConfigLoadResult Loaded = AsaConfigLoader.Load(Config, "svc.cfg");
    private static readonly CryptoMapLookup Lookup = new(Loaded.Config);

    private static CryptoMapMatch? Out(int protocol, int sport, int dport, int? icmp = null) =>
        Lookup.MatchOutbound(new Packet(IPAddress.Parse("10.1.0.5"), IPAddress.Parse("10.2.0.9"), protocol, sport, dport, icmp));

    [Fact]
    public void Service_objects_and_groups_load_to_their_members()
    {
        TestFiles.AssertValid(Loaded);
        Assert.Empty(Loaded.NotInterpreted);
        var c = Loaded.Config;
        Assert.Equal(new ServiceSpec(6, DestinationPort: new PortSpec(PortOperator.Eq, 3389)), c.FindServiceObject("RDP")!.Service);
        Assert.Equal("Remote desktop", c.FindServiceObject("RDP")!.Description);
        Assert.Equal(new ServiceSpec(17, new PortSpec(PortOperator.Eq, 123), new PortSpec(PortOperator.Eq, 123)), c.FindServiceObject("NTP-FROM-123")!.Service);
        var web = c.FindObjectGroup("WEB")!;
        Assert.Equal(("tcp", 2), (web.ServiceProtocol, web.Services.Count));
        Assert.Equal(new PortSpec(PortOperator.Range, 8000, 8080), web.Services[1].Port);
        var mixed = c.FindObjectGroup("MIXED")!.Services;
        Assert.Equal(new ServiceSpec(17, DestinationPort: new PortSpec(PortOperator.Eq, 53)), mixed[1].Service); // 8.x form: the port is the destination
        Assert.Equal(new ServiceSpec(1, IcmpType: 8), mixed[2].Service);
        Assert.Equal((ServiceMemberKind.ServiceObject, "RDP"), (mixed[3].Kind, mixed[3].Name));
        Assert.Equal(ServiceSpec.TcpUdp, mixed[4].Service!.Protocol);
        Assert.Equal([6, 17], c.FindObjectGroup("TCP-UDP")!.Services.Select(m => m.Protocol).ToArray());
        Assert.Equal([8, 0], c.FindObjectGroup("PINGS")!.Services.Select(m => m.IcmpType).ToArray());
    }

    [Fact]
    public void Show_prints_them_as_the_asa_does_and_they_reparse()
    {
        var shown = RunningConfigWriter.ShowRunningConfig(Loaded.Config);
        Assert.Contains("object service RDP\n service tcp destination eq 3389\n description Remote desktop\n", shown);
        Assert.Contains("object-group service WEB tcp\n port-object eq www\n port-object range 8000 8080\n", shown);
        Assert.Contains(" service-object udp destination eq domain\n service-object icmp echo\n service-object object RDP\n service-object tcp-udp destination eq sip\n", shown);
        Assert.Contains("object-group icmp-type PINGS\n icmp-object echo\n icmp-object echo-reply\n", shown);
        Assert.Contains("access-list VPN extended permit icmp object LAN object REMOTE object-group PINGS\n", shown);
        Assert.Equal(Loaded.Config, AsaConfigLoader.Load(RunningConfigWriter.ShowRunningConfig(Loaded.Config, ShowOptions.Revealed), "again.cfg").Config);
    }

    [Theory]
    [InlineData(6, 40000, 80, 10)]     // port group WEB
    [InlineData(6, 40000, 8080, 10)]   // port group range
    [InlineData(6, 40000, 443, 10)]    // MIXED tcp https, via MORE
    [InlineData(17, 40000, 53, 10)]    // MIXED udp domain
    [InlineData(6, 40000, 3389, 10)]   // MIXED -> object RDP
    [InlineData(17, 5060, 5060, 10)]   // MIXED tcp-udp 5060
    [InlineData(50, 0, 0, 10)]         // MORE esp
    [InlineData(17, 123, 123, 10)]     // object NTP-FROM-123
    [InlineData(6, 1, 9999, 10)]       // protocol group with eq 9999
    [InlineData(17, 1, 9999, 10)]
    public void Packets_matching_a_member_hit_the_entry(int protocol, int sport, int dport, int sequence) =>
        Assert.Equal(sequence, Out(protocol, sport, dport)!.Entry.Sequence);

    [Theory]
    [InlineData(6, 40000, 8081)]
    [InlineData(17, 40000, 443)]
    [InlineData(17, 124, 123)]
    [InlineData(6, 1, 9998)]
    [InlineData(47, 0, 0)]
    public void Packets_matching_no_member_miss(int protocol, int sport, int dport) =>
        Assert.Null(Out(protocol, sport, dport));

    [Fact]
    public void Icmp_types_come_from_the_groups()
    {
        Assert.NotNull(Out(1, 0, 0, icmp: 8));
        Assert.NotNull(Out(1, 0, 0, icmp: 0));
        Assert.Null(Out(1, 0, 0, icmp: 3));
    }

    [Fact]
    public void Proxy_ids_come_from_the_member_that_matched()
    {
        var m = Out(6, 40000, 443)!;
        Assert.Equal("10.2.0.0/255.255.0.0/6/443", m.Remote.ToString());
        Assert.Equal("10.1.0.0/255.255.0.0/6/0", m.Local.ToString());
        var sip = Out(17, 5060, 5060)!;
        Assert.Equal(17, sip.Remote.Protocol); // tcp-udp: the packet's protocol
        // The responder accepts a proposal for one member.
        var check = Lookup.MatchProxy(IPAddress.Parse("192.0.2.1"), ProxyId.Subnet("10.1.0.0 255.255.0.0", 6), ProxyId.Subnet("10.2.0.0 255.255.0.0", 6, 8000));
        Assert.NotNull(check);
        Assert.Null(Lookup.MatchProxy(IPAddress.Parse("192.0.2.1"), ProxyId.Subnet("10.1.0.0 255.255.0.0", 6), ProxyId.Subnet("10.2.0.0 255.255.0.0", 6, 22)));
    }

    [Theory]
    [InlineData("object-group service G\n port-object eq www\n", 2, 2, "port-object needs a group with a protocol")]
    [InlineData("object-group service G tcp\n port-object neq 80\n", 2, 14, "expected one of 'eq', 'range', found 'neq'")]
    [InlineData("object-group service G tcp\n port-object eq nosuchport\n", 2, 17, "expected a port number")]
    [InlineData("object-group protocol P\n protocol-object bogus\n", 2, 18, "expected a protocol")]
    [InlineData("object-group icmp-type I\n icmp-object 300\n", 2, 14, "expected an ICMP type")]
    [InlineData("object service S\n service tcp destination eq 80 destination eq 81\n", 2, 32, "'destination' is given twice")]
    [InlineData("object network N\n host 10.0.0.1\naccess-list A extended permit object-group N any any\n", 3, 44, "object-group 'N' does not exist")]
    [InlineData("object network N\n host 10.0.0.1\naccess-list A extended permit object N any any\n", 3, 38, "'N' is a network object, expected a service object")]
    [InlineData("access-list A extended permit object NOPE any any\n", 1, 38, "service object 'NOPE' does not exist (access-list)")]
    [InlineData("object-group network NG\n network-object host 10.0.0.1\naccess-list A extended permit icmp any any object-group NG\n", 3, 57, "object-group 'NG' is not a icmp-type object-group")]
    public void Mistakes_in_services_are_errors_at_the_spot(string text, int line, int column, string message)
    {
        var e = AsaConfigLoader.Load(text, "bad.cfg").Errors.First();
        Assert.Equal((line, column), (e.Location.Line, e.Location.Column));
        Assert.Contains(message, e.Message);
    }
}
