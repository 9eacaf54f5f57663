using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// The UDP front-end of one silo as a hosted service: the sockets' receive loops (<see cref="IsakmpSockets"/>),
/// routing lanes that hand the received datagrams to the IKE SA grains (<see cref="SaRouter"/>), and the
/// two-second round (<see cref="FrontEndRound"/>).
/// </summary>
public sealed class UdpFrontEnd(IsakmpSockets sockets, SaRouter router, FrontEndRound round, ILogger<UdpFrontEnd> logger) : BackgroundService
{
    private readonly CancellationTokenSource _stopRound = new();
    private Task _round = Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("ISAKMP front-end listening on udp {EndPoint} (NAT-T {NatT})", sockets.LocalEndPoint, sockets.NatTEndPoint);
        var (workers, deliver) = router.StartLanes(stoppingToken);
        workers.AddRange(sockets.StartReceiving(deliver, stoppingToken));
        _round = Task.Run(() => round.Run(CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _stopRound.Token).Token), stoppingToken);
        workers.Add(_round);
        await Task.WhenAll(workers);
    }

    /// <summary>
    /// A stop begins: datagrams from peers and key acquires no longer reach the grains (no new SA while the node
    /// deletes its SAs and the silo stops), and the two-second round has ended when this returns (no grain call of it
    /// is left in flight); sending goes on, so the DELETEs still leave.
    /// </summary>
    public async Task StopRouting()
    {
        router.Stop();
        await _stopRound.CancelAsync();
        try { await _round; } catch (OperationCanceledException) { }
    }

    public override void Dispose()
    {
        base.Dispose();
        _stopRound.Dispose();
    }
}
