using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;

namespace IkeActors.Grains.Tests;

/// <summary>RFC 2407 §4.6.3.3 across grains: a rebooted peer's INITIAL-CONTACT removes the IKE SA grains of its previous life.</summary>
public class InitialContactTests
{
    [Fact]
    public async Task A_rebooted_peer_leaves_one_IKE_SA_grain_and_one_pair_and_the_old_ones_go_without_a_DELETE()
    {
        await using var lab = await RekeyLab.Start(RekeyTests.RightConfig(), RekeyLab.ConfigText("asa1-initiator.cfg"), new NegotiationSettings());
        var tunnel = lab.Cluster.Client.GetGrain<ITunnelGrain>(RekeyLab.Left.Address.ToString());
        await lab.DeliverResult(await tunnel.Acquire(new AcquireRequest("192.168.2.10", "192.168.1.10", 1), 127));
        await RekeyTests.WaitFor(() => lab.DataPlane.Inner.Sas.Count == 1, TimeSpan.FromSeconds(10), "the first IPsec SA");
        var first = lab.DataPlane.Inner.Sas.Single();
        var oldKey = await tunnel.GetCurrentIkeSa();

        // The peer restarts and brings the tunnel up again itself: new cookies, INITIAL-CONTACT in its first Quick Mode.
        lab.RestartPeer();
        var deliveredToPeer = lab.PeerOutput.Actions.Count;
        await lab.OnPeer((peer, output) => peer.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), output));
        await RekeyTests.WaitFor(() => lab.DataPlane.Inner.Sas.Count == 1 && lab.DataPlane.Inner.Sas.Single().InboundSpi != first.InboundSpi,
            TimeSpan.FromSeconds(15), "only the new pair in the data plane");
        await RekeyTests.WaitFor(() => OldGrainGone(lab, oldKey!).Result, TimeSpan.FromSeconds(5), "the old IKE SA grain gone");

        var keys = (await SaDirectory.List(lab.Cluster.Client)).Where(k => k.StartsWith("10.0.0.1/", StringComparison.Ordinal)).ToList();
        var current = Assert.Single(keys);
        Assert.NotEqual(oldKey, current);
        Assert.Equal("MM_ACTIVE", await lab.Cluster.Client.GetGrain<IIkeSaGrain>(current).GetState());
        Assert.Equal(current, await tunnel.GetCurrentIkeSa());
        Assert.Contains(lab.DataPlane.Events, e => e.Op == "remove" && e.InboundSpi == first.InboundSpi);
        // The ASA's lines for the old IKE SA and its pair; no DELETE for the old cookies reached the peer.
        Assert.Contains(lab.Transmitter.Lines, l => l.Contains("Deleting IKE SA with associated IPsec connection entries. IKE peer: 10.0.0.1", StringComparison.Ordinal));
        Assert.Contains(lab.Transmitter.Lines, l => l.Contains("IKE Deleting SA: Remote Proxy 192.168.1.", StringComparison.Ordinal));
        lock (lab.Lock)
            Assert.DoesNotContain(lab.PeerOutput.Actions.Skip(deliveredToPeer), a => a is MessageDropped { Reason: DropReason.NoSa });
        Assert.Empty(lab.Errors);
    }

    private static async Task<bool> OldGrainGone(RekeyLab lab, string key) =>
        await lab.Cluster.Client.GetGrain<IIkeSaGrain>(key).GetState() is "MM_NO_STATE" or "MM_DELETED";
}
