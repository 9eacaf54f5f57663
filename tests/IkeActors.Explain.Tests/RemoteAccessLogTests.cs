using System.Net;
using IkeActors.Config;
using IkeActors.Negotiation;
using IkeActors.Protocol;

namespace IkeActors.Explain.Tests;

/// <summary>
/// Logs of remote-access dial-ins written by our engine (a client and a head-end in memory, the head-end's user database
/// and pool from its configuration), explained: every line is a catalog line, and each failure (wrong XAUTH password,
/// pool exhausted, Aggressive Mode disabled, unknown group) is diagnosed with its cause and the configuration behind it.
/// </summary>
public class RemoteAccessLogTests
{
    internal const string HeadEnd = """
        interface GigabitEthernet0/1
         nameif outside
         security-level 0
         ip address 10.0.0.2 255.255.255.0
        crypto ipsec ikev1 transform-set TRA esp-aes esp-sha-hmac
        crypto dynamic-map DYN 10 set ikev1 transform-set TRA
        crypto map MAP 65535 ipsec-isakmp dynamic DYN
        crypto map MAP interface outside
        crypto ikev1 enable outside
        crypto ikev1 policy 10
         authentication pre-share
         encryption aes
         hash sha
         group 2
         lifetime 86400
        ip local pool P 192.168.100.10-192.168.100.10 mask 255.255.255.0
        username cisco password cisco
        username alice password alice-pw
        tunnel-group EZ type remote-access
        tunnel-group EZ general-attributes
         address-pool P
        tunnel-group EZ ipsec-attributes
         ikev1 pre-shared-key ezkey

        """;

    private const string Client = """
        crypto ipsec ikev1 transform-set TRA esp-aes esp-sha-hmac
        crypto ikev1 policy 10
         authentication pre-share
         encryption aes
         hash sha
         group 2
         lifetime 86400
        """;

    /// <summary>
    /// Clients dial in one after the other (each from its own address) against one head-end; its debug log (and the
    /// clients' own lines in <paramref name="clientLog"/>, when given).
    /// </summary>
    internal static (string Log, List<IkeSa> Clients) HeadEndLog(string headEnd, params (string Group, string User, string Password)[] clients) =>
        HeadEndLog(headEnd, null, clients);

    internal static (string Log, List<IkeSa> Clients) HeadEndLog(string headEnd, List<string>? clientLog, params (string Group, string User, string Password)[] clients)
    {
        var config = AsaConfigLoader.Load(headEnd).Config;
        var engine = new NegotiationEngine(new GatewayContext(config, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 500)) { RemoteAccess = new LocalRemoteAccessService(config) });
        var log = new List<string>();
        var sas = new List<IkeSa>();
        var n = 0;
        foreach (var (group, user, password) in clients)
        {
            var address = new IPEndPoint(IPAddress.Parse($"10.0.0.{10 + n++}"), 500);
            var clientGateway = new GatewayContext(AsaConfigLoader.Load(Client).Config, address);
            var output = new NegotiationOutput();
            var client = IkeSa.StartRemoteAccessClient(clientGateway, new RemoteAccessCredentials(group, new IkeActors.Config.Model.PreSharedKey("ezkey"), user, password),
                new IPEndPoint(IPAddress.Parse("10.0.0.2"), 500), output);
            sas.Add(client);
            clientLog?.AddRange(output.DebugLines);
            var toHeadEnd = output.OfType<SendDatagram>().Select(s => s.Datagram).ToList();
            for (var round = 0; round < 30 && toHeadEnd.Count > 0; round++)
            {
                var headOut = new NegotiationOutput();
                foreach (var d in toHeadEnd) engine.Receive(d, address, headOut, natT: false);
                log.AddRange(headOut.DebugLines);
                var clientOut = new NegotiationOutput();
                foreach (var d in headOut.OfType<SendDatagram>().Select(s => s.Datagram)) client.Receive(d, clientOut);
                clientLog?.AddRange(clientOut.DebugLines);
                toHeadEnd = clientOut.OfType<SendDatagram>().Select(s => s.Datagram).ToList();
            }
        }
        return (string.Join("\n", log) + "\n", sas);
    }

    private static ExplainReport Explain(string log, string config)
    {
        var options = new ExplainOptions();
        options.Configs.Add(("headend.cfg", config));
        return Explainer.Explain([("headend.log", log)], options);
    }

    [Fact]
    public void A_good_dial_in_is_all_catalog_lines_and_no_diagnosis()
    {
        var (log, clients) = HeadEndLog(HeadEnd, ("EZ", "cisco", "cisco"));
        Assert.Equal(IPAddress.Parse("192.168.100.10"), clients[0].ModeConfig?.Address);
        var r = Explain(log, HeadEnd);
        Assert.Empty(r.Diagnoses);
        Assert.Contains("Username = cisco", log);
        Assert.All(r.Lines.Where(l => l.Record.IsIke), l => Assert.True(l.Recognised, l.Record.Text));
    }

    [Fact]
    public void A_wrong_xauth_password_is_diagnosed_with_the_user_database()
    {
        var (log, _) = HeadEndLog(HeadEnd, ("EZ", "cisco", "wrong"));
        var r = Explain(log, HeadEnd);
        var d = Assert.Single(r.Diagnoses, d => d.Id == "xauth-failed");
        Assert.Contains(d.Config, c => c.Text.Contains("username cisco password", StringComparison.Ordinal));
        Assert.DoesNotContain("username cisco password cisco", TextReport.Render(r));
    }

    [Fact]
    public void An_exhausted_pool_is_diagnosed_with_the_pool()
    {
        var (log, _) = HeadEndLog(HeadEnd, ("EZ", "cisco", "cisco"), ("EZ", "alice", "alice-pw"));
        var r = Explain(log, HeadEnd);
        var d = Assert.Single(r.Diagnoses, d => d.Id == "no-address-for-client");
        Assert.Contains(d.Config, c => c.Text.Contains("ip local pool P", StringComparison.Ordinal));
    }

    [Fact]
    public void Aggressive_mode_disabled_and_an_unknown_group_are_diagnosed()
    {
        var disabled = HeadEnd + "crypto ikev1 am-disable\n";
        var r = Explain(HeadEndLog(disabled, ("EZ", "cisco", "cisco")).Log, disabled);
        Assert.Contains(Assert.Single(r.Diagnoses, d => d.Id == "aggressive-mode-disabled").Config, c => c.Text.Contains("am-disable", StringComparison.Ordinal));
        var unknown = Explain(HeadEndLog(HeadEnd, ("NOPE", "cisco", "cisco")).Log, HeadEnd);
        Assert.Single(unknown.Diagnoses, d => d.Id == "remote-access-group-not-found");
    }
}
