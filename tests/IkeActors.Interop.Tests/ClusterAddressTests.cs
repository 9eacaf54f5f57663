using Xunit.Abstractions;
using System.Diagnostics;

namespace IkeActors.Interop.Tests;

/// <summary>
/// The concentrator's address across nodes (docs/cluster.md §1), with our gateways and BIRD 2: every node announces
/// the VIP through its gateway's TUN device, so the upstream router spreads the VIP over the nodes (ECMP), a gateway
/// killed with SIGKILL takes its node's path with it (the kernel removes the TUN device, BIRD withdraws the route,
/// no detector of ours), the other node's path stays, and the gateway's return brings its path back.
/// </summary>
[Collection(ClusterLabCollection.Name)]
public sealed class ClusterAddressTests(ITestOutputHelper output)
{
    [Fact]
    public void A_killed_gateway_takes_its_nodes_path_to_the_address_with_it_and_brings_it_back_on_return()
    {
        using var lab = new ClusterLab(nodes: 2, insideAddress: "192.168.2.1"); // asa2-responder.cfg's inside interface
        var config = File.ReadAllText(IkeActors.Testing.RepoPaths.SiteToSite("asa2-responder.cfg"));
        var first = lab.StartGateway(1, config);
        lab.StartGateway(2, config);
        string[] both = [ClusterLab.OutsideOf(1), ClusterLab.OutsideOf(2)];
        InteropLab.Eventually(() => lab.VipNextHops().SequenceEqual(both), TimeSpan.FromSeconds(30),
            () => "the upstream router's VIP route: " + string.Join(", ", lab.VipNextHops()));

        var killed = Stopwatch.StartNew();
        first.Terminate(9); // SIGKILL: no stop, no goodbye
        InteropLab.Eventually(() => !lab.VipNextHops().Contains(ClusterLab.OutsideOf(1)), TimeSpan.FromSeconds(5),
            () => "node 1's path still there: " + string.Join(", ", lab.VipNextHops()));
        var withdrawn = killed.Elapsed;
        output.WriteLine($"node 1's path withdrawn {withdrawn.TotalMilliseconds:0} ms after SIGKILL");
        Assert.Equal([ClusterLab.OutsideOf(2)], lab.VipNextHops());
        Assert.True(withdrawn < TimeSpan.FromSeconds(2), $"withdrawn after {withdrawn}"); // the whole gap budget

        lab.StartGateway(1, config);
        InteropLab.Eventually(() => lab.VipNextHops().SequenceEqual(both), TimeSpan.FromSeconds(30),
            () => "after the return: " + string.Join(", ", lab.VipNextHops()));
    }
}
