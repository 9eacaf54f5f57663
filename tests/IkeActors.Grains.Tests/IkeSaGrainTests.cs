using System.Buffers.Binary;
using System.Net;
using IkeActors.Config.Lookup;
using IkeActors.Negotiation;

namespace IkeActors.Grains.Tests;

/// <summary>The responder side of the seed's tunnel served by an IKE SA grain in a two-silo cluster.</summary>
[Collection(nameof(ClusterCollection))]
public class IkeSaGrainTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_peer_brings_the_tunnel_up_with_an_IKE_SA_grain()
    {
        var leftAddress = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 500);
        using var left = new NegotiationEngine(new GatewayContext(ClusterFixture.Load("asa1-initiator.cfg"), leftAddress));
        var lo = new NegotiationOutput();
        left.Acquire(new Packet(IPAddress.Parse("192.168.1.10"), IPAddress.Parse("192.168.2.10"), 1), lo);

        var responderLines = new List<string>();
        IIkeSaGrain? grain = null;
        var seen = 0;
        for (var round = 0; round < 20 && seen < lo.Actions.Count; round++)
        {
            var batch = lo.Actions.Skip(seen).OfType<SendDatagram>().ToList();
            seen = lo.Actions.Count;
            foreach (var send in batch)
            {
                // The front-end routes by (peer, initiator cookie): RFC 2408 §3.1 header, octets 0-7.
                var cookie = BinaryPrimitives.ReadUInt64BigEndian(send.Datagram);
                grain ??= fixture.Cluster.Client.GetGrain<IIkeSaGrain>(IIkeSaGrain.KeyFor("10.0.0.1", cookie));
                var result = await grain.Receive(new Datagram(send.Datagram, "10.0.0.1", 500), 127);
                responderLines.AddRange(result.DebugLines);
                foreach (var reply in result.Send) left.Receive(reply.Bytes, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 500), lo);
            }
        }

        Assert.NotNull(grain);
        Assert.Equal("MM_ACTIVE", await grain!.GetState());
        Assert.Single(lo.OfType<InstallIpsecSa>());
        Assert.Contains(responderLines, l => l.EndsWith("PHASE 1 COMPLETED", StringComparison.Ordinal));
        Assert.Contains(responderLines, l => l.Contains("PHASE 2 COMPLETED", StringComparison.Ordinal));
        // The responder's crypto map lifetime (3600 s) wins, as in the seed.
        Assert.Equal(3600, Assert.Single(lo.OfType<InstallIpsecSa>()).Pair.LifetimeSeconds);
    }
}
