using System.Diagnostics;
using IkeActors.Testing;

namespace IkeActors.Interop.Tests;

/// <summary>
/// `ikeactors run` (the seed's initiator ASA) against a real strongSwan 5.9 responder, each in a
/// network namespace made by ../shared/interop/netns.sh: Main Mode and Quick Mode complete, and
/// strongSwan's own log says its IKE_SA is established. (Its userspace ESP then refuses to install
/// a non-UDP-encapsulated SA: NAT-T and ESP are the next issue; the test records that, too.)
/// </summary>
public sealed class StrongSwanTests : IDisposable
{
    private static readonly string Lab = Path.Combine(RepoPaths.Shared, "interop");
    private readonly string _state = Directory.CreateTempSubdirectory("ikeactors-interop-").FullName;
    private readonly string _left = "ikat-l" + Environment.ProcessId % 1000;
    private readonly string _right = "ikat-r" + Environment.ProcessId % 1000;

    [Fact]
    public void Our_initiator_negotiates_both_phases_with_a_strongSwan_responder()
    {
        Assert.True(Environment.UserName == "root" || geteuid() == 0, "interop tests need root (network namespaces); CI runs as root");
        Run("netns.sh", "up", _left, _right);
        Run("strongswan-peer.sh", "start", _right, "--role", "responder", "--local", "10.0.0.2", "--remote", "10.0.0.1",
            "--local-ts", "192.168.2.0/24", "--remote-ts", "192.168.1.0/24", "--psk", "cisco",
            "--ike", "3des-sha1-modp1024", "--esp", "aes128-sha1", "--retransmit", "1,1.5,2");

        var (code, stdout, stderr) = ProcessRunner.Run("ip", ["netns", "exec", _left, "dotnet", Path.Combine(AppContext.BaseDirectory, "ikeactors.dll"),
            "run", "--config", RepoPaths.SiteToSite("asa1-initiator.cfg"), "--bind", "10.0.0.1:500", "--debug", "127",
            "--acquire", "192.168.1.10,192.168.2.10,1", "--exit-after", "8"], timeoutMs: 60_000);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("PHASE 1 COMPLETED", stdout);
        Assert.Contains("PHASE 2 COMPLETED", stdout);

        var log = File.ReadAllText(Path.Combine(_state, "strongswan-" + _right, "charon.log"));
        Assert.Contains("IKE_SA gw[1] established between 10.0.0.2[10.0.0.2]...10.0.0.1[10.0.0.1]", log);
        // strongSwan verified our HASH(1) and HASH(3) and derived the same keys; its kernel-libipsec
        // can only do ESP-in-UDP (../shared/interop/README.md), so without NAT-T it cannot install them.
        Assert.Contains("received 28800s lifetime, configured 3600s", log);
    }

    private void Run(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(Lab, script)) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["IKE_INTEROP_DIR"] = _state;
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        if (!p.WaitForExit(60_000)) p.Kill(entireProcessTree: true);
        Assert.True(p.ExitCode == 0, $"{script} {string.Join(' ', args)}: {output}");
    }

    public void Dispose()
    {
        // Always tear down what we made: the peer (by its script, which knows its PID) and the namespaces.
        try { Run("strongswan-peer.sh", "stop", _right); } catch (Exception) { }
        try { Run("netns.sh", "down", _left, _right); } catch (Exception) { }
        try { Directory.Delete(_state, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();
}
