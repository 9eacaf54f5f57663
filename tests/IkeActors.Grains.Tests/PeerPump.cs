using System.Buffers.Binary;
using System.Net;
using IkeActors.Negotiation;

namespace IkeActors.Grains.Tests;

/// <summary>
/// The peer of the cluster in these tests: a plain engine playing the seed's initiator ASA
/// (10.0.0.1) whose datagrams are delivered to IKE SA grains as the front-end would (by peer and
/// initiator cookie, RFC 2408 §3.1 octets 0-7), and whose answers go back to it.
/// </summary>
internal static class PeerPump
{
    public static readonly IPEndPoint Left = new(IPAddress.Parse("10.0.0.1"), 500);
    public static readonly IPEndPoint Right = new(IPAddress.Parse("10.0.0.2"), 500);

    public sealed record Result(IIkeSaGrain Grain, ulong Cookie, int Seen, IReadOnlyList<string> ResponderLines)
    {
        public (IIkeSaGrain Grain, ulong Cookie) GrainAndCookie => (Grain, Cookie);
    }

    /// <summary>Delivers everything the peer sent after action <paramref name="seen"/> until neither side has more to say.</summary>
    public static async Task<Result> RunAsync(IGrainFactory grains, NegotiationEngine left, NegotiationOutput lo, int seen, int debugLevel = 0)
    {
        IIkeSaGrain? grain = null;
        ulong cookie = 0;
        var lines = new List<string>();
        for (var round = 0; round < 20 && seen < lo.Actions.Count; round++)
        {
            var batch = lo.Actions.Skip(seen).OfType<SendDatagram>().ToList();
            seen = lo.Actions.Count;
            foreach (var send in batch)
            {
                cookie = BinaryPrimitives.ReadUInt64BigEndian(send.Datagram);
                grain = grains.GetGrain<IIkeSaGrain>(IIkeSaGrain.KeyFor(Left.Address.ToString(), cookie));
                var result = await grain.Receive(new Datagram(send.Datagram, Left.Address.ToString(), Left.Port), debugLevel);
                lines.AddRange(result.DebugLines);
                foreach (var reply in result.Send) left.Receive(reply.Bytes, Right, lo);
            }
        }
        return new Result(grain ?? throw new InvalidOperationException("nothing was sent"), cookie, seen, lines);
    }
}
