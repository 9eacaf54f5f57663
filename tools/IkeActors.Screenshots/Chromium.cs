using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace IkeActors.Screenshots;

/// <summary>
/// Headless Chromium with a fresh profile, its DevTools endpoint on 127.0.0.1 (a free port the browser
/// picks and writes to DevToolsActivePort in the profile). Stopped by its PID; the profile is removed.
/// </summary>
internal sealed class Chromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _profile;
    private readonly int _port;
    private readonly TimeSpan _timeout;

    private Chromium(Process process, DirectoryInfo profile, int port, TimeSpan timeout) =>
        (_process, _profile, _port, _timeout) = (process, profile, port, timeout);

    public static async Task<Chromium> Start(string exe, int width, int height, TimeSpan timeout)
    {
        if (!File.Exists(exe)) throw new InvalidOperationException($"{exe} not found (Debian: apt-get install chromium)");
        var profile = Directory.CreateTempSubdirectory("ikeactors-chromium-");
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
                     "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir=" + profile.FullName,
                     $"--window-size={width},{height}", "about:blank",
                 }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("chromium did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var activePort = Path.Combine(profile.FullName, "DevToolsActivePort");
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until && !process.HasExited)
        {
            if (File.Exists(activePort) && File.ReadAllLines(activePort) is [var first, ..] && int.TryParse(first, out var port) && port > 0)
                return new Chromium(process, profile, port, timeout);
            await Task.Delay(100);
        }
        await new Chromium(process, profile, 0, timeout).DisposeAsync();
        throw new TimeoutException("chromium did not open its DevTools port");
    }

    /// <summary>The first page target (the about:blank tab it started with), over its own WebSocket.</summary>
    public async Task<DevToolsSession> OpenPage()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var until = DateTime.UtcNow + _timeout;
        while (DateTime.UtcNow < until)
        {
            using var list = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{_port}/json/list"));
            foreach (var target in list.RootElement.EnumerateArray())
                if (target.GetProperty("type").GetString() == "page" && target.TryGetProperty("webSocketDebuggerUrl", out var ws))
                    return await DevToolsSession.Connect(new Uri(ws.GetString()!), _timeout);
            await Task.Delay(100);
        }
        throw new TimeoutException("chromium has no page target");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException) { }
        _process.Dispose();
        for (var i = 0; i < 5; i++)
        {
            try { _profile.Delete(recursive: true); break; }
            catch (IOException) { await Task.Delay(200); } // the browser may still be flushing its profile
            catch (UnauthorizedAccessException) { break; }
        }
    }
}

/// <summary>
/// One DevTools protocol session over a WebSocket: JSON commands {id, method, params}, answers matched by
/// id (events are ignored). Messages can be several MB (a screenshot's base64), so they are reassembled.
/// </summary>
internal sealed class DevToolsSession : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly TimeSpan _timeout;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Task _receiver;
    private int _nextId;

    private DevToolsSession(ClientWebSocket socket, TimeSpan timeout)
    {
        _socket = socket;
        _timeout = timeout;
        _receiver = Task.Run(ReceiveLoop);
    }

    public static async Task<DevToolsSession> Connect(Uri uri, TimeSpan timeout)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var cts = new CancellationTokenSource(timeout);
        await socket.ConnectAsync(uri, cts.Token);
        return new DevToolsSession(socket, timeout);
    }

    public async Task<JsonElement> Send(string method, object? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters ?? new { } });
        await _sendLock.WaitAsync();
        try { await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, _stop.Token); }
        finally { _sendLock.Release(); }
        var done = await Task.WhenAny(answer.Task, Task.Delay(_timeout));
        _pending.TryRemove(id, out _);
        if (done != answer.Task) throw new TimeoutException($"DevTools {method}: no answer");
        return await answer.Task;
    }

    /// <summary>Runtime.evaluate of an expression whose value is a string.</summary>
    public async Task<string> Evaluate(string expression, bool awaitPromise = false)
    {
        var result = await Send("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise });
        return result.TryGetProperty("result", out var r) && r.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString() ?? ""
            : "";
    }

    private async Task ReceiveLoop()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
            {
                var r = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (r.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                Dispatch(message.GetBuffer().AsSpan(0, (int)message.Length));
                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
        foreach (var pending in _pending.Values) pending.TrySetException(new IOException("DevTools connection closed"));
    }

    private void Dispatch(ReadOnlySpan<byte> json)
    {
        using var doc = JsonDocument.Parse(json.ToArray());
        var root = doc.RootElement;
        if (!root.TryGetProperty("id", out var idElement) || !_pending.TryGetValue(idElement.GetInt32(), out var answer)) return; // an event
        if (root.TryGetProperty("error", out var error))
            answer.TrySetException(new InvalidOperationException($"DevTools error: {error.GetRawText()}"));
        else
            answer.TrySetResult(root.TryGetProperty("result", out var result) ? result.Clone() : default);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
        await _stop.CancelAsync();
        try { await _receiver; } catch (OperationCanceledException) { }
        _socket.Dispose();
        _stop.Dispose();
        _sendLock.Dispose();
    }
}
