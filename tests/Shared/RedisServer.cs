using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace IkeActors.Testing;

/// <summary>Debian's redis-server on a fresh loopback port and directory, nothing saved; killed by PID.</summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;
    public int Port { get; }
    public string Url => $"redis://127.0.0.1:{Port}";

    private readonly string? _netns;

    private RedisServer(Process process, string dir, int port, string? netns) => (_process, _dir, Port, _netns) = (process, dir, port, netns);

    /// <summary>Started here, or inside network namespace <paramref name="netns"/> (on its loopback: `ip netns exec` execs in place, the PID is redis-server's).</summary>
    public static async Task<RedisServer> Start(string? netns = null, string bind = "127.0.0.1")
    {
        RequiredProgram.Check("redis-server", "redis-server");
        RequiredProgram.Check("redis-cli", "redis-tools");
        var port = FreePorts.Tcp();
        var dir = Directory.CreateTempSubdirectory("ikeactors-redis-").FullName;
        var psi = new ProcessStartInfo(netns is null ? "redis-server" : "ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[.. netns is null ? [] : (string[])["netns", "exec", netns, "redis-server"],
                     "--port", port.ToString(), "--bind", bind, "--protected-mode", "no", "--dir", dir, "--save", "", "--appendonly", "no"])
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("redis-server did not start (apt-get install redis-server)");
        var server = new RedisServer(process, dir, port, netns);
        try
        {
            if (netns is null) await WaitForTcp(port, TimeSpan.FromSeconds(10));
            else
            {
                var until = Environment.TickCount64 + 10_000;
                while (server.Cli("PING").Trim() != "PONG" && Environment.TickCount64 < until) await Task.Delay(100);
                Assert.True(server.Cli("PING").Trim() == "PONG", $"redis-server did not answer in {netns}");
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>One redis-cli command against this server (in its namespace): its output.</summary>
    public string Cli(params string[] args)
    {
        string[] command = [.. _netns is null ? [] : (string[])["netns", "exec", _netns, "redis-cli"], "-p", Port.ToString(), .. args];
        var (_, output, _) = ProcessRunner.Run(_netns is null ? "redis-cli" : "ip", command);
        return output;
    }

    /// <summary>Every key with its hash fields and values (the Orleans membership table is a hash), as text.</summary>
    public string Dump()
    {
        var text = new System.Text.StringBuilder();
        var keys = Cli("--scan");
        foreach (var key in keys.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var type = Cli("TYPE", key);
            var value = type.Trim() switch { "hash" => Cli("HGETALL", key), "string" => Cli("GET", key), var other => $"({other})\n" };
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
        var until = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Environment.TickCount64 < until)
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
