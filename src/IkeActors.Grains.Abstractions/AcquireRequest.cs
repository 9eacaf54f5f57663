namespace IkeActors.Grains;

/// <summary>An outbound packet with no SA (the data plane's key acquire), as the crypto map sees it.</summary>
[GenerateSerializer, Immutable]
public sealed record AcquireRequest(
    [property: Id(0)] string Source, [property: Id(1)] string Destination, [property: Id(2)] int Protocol,
    [property: Id(3)] int SourcePort = 0, [property: Id(4)] int DestinationPort = 0);
