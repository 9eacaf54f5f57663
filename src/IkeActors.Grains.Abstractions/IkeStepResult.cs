namespace IkeActors.Grains;

/// <summary>
/// What one IKE SA step produced for the front-end: datagrams to send from the socket the
/// request came in on, and the ASA debug lines (console form) at or below the level asked.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record IkeStepResult(
    [property: Id(0)] IReadOnlyList<Datagram> Send,
    [property: Id(1)] IReadOnlyList<string> DebugLines,
    [property: Id(2)] string State);
