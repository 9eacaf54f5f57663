using IkeActors.Grains;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// Where this node's `debug crypto ikev1` lines go: its console at `--debug`'s level, and operator sessions
/// (`debug crypto ikev1 N` on any node, through the debug hub grain) at theirs. Grains format at the higher of the two.
/// </summary>
public sealed class DebugLineOutput(IGrainFactory grains, FrontEndOptions options, NodeConsole console)
{
    private volatile int _sessionLevel;

    /// <summary>The level grains format at: the console's, or higher while an operator runs `debug crypto ikev1 N`.</summary>
    public int Level => Math.Max(options.DebugLevel, _sessionLevel);

    /// <summary>Asks the debug hub for the highest level an operator session wants (none when it cannot be asked).</summary>
    public async Task LearnSessionLevel()
    {
        try { _sessionLevel = await grains.Reference<IDebugHubGrain>(0).GetLevel(); }
        catch (Exception e) when (e is not OperationCanceledException) { _sessionLevel = 0; }
    }

    public void Print(IReadOnlyList<string> lines)
    {
        if (lines.Count == 0) return;
        if (options.DebugLevel > 0) foreach (var line in lines) console.WriteLine(line);
        if (_sessionLevel > 0) using (UntracedCalls.Begin()) _ = grains.Reference<IDebugHubGrain>(0).Publish(lines);
    }
}
