using Microsoft.Extensions.Hosting;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// The host's lifetime for `ikeactors run`: SIGTERM and SIGINT belong to the command line (System.CommandLine
/// cancels the command's token), not to the host's console lifetime as well. So a signal makes one stop, in one
/// order (RunCommand), and a signal during the start waits for it to complete instead of cancelling the silo half-way.
/// </summary>
public sealed class CommandLineLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
