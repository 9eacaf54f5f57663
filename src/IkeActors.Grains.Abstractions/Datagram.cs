namespace IkeActors.Grains;

/// <summary>A datagram as it crosses silos: bytes and the peer's address (the configured one).</summary>
[GenerateSerializer, Immutable]
public sealed record Datagram([property: Id(0)] byte[] Bytes, [property: Id(1)] string Address, [property: Id(2)] int Port,
    [property: Id(3)] bool NatT = false);
