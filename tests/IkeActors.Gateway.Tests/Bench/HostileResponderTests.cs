using System.Net;
using System.Net.Sockets;
using IkeActors.Gateway.Commands;

namespace IkeActors.Gateway.Tests.Bench;

/// <summary>
/// A "responder" that answers every MM1 with junk (empty, one byte, a header that lies about its length, random
/// bytes, an oversized datagram, the MM1 itself echoed back): the bench's peers drop it all, nothing throws, and
/// each tunnel fails by its timeout with exit code 1.
/// </summary>
public class HostileResponderTests
{
    [Fact]
    public async Task Junk_answers_end_in_timeouts_not_in_a_crash()
    {
        using var responder = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)responder.Client.LocalEndPoint!).Port;
        using var stop = new CancellationTokenSource();
        var answered = 0;
        var junk = Task.Run(async () =>
        {
            var random = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                UdpReceiveResult r;
                try { r = await responder.ReceiveAsync(stop.Token); }
                catch (OperationCanceledException) { return; }
                var header = r.Buffer.AsSpan(0, Math.Min(28, r.Buffer.Length)).ToArray();
                var lying = (byte[])header.Clone();
                if (lying.Length == 28) { lying[24] = 0x7F; lying[25] = 0xFF; } // RFC 2408 §3.1 length far beyond the datagram
                var noise = new byte[300];
                random.NextBytes(noise);
                foreach (var d in new[] { Array.Empty<byte>(), new byte[] { 0 }, lying, noise, new byte[4000], r.Buffer })
                    await responder.SendAsync(d, r.RemoteEndPoint);
                Interlocked.Increment(ref answered);
            }
        });
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Task.Run(() => CliApp.Run(["bench", "--target", $"127.0.0.1:{port}", "--sources", "127.1.3.1", "--peers", "3",
            "--psk", "junk-key", "--timeout", "3"], output, error));
        await stop.CancelAsync();
        await junk;
        Assert.True(answered >= 3, $"the junk responder answered {answered} datagrams");
        Assert.Equal(1, code);
        Assert.Matches(@"(?m)^failures\s+3 timeout\r?$", output.ToString());
        Assert.DoesNotContain("failed in the engine", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output.ToString() + error.ToString(), StringComparison.Ordinal);
    }
}
