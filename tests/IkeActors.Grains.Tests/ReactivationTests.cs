using static IkeActors.Grains.Tests.PeerPump;
using System.Buffers.Binary;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;

namespace IkeActors.Grains.Tests;

/// <summary>
/// An established IKE SA grain is deactivated; the next message reactivates it from storage
/// (cookies, keys, IVs) and a second Quick Mode on the same IKE SA completes.
/// </summary>
[Collection(nameof(ClusterCollection))]
public class ReactivationTests(ClusterFixture fixture)
{

    [Fact]
    public async Task A_reactivated_IKE_SA_grain_continues_from_its_stored_snapshot()
    {
        using var left = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), Left));
        var lo = new NegotiationOutput();
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);
        var grain = (await PeerPump.RunAsync(fixture.Cluster.Client, left, lo, 0)).Grain;
        Assert.Equal("MM_ACTIVE", await grain.GetState());
        Assert.Single(lo.OfType<InstallIpsecSa>());

        // The stored state carries derived keys but never the pre-shared key (tunnel-group key "cisco").
        Assert.False(fixture.Storage.Contains("cisco"));

        Assert.True(fixture.Storage.Writes > 0);
        var firstActivation = await grain.GetActivationId();
        await grain.Deactivate();
        await Task.Delay(200);

        // Traffic for the other ACL entry (tcp): a Quick Mode on the same IKE SA, answered by a new activation.
        var before = lo.Actions.Count;
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 6, 40000, 80), lo);
        await PeerPump.RunAsync(fixture.Cluster.Client, left, lo, before);
        var pairs = lo.OfType<InstallIpsecSa>().ToList();
        Assert.Equal(2, pairs.Count);
        Assert.Equal(6, pairs[1].Pair.Local.Protocol);
        Assert.Equal("MM_ACTIVE", await grain.GetState());
        // It really was a new activation, restored from storage.
        Assert.NotEqual(firstActivation, await grain.GetActivationId());
    }
}
