using IkeActors.Negotiation;

namespace IkeActors.Grains;

/// <summary>Quick Modes handed over between IKE SA grains (engine snapshots; they hold keys).</summary>
public sealed class MovedQuickModes
{
    public List<QuickModeSnapshot> QuickModes { get; set; } = [];
    public List<MessageIvSnapshot> Ivs { get; set; } = [];
}
