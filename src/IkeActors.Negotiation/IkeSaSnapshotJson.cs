using System.Text.Json;
using System.Text.Json.Serialization;

namespace IkeActors.Negotiation;

/// <summary>
/// The snapshot's JSON form, as hosts store it and hand it over: serializers generated at build time, so a fresh
/// process compiles none at run time (reflection-based System.Text.Json made a new node JIT about 540 methods during
/// its first handshakes).
/// </summary>
public static class IkeSaSnapshotJson
{
    public static byte[] Serialize(IkeSaSnapshot snapshot) => JsonSerializer.SerializeToUtf8Bytes(snapshot, SnapshotJsonContext.Default.IkeSaSnapshot);

    /// <summary>A live SA's snapshot as JSON (keys included: the caller zeroes it); the snapshot's own copies are cleared.</summary>
    public static byte[] Serialize(IkeSa sa)
    {
        var snapshot = sa.Snapshot();
        try { return Serialize(snapshot); }
        finally { snapshot.ClearSecrets(); }
    }

    /// <summary>Null for JSON "null"; throws <see cref="JsonException"/> for text that is no snapshot.</summary>
    public static IkeSaSnapshot? Deserialize(ReadOnlySpan<byte> json) => JsonSerializer.Deserialize(json, SnapshotJsonContext.Default.IkeSaSnapshot);
}

/// <summary>
/// Metadata mode: the generated fast-path writer of this SDK writes a null byte[] property as "" (seen with an initiator's
/// snapshot in MM_WAIT_MSG2, whose LastReceived is null; SnapshotTests compares both serializers' output).
/// </summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(IkeSaSnapshot))]
internal sealed partial class SnapshotJsonContext : JsonSerializerContext;
