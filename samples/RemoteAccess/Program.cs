using System.CommandLine;
using System.Net;
using IkeActors.Config;
using IkeActors.Negotiation;
using IkeActors.Negotiation.Show;
using SiteToSite;

// The scenario of Cisco's "ASA IPsec and IKE Debugs (IKEv1 Aggressive Mode)" (113595): an ASA 10.48.67.14 as EzVPN server
// (group EZ, user cisco with vpn-framed-ip-address 192.168.1.100, group policy EZ with DNS and domain) and a client at
// 10.48.66.23 dialling in: Aggressive Mode naming the group, XAUTH, Mode Config, then Quick Mode from the given address.
// Both engines print `debug crypto ikev1`, then the head-end's `show vpn-sessiondb remote` and `show crypto isakmp sa`.
var levelOption = new Option<int>("--level") { Description = "debug crypto ikev1 level (1-255)", DefaultValueFactory = _ => 127 };
var userOption = new Option<string>("--user") { Description = "XAUTH user of the client", DefaultValueFactory = _ => "cisco" };
var passwordOption = new Option<string>("--password") { Description = "XAUTH password of the client (never printed)", DefaultValueFactory = _ => "cisco" };
var root = new RootCommand("Document 113595's EzVPN server and our client engine dialling in over loopback UDP");
root.Options.Add(levelOption);
root.Options.Add(userOption);
root.Options.Add(passwordOption);
root.SetAction((parse, ct) => Lab.RunAsync(parse.GetValue(levelOption), parse.GetValue(userOption)!, parse.GetValue(passwordOption)!));
return await root.Parse(args).InvokeAsync();

internal static class Lab
{
    private static readonly IPEndPoint Server = new(IPAddress.Parse("10.48.67.14"), NegotiationEngine.IsakmpPort);
    private static readonly IPEndPoint Client = new(IPAddress.Parse("10.48.66.23"), NegotiationEngine.IsakmpPort);

    public static async Task<int> RunAsync(int level, string user, string password)
    {
        var serverConfig = Load("ezvpn-server.cfg");
        var clientConfig = Load("ezvpn-client.cfg");
        if (serverConfig is null || clientConfig is null) return 1;
        var consoleLock = new object();
        var serverContext = new GatewayContext(serverConfig, Server) { RemoteAccess = new LocalRemoteAccessService(serverConfig) };
        var clientContext = new GatewayContext(clientConfig, Client);
        await using var asa = new LoopbackGateway("asa", new NegotiationEngine(serverContext), level, null, consoleLock);
        await using var client = new LoopbackGateway("client", new NegotiationEngine(clientContext), level, null, consoleLock);
        asa.AddressBook[Client] = client.Bound;
        client.AddressBook[Server] = asa.Bound;
        Console.WriteLine($"asa    = EzVPN server 10.48.67.14 on udp {asa.Bound}; client = 10.48.66.23 on udp {client.Bound}; debug crypto ikev1 {level}");
        asa.Start();
        client.Start();
        // The EzVPN client's "group EZ key cisco" and "username cisco password cisco".
        var credentials = new RemoteAccessCredentials("EZ", new IkeActors.Config.Model.PreSharedKey("cisco"), user, password);
        client.Post(o => client.Engine.Adopt(IkeSa.StartRemoteAccessClient(clientContext, credentials, Server, o)));

        var both = Task.WhenAll(asa.Phase2.Task, client.Phase2.Task);
        var failed = Task.WhenAny(asa.Failed.Task, client.Failed.Task);
        var done = await Task.WhenAny(both, failed, Task.Delay(TimeSpan.FromSeconds(20)));
        if (done != both)
        {
            var reason = done == failed ? await await failed : "no phase 2 within 20 s";
            Console.Error.WriteLine($"the client did not get its tunnel: {reason}");
            return 1;
        }
        await Task.Delay(50); // the last lines of QM3 before the show commands

        var lease = await client.Query(() => client.Engine.Sas.Single().ModeConfig);
        Console.WriteLine();
        Console.WriteLine($"client: Mode Config gave {lease!.Address}/{lease.Netmask}, DNS {string.Join(' ', lease.DnsServers)}, domain {lease.DefaultDomain ?? "-"}, "
            + (lease.SplitInclude.Count == 0 ? "all traffic through the tunnel" : "split networks " + string.Join(' ', lease.SplitInclude.Select(n => $"{n.Address}/{n.Mask}"))));
        var now = DateTime.UtcNow;
        var sessions = await asa.Query(() => string.Concat(asa.Engine.Sas.Where(ShowCommands.IsRemoteAccess)
            .Select((sa, i) => ShowCommands.VpnSessionRemote(i + 1, sa, asa.InstalledAt ?? now, now, detailed: false))));
        var isakmp = await asa.Query(() => ShowCommands.CryptoIsakmpSa(asa.Engine.Sas));
        Console.WriteLine();
        Console.WriteLine("asa# show vpn-sessiondb remote");
        Console.WriteLine();
        Console.WriteLine("Session Type: IPsec");
        Console.WriteLine();
        Console.Write(sessions);
        Console.WriteLine("asa# show crypto isakmp sa");
        Console.WriteLine();
        Console.Write(isakmp);
        return 0;
    }

    private static IkeActors.Config.Model.AsaConfig? Load(string resource)
    {
        using var stream = typeof(Lab).Assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        var result = AsaConfigLoader.Load(reader.ReadToEnd(), resource);
        foreach (var e in result.Errors) Console.Error.WriteLine(e);
        return result.IsValid ? result.Config : null;
    }
}
