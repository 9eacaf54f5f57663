using System.Net;
using IkeActors.Config;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;

namespace IkeActors.Explain.Tests.Support;

/// <summary>
/// Our own negotiation engine on both ends, pumped in memory (the idea of the negotiation
/// tests' Lab, kept small here): produces real debug logs, good and broken, to explain.
/// </summary>
internal sealed class EngineLab : IDisposable
{
    public static readonly IPEndPoint LeftAddress = new(IPAddress.Parse("10.0.0.1"), 500);
    public static readonly IPEndPoint RightAddress = new(IPAddress.Parse("10.0.0.2"), 500);

    private int _leftSeen, _rightSeen, _delivered;

    private readonly string _leftConfig;

    public EngineLab(string leftConfig, string rightConfig, int level = 127)
    {
        _leftConfig = leftConfig;
        LeftOutput = new NegotiationOutput(level);
        RightOutput = new NegotiationOutput(level);
        Left = new NegotiationEngine(new GatewayContext(Load(leftConfig), LeftAddress, SystemEnvironment.Instance));
        Right = new NegotiationEngine(new GatewayContext(Load(rightConfig), RightAddress, SystemEnvironment.Instance));
    }

    public NegotiationEngine Left { get; private set; }
    public NegotiationEngine Right { get; }
    public NegotiationOutput LeftOutput { get; }
    public NegotiationOutput RightOutput { get; }
    /// <summary>Return null to drop a datagram (fromLeft, bytes).</summary>
    public Func<bool, byte[], byte[]?>? Tamper { get; init; }

    public static string Initiator => File.ReadAllText(Repo.SampleConfig("asa1-initiator.cfg"));
    public static string Responder => File.ReadAllText(Repo.SampleConfig("asa2-responder.cfg"));

    private static IkeActors.Config.Model.AsaConfig Load(string text)
    {
        var r = AsaConfigLoader.Load(text);
        if (!r.IsValid) throw new InvalidOperationException(string.Join("\n", r.Errors));
        return r.Config;
    }

    public EngineLab Run()
    {
        Left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), LeftOutput);
        Pump();
        return this;
    }

    /// <summary>The left gateway reboots: a new engine, no SAs; its console log goes on.</summary>
    public EngineLab RebootLeft()
    {
        Left.Dispose();
        Left = new NegotiationEngine(new GatewayContext(Load(_leftConfig), LeftAddress, SystemEnvironment.Instance));
        _leftSeen = LeftOutput.Actions.Count;
        return this;
    }

    public void Pump()
    {
        while (_delivered < 200)
        {
            var moved = Deliver(true) | Deliver(false);
            if (!moved) break;
        }
    }

    private bool Deliver(bool fromLeft)
    {
        var output = fromLeft ? LeftOutput : RightOutput;
        var sends = output.Actions.Skip(fromLeft ? _leftSeen : _rightSeen).OfType<SendDatagram>().ToList();
        if (fromLeft) _leftSeen = output.Actions.Count; else _rightSeen = output.Actions.Count;
        foreach (var s in sends)
        {
            _delivered++;
            var bytes = Tamper is null ? s.Datagram : Tamper(fromLeft, s.Datagram);
            if (bytes is null) continue;
            (fromLeft ? Right : Left).Receive(bytes, fromLeft ? LeftAddress : RightAddress, fromLeft ? RightOutput : LeftOutput);
        }
        return sends.Count > 0;
    }

    /// <summary>Fires the retransmission timers of one side until it gives up.</summary>
    public EngineLab Exhaust(bool left, int rounds = 6)
    {
        for (var i = 0; i < rounds; i++)
        {
            var output = left ? LeftOutput : RightOutput;
            var armed = new Dictionary<(ulong, TimerKey), bool>();
            foreach (var a in output.Actions)
            {
                if (a is ArmTimer arm && arm.Key.Kind == TimerKind.Retransmit) armed[(arm.Sa, arm.Key)] = true;
                if (a is CancelTimer c) armed.Remove((c.Sa, c.Key));
            }
            foreach (var (sa, key) in armed.Keys) (left ? Left : Right).TimerFired(sa, key, output);
            Pump();
        }
        return this;
    }

    public string LeftLog => string.Join("\n", LeftOutput.DebugLines) + "\n";
    public string RightLog => string.Join("\n", RightOutput.DebugLines) + "\n";

    public void Dispose() { Left.Dispose(); Right.Dispose(); }

    public static string Edit(string config, string find, string replace)
    {
        Assert.Contains(find, config);
        return config.Replace(find, replace, StringComparison.Ordinal);
    }
}
