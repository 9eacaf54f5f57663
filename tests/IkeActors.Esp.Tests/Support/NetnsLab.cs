using System.Runtime.InteropServices;
using IkeActors.Testing;

namespace IkeActors.Esp.Tests.Support;

/// <summary>
/// Two network namespaces of this test's own (unique names) joined by a veth pair, 10.0.0.1 and 10.0.0.2:
/// the outside of two gateways. Removed on Dispose (deleting a namespace removes its links), and by the
/// constructor itself when a step of the setup fails.
/// </summary>
internal sealed class NetnsLab : IDisposable
{
    private const int CloneNewNet = 0x40000000;

    public NetnsLab()
        : this("espt", "10.0.0.2/24")
    {
    }

    /// <summary>A lab named PREFIX-id-l/-r whose right side gets <paramref name="rightOutside"/> (NetnsLabCleanupTests make it fail).</summary>
    internal NetnsLab(string prefix, string rightOutside)
    {
        RequiredProgram.Check("ip", "iproute2");
        var id = Guid.NewGuid().ToString("N")[..6];
        Left = $"{prefix}-{id}-l";
        Right = $"{prefix}-{id}-r";
        try
        {
            Ip("netns", "add", Left);
            Ip("netns", "add", Right);
            Ip("link", "add", $"vl{id}", "netns", Left, "type", "veth", "peer", "name", $"vr{id}", "netns", Right);
            Ip("-n", Left, "addr", "add", "10.0.0.1/24", "dev", $"vl{id}");
            Ip("-n", Right, "addr", "add", rightOutside, "dev", $"vr{id}");
            foreach (var (ns, dev) in new[] { (Left, $"vl{id}"), (Right, $"vr{id}") })
            {
                Ip("-n", ns, "link", "set", dev, "up");
                Ip("-n", ns, "link", "set", "lo", "up");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Left { get; }
    public string Right { get; }

    public static void Ip(params string[] args)
    {
        var (code, stdout, stderr) = ProcessRunner.Run("ip", args, 10_000);
        if (code != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} -> {code}: {stdout}{stderr}");
    }

    /// <summary>Runs <paramref name="create"/> on a thread that has entered the namespace: TUN devices and sockets made there live there.</summary>
    public static T InNamespace<T>(string ns, Func<T> create)
    {
        T? result = default;
        Exception? error = null;
        var t = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{ns}");
                if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new InvalidOperationException($"setns {ns}: errno {Marshal.GetLastPInvokeError()}");
                result = create();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        t.Start();
        t.Join();
        if (error is not null) throw new InvalidOperationException($"in namespace {ns}: {error.Message}", error);
        return result!;
    }

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nsType);

    public void Dispose()
    {
        foreach (var ns in new[] { Left, Right })
        {
            ProcessRunner.Run("ip", ["netns", "del", ns], 10_000); // also when half made: errors ignored
        }
    }
}
