using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Dashboard;

namespace IkeActors.Gateway.Hosting;

/// <summary>
/// The Orleans Dashboard of this node: a small web host on 127.0.0.1:PORT (an Orleans client of this node's
/// gateway port) serves the UI and its JSON (/DashboardCounters, /GrainTypes, /ClusterStats); the silo collects the
/// grain statistics (<see cref="GatewayTelemetry"/> adds that). Its address is printed on the node's console.
/// </summary>
public sealed class OrleansDashboardHost(int port, int gatewayPort, NodeConsole console) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var web = WebApplication.CreateSlimBuilder();
        web.Logging.ClearProviders();
        web.WebHost.UseUrls($"http://127.0.0.1:{port}");
        web.UseOrleansClient(client =>
        {
            client.ConnectTo(new IPEndPoint(IPAddress.Loopback, gatewayPort));
            client.AddDashboard();
        });
        _app = web.Build();
        _app.MapOrleansDashboard();
        await _app.StartAsync(cancellationToken);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        console.WriteLine($"Orleans Dashboard on {address}/");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
