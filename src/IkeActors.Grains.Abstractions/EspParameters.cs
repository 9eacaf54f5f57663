namespace IkeActors.Grains;

/// <summary>
/// The ESP side of an IPsec SA pair in wire terms (RFC 2407 §4.4.4 transform IDs, §4.5 attributes):
/// the data plane builds its SAs from this. Selectors are the Quick Mode proxy IDs (RFC 4301 §4.4.1:
/// address range, protocol, port; 0 = any). <c>QuickModeInitiator</c>: this side sent QM3 (installed before the peer).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record EspParameters(
    [property: Id(0)] int TransformId,
    [property: Id(1)] int KeyLengthBits,
    [property: Id(2)] int AuthAlgorithm,
    [property: Id(3)] string LocalAddress,
    [property: Id(4)] string PeerAddress,
    [property: Id(5)] string? UdpEncapsulationAddress,
    [property: Id(6)] int UdpEncapsulationPort,
    [property: Id(7)] uint LocalFirst, [property: Id(8)] uint LocalLast, [property: Id(9)] int LocalProtocol, [property: Id(10)] int LocalPort,
    [property: Id(11)] uint RemoteFirst, [property: Id(12)] uint RemoteLast, [property: Id(13)] int RemoteProtocol, [property: Id(14)] int RemotePort,
    [property: Id(15)] bool QuickModeInitiator = false)
{
    public bool IsUdpEncapsulated => UdpEncapsulationAddress is not null;
}
