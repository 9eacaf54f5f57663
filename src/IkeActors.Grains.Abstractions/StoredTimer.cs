namespace IkeActors.Grains;

/// <summary>A timer of the engine with its absolute due time (kind as the engine's TimerKind number).</summary>
[GenerateSerializer]
public sealed class StoredTimer
{
    [Id(0)] public int Kind { get; set; }
    [Id(1)] public uint MessageId { get; set; }
    [Id(2)] public DateTime DueUtc { get; set; }
}
