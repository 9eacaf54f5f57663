namespace IkeActors.Gateway.Hosting;

/// <summary>
/// The operator-visible lines of a node (its standard output under `ikeactors run`): the `debug crypto ikev1` lines
/// at the console's level, and where the Orleans Dashboard listens. The host's own log goes elsewhere (stderr).
/// </summary>
public sealed class NodeConsole(TextWriter writer)
{
    private readonly TextWriter _writer = TextWriter.Synchronized(writer);

    public void WriteLine(string line) => _writer.WriteLine(line);
}
