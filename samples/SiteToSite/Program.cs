using System.CommandLine;
using System.Net;
using IkeActors.Config;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;
using IkeActors.Negotiation.Show;
using SiteToSite;

// The seed's LAN-to-LAN lab: ASA 10.0.0.1 (left, initiator) and ASA 10.0.0.2 (right, responder,
// crypto map lifetime 3600 s) over loopback UDP. Left starts on an acquire for ICMP
// 192.168.1.10 -> 192.168.2.10, both print `debug crypto ikev1`, then the show commands.
var outOption = new Option<DirectoryInfo?>("--out") { Description = "Also write each gateway's debug lines to DIR/left.log and DIR/right.log" };
var levelOption = new Option<int>("--level") { Description = "debug crypto ikev1 level (1-255)", DefaultValueFactory = _ => 127 };
var timeoutOption = new Option<int>("--timeout") { Description = "Seconds to wait for phase 2", DefaultValueFactory = _ => 20 };
var processesOption = new Option<bool>("--processes") { Description = "Run each ASA as its own `ikeactors run` process (a node with its SAs as grains) instead of in this process" };
var otlpOption = new Option<string?>("--otlp") { Description = "With --processes: the gateways export traces, metrics and debug-line logs to this OTLP endpoint (see `ikeactors dashboard`)" };
var otlpHeadersOption = new Option<string?>("--otlp-headers") { Description = "With --otlp: KEY=VALUE headers, e.g. x-otlp-api-key=KEY" };
var orleansDashboardOption = new Option<bool>("--orleans-dashboard") { Description = "With --processes: each gateway serves the Orleans Dashboard on a free 127.0.0.1 port, and the lab waits for Ctrl+C" };
var root = new RootCommand("Two gateways configured like the seed's two ASAs bring up the tunnel over loopback UDP");
root.Options.Add(outOption);
root.Options.Add(levelOption);
root.Options.Add(timeoutOption);
root.Options.Add(processesOption);
root.Options.Add(otlpOption);
root.Options.Add(otlpHeadersOption);
root.Options.Add(orleansDashboardOption);
root.SetAction((parse, ct) => parse.GetValue(processesOption)
    ? ProcessLab.RunAsync(parse.GetValue(outOption), parse.GetValue(levelOption), Math.Max(parse.GetValue(timeoutOption), 60),
        new ProcessLab.Telemetry(parse.GetValue(otlpOption), parse.GetValue(otlpHeadersOption), parse.GetValue(orleansDashboardOption)), ct)
    : Lab.RunAsync(parse.GetValue(outOption), parse.GetValue(levelOption), parse.GetValue(timeoutOption)));
return await root.Parse(args).InvokeAsync();

internal static class Lab
{
    private static readonly IPEndPoint LeftOutside = new(IPAddress.Parse("10.0.0.1"), NegotiationEngine.IsakmpPort);
    private static readonly IPEndPoint RightOutside = new(IPAddress.Parse("10.0.0.2"), NegotiationEngine.IsakmpPort);

    public static async Task<int> RunAsync(DirectoryInfo? outDir, int level, int timeoutSeconds)
    {
        if (level is < 1 or > 255)
        {
            Console.Error.WriteLine("ERROR: % debug level must be 1-255");
            return 2;
        }
        var leftConfig = Load("asa1-initiator.cfg");
        var rightConfig = Load("asa2-responder.cfg");
        if (leftConfig is null || rightConfig is null) return 1;
        outDir?.Create();
        var consoleLock = new object();
        await using var left = new LoopbackGateway("left", new NegotiationEngine(new GatewayContext(leftConfig, LeftOutside)), level,
            outDir is null ? null : new StreamWriter(Path.Combine(outDir.FullName, "left.log")), consoleLock);
        await using var right = new LoopbackGateway("right", new NegotiationEngine(new GatewayContext(rightConfig, RightOutside)), level,
            outDir is null ? null : new StreamWriter(Path.Combine(outDir.FullName, "right.log")), consoleLock);
        // Each engine speaks in the configured addresses; the book maps them to the real loopback sockets.
        left.AddressBook[RightOutside] = right.Bound;
        right.AddressBook[LeftOutside] = left.Bound;
        Console.WriteLine($"left  = ASA 10.0.0.1 on udp {left.Bound}; right = ASA 10.0.0.2 on udp {right.Bound}; debug crypto ikev1 {level}");
        left.Start();
        right.Start();

        left.Post(o => left.Engine.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), o));

        var both = Task.WhenAll(left.Phase2.Task, right.Phase2.Task);
        var failed = Task.WhenAny(left.Failed.Task, right.Failed.Task);
        var done = await Task.WhenAny(both, failed, Task.Delay(TimeSpan.FromSeconds(timeoutSeconds)));
        if (done != both)
        {
            var reason = done == failed ? await await failed : $"no phase 2 within {timeoutSeconds} s";
            Console.Error.WriteLine($"tunnel did not come up: {reason}");
            return 1;
        }
        await Task.Delay(50); // let the last lines of QM3 processing print before the show commands

        foreach (var gw in new[] { left, right })
        {
            var local = gw == left ? LeftOutside.Address : RightOutside.Address;
            var config = gw == left ? leftConfig : rightConfig;
            var isakmp = await gw.Query(() => ShowCommands.CryptoIsakmpSa(gw.Engine.Sas));
            var ipsec = await gw.Query(() => ShowCommands.CryptoIpsecSa(config, local, gw.Engine.Sas, DateTime.UtcNow - (gw.InstalledAt ?? DateTime.UtcNow)));
            Console.WriteLine();
            Console.WriteLine($"{gw.Name}# show crypto isakmp sa");
            Console.WriteLine();
            Console.Write(isakmp);
            Console.WriteLine();
            Console.WriteLine($"{gw.Name}# show crypto ipsec sa");
            Console.Write(ipsec);
        }
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
