using System.Text.Json;
using System.Text.Json.Serialization;
using IkeActors.Grains;

namespace IkeActors.Gateway.Hosting.Cluster;

/// <summary>
/// One IPsec SA pair as the cluster keeps it for the node that may have to carry it next (docs/cluster.md): what the
/// data plane needs to install it without asking anyone, the outbound numbers its carrier has reserved (a successor
/// starts above them) and the inbound window's last reported right edge (a successor accepts only numbers above it).
/// The keys are secret: the record lives in the cluster store only, never in a log or a show.
/// </summary>
public sealed record CarrierPair(IpsecSaRecord Sa, uint OutboundReserved, uint InboundMark, CarrierCounters? Counters = null);

/// <summary>
/// A pair's traffic counted by the nodes that carried it so far (`show crypto ipsec sa`'s encaps and decaps, the bytes):
/// exact after a release, at most <see cref="CarrierService.CheckpointInterval"/> behind after a carrier's death.
/// </summary>
public sealed record CarrierCounters(long Encaps, long Decaps, long BytesOut, long BytesIn)
{
    public static readonly CarrierCounters Zero = new(0, 0, 0, 0);
}

/// <summary>
/// A peer's carrier record: the node that carries its traffic now, the epoch (raised at every change of carrier: of
/// two nodes that claim the peer with the same epoch one wins), and the peer's IPsec SA pairs.
/// </summary>
public sealed record CarrierRecord(string Node, long Epoch, IReadOnlyList<CarrierPair> Pairs)
{
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, CarrierJson.Default.CarrierRecord);

    /// <summary>The record, or null for anything that is not one (a damaged or foreign value is no reason to throw).</summary>
    public static CarrierRecord? FromJson(ReadOnlySpan<byte> json)
    {
        try
        {
            var record = JsonSerializer.Deserialize(json, CarrierJson.Default.CarrierRecord);
            return record is { Node.Length: > 0, Epoch: > 0, Pairs: not null } && record.Pairs.All(p => p?.Sa is not null) ? record : null;
        }
        catch (JsonException) { return null; }
        catch (NotSupportedException) { return null; }
    }

    public override string ToString() => $"carrier {Node} epoch {Epoch}, {Pairs.Count} pairs (keys not shown)";
}

[JsonSerializable(typeof(CarrierRecord))]
[JsonSerializable(typeof(IpsecSaRecord))] // an inbound SA alone on the carrier bus (RedisCarrierBus.InstallInbound)
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class CarrierJson : JsonSerializerContext;
