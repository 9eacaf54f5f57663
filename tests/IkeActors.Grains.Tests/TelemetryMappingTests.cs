using System.Net;
using IkeActors.Grains.Telemetry;
using IkeActors.Negotiation;
using A = IkeActors.Grains.Telemetry.NegotiationTelemetry.Attributes;

namespace IkeActors.Grains.Tests;

/// <summary>
/// Rekey and DPD counters from the engine's actions (the timers that produce them in a cluster
/// run for minutes, so the mapping is checked on the actions themselves).
/// </summary>
[Collection(nameof(TelemetryCollection))]
public class TelemetryMappingTests
{
    [Fact]
    public void Rekey_and_DPD_actions_are_counted_with_their_tags()
    {
        TelemetryCapture.EnsureStarted();
        var rekeys2 = TelemetryCapture.Read("ikev1.rekeys", (A.Phase, "2"), (A.Event, "phase2-rekey-due")).Sum;
        var rekeys1 = TelemetryCapture.Read("ikev1.rekeys", (A.Phase, "1"), (A.Event, "phase1-rekey")).Sum;
        var probes = TelemetryCapture.Read("ikev1.dpd", (A.Event, "r_u_there")).Sum;
        var dead = TelemetryCapture.Read("ikev1.dpd", (A.Event, "peer_dead")).Sum;

        var telemetry = new IkeSaTelemetry();
        var output = new NegotiationOutput();
        output.Add(new RekeyDue(RekeyPhase.Phase2, 0x1234, RekeyDecision.LeftToInitiator));
        output.Add(new IpsecSasMoved(1, 2, 1));
        output.Add(new DpdProbeSent(0x10, 0));
        output.Add(new DpdProbeSent(0x11, 1));
        output.Add(new PeerDead(1, new IPEndPoint(IPAddress.Parse("10.0.0.1"), 500)));
        telemetry.Step(null, output);

        Assert.Equal(rekeys2 + 1, TelemetryCapture.Read("ikev1.rekeys", (A.Phase, "2"), (A.Event, "phase2-rekey-due")).Sum);
        Assert.Equal(rekeys1 + 1, TelemetryCapture.Read("ikev1.rekeys", (A.Phase, "1"), (A.Event, "phase1-rekey")).Sum);
        Assert.Equal(probes + 2, TelemetryCapture.Read("ikev1.dpd", (A.Event, "r_u_there")).Sum);
        Assert.Equal(dead + 1, TelemetryCapture.Read("ikev1.dpd", (A.Event, "peer_dead")).Sum);
    }
}
