using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IkeActors.Testing;

namespace IkeActors.Gateway.Tests;

/// <summary>Debian's redis-server on a fresh loopback port and directory, nothing saved; killed by PID.</summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;
    public int Port { get; }
    public string Url => $"redis://127.0.0.1:{Port}";

    private RedisServer(Process process, string dir, int port) => (_process, _dir, Port) = (process, dir, port);

    public static async Task<RedisServer> Start()
    {
        RequiredProgram.Check("redis-server", "redis-server");
        RequiredProgram.Check("redis-cli", "redis-tools");
        var port = FreePorts.Tcp();
        var dir = Directory.CreateTempSubdirectory("ikeactors-redis-").FullName;
        var process = Process.Start(new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no" },
            RedirectStandardOutput = true, RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("redis-server did not start (apt-get install redis-server)");
        var server = new RedisServer(process, dir, port);
        try
        {
            await WaitForTcp(port, TimeSpan.FromSeconds(10));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>Every key with its hash fields and values (the Orleans membership table is a hash), as text.</summary>
    public string Dump()
    {
        var text = new System.Text.StringBuilder();
        var (_, keys, _) = ProcessRunner.Run("redis-cli", ["-p", Port.ToString(), "--scan"]);
        foreach (var key in keys.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (_, type, _) = ProcessRunner.Run("redis-cli", ["-p", Port.ToString(), "TYPE", key]);
            var (_, value, _) = ProcessRunner.Run("redis-cli", ["-p", Port.ToString(), type.Trim() == "hash" ? "HGETALL" : "GET", key]);
            text.Append(key).Append('\n').Append(value).Append('\n');
        }
        return text.ToString();
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit(5000);
        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }

    private static async Task WaitForTcp(int port, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) { await Task.Delay(100); }
        }
        Assert.Fail($"redis-server did not listen on {port}");
    }
}
